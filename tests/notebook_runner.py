"""Run course notebooks with their quick profile (papermill) and hand back the executed copy and results."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import nbformat

from course_utils.instructor import notebooks
from course_utils.instructor.execution import execute_notebook
from course_utils.results import read_results

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
BUILD_DIR = REPO / "build" / "test-notebooks"


def notebook_path(name: str) -> Path:
    """Return notebooks/<name>.ipynb, failing clearly when it is missing."""
    path = NOTEBOOK_DIR / f"{name}.ipynb"
    assert path.is_file(), f"missing notebook {path}"
    return path


def quick_parameters(name: str) -> dict:
    """Return the quick profile stored in the notebook's metadata (course_kit.quick_parameters)."""
    return notebooks.quick_parameters(notebook_path(name))


@lru_cache(maxsize=None)
def run_quick(name: str, **overrides: str | int | float | bool) -> tuple[Path, dict]:
    """Execute the notebook once per test session with its quick profile (plus overrides); return (executed path,
    results)."""
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    output = BUILD_DIR / f"{name}.quick.ipynb"
    execute_notebook(notebook_path(name), output, {**quick_parameters(name), **overrides}, cwd=NOTEBOOK_DIR,
                     env={"COURSE_PROGRESS": "0"})  # no progress widgets in executed copies
    return output, read_results(output)


def error_outputs(path: Path) -> list[str]:
    """Return the error names and messages of any failing cells of an executed notebook."""
    nb = nbformat.read(path, as_version=4)
    return [
        f"{o['ename']}: {o['evalue']}"
        for c in nb.cells if c.cell_type == "code"
        for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
