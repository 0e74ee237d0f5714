"""Student versions: no solution text, placeholders at the right indentation, and they stop at the first check."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from papermill.exceptions import PapermillExecutionError

from course_utils.instructor import student
from course_utils.instructor.execution import execute_notebook
from course_utils.exercises import NOT_ANSWERED
from course_utils.results import read_results

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
EXERCISES = FIXTURES / "92_fixture_exercises.ipynb"
NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
LESSONS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def execute(source: Path, target: Path) -> Path:
    execute_notebook(source, target, cwd=FIXTURES)
    return target


@pytest.fixture(scope="module")
def executed_instructor(tmp_path_factory) -> Path:
    """The instructor fixture notebook, run once with papermill."""
    return execute(EXERCISES, tmp_path_factory.mktemp("instructor") / EXERCISES.name)


def unique_solution_lines(instructor: dict) -> list[str]:
    """Solution lines that appear nowhere else in the instructor notebook's sources (what must not leak)."""
    elsewhere = "\n".join(student.strip_solutions(student.cell_source(c)) for c in instructor["cells"])
    return [line for line in student.solution_lines(instructor) if len(line) >= 6 and line not in elsewhere]


def visible_text(notebook: dict) -> str:
    """Everything a student sees: sources and non-image outputs."""
    parts = []
    for cell in notebook["cells"]:
        parts.append(student.cell_source(cell))
        for output in cell.get("outputs", []):
            data = {k: v for k, v in output.get("data", {}).items() if not k.startswith("image/")}
            parts.append(json.dumps({**output, "data": data}, ensure_ascii=False))
    return "\n".join(parts)


def test_instructor_notebook_passes_every_check(executed_instructor):
    nb = nbformat.read(executed_instructor, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    texts = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Exercise 1: correct!" in texts and "Exercise 2: correct!" in texts
    assert read_results(executed_instructor) == {"exercises_done": 2}


def test_student_version_has_placeholders_and_no_solution_text(executed_instructor):
    instructor = json.loads(executed_instructor.read_text())
    secret = unique_solution_lines(instructor)
    assert "hours = IMAGES * 5 / 3600" in secret and len(secret) == 2
    result = student.student_version(instructor, "92")
    text = visible_text(result)
    for line in secret:
        assert line not in text
    assert "19.44" not in text, "the solution cell's printed answer is cleared too"
    sources = [student.cell_source(c) for c in result["cells"]]
    assert "hours = None  # hours one person needs to label every image\n# YOUR CODE HERE\npass\nprint(hours)" in sources
    relu = next(s for s in sources if "def relu" in s)
    assert relu.endswith('    """Return max(x, 0) element-wise."""\n    # YOUR CODE HERE\n    pass')


def test_only_solution_and_check_cells_lose_their_outputs(executed_instructor):
    instructor = json.loads(executed_instructor.read_text())
    result = student.student_version(instructor)
    assert len(result["cells"]) == len(instructor["cells"])
    for before, after in zip(instructor["cells"], result["cells"]):
        src = student.cell_source(before)
        touched = student.BEGIN in src or "check_" in src
        if before["cell_type"] == "code" and touched:
            assert after["outputs"] == [] and after["execution_count"] is None
        else:
            assert after == before, f"cell changed although it holds no solution: {src[:60]!r}"
    assert result["metadata"]["course_kit"]["student_version"] is True
    assert "student_version" not in instructor["metadata"]["course_kit"], "the instructor notebook is not modified"


def test_student_notebook_stops_at_the_first_check_with_the_checker_hint(tmp_path):
    instructor = json.loads(EXERCISES.read_text())
    target = tmp_path / "student.ipynb"
    target.write_text(json.dumps(student.student_version(instructor)))
    with pytest.raises(PapermillExecutionError) as caught:
        execute(target, tmp_path / "student.out.ipynb")
    assert caught.value.ename == "ExerciseFailed"
    assert caught.value.evalue == f"Exercise 1: {NOT_ANSWERED}"
    assert "check_hours(hours)" in caught.value.source
    executed = nbformat.read(tmp_path / "student.out.ipynb", as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert [e.ename for e in errors] == ["ExerciseFailed"], "no unrelated error before the first check"


def test_a_wrong_answer_gets_a_hint_not_the_solution(tmp_path):
    nb = json.loads(EXERCISES.read_text())
    for cell in nb["cells"]:
        cell["source"] = student.cell_source(cell).replace("hours = IMAGES * 5 / 3600", "hours = IMAGES * 5")
    target = tmp_path / "wrong.ipynb"
    target.write_text(json.dumps(nb))
    with pytest.raises(PapermillExecutionError) as caught:
        execute(target, tmp_path / "wrong.out.ipynb")
    assert caught.value.ename == "ExerciseFailed" and "Hint:" in caught.value.evalue
    assert "3600" not in caught.value.evalue and "19.4" not in caught.value.evalue


@pytest.mark.parametrize("source, message", [
    ("x = None\n### BEGIN SOLUTION\nx = 1\n", "is never closed"),
    ("x = 1\n### END SOLUTION\n", "without a '### BEGIN SOLUTION'"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "inside another solution block"),
])
def test_broken_markers_are_named_with_cell_and_line(source, message):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell(source)])
    with pytest.raises(student.SolutionMarkerError, match=message) as caught:
        student.student_version(json.loads(nbformat.writes(nb)), "07_x.ipynb")
    assert "07_x.ipynb, cell 1" in str(caught.value)


def test_markdown_solutions_become_an_answer_placeholder():
    out = student.strip_solutions("Why?\n### BEGIN SOLUTION\nBecause the rate is too large.\n### END SOLUTION",
                                  markdown=True)
    assert out == "Why?\nYOUR ANSWER HERE"


