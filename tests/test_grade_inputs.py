"""Grading inputs and the class table (issue points 4 and 5): student zips (in a student's folder or in the
submissions folder), flat LMS downloads, skipped inputs and the exit code, the roster, and the gradebook as the source
of grades.csv, the report and `grade export` (every lesson, every student, latest grading).

Most tests need no kernel: they collect submissions, fill a gradebook with Gradebook.add, or grade submissions that
are not notebooks (graded at once, without running anything). One test grades two zipped notebooks end to end."""
from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from course_utils.instructor.grade import Limits, collect, grade_class, main
from course_utils.instructor.grade_export import class_table, export
from course_utils.instructor.grade_prepare import read_lesson
from course_utils.instructor.grade_submissions import (Roster, Unpacker, find_students, lms_parts, read_roster,
                                                       safe_extract)
from course_utils.instructor.gradebook import Gradebook, Grading
from course_utils.instructor.student import student_version
from course_utils.instructor.values import RequestError

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
LESSON = FIXTURES / "92_fixture_exercises.ipynb"
FILE = LESSON.name
LIMITS = Limits(cell_timeout=60, notebook_timeout=180, memory=2 << 30)  # generous: the machine may be busy
CLASS = [f"s{i:02d}" for i in range(1, 13)]  # twelve students graded on time; a thirteenth comes late


def solved() -> dict:
    """The student version with every solution filled in from the instructor notebook (2 of 2 points)."""
    instructor = {c["id"]: c["source"] for c in json.loads(LESSON.read_text())["cells"]}
    nb = student_version(json.loads(LESSON.read_text()))
    for cell in nb["cells"]:
        if "# YOUR CODE HERE" in "".join(cell["source"]):
            cell["source"] = instructor[cell["id"]]
    return nb


def notebook_bytes(nb: dict | None = None) -> bytes:
    return json.dumps(nb or student_version(json.loads(LESSON.read_text()))).encode()


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zipped:
        for name, data in members.items():
            zipped.writestr(name, data)
    return path


