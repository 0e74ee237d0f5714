"""The environment files agree with each other and README's commands are the ones CI runs."""
import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def pins(lines):
    return {re.split(r"==", l)[0].lower(): l.split("==")[1] for l in lines if "==" in l and not l.startswith("#")}


def test_environment_yml_has_exactly_the_requirements_pins():
    requirements = pins((REPO / "requirements.txt").read_text().splitlines())
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pins(pip_section) == requirements


def test_requirements_pin_every_line_exactly_with_the_course_torch():
    lines = [l for l in (REPO / "requirements.txt").read_text().splitlines() if l and not l.startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[\w.]+", l) for l in lines), lines
    requirements = pins(lines)
    assert requirements["torch"] == "2.14.1" and requirements["torchvision"] == "0.29.1"


def test_package_has_loose_lower_bounds_only():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert deps and all(">=" in d and "==" not in d and "<" not in d for d in deps)


def test_every_imported_third_party_package_is_pinned():
    requirements = pins((REPO / "requirements.txt").read_text().splitlines())
    import_names = {"torch", "torchvision", "numpy", "pandas", "matplotlib", "seaborn", "tqdm", "ipywidgets", "mlxtend"}
    assert import_names <= set(requirements)


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    commands = re.findall(r"^(python3 scripts/kit\.py \w+)\s*$", readme, re.M)
    assert "python3 scripts/kit.py test" in commands and "python3 scripts/kit.py course" in commands
    assert re.search(r"^python3 scripts/kit\.py test\s*$", ci, re.M)