def test_command_writes_notebooks_and_assets_to_a_separate_folder(tmp_path, capsys):
    kit = tmp_path / "kit"
    (kit / "notebooks").mkdir(parents=True)
    (kit / "assets").mkdir()
    (kit / "assets" / "figure.svg").write_text("<svg/>")
    shutil.copy(EXERCISES, kit / "notebooks")
    out = tmp_path / "student"
    assert student.main(["--notebook-dir", str(kit / "notebooks"), "--out", str(out)]) == 0
    written = out / "notebooks" / EXERCISES.name
    assert written.is_file() and (out / "assets" / "figure.svg").is_file()
    assert "IMAGES * 5 / 3600" not in written.read_text()
    assert "IMAGES * 5 / 3600" in (kit / "notebooks" / EXERCISES.name).read_text()
    assert student.main(["--notebook-dir", str(kit / "notebooks"), "--out", str(out), "99_nope"]) == 2
    assert "99_nope" in capsys.readouterr().err


@pytest.mark.parametrize("path", [*LESSONS, EXERCISES], ids=lambda p: p.stem)
def test_no_solution_text_reaches_students(path):
    instructor = json.loads(path.read_text(encoding="utf-8"))
    secret = unique_solution_lines(instructor)
    assert student.solution_lines(instructor), f"{path.name} marks no solutions"
    result = student.student_version(instructor, path.name)
    text = visible_text(result)
    leaked = [line for line in secret if line in text]
    assert not leaked, f"{path.name}: solution text in the student version: {leaked[:3]}"
    placeholders = sum(student.cell_source(c).count("# YOUR CODE HERE") for c in result["cells"])
    assert placeholders >= 2


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_student_version_stops_at_its_first_exercise_with_the_hint(path, tmp_path):
    """Quick profile; every cell before the first check runs as in the lesson, the check says 'not answered'."""
    instructor = json.loads(path.read_text(encoding="utf-8"))
    version = student.student_version(instructor, path.name)
    checks = [i for i, c in enumerate(version["cells"]) if c["cell_type"] == "code"
              and student.CHECK_CALL.search(student.cell_source(c)) and not student.has_solution(instructor["cells"][i])]
    assert checks, f"{path.name} has no check cell"
    version["cells"] = version["cells"][: checks[0] + 1]  # nothing after the first check can run anyway
    target = path.parent / f".student_{path.stem}.ipynb"  # beside the lesson so relative paths resolve the same
    target.write_text(json.dumps(version))
    quick = instructor["metadata"]["course_kit"]["quick_parameters"]
    try:
        with pytest.raises(PapermillExecutionError) as caught:
            execute_notebook(target, tmp_path / path.name, quick, cwd=path.parent)
    finally:
        target.unlink(missing_ok=True)
    assert caught.value.ename == "ExerciseFailed", f"{caught.value.ename}: {caught.value.evalue}"
    assert NOT_ANSWERED in caught.value.evalue
    assert student.cell_source(version["cells"][checks[0]]).strip() in caught.value.source


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_lesson_has_a_questionnaire_whose_answers_only_instructors_see(path):
    instructor = json.loads(path.read_text(encoding="utf-8"))
    tagged = [c for c in instructor["cells"] if student.ANSWERS_TAG in c.get("metadata", {}).get("tags", [])]
    assert tagged, f"{path.name} has no questionnaire answers (a markdown cell tagged 'answers')"
    assert any("## Questionnaire" in student.cell_source(c) for c in instructor["cells"])
    result = student.student_version(instructor, path.name)
    assert not any("Answers (instructor version)" in student.cell_source(c) for c in result["cells"])
    assert any("## Questionnaire" in student.cell_source(c) for c in result["cells"])


def test_cells_tagged_answers_are_removed_and_nothing_else():
    notebook = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "## Questionnaire\n1. Why?"},
                          {"cell_type": "markdown", "metadata": {"tags": ["answers"]}, "source": "1. Because."},
                          {"cell_type": "markdown", "metadata": {"tags": ["other"]}, "source": "kept"}],
                "metadata": {}}
    result = student.student_version(notebook)
    assert [student.cell_source(c) for c in result["cells"]] == ["## Questionnaire\n1. Why?", "kept"]
    assert len(notebook["cells"]) == 3  # the instructor notebook is not modified


def test_student_versions_of_both_editions_keep_their_folders(tmp_path):
    """The Korean edition's student versions go to notebooks/ko/, never over the English ones of the same name."""
    from course_utils.instructor.student import main

    root = tmp_path / "notebooks"
    (root / "ko").mkdir(parents=True)
    for folder, word in ((root, "answer"), (root / "ko", "정답")):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell(f"# 01 · {word}"),
                    nbformat.v4.new_code_cell("x = None\n### BEGIN SOLUTION\nx = 42\n### END SOLUTION")]
        nbformat.write(nb, folder / "01_tiny.ipynb")
    out = tmp_path / "build"
    assert main(["--out", str(out), "--notebook-dir", str(root)]) == 0
    english = (out / "notebooks" / "01_tiny.ipynb").read_text(encoding="utf-8")
    korean = (out / "notebooks" / "ko" / "01_tiny.ipynb").read_text(encoding="utf-8")
    assert "answer" in english and "정답" in korean and "x = 42" not in korean + english
    assert main(["ko/01", "--out", str(tmp_path / "one"), "--notebook-dir", str(root)]) == 0
    assert (tmp_path / "one" / "notebooks" / "ko" / "01_tiny.ipynb").is_file()
