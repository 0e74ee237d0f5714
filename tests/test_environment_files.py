"""The environment files agree with each other and with the code, and README's commands are the ones CI runs."""
import ast
import json
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import yaml
from IPython.core.inputtransformer2 import TransformerManager
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
# The code a course environment runs: the package, the kit's scripts and benchmarks, and the lessons.
CODE = ("course_utils", "scripts", "benchmarks", "notebooks")


def pins(lines: list[str]) -> dict[str, str]:
    """{canonical distribution name: pinned version} of requirement lines; comments and `-e .` skipped."""
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            requirement = Requirement(line)
            found[canonicalize_name(requirement.name)] = str(requirement.specifier).removeprefix("==")
    return found


def requirement_lines(name: str = "requirements.txt") -> list[str]:
    return (REPO / name).read_text(encoding="utf-8").splitlines()


def test_environment_yml_has_exactly_the_requirements_pins():
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    assert "python=3.11" in env["dependencies"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pins(pip_section) == pins(requirement_lines())


def test_requirements_pin_every_line_exactly():
    lines = [line for line in requirement_lines() if line and not line.startswith("#")]
    loose = [line for line in lines if not re.fullmatch(r"[A-Za-z0-9_.\-]+==[\w.]+", line)]
    assert not loose, f"requirements.txt pins every package with ==; these lines do not: {loose}"


def test_torch_versions_typed_in_the_docs_and_workflows_are_the_pins():
    """README's CPU-only install command and the website workflow name torch and torchvision versions by hand."""
    required = pins(requirement_lines())
    places = [REPO / "README.md", REPO / "README.ko.md", *sorted((REPO / ".github" / "workflows").glob("*.yml")),
              *sorted((REPO / "docs").rglob("*.md"))]
    typed = [(path.relative_to(REPO), name, version) for path in places if path.is_file()
             for name, version in re.findall(r"\b(torch|torchvision)==([\w.]+)", path.read_text(encoding="utf-8"))]
    assert any(path.name == "README.md" for path, _, _ in typed), "README's CPU-only install command is gone"
    stale = [f"{path}: {name}=={version}" for path, name, version in typed if version != required[name]]
    assert not stale, f"requirements.txt pins torch=={required['torch']}, torchvision=={required['torchvision']}: {stale}"


def test_package_has_loose_lower_bounds_only():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    assert deps and all(">=" in d and "==" not in d and "<" not in d for d in deps)


def imported_modules(source: str) -> set[str]:
    """Top-level names of the absolute imports of Python source (relative imports are the package's own)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def code_imports() -> dict[str, str]:
    """{third-party top-level module: a file that imports it} over the code a course environment runs."""
    found: dict[str, str] = {}
    to_python = TransformerManager().transform_cell  # notebook cells: IPython's magics become Python
    for folder in CODE:
        for path in sorted((REPO / folder).rglob("*.py")) + sorted((REPO / folder).rglob("*.ipynb")):
            if path.suffix == ".py":
                sources = [path.read_text(encoding="utf-8")]
            else:
                cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
                sources = [to_python("".join(c["source"])) for c in cells if c["cell_type"] == "code"]
            for module in set().union(*map(imported_modules, sources)):
                own = module == "course_utils" or (path.parent / f"{module}.py").is_file()  # a script's sibling
                if not own and module not in sys.stdlib_module_names:
                    found.setdefault(module, str(path.relative_to(REPO)))
    return found


def test_every_imported_third_party_module_comes_from_a_pinned_distribution():
    """An unpinned import changes under a fixed requirements.txt when its package releases (serve.py subclasses
    uvicorn's h11 protocol, so h11 and uvicorn must both be held). requirements-docs.txt pins the website's stack."""
    docs = set(pins(requirement_lines("requirements-docs.txt")))  # installed on demand by `kit.py site`
    pinned = set(pins(requirement_lines())) | docs
    providers = packages_distributions()
    imports = code_imports()
    assert {"torch", "numpy", "sklearn", "yaml", "PIL"} <= set(imports), "the import scan missed the kit's own imports"
    problems = []
    for module, where in sorted(imports.items()):
        distributions = {canonicalize_name(d) for d in providers.get(module, [])}
        if not distributions and canonicalize_name(module) in docs:
            continue  # the website's stack, not installed until the first `kit.py site`: its pin is all there is
        if not distributions:
            problems.append(f"{module} (imported in {where}) is not installed in this environment")
        elif not distributions & pinned:
            problems.append(f"{module} (imported in {where}) comes from {', '.join(sorted(distributions))}, "
                            "which requirements.txt does not pin")
    assert not problems, ("pin each package with == in requirements.txt and environment.yml (or stop importing it):\n  "
                          + "\n  ".join(problems))


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    commands = re.findall(r"^(python3 scripts/kit\.py \w+)\s*$", readme, re.M)
    assert "python3 scripts/kit.py test" in commands and "python3 scripts/kit.py course" in commands
    assert re.search(r"^python3 scripts/kit\.py test\s*$", ci, re.M)
