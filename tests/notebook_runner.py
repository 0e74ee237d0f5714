"""Run course notebooks with their quick profile (papermill) and hand back the executed copy and results.

Each lesson's quick profile runs at most twice per test session, in two separate kernels: `run_quick` (the run every
lesson test reads) and `run_quick_again` (the second run: the reproducibility test compares the two, and the marked
cells of both are compared with the committed outputs)."""
from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import Callable, TypeVar

import nbformat

from course_utils.instructor import notebooks
from course_utils.instructor.execution import execute_notebook
from course_utils.results import read_results

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
BUILD_DIR = REPO / "build" / "test-notebooks"
LESSON_08 = "08_project_template"
LESSON_08_INPUTS = BUILD_DIR / "08_inputs"  # lesson 08's bundles (quick_inputs)


Result = TypeVar("Result")


def once_per_session(function: Callable[[str], Result]) -> Callable[[str], Result]:
    """Cache a function of a lesson name for the test session, its failure included: a lesson whose run fails is run
    once, and every later test that reads it gets the same error at once instead of running it again."""
    outcomes: dict[str, tuple[bool, object]] = {}

    @functools.wraps(function)
    def cached(name: str) -> Result:
        if name not in outcomes:
            try:
                outcomes[name] = (True, function(name))
            except Exception as error:  # noqa: BLE001 - re-raised below, for this test and every later one
                outcomes[name] = (False, error)
        succeeded, value = outcomes[name]
        if not succeeded:
            raise value
        return value

    return cached


def notebook_path(name: str) -> Path:
    """Return notebooks/<name>.ipynb, failing clearly when it is missing."""
    path = NOTEBOOK_DIR / f"{name}.ipynb"
    assert path.is_file(), f"missing notebook {path}"
    return path


def quick_parameters(name: str) -> dict:
    """Return the quick profile stored in the notebook's metadata (course_kit.quick_parameters)."""
    return notebooks.quick_parameters(notebook_path(name))


def _execute(name: str, output: Path) -> tuple[Path, dict]:
    """Execute the lesson's quick profile (with quick_inputs) in a fresh kernel into `output`; return (output,
    results)."""
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    execute_notebook(notebook_path(name), output, {**quick_parameters(name), **quick_inputs(name)}, cwd=NOTEBOOK_DIR,
                     env={"COURSE_PROGRESS": "0"})  # no progress widgets in executed copies
    return output, read_results(output)


@once_per_session
def quick_inputs(name: str) -> dict[str, str]:
    """Parameters that make a lesson's quick runs independent of what other lessons left behind, prepared once per
    session: lesson 08 serves a small MNIST bundle trained here (not lesson 01's) and writes under build/."""
    if name != LESSON_08:
        return {}
    from course_utils.mnist import load_mnist
    from course_utils.project import load_or_train_mnist_bundle

    shutil.rmtree(LESSON_08_INPUTS, ignore_errors=True)
    mnist = load_mnist(verbose=False)
    folder, trained = load_or_train_mnist_bundle(LESSON_08_INPUTS / "none", LESSON_08_INPUTS / "mnist_bundle",
                                                 mnist.train_images[:10_000], mnist.train_labels[:10_000])
    assert trained and folder == LESSON_08_INPUTS / "mnist_bundle", f"no MNIST bundle trained into {folder}"
    return {"MNIST_BUNDLE": str(folder), "MNIST_FALLBACK_DIR": str(LESSON_08_INPUTS / "mnist_fallback"),
            "BUNDLE_DIR": str(LESSON_08_INPUTS / "breast_cancer_mlp")}


@once_per_session
def run_quick(name: str) -> tuple[Path, dict]:
    """Execute the notebook once per test session with its quick profile; return (executed path, results)."""
    return _execute(name, BUILD_DIR / f"{name}.quick.ipynb")


@once_per_session
def run_quick_again(name: str) -> tuple[Path, dict]:
    """A second execution of the quick profile, in its own kernel, after `run_quick(name)`; cached per session like
    it. Both runs read and write the same folders, as a student's rerun does."""
    run_quick(name)
    return _execute(name, BUILD_DIR / f"{name}.quick-2.ipynb")


def nbval_options(cell: dict) -> dict[str, bool]:
    """nbval's options for a code cell, parsed by nbval itself: metadata tags (`nbval-check-output`, ...), overridden by
    comment markers in the source (`# NBVAL_CHECK_OUTPUT`, ...), as nbval's collector merges them."""
    from nbval.plugin import find_comment_markers, find_metadata_tags

    options = dict(find_metadata_tags(cell.get("metadata", {})))
    options.update(find_comment_markers(cell["source"]))
    return options


def checks_output(cell: dict) -> bool:
    """Whether nbval in lax mode compares this cell's output with the committed one (a marker or tag asks for it)."""
    return cell["cell_type"] == "code" and nbval_options(cell).get("check", False)


def error_outputs(path: Path) -> list[str]:
    """Return the error names and messages of any failing cells of an executed notebook."""
    nb = nbformat.read(path, as_version=4)
    return [
        f"{o['ename']}: {o['evalue']}"
        for c in nb.cells if c.cell_type == "code"
        for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
