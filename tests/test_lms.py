"""Exports an LMS imports: Canvas's gradebook CSV and Moodle's grading worksheet, read back with `csv` to check that
each student's score sits beside the id the LMS matches them by. No notebook runs here."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from course_utils.instructor.grade_export import main as export_main
from course_utils.instructor.gradebook import Gradebook, Grading
from course_utils.instructor.lms import CANVAS_STUDENT_COLUMNS, MOODLE_COLUMNS

ROSTER = ("student,id,name,email,sis_user_id\n"
          "김철수,12345,\"Kim, Cheolsu\",kim@example.org,S-1\n"
          "ana,23456,\"Ana \"\"the\"\" Best\",ana@example.org,\n"
          "ben,,Ben,ben@example.org,\n")


def grading(student: str, lesson: str, points: float, manual: str = "") -> Grading:
    scores = [{"exercise": "hours", "number": 1, "points": points, "max_points": 2.0, "status": "passed",
               "hint": ""}]
    return Grading("r", student, lesson, f"{lesson}.ipynb", student + lesson, "k", "graded", "", points, 2.0, 1.0,
                   "2026-04-08T00:00:00Z", "local", scores)


@pytest.fixture
def out(tmp_path) -> Path:
    """A gradebook of two lessons for three roster students (one without an id) and one student not on it."""
    folder = tmp_path / "grades"
    book = Gradebook(folder / "gradebook.sqlite", folder)
    for student, lesson, points in (("김철수", "02_gradient_descent", 1.5), ("ana", "02_gradient_descent", 2.0),
                                    ("ana", "03_backprop", 0.25), ("ben", "02_gradient_descent", 1.0),
                                    ("dan", "02_gradient_descent", 2.0)):
        book.add(grading(student, lesson, points))
    book.close()
    (folder / "students.csv").write_text(ROSTER, encoding="utf-8")
    return folder


def read(path: Path) -> list[list[str]]:
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf"), "no byte-order mark: the LMS compares header names"
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_canvas_file_matches_students_by_their_canvas_id(out, capsys):
    assert export_main(["--out", str(out), "--format", "canvas", "--assignment", "02=777"]) == 0
    rows = read(out / "canvas.csv")
    assert rows[0] == CANVAS_STUDENT_COLUMNS + ["02_gradient_descent (777)", "03_backprop"]
    assert rows[1] == ["Points Possible", "", "", "", "", "2", "2"]
    by_id = {row[1]: row for row in rows[2:]}
    assert set(by_id) == {"12345", "23456"}  # ben (no id) and dan (not on the roster) cannot be matched
    assert by_id["12345"] == ["Kim, Cheolsu", "12345", "S-1", "", "", "1.5", "0"]  # no submission of 03: 0
    assert by_id["23456"] == ['Ana "the" Best', "23456", "", "", "", "2", "0.25"]
    warning = capsys.readouterr().err
    assert "2 student(s) left out" in warning and "ben, dan" in warning


def test_moodle_worksheet_holds_one_lesson_with_participant_identifiers(out, capsys):
    assert export_main(["--out", str(out), "--format", "moodle"]) == 2  # two lessons: which one?
    assert "name its lesson with --lesson (02, 03)" in capsys.readouterr().err
    assert export_main(["--out", str(out), "--format", "moodle", "--lesson", "02"]) == 0
    rows = read(out / "moodle-02.csv")
    assert rows[0] == MOODLE_COLUMNS
    got = {row[0]: dict(zip(rows[0], row)) for row in rows[1:]}
    assert set(got) == {"Participant 12345", "Participant 23456"}
    assert (got["Participant 12345"]["Grade"], got["Participant 12345"]["Email address"]) == ("1.5", "kim@example.org")
    assert got["Participant 23456"]["Grade"] == "2" and got["Participant 23456"]["Maximum grade"] == "2"
    assert got["Participant 12345"]["Feedback comments"] == "02_gradient_descent: 1.5 of 2 points"


def test_an_unknown_assignment_item_is_a_bad_request(out, capsys):
    assert export_main(["--out", str(out), "--format", "canvas", "--assignment", "04=1"]) == 2
    assert "LESSON=ID with a lesson of the gradebook (02, 03)" in capsys.readouterr().err
    assert not (out / "canvas.csv").exists()
