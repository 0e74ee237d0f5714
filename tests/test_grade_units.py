"""Fast tests of grading's pure parts, each aimed at a bug that would let one student's grade reach another's or
let a bad archive through: distinct feedback pages for distinct names, which grading is reused, a zip whose member
headers lie about their sizes, and the scoring of a run that stopped. No notebook runs here."""
from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest

from course_utils.instructor import grade_submissions
from course_utils.instructor.grade import safe_name, score_rows, stop_reason, Limits
from course_utils.instructor.grade_prepare import Exercise, Lesson
from course_utils.instructor.gradebook import Gradebook, Grading


@pytest.mark.parametrize("names", [
    ["kim/lee", "kim_lee", "kim?lee", "kim:lee"],  # path-unsafe characters replaced the same way
    ["a" * 80 + "x", "a" * 80 + "y", "a" * 80],  # cut at 80 characters
    ["김 철수", "김_철수", "김 철수 "],  # Korean, a space, a trailing space
    [".hidden", "hidden", " hidden"],
])
def test_different_students_never_share_a_feedback_page(names):
    files = [safe_name(n) for n in names]
    assert len(set(files)) == len(names), files
    assert all("/" not in f and "\\" not in f and f not in (".", "..") and f.strip(" .") == f for f in files)
    assert safe_name("김 철수") == "김 철수"  # a name that is already safe is kept as it is


def grading(student: str, status: str, sha: str, key: str, total: float, run: str) -> Grading:
    return Grading(run, student, "02", "02.ipynb", sha, key, status, "", total, 4.0, 1.0, run, "local",
                   [{"exercise": "e", "number": 1, "points": total, "max_points": 4.0, "status": "passed",
                     "hint": ""}])


def test_only_the_latest_grading_of_the_same_file_and_grader_is_reused(tmp_path):
    book = Gradebook(tmp_path / "gradebook.sqlite", tmp_path)
    try:
        book.add(grading("ana", "graded", "sha1", "key", 1.0, "2026-01-01T00:00:00Z"))
        book.add(grading("ana", "graded", "sha1", "key", 3.0, "2026-01-02T00:00:00Z"))
        assert book.reusable("ana", "02", "sha1", "key").total == 3.0  # the newest, not the first
        assert book.reusable("ana", "02", "sha2", "key") is None  # a new file is graded again
        assert book.reusable("ana", "02", "sha1", "other key") is None  # so is a changed grader
        assert book.reusable("ben", "02", "sha1", "key") is None  # another student's file is never theirs
        book.add(grading("ana", "error", "sha1", "key", 0.0, "2026-01-03T00:00:00Z"))
        assert book.reusable("ana", "02", "sha1", "key") is None  # the grader's own failure: graded again
        book.add(grading("ana", "stopped", "sha1", "key", 1.0, "2026-01-04T00:00:00Z"))
        assert book.reusable("ana", "02", "sha1", "key").status == "stopped"  # the student's own stop is kept
    finally:
        book.close()


