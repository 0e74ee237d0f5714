"""A failed check shows its hint and where the run stopped, and nothing else: no traceback lines that would reveal the
checker's comparison. Run All stops at the first failed check while JupyterLab leaves the view at the bottom, so the
failure says that the run stopped there and at which exercise."""
from __future__ import annotations

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell
from papermill.exceptions import PapermillExecutionError

from course_utils.exercises import stop_note
from course_utils.instructor.execution import execute_notebook

SECRET = "int(answer) == 469"  # the checker's comparison: it contains the answer and must never be shown


@pytest.fixture
def shell():
    shell = InteractiveShell.instance()
    yield shell
    shell.set_custom_exc((), None)
    InteractiveShell.clear_instance()


def test_a_failed_check_in_ipython_prints_the_hint_without_the_checker_source(shell, capsys):
    shell.run_cell("from course_utils.exercises import require\nanswer = 5", store_history=True)  # as a kernel runs
    result = shell.run_cell(f"require({SECRET}, 'Exercise 1', 'count the minibatches, rounding up')", store_history=True)
    shown = capsys.readouterr().out
    assert isinstance(result.error_in_exec, AssertionError)
    assert "✘ Exercise 1: not quite. Hint: count the minibatches, rounding up" in shown
    assert "469" not in shown and "require(" not in shown
    assert "\n↑ Run All stops here, at Exercise 1: the cells below this one have not run." in shown


def test_the_stop_note_names_the_whole_exercise_title_not_the_hint():
    note = stop_note("Exercise 3 (minibatches of an epoch): not quite. Hint: 60,000 is not a multiple: round up")
    assert note.startswith("↑ Run All stops here, at Exercise 3 (minibatches of an epoch): the cells below ")
    assert "Run → Run Selected Cell and All Below" in note  # JupyterLab's menu item, as JupyterLab names it


def test_a_failed_check_in_an_executed_notebook_stores_only_the_hint(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from course_utils.exercises import require\nanswer = 5"),
                nbformat.v4.new_code_cell(f"require({SECRET}, 'Exercise 1', 'count the minibatches')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source, output = tmp_path / "check.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, source)
    with pytest.raises(PapermillExecutionError) as failed:
        execute_notebook(source, output, {}, cwd=tmp_path, timeout=60)
    assert failed.value.ename == "ExerciseFailed", "the run must stop at the failed check, not at another error"
    executed = nbformat.read(output, as_version=4)
    check = next(c for c in executed.cells if c.cell_type == "code" and "require(" in c.source and "import" not in c.source)
    error = check.outputs[0]
    assert error["ename"] == "ExerciseFailed"
    assert error["traceback"] == ["✘ Exercise 1: not quite. Hint: count the minibatches",
                                  "↑ Run All stops here, at Exercise 1: the cells below this one have not run. Fix "
                                  "your answer, then use Run → Run Selected Cell and All Below."]