def put(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def grading(student: str, lesson: str, points: tuple[float, ...], at: str, status: str = "graded",
            names: tuple[str, ...] = ("hours", "relu"), worker: str = "local") -> Grading:
    scores = [{"exercise": name, "number": i + 1, "points": p, "max_points": 1.0,
               "status": "passed" if p else "failed", "hint": "" if p else "Hint: look again"}
              for i, (name, p) in enumerate(zip(names, points))]
    return Grading("run", student, lesson, f"{lesson}.ipynb", "0" * 64, "key", status, "", sum(points),
                   float(len(names)), 1.0, at, worker, scores)


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


# --- inputs: zips, LMS files, skips ---------------------------------------------------------------------------------

def test_lms_file_names_moodle_canvas_and_late():
    assert lms_parts("kim-cheolsu_12345_02_gradient_descent.ipynb") == (
        "kim-cheolsu", "12345", "02_gradient_descent.ipynb", False)
    assert lms_parts("Kim Cheolsu_123456_assignsubmission_file_02_gradient_descent.ipynb") == (
        "Kim Cheolsu", "123456", "02_gradient_descent.ipynb", False)
    assert lms_parts("kimcheolsu_12345_6789012_02_gradient_descent-1.ipynb") == (
        "kimcheolsu", "12345", "02_gradient_descent-1.ipynb", False)
    assert lms_parts("kimcheolsu_LATE_12345_6789012_02_gradient_descent.ipynb") == (
        "kimcheolsu", "12345", "02_gradient_descent.ipynb", True)
    for plain in ("02_gradient_descent.ipynb", "kim min-ji.ipynb", "ana_02_x.ipynb"):
        assert lms_parts(plain) is None, plain


@pytest.fixture
def inputs(tmp_path):
    """A submissions folder with every kind of input, collected for lesson 92."""
    root = tmp_path / "subs"
    put(root / "ana" / FILE, notebook_bytes())  # a folder, as before
    write_zip(root / "ben" / "homework.zip", {"ben/92_fixture_exercises.ipynb": notebook_bytes()})  # zip in a folder
    write_zip(root / "cho.zip", {"92_fixture_exercises.ipynb": notebook_bytes(),  # a student's zip, with a zip-slip
                                 "../../escaped.ipynb": notebook_bytes()})
    put(root / "dan" / FILE, notebook_bytes(solved()))  # the same notebook loose and zipped: not 'two notebooks'
    write_zip(root / "dan" / "dan.zip", {FILE: notebook_bytes(solved())})
    write_zip(root / "eve" / "outer.zip", {"inner.zip": b"PK...", "notes.txt": b"x"})  # a zip in a zip
    put(root / "broken.zip", b"this is not a zip")  # an unreadable student zip
    put(root / "kim-cheolsu_12345_92_fixture_exercises.ipynb", notebook_bytes())  # LMS (Moodle style)
    put(root / "kim-cheolsu_12345_report.pdf", b"%PDF")  # an LMS file that is not a notebook
    put(root / "leeseoyeon_LATE_23456_7654321_92_fixture_exercises-1.ipynb", notebook_bytes())  # Canvas, late
    write_zip(root / "park_34567_work.zip", {"work/92_fixture_exercises.ipynb": notebook_bytes()})  # LMS zip
    put(root / "stray.ipynb", notebook_bytes())  # a notebook of no one
    put(root / "notes.txt", "grading notes")
    if os.name == "posix":
        (root / "linked").symlink_to(root / "ana", target_is_directory=True)
    submissions, problems, roster = collect(root, [read_lesson(LESSON)], tmp_path / "scratch")
    return {s.student: s for s in submissions}, problems, roster


def test_zips_in_a_folder_and_in_the_submissions_folder_and_lms_files_are_collected(inputs):
    subs, _, roster = inputs
    assert roster is None
    assert set(subs) == {"ana", "ben", "cho", "dan", "eve", "broken", "kim-cheolsu", "leeseoyeon", "park"}
    chosen = {name: (s.relative, s.status) for name, s in subs.items()}
    assert chosen["ana"] == (FILE, "")
    assert chosen["ben"] == (f"homework.zip/ben/{FILE}", "")
    assert chosen["cho"] == (f"cho.zip/{FILE}", "")
    assert chosen["dan"] == (FILE, "")  # the zipped copy has the same bytes: left out
    assert chosen["kim-cheolsu"] == (f"kim-cheolsu_12345_{FILE}", "")
    assert chosen["leeseoyeon"] == ("leeseoyeon_LATE_23456_7654321_92_fixture_exercises-1.ipynb", "")
    assert chosen["park"] == (f"park_34567_work.zip/work/{FILE}", "")
    for name in ("ana", "ben", "cho", "kim-cheolsu", "park"):
        assert subs[name].path.is_file() and len(subs[name].sha256) == 64
        assert json.loads(subs[name].path.read_text())["cells"], name
    assert "the LMS marked this submission late" in subs["leeseoyeon"].notes


def test_unusable_zips_say_so_in_the_grade(inputs):
    subs, _, _ = inputs
    assert subs["broken"].status == "missing" and subs["broken"].reason == "no notebook (.ipynb) in broken.zip"
    assert any("broken.zip is not a readable zip file" in note for note in subs["broken"].notes)
    assert subs["eve"].status == "missing"
    assert subs["eve"].reason == "no notebook (.ipynb) in the folder or in outer.zip"
    assert any("outer.zip/inner.zip is a zip inside a zip" in note for note in subs["eve"].notes)


def test_every_skipped_input_is_reported(inputs, tmp_path):
    _, problems, _ = inputs
    text = "\n".join(problems)
    assert "cho: cho.zip: zip member '../../escaped.ipynb' points outside the submissions folder" in text
    assert not (tmp_path / "escaped.ipynb").exists() and not (tmp_path / "scratch" / "escaped.ipynb").exists()
    assert "broken: broken.zip is not a readable zip file" in text
    assert "eve: outer.zip/inner.zip is a zip inside a zip: not unpacked" in text
    assert "kim-cheolsu_12345_report.pdf: not a notebook, a zip or a student folder: skipped" in text
    assert "stray.ipynb: a notebook outside any student folder" in text
    assert "notes.txt: not a notebook, a zip or a student folder: skipped" in text
    if os.name == "posix":
        assert "linked: a symbolic link, not a student folder: skipped" in text
    assert len(problems) == 6 + (os.name == "posix")


def test_lms_files_are_named_by_the_roster_id_and_the_roster_file_is_not_an_input(tmp_path):
    root = tmp_path / "download"
    put(root / "students.csv", "student,id,name\n김철수,12345,Kim Cheolsu\n")
    put(root / "Kim Cheolsu_12345_assignsubmission_file_92_fixture_exercises.ipynb", notebook_bytes())
    put(root / "kim_99999_92_fixture_exercises.ipynb", notebook_bytes())  # two students named kim: told apart by id
    put(root / "kim_88888_92_fixture_exercises.ipynb", notebook_bytes())
    found = find_students(root, Unpacker(tmp_path / "scratch"))
    assert set(found.students) == {"김철수", "kim_99999", "kim_88888"} and found.problems == []
    assert found.roster is not None and found.roster.rows["김철수"]["id"] == "12345"


def test_a_wrapping_folder_of_lms_files_is_entered_but_one_students_folder_is_not(tmp_path):
    wrapped = tmp_path / "wrapped"
    put(wrapped / "assignment 3" / f"ana_11111_{FILE}", notebook_bytes())
    put(wrapped / "assignment 3" / f"ben_22222_{FILE}", notebook_bytes())
    assert set(find_students(wrapped).students) == {"ana", "ben"}
    late = tmp_path / "late"
    write_zip(late / "ana" / "work.zip", {FILE: notebook_bytes()})
    assert set(find_students(late, Unpacker(tmp_path / "scratch")).students) == {"ana"}


def test_all_the_zips_of_a_run_share_one_size_cap(tmp_path):
    archive = write_zip(tmp_path / "a.zip", {FILE: notebook_bytes()})
    unpacker = Unpacker(tmp_path / "scratch")
    folder, problems = unpacker.unpack(archive, "a.zip")
    assert problems == [] and (folder / FILE).is_file()
    unpacker.left = 10  # what is left of the run's cap
    folder, problems = unpacker.unpack(archive, "a.zip")
    assert problems == [f"a.zip: zip member '{FILE}' is too large ({len(notebook_bytes()):,} bytes): skipped"]
    assert not (folder / FILE).exists()
    assert safe_extract(archive, tmp_path / "plain") == []  # without a budget: the per-zip cap only


# --- the roster ---------------------------------------------------------------------------------------------------

def test_rosters_in_utf8_with_bom_and_cp949(tmp_path):
    text = "student,id,name,email\n김철수,12345,Kim,kim@example.org\nana,,Ana,\n"
    for encoding in ("utf-8-sig", "cp949"):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        roster = read_roster(path)
        assert roster.students == ["김철수", "ana"] and roster.by_id() == {"12345": "김철수"} and roster.has_ids
        assert roster.rows["김철수"] == {"id": "12345", "name": "Kim", "email": "kim@example.org"}


@pytest.mark.parametrize("text, message", [
    ("name,id\nKim,1\n", "needs a column 'student'"),
    ("student\nana\nana\n", "names ana more than once"),
    ("student,id\nana,7\nben,7\n", "names 7 more than once"),
])
def test_a_roster_that_cannot_be_used_is_a_bad_request(tmp_path, text, message):
    (tmp_path / "students.csv").write_text(text)
    with pytest.raises(RequestError, match=message):
        read_roster(tmp_path / "students.csv")
    put(tmp_path / "subs" / "ana" / FILE, notebook_bytes())
    args = [str(tmp_path / "subs"), "--lesson", "92", "--out", str(tmp_path / "out"), "--notebook-dir", str(FIXTURES),
            "--roster", str(tmp_path / "students.csv")]
    assert main(args) == 2


# --- the class table and the export --------------------------------------------------------------------------------

def filled_gradebook(path: Path) -> None:
    """Twelve students of lesson 92, one graded again later (better), the same class on lesson 90 (other exercises)."""
    book = Gradebook(path, path.parent)
    try:
        for student in CLASS:
            book.add(grading(student, "92_fixture_exercises", (1.0, 0.0), "2026-03-01T10:00:00Z"))
        book.add(grading("s03", "92_fixture_exercises", (1.0, 1.0), "2026-03-02T10:00:00Z"))  # a regrading
        for student in CLASS[:-1]:  # s12 did not hand in lesson 90
            book.add(grading(student, "90_fixture_descent", (1.0,), "2026-03-08T10:00:00Z", names=("step",)))
        book.add(grading("s05", "90_fixture_descent", (0.0,), "2026-03-08T11:00:00Z", status="stopped",
                         names=("step",)))
    finally:
        book.close()


def test_export_holds_every_student_and_lesson_with_the_latest_grading(tmp_path, capsys):
    out = tmp_path / "out"
    filled_gradebook(out / "gradebook.sqlite")
    put(tmp_path / "roster.csv", "student,id\n" + "".join(f"{s},{2026000 + i}\n" for i, s in enumerate(CLASS))
        + "s13,2026099\n")
    assert main(["export", "--out", str(out), "--roster", str(tmp_path / "roster.csv")]) == 0
    assert "13 student(s)" in (printed := capsys.readouterr().out) and "3 lesson(s) with no submission" in printed
    rows = read_csv(out / "class.csv")
    assert list(rows[0]) == ["student", "id", "90.step", "90.total", "90.status", "92.hours", "92.relu", "92.total",
                             "92.status", "total", "notes", "ran_on"]
    assert [r["student"] for r in rows] == CLASS + ["s13"]  # the roster's order; s13 handed nothing in
    by = {r["student"]: r for r in rows}
    assert by["s03"]["92.total"] == "2" and by["s03"]["92.relu"] == "1", "the latest grading, not the first"
    assert by["s01"]["92.total"] == "1" and by["s01"]["90.total"] == "1" and by["s01"]["total"] == "2"
    assert (by["s05"]["90.total"], by["s05"]["90.status"]) == ("0", "stopped")
    assert (by["s12"]["90.status"], by["s12"]["90.total"]) == ("missing", "0")
    assert "90: missing: no submission" in by["s12"]["notes"]
    assert (by["s13"]["92.status"], by["s13"]["90.status"], by["s13"]["id"]) == ("missing", "missing", "2026099")
    assert by["s01"]["id"] == "2026000" and by["s01"]["ran_on"] == "local"


def test_the_latest_grading_is_the_newest_even_when_stored_later(tmp_path):
    path = tmp_path / "gradebook.sqlite"
    book = Gradebook(path, tmp_path)
    try:
        book.add(grading("ana", "92_fixture_exercises", (1.0, 1.0), "2026-03-02T00:00:00Z"))
        book.add(grading("ana", "92_fixture_exercises", (0.0, 0.0), "2026-03-01T00:00:00Z"))  # merged from a spill
    finally:
        book.close()
    table = export(path)
    assert [g.total for g in table.ordered()] == [2.0]


def test_export_to_standard_output_and_without_a_gradebook(tmp_path, capsys):
    assert main(["export", "--gradebook", str(tmp_path / "none.sqlite")]) == 2
    assert "No gradebook" in capsys.readouterr().err
    filled_gradebook(tmp_path / "book.sqlite")
    assert main(["export", "--gradebook", str(tmp_path / "book.sqlite"), "-o", "-"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 12 and "id" not in rows[0]  # no roster: the gradebook's students, no id column


def test_lessons_sharing_a_number_keep_their_names_as_column_prefixes():
    table = class_table([grading("ana", "02_old", (1.0,), "t", names=("a",)),
                         grading("ana", "02_new", (1.0,), "t", names=("b",))])
    assert [lesson.prefix for lesson in table.lessons] == ["02_new", "02_old"]


def test_roster_merge_missing_and_strangers():
    roster = Roster(Path("students.csv"), {"ana": {"id": "", "name": "", "email": ""},
                                           "ben": {"id": "", "name": "", "email": ""}})
    table = class_table([grading("ana", "92_fixture_exercises", (1.0, 1.0), "t"),
                         grading("zed", "92_fixture_exercises", (0.0, 1.0), "t")], roster=roster)
    assert table.students == ["ana", "ben", "zed"]
    assert table.missing() == [("ben", "92_fixture_exercises")] and table.not_on_roster() == ["zed"]
    ben = table.gradings[("ben", "92_fixture_exercises")]
    assert (ben.status, ben.reason, ben.total, ben.max_total) == ("missing", "no submission", 0.0, 2.0)
    assert [s["exercise"] for s in ben.scores] == ["hours", "relu"]


# --- after a grading run: the whole class ---------------------------------------------------------------------------

def test_a_late_submission_and_a_second_lesson_keep_the_whole_class(tmp_path, capsys):
    """No kernel runs: the late files are not notebooks, which are graded at once."""
    out = tmp_path / "out"
    filled_gradebook(out / "gradebook.sqlite")
    put(tmp_path / "roster.csv", "student\n" + "".join(f"{s}\n" for s in CLASS) + "s13\ns14\n")
    late = tmp_path / "late"
    put(late / "s13" / FILE, "not a notebook")
    put(late / "visitor" / FILE, "not a notebook either")
    args = [str(late), "--lesson", "92", "--out", str(out), "--notebook-dir", str(FIXTURES),
            "--roster", str(tmp_path / "roster.csv")]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "not on the roster" in printed and "visitor" in printed and "s14 / 92_fixture_exercises" in printed
    rows = {r["student"]: r for r in read_csv(out / "grades.csv")}
    assert len(rows) == 15 and set(CLASS) | {"s13", "s14", "visitor"} == set(rows)
    assert rows["s03"]["92.total"] == "2" and rows["s01"]["90.step"] == "1", "earlier gradings and lesson 90 stay"
    assert "92: not a notebook" in rows["s13"]["notes"] and "missing: no submission" in rows["s14"]["notes"]
    assert "not on the roster" in rows["visitor"]["notes"]
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "s01" in report and "90_fixture_descent" in report and "(not on the roster)" in report
    assert "No submission" in report and (out / "feedback" / "s01.html").is_file()
    assert (out / "students.csv").read_text() == (tmp_path / "roster.csv").read_text()  # kept for later runs

    later = tmp_path / "later"  # no --roster: the copy kept in OUT is used
    put(later / "s14" / FILE, "{}")
    put(later / "readme.txt", "hello")  # a skipped input: exit code 1 unless --allow-skips
    args = [str(later), "--lesson", "92", "--out", str(out), "--notebook-dir", str(FIXTURES)]
    assert main(args) == 1
    assert "skipped: readme.txt" in capsys.readouterr().out
    assert main([*args, "--allow-skips"]) == 0
    rows = {r["student"]: r for r in read_csv(out / "grades.csv")}
    assert len(rows) == 15 and "92: not a notebook" in rows["s14"]["notes"]


# --- end to end: zipped notebooks are graded ------------------------------------------------------------------------

def test_a_zip_in_a_students_folder_and_a_students_zip_are_graded(tmp_path):
    root = tmp_path / "subs"
    write_zip(root / "ana" / "ana.zip", {f"ana/{FILE}": notebook_bytes(solved())})
    write_zip(root / "ben.zip", {FILE: notebook_bytes(solved())})
    summary = grade_class(root, ["92"], tmp_path / "out", workers=2, limits=LIMITS, notebook_dir=FIXTURES,
                          progress=False)
    assert summary["problems"] == [] and summary["errors"] == 0
    rows = {r["student"]: r for r in read_csv(tmp_path / "out" / "grades.csv")}
    assert {s: (r["92.total"], r["notes"]) for s, r in rows.items()} == {"ana": ("2", ""), "ben": ("2", "")}
    page = (tmp_path / "out" / "feedback" / "ben.html").read_text(encoding="utf-8")
    assert f"ben.zip/{FILE}" in page
