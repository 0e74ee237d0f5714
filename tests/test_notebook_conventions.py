"""Every committed notebook is a complete lesson: badge, setup, parameters, outputs, figures, results, exercises."""
from __future__ import annotations

import json
import re

import nbformat
import pytest

from course_utils.colab import badge_markdown, setup_cell_source
from course_utils.results import RESULT_MIME, read_results
from notebook_runner import NOTEBOOK_DIR

NOTEBOOKS = sorted(p.stem for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
MACHINE_PATHS = re.compile(r"(/work/|/root/|/home/[a-z]|/Users/[A-Za-z]|/tmp/|[A-Z]:\\\\Users|/opt/|site-packages)")
MAX_NOTEBOOK_BYTES = 2_000_000


def load(name):
    return nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_course_has_its_notebooks():
    assert "01_mnist_fnn" in NOTEBOOKS


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_starts_with_title_badge_and_colab_setup(name):
    nb = load(name)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert badge_markdown(f"{name}.ipynb") in nb.cells[0].source
    assert code_cells(nb)[0].source == setup_cell_source()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_has_parameters_cell_and_quick_profile_naming_real_parameters(name):
    nb = load(name)
    tagged = [c for c in code_cells(nb) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell must carry the papermill 'parameters' tag"
    declared = set(re.findall(r"^([A-Z_][A-Z0-9_]*)\s*=", tagged[0].source, re.M))
    assert {"SEED", "DEVICE"} <= declared
    quick = nb.metadata["course_kit"]["quick_parameters"]
    assert quick and set(quick) <= declared, f"quick profile names unknown parameters {set(quick) - declared}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_with_outputs_of_a_clean_full_run(name):
    nb = load(name)
    cells = code_cells(nb)
    assert all(c.get("execution_count") for c in cells), "some code cells were never run"
    errors = [o for c in cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[:1]
    raw = (NOTEBOOK_DIR / f"{name}.ipynb").read_text(encoding="utf-8")
    assert raw.count('"image/png"') >= 2, "a lesson shows figures"
    assert len(raw.encode()) < MAX_NOTEBOOK_BYTES, "notebook too heavy: lower figure DPI or output size"
    results = read_results(json.loads(raw))
    assert results, f"no results recorded with course_utils.results.record ({RESULT_MIME})"
    assert "quick" not in json.dumps(nb.metadata.get("papermill", {}).get("parameters", {})).lower()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_outputs_show_no_machine_specific_paths(name):
    nb = load(name)
    for cell in code_cells(nb):
        for output in cell.outputs:
            text = json.dumps({k: v for k, v in output.items() if k != "data"} | {
                "data": {m: v for m, v in output.get("data", {}).items() if not m.startswith("image/")}})
            found = MACHINE_PATHS.search(text)
            assert not found, f"output shows a machine-specific path {found.group(0)!r}: {text[:300]}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_has_two_to_four_exercises_with_solutions_and_checks(name):
    nb = load(name)
    solutions = [c for c in code_cells(nb) if "### BEGIN SOLUTION" in c.source]
    assert 2 <= len(solutions) <= 4
    for c in solutions:
        assert c.source.count("### BEGIN SOLUTION") == c.source.count("### END SOLUTION")
    checks = [c for c in code_cells(nb) if "course_utils.exercises" in c.source or re.search(r"\bcheck_\w+\(", c.source)]
    assert len(checks) >= len(solutions)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_markdown_explains_with_math(name):
    nb = load(name)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "$" in markdown, "lessons write their math in LaTeX"
    assert len([c for c in nb.cells if c.cell_type == "markdown"]) >= 8
