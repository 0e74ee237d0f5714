"""nbval over every notebook, run with its quick profile: marked cells must reproduce their committed output."""
from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest
from papermill.parameterize import parameterize_notebook

from notebook_runner import BUILD_DIR, NOTEBOOK_DIR, quick_parameters

NOTEBOOKS = sorted(p.stem for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_marked_outputs_reproduce_under_nbval(name):
    nb = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    marked = sum("NBVAL_CHECK_OUTPUT" in c.source for c in nb.cells if c.cell_type == "code")
    assert marked >= 1, f"{name} marks no deterministic cell with # NBVAL_CHECK_OUTPUT"
    nb.metadata.setdefault("papermill", {})  # committed notebooks have papermill's run metadata stripped
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])  # papermill expects every cell to have a tags list
    quick = parameterize_notebook(nb, quick_parameters(name))
    target = NOTEBOOK_DIR / f".nbval_{name}.ipynb"  # beside the original so relative paths resolve the same
    nbformat.write(quick, target)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider",
             "-q", "--nbval-cell-timeout", "900", str(target)],
            cwd=NOTEBOOK_DIR, capture_output=True, text=True, timeout=1800,
        )
    finally:
        target.unlink(missing_ok=True)
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    (BUILD_DIR / f"{name}.nbval.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
