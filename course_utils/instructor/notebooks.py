"""Find the course notebooks and read what they declare: the parameters cell and the quick profile."""
from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from ..paths import display_path
from .values import UNPARSED, RequestError, read_literal

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = REPO / "notebooks"


def find_notebook(name: str, notebook_dir: Path = NOTEBOOK_DIR) -> Path:
    """Resolve a notebook given as a path, a name (with or without .ipynb) or a unique number prefix like '02';
    'ko/02' looks in the notebooks' ko/ folder (the Korean edition)."""
    candidate = Path(name)
    if candidate.suffix == ".ipynb" and candidate.is_file():
        return candidate.resolve()
    if "/" in name.strip("/") and not candidate.is_absolute():
        folder, _, rest = name.strip("/").rpartition("/")
        return find_notebook(rest, notebook_dir / folder)
    available = sorted(notebook_dir.glob("*.ipynb"))
    stem = candidate.stem if candidate.suffix == ".ipynb" else name
    exact = [p for p in available if p.stem == stem]
    prefixed = [p for p in available if p.stem.startswith(f"{stem}_")]
    if exact or len(prefixed) == 1:
        return (exact or prefixed)[0].resolve()
    choices = ", ".join(p.stem for p in available) or "(none)"
    reason = "is ambiguous" if prefixed else "is not a notebook"
    raise RequestError(f"Notebook {name!r} {reason} in {display_path(notebook_dir)}. Choose from: {choices}.")


def lesson_notebooks(notebook_dir: Path = NOTEBOOK_DIR) -> list[Path]:
    """Return the lesson notebooks (NN_name.ipynb) in course order."""
    return sorted(notebook_dir.glob("[0-9][0-9]_*.ipynb"))


def read_notebook(notebook: Path) -> dict:
    """Read a notebook's JSON, failing with the file's name when it is not a notebook."""
    try:
        content = json.loads(notebook.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RequestError(f"Cannot read {display_path(notebook)} as a notebook: {exc}") from exc
    if not isinstance(content, dict) or not isinstance(content.get("cells"), list):
        raise RequestError(f"{display_path(notebook)} is not a notebook (no list of cells).")
    return content


def parameters_cell(notebook: Path) -> str:
    """Return the source of the notebook's cell tagged 'parameters', failing clearly when there is none."""
    tagged = [c for c in read_notebook(notebook)["cells"]
              if c.get("cell_type") == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise RequestError(f"{notebook.name} must have exactly one code cell tagged 'parameters' "
                           f"(found {len(tagged)}); see CONTRIBUTING.md.")
    source = tagged[0]["source"]
    return "".join(source) if isinstance(source, list) else source


def notebook_parameters(notebook: Path) -> dict[str, Any]:
    """Return {NAME: default} for every assignment in the parameters cell (non-literal defaults map to UNPARSED)."""
    try:
        tree = ast.parse(parameters_cell(notebook))
    except SyntaxError as exc:
        raise RequestError(f"The parameters cell of {notebook.name} is not valid Python: {exc}") from exc
    found: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                try:
                    found[target.id] = read_literal(node.value)
                except ValueError:
                    found[target.id] = UNPARSED
    return found


def quick_parameters(notebook: Path) -> dict[str, Any]:
    """Return the quick profile from the notebook metadata (course_kit.quick_parameters)."""
    quick = read_notebook(notebook).get("metadata", {}).get("course_kit", {}).get("quick_parameters")
    if not quick:
        raise RequestError(f"{notebook.name} has no quick profile (metadata course_kit.quick_parameters); "
                           "add one or run without --quick.")
    return dict(quick)
