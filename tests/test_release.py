"""Releasing an assignment: the zip students get holds no solution and no questionnaire answer (found with the kit's
own markers: `### BEGIN/END SOLUTION` and the `answers` tag) for any lesson of either edition, a release that would
leak is refused, and a released notebook runs from the unpacked zip (its checker module comes with it)."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from papermill.exceptions import PapermillExecutionError

from course_utils.exercises import NOT_ANSWERED
from course_utils.instructor import release
from course_utils.instructor.execution import execute_notebook
from course_utils.instructor.grade import main as grade_main
from course_utils.instructor.student import ANSWERS_TAG, cell_source, solution_lines, strip_solutions
from course_utils.instructor.values import RequestError

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
LESSONS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")) + sorted((REPO / "notebooks" / "ko").glob(
    "[0-9][0-9]_*.ipynb"))


def hidden_lines(instructor: dict) -> list[str]:
    """Solution and answer lines of at least 6 characters that the lesson does not state anywhere else."""
    answers = [c for c in instructor["cells"] if ANSWERS_TAG in c.get("metadata", {}).get("tags", [])]
    elsewhere = "\n".join(strip_solutions(cell_source(c)) for c in instructor["cells"] if c not in answers)
    lines = solution_lines(instructor) + [ln.strip() for c in answers for ln in cell_source(c).splitlines()]
    return [line for line in lines if len(line) >= 6 and line not in elsewhere]


def readable_text(name: str, data: bytes) -> str:
    """What a student can read in a released file: a notebook's sources and text outputs, any other file's text."""
    if not name.endswith(".ipynb"):
        return data.decode("utf-8", "replace")
    parts = []
    for cell in json.loads(data)["cells"]:
        parts.append(cell_source(cell))
        for output in cell.get("outputs", []):
            parts.append(json.dumps({k: v for k, v in output.get("data", {}).items() if not k.startswith("image/")},
                                    ensure_ascii=False) + str(output.get("text", "")))
    return "\n".join(parts)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_release_holds_no_solution_and_no_answer(lesson, tmp_path):
    instructor = json.loads(lesson.read_text(encoding="utf-8"))
    secret = hidden_lines(instructor)
    assert len(secret) >= 10, "the lesson has solutions and questionnaire answers to keep out"
    with zipfile.ZipFile(release.write_release(lesson, tmp_path)) as archive:
        names = archive.namelist()
        text = "\n".join(readable_text(name, archive.read(name)) for name in names)
        released = json.loads(archive.read(next(n for n in names if n.endswith(lesson.name))))
    assert [line for line in secret if line in text] == []
    assert "BEGIN SOLUTION" not in text and "Answers (instructor version)" not in text
    assert all(name.startswith(f"{lesson.stem}/") for name in names) and f"{lesson.stem}/HANDING_IN.md" in names
    assert released["metadata"]["course_kit"]["student_version"] is True


def test_a_release_that_would_leak_is_refused(monkeypatch):
    monkeypatch.setattr(release, "student_version", lambda notebook, name: notebook)  # a broken student build
    with pytest.raises(RequestError, match="Not released: 92_fixture_exercises.ipynb's release would contain"):
        release.release_files(FIXTURES / "92_fixture_exercises.ipynb")


def test_a_released_notebook_runs(tmp_path, capsys):
    assert grade_main(["release", "92", "--out", str(tmp_path), "--notebook-dir", str(FIXTURES)]) == 0
    assert "92_fixture_exercises/notebooks/fixture_checks.py" in capsys.readouterr().out
    with zipfile.ZipFile(tmp_path / "92_fixture_exercises.zip") as archive:
        archive.extractall(tmp_path / "student")
    folder = tmp_path / "student" / "92_fixture_exercises" / "notebooks"
    given = folder / "92_fixture_exercises.ipynb"
    with pytest.raises(PapermillExecutionError) as caught:  # as handed out: it stops at the first check
        execute_notebook(given, tmp_path / "as-given.ipynb", cwd=folder)
    assert (caught.value.ename, caught.value.evalue) == ("ExerciseFailed", f"Exercise 1: {NOT_ANSWERED}")
    solutions = {c["id"]: c["source"] for c in json.loads((FIXTURES / given.name).read_text())["cells"]}
    solved = json.loads(given.read_text())
    for cell in solved["cells"]:
        if "# YOUR CODE HERE" in cell_source(cell):
            cell["source"] = solutions[cell["id"]]
    (folder / "solved.ipynb").write_text(json.dumps(solved))
    execute_notebook(folder / "solved.ipynb", tmp_path / "solved.out.ipynb", cwd=folder)  # answered: runs to the end
    assert (tmp_path / "solved.out.ipynb").read_text().count("correct!") == 2