def lying_zip(path: Path, real: bytes, claimed: int) -> None:
    """A zip whose one member says (in both headers) that it holds `claimed` bytes while it inflates to `real`."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ana/02.ipynb", real)
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local header, central directory
        at = data.find(signature)
        data[at + offset: at + offset + 4] = struct.pack("<I", claimed)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("real, claimed", [(50_000, 100), (50_000, 2_000), (2_000, 2_000)])
def test_no_member_is_unpacked_beyond_the_cap_whatever_its_header_says(tmp_path, monkeypatch, real, claimed):
    """A header that lies low, one that admits a member over the cap, and an honest oversized member: each is
    refused and reported, and nothing over the cap lands on disk."""
    monkeypatch.setattr(grade_submissions, "MAX_MEMBER_BYTES", 1000)
    archive = tmp_path / "class.zip"
    lying_zip(archive, b"x" * real, claimed=claimed)
    problems = grade_submissions.safe_extract(archive, tmp_path / "out")
    unpacked = tmp_path / "out" / "ana" / "02.ipynb"
    assert not unpacked.exists() or unpacked.stat().st_size <= 1000
    assert problems and "ana/02.ipynb" in problems[0]


def lesson(points: tuple[float, ...]) -> Lesson:
    exercises = [Exercise(f"k{i}", f"e{i}", p, "", None, [], i + 1) for i, p in enumerate(points)]
    return Lesson(Path("02_x.ipynb"), {"cells": []}, exercises, {"cells": []}, [])


def test_scores_count_only_passed_checks_and_name_what_did_not_run():
    rows = score_rows(lesson((1.0, 2.0, 3.0)), {"k0": ("passed", ""), "k1": ("failed", "hint")}, "not run: x")
    assert [(r["points"], r["status"], r["hint"]) for r in rows] == [
        (1.0, "passed", ""), (0.0, "failed", "hint"), (0.0, "not run", "not run: x")]
    assert [r["max_points"] for r in rows] == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("kind, status, words", [
    ("CellTimeoutError", "stopped", "longer than 7 s"), ("NotebookTimeout", "stopped", "longer than 30 s in all"),
    ("DeadKernelError", "stopped", "kernel died"), ("GraderCrash", "error", "could not run"),
])
def test_why_a_run_stopped_is_the_students_or_the_graders(kind, status, words):
    got = stop_reason({"finished": False, "kind": kind, "error": ""}, "in cell 3", Limits(7, 30, 1 << 30))
    assert got[0] == status and words in got[1] and ("in cell 3" in got[1] or status == "error")
    assert stop_reason({"finished": True, "kind": "", "error": ""}, "", Limits()) == ("graded", "")


# --- feedback pages and the class report ----------------------------------------------------------------------------

FIXTURE = Path(__file__).parent / "fixtures" / "notebooks" / "92_fixture_exercises.ipynb"


def fixture_class(tmp_path: Path) -> tuple[Path, "Lesson"]:
    """A graded class of fixture 92 written as a grading run writes it: ana answered exercise 1 and left exercise 2,
    ben handed in the untouched student version, cho handed in nothing (on the roster)."""
    import json

    from course_utils.instructor.grade import Submission
    from course_utils.instructor.grade_export import class_table
    from course_utils.instructor.grade_prepare import read_lesson
    from course_utils.instructor.grade_report import write_outputs
    from course_utils.instructor.grade_submissions import read_roster
    from course_utils.instructor.manual import record_submissions
    from course_utils.instructor.student import student_version

    lesson = read_lesson(FIXTURE)
    out = tmp_path / "out"
    book = Gradebook(out / "gradebook.sqlite", out)
    for student, (hours, relu) in {"ana": (1.0, 0.0), "ben": (0.0, 0.0)}.items():
        nb = student_version(json.loads(FIXTURE.read_text()))
        if hours:
            nb["cells"][4]["source"] = "hours = 70_000 * 5 / 3600  # my answer\nprint(hours)"
        path = tmp_path / f"{student}.ipynb"
        path.write_text(json.dumps(nb))
        record_submissions(book, [Submission(student, lesson, path, path.name, student * 8)], tmp_path)
        hints = {1.0: "", 0.0: "Hint: negative inputs become 0, others stay."}
        book.add(Grading("r", student, lesson.name, path.name, student * 8, "k", "graded", "", hours + relu, 2.0, 1.0,
                         "2026-04-08T00:00:00Z", "local", [
                             {"exercise": "hours", "number": 1, "points": hours, "max_points": 1.0,
                              "status": "passed" if hours else "failed", "hint": hints[hours]},
                             {"exercise": "relu", "number": 2, "points": relu, "max_points": 1.0,
                              "status": "failed", "hint": hints[relu]}]))
    (tmp_path / "students.csv").write_text("student\nana\nben\ncho\n")
    table = class_table(book.latest_gradings(), [lesson], read_roster(tmp_path / "students.csv"))
    book.close()
    write_outputs(out, table, {"run": "r", "graded": 2, "reused": 0, "gradebook": "g", "gradebook_problem": "",
                               "problems": []}, safe_name)
    return out, lesson


def test_a_feedback_page_shows_the_answer_cell_hint_and_points_but_never_the_solution(tmp_path):
    import json

    from course_utils.instructor.student import solution_lines

    out, _ = fixture_class(tmp_path)
    ana = (out / "feedback" / "ana.html").read_text(encoding="utf-8")
    assert "hours = 70_000 * 5 / 3600  # my answer" in ana  # the student's own answer cell
    assert "1. hours: 1 / 1" in ana and "2. relu: 0 / 1" in ana
    assert "Hint:</b> Hint: negative inputs become 0, others stay." in ana
    ben = (out / "feedback" / "ben.html").read_text(encoding="utf-8")
    assert "# YOUR CODE HERE" in ben and "my answer" not in ben  # each page shows that student's cells only
    for line in solution_lines(json.loads(FIXTURE.read_text())):
        assert line not in ana and line not in ben, line


def test_the_class_report_plots_the_points_per_exercise(tmp_path):
    from course_utils.instructor.grade_report import CATEGORIES, exercise_counts

    out, _ = fixture_class(tmp_path)
    svg = (out / "plots" / "92-exercises.svg").read_text(encoding="utf-8")
    assert svg.startswith("<?xml") and "1. hours" in svg and "2. relu" in svg and len(svg) < 60_000
    assert 'src="plots/92-exercises.svg"' in (out / "report.html").read_text(encoding="utf-8")
    from course_utils.instructor.grade_export import export

    table = export(out / "gradebook.sqlite", tmp_path / "students.csv")
    handed_in = [g for g in table.ordered() if g.graded_at]  # cho handed in nothing: not in the plot's class
    counts = exercise_counts(table.lessons[0], handed_in)
    assert [dict(zip((c[0] for c in CATEGORIES), row)) for row in counts] == [
        {"full points": 1, "part of the points": 0, "no points": 1, "not reached / no answer": 0,
         "to grade by hand": 0},
        {"full points": 0, "part of the points": 0, "no points": 2, "not reached / no answer": 0,
         "to grade by hand": 0}]


@pytest.mark.parametrize("score, expected", [
    ({"points": 1.0, "max_points": 1.0, "status": "passed"}, "full points"),
    ({"points": 0.0, "max_points": 1.0, "status": "failed"}, "no points"),
    ({"points": 1.5, "max_points": 2.0, "status": "graded by hand", "manual": True}, "part of the points"),
    ({"points": 1.5, "max_points": 2.0, "status": "answer changed", "manual": True}, "part of the points"),
    ({"points": 0.0, "max_points": 1.0, "status": "not run"}, "not reached / no answer"),
    ({"points": 0.0, "max_points": 2.0, "status": "no answer", "manual": True}, "not reached / no answer"),
    ({"points": 0.0, "max_points": 2.0, "status": "to grade", "manual": True}, "to grade by hand"),
    (None, "not reached / no answer"),  # a grading from before the exercise existed
])
def test_each_score_falls_in_one_category_of_the_exercise_plot(score, expected):
    from course_utils.instructor.grade_report import CATEGORIES, category

    assert CATEGORIES[category(score)][0] == expected
