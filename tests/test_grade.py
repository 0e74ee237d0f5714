"""Grading a class: exact grades, CSV, gradebook rows and incremental re-grading, and every bad submission survived
with a clear line. The class is built from the student version of the fixture lesson 92 (two exercises, one point
each); one test grades the real lesson 02."""
from __future__ import annotations

import copy
import csv
import json
import os
import sqlite3
import zipfile
from pathlib import Path

import pytest

from course_utils.exercises import NOT_ANSWERED
from course_utils.instructor.grade import Limits, grade_class, main, safe_name
from course_utils.instructor.grade_prepare import read_lesson
from course_utils.instructor.grade_submissions import member_name
from course_utils.instructor.student import student_version

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
LESSON = FIXTURES / "92_fixture_exercises.ipynb"
OTHER_LESSON = FIXTURES / "91_fixture_mean.ipynb"
NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
FILE = LESSON.name
SOLUTION_1, CHECK_1, SOLUTION_2, CHECK_2 = "efccec77", "f928fa7d", "70ba9775", "0562aaf4"
LIMITS = Limits(cell_timeout=5, notebook_timeout=25, memory=2 << 30)


def code(source: str, cell_id: str) -> dict:
    return {"cell_type": "code", "id": cell_id, "metadata": {}, "source": source, "outputs": [],
            "execution_count": None}


def untouched(path: Path = LESSON) -> dict:
    return student_version(json.loads(path.read_text()))


def solved(*ids: str, path: Path = LESSON) -> dict:
    """The student version with the named solution cells filled in from the instructor notebook."""
    instructor = {c["id"]: c["source"] for c in json.loads(path.read_text())["cells"]}
    nb = untouched(path)
    for cell in nb["cells"]:
        if cell["id"] in ids:
            cell["source"] = instructor[cell["id"]]
    return nb


def full() -> dict:
    return solved(SOLUTION_1, SOLUTION_2)


def position(nb: dict, cell_id: str) -> int:
    return next(i for i, c in enumerate(nb["cells"]) if c["id"] == cell_id)


def insert_after(nb: dict, cell_id: str, *cells: dict) -> dict:
    at = position(nb, cell_id) + 1
    nb["cells"][at:at] = list(cells)
    return nb


def replace_source(nb: dict, cell_id: str, source: str) -> dict:
    nb["cells"][position(nb, cell_id)]["source"] = source
    return nb


def save(root: Path, student: str, nb: dict | bytes | str, name: str = FILE) -> None:
    folder = root / student
    folder.mkdir(parents=True, exist_ok=True)
    data = nb if isinstance(nb, (bytes, str)) else json.dumps(nb)
    (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def bad_class(root: Path) -> None:
    """Every case of the issue, one student each."""
    save(root, "full", full())
    save(root, "zero", untouched())
    save(root, "partial", solved(SOLUTION_1))
    save(root, "wrong", replace_source(full(), SOLUTION_1, "hours = IMAGES * 5\nprint(hours)"))
    save(root, "김 철수", full())  # a Korean name with a space
    save(root, "endless loop", insert_after(full(), CHECK_1, code("while True:\n    pass", "loop")))
    save(root, "os exit", insert_after(full(), CHECK_1, code("import os\nos._exit(3)", "bye")))
    save(root, "segfault", insert_after(full(), CHECK_1, code("import ctypes\nctypes.string_at(0)", "crash")))
    save(root, "memory bomb", insert_after(full(), CHECK_1, code("blob = bytearray(3 << 30)", "bomb")))
    save(root, "print flood", insert_after(full(), CHECK_1, code('print(("spam " * 200_000 + "\\n") * 6)', "flood")))
    save(root, "slow", insert_after(full(), CHECK_1, *(code("import time\ntime.sleep(4)", f"nap{i}") for i in range(8))))
    save(root, "not json", b"\x89PNG\r\n\x1a\n not a notebook at all")
    save(root, "not a notebook", json.dumps({"hello": "world"}))
    save(root, "other lesson", untouched(OTHER_LESSON))
    deleted = full()
    deleted["cells"] = [c for c in deleted["cells"] if c["id"] not in (SOLUTION_2, CHECK_2)]
    save(root, "deleted", deleted)
    duplicated = full()  # the first copy of solution 1 is wrong, the last one right; check 1 appears twice
    first = copy.deepcopy(duplicated["cells"][position(duplicated, SOLUTION_1)])
    first["source"] = "hours = 1"
    at = position(duplicated, SOLUTION_1)
    duplicated["cells"][at:at] = [first]
    insert_after(duplicated, CHECK_1, copy.deepcopy(duplicated["cells"][position(duplicated, CHECK_1)]))
    save(root, "duplicated", duplicated)
    forged = untouched()  # check cells that always pass, and a fake grader output
    replace_source(forged, CHECK_1, 'print("✔ Exercise 1: correct!")')
    replace_source(forged, CHECK_2, "from IPython.display import display\ndisplay({'application/vnd.course-kit.grade"
                                    "+json': {'nonce': 'x', 'exercise': '0562aaf4', 'status': 'passed', 'hint': ''}},"
                                    " raw=True)\nprint('✔ Exercise 2: correct!')")
    save(root, "edited checks", forged)
    patched = untouched()
    insert_after(patched, SOLUTION_1, code(
        "import fixture_checks, course_utils.exercises as ce\n"
        "fixture_checks.check_hours = fixture_checks.check_relu = lambda *a: print('correct!')\n"
        "ce.require = ce.require_answer = lambda *a, **k: None\n"
        "open('fixture_checks.py', 'w').write('def check_hours(h): pass\\ndef check_relu(r): pass\\n')", "patch"))
    save(root, "patched checker", patched)
    numpy_patch = replace_source(solved(SOLUTION_1), SOLUTION_2,
                                 "import numpy as np\n\ndef relu(x):\n    return x\n\nnp.allclose = lambda *a, **k: True")
    save(root, "patched numpy", numpy_patch)
    builtins_patch = insert_after(replace_source(solved(SOLUTION_2), SOLUTION_1, "hours = 1"), SOLUTION_1,
                                  code("import builtins\nbuiltins.abs = lambda value: 0", "abs"))
    save(root, "patched builtins", builtins_patch)
    (root / "no notebook").mkdir()
    (root / "no notebook" / "answers.txt").write_text("I did it on paper")
    save(root, "two notebooks", full(), "copy 1.ipynb")
    save(root, "two notebooks", full(), "copy 2.ipynb")


EXPECTED = {  # student: (status, points of exercise 1, points of exercise 2)
    "full": ("graded", 1, 1), "zero": ("graded", 0, 0), "partial": ("graded", 1, 0), "wrong": ("graded", 0, 1),
    "김 철수": ("graded", 1, 1), "endless loop": ("stopped", 1, 0), "os exit": ("stopped", 1, 0),
    "segfault": ("stopped", 1, 0), "memory bomb": ("graded", 1, 1), "print flood": ("graded", 1, 1),
    "slow": ("stopped", 1, 0), "not json": ("unreadable", 0, 0), "not a notebook": ("unreadable", 0, 0),
    "other lesson": ("wrong-lesson", 0, 0), "deleted": ("graded", 1, 0), "duplicated": ("graded", 1, 1),
    "edited checks": ("graded", 0, 0), "patched checker": ("graded", 0, 0), "patched numpy": ("graded", 1, 0),
    "patched builtins": ("graded", 0, 1), "no notebook": ("missing", 0, 0), "two notebooks": ("ambiguous", 0, 0),
}


def kit_processes() -> set[int]:
    """Processes of the grader's sandboxes and kernels now running on this machine."""
    import psutil

    found = set()
    for process in psutil.process_iter(["cmdline"]):
        line = " ".join(process.info["cmdline"] or [])
        if "course_utils.instructor.sandbox" in line or "course_utils.instructor.grade_kernel" in line:
            found.add(process.pid)
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The bad class graded once, two at a time; with the sandbox and kernel processes left over afterwards."""
    before = kit_processes()
    root = tmp_path_factory.mktemp("class")
    bad_class(root / "submissions")
    out = root / "out"
    summary = grade_class(root / "submissions", ["92"], out, workers=2, limits=LIMITS, notebook_dir=FIXTURES,
                          progress=False)
    with sqlite3.connect(out / "gradebook.sqlite") as db:
        rows = {r[0]: r[1:] for r in db.execute("SELECT student, status, reason, total, file_sha256 FROM gradings")}
        scores = {(r[0], r[1]): r[2:] for r in db.execute(
            "SELECT g.student, s.exercise, s.points, s.status, s.hint FROM scores s JOIN gradings g ON g.id = s.grading")}
    return out, summary, rows, scores, kit_processes() - before


def test_every_submission_gets_its_exact_grade(graded):
    _, summary, rows, scores, _ = graded
    assert summary["errors"] == 0 and summary["graded"] == len(EXPECTED)
    got = {student: (row[0], scores[(student, "hours")][0], scores[(student, "relu")][0])
           for student, row in rows.items()}
    assert got == EXPECTED


def test_the_csv_has_one_row_per_student_with_exercise_columns_and_total(graded):
    out = graded[0]
    with open(out / "grades.csv", encoding="utf-8-sig", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == ["student", "92.hours", "92.relu", "92.total", "total", "notes", "ran_on"]
    assert {r["ran_on"] for r in table} == {"local"}
    got = {r["student"]: (r["92.hours"], r["92.relu"], r["total"]) for r in table}
    assert got == {s: (str(a), str(b), str(a + b)) for s, (_, a, b) in EXPECTED.items()}
    assert next(r for r in table if r["student"] == "full")["notes"] == ""
    assert "stopped early" in next(r for r in table if r["student"] == "endless loop")["notes"]


def test_gradebook_keeps_points_hints_and_file_hashes(graded):
    _, _, rows, scores, _ = graded
    assert scores[("zero", "hours")] == (0.0, "failed", f"Exercise 1: {NOT_ANSWERED}")
    assert scores[("full", "relu")] == (1.0, "passed", "")
    hint = scores[("wrong", "hours")][2]
    assert "Hint:" in hint and "3600" not in hint
    assert len(rows["full"][3]) == 64 and rows["full"][3] == rows["김 철수"][3]  # same file, same hash
    assert rows["no notebook"][3] == ""


def reason(graded, student: str) -> str:
    return graded[2][student][1]


def test_an_endless_loop_stops_at_the_cell_time_limit_with_credit_before_it(graded):
    assert "stopped in cell 7 (while True:)" in reason(graded, "endless loop")
    assert "longer than 5 s" in reason(graded, "endless loop")
    assert "not checked: the notebook stopped" in graded[3][("endless loop", "relu")][2]


def test_the_notebook_time_limit_stops_many_short_cells(graded):
    text = reason(graded, "slow")
    assert "the notebook ran longer than 25 s in all" in text and "stopped in cell" in text


@pytest.mark.parametrize("student", ["os exit", "segfault"])
def test_a_dying_kernel_keeps_the_credit_earned_before(graded, student):
    assert "the kernel died in cell 7" in reason(graded, student)


def test_a_memory_bomb_hits_the_kernel_memory_limit(graded):
    text = reason(graded, "memory bomb")
    assert "cell 7 raised MemoryError" in text and "at most 2.0 GiB" in text


def test_megabytes_of_output_are_cut_in_the_kept_copy_and_pages(graded):
    out = graded[0]
    kept = out / "executed" / "92_fixture_exercises" / "print flood.ipynb"
    assert kept.stat().st_size < 200_000 and "more characters cut by the grader" in kept.read_text()
    assert (out / "feedback" / "print flood.html").stat().st_size < 20_000


def test_files_that_are_not_notebooks_are_named_as_such(graded):
    assert "not valid notebook JSON" in reason(graded, "not json") or "not text" in reason(graded, "not json")
    assert "not a Jupyter notebook (no list of cells)" in reason(graded, "not a notebook")


def test_a_notebook_of_another_lesson_is_not_graded(graded):
    assert "is not lesson 92_fixture_exercises" in reason(graded, "other lesson")


def test_deleted_and_duplicated_exercise_cells(graded):
    text = reason(graded, "deleted")
    assert "solution cell is missing" in text and "check cell was deleted" in text
    assert "NameError: name 'relu' is not defined" in graded[3][("deleted", "relu")][2]
    assert "appears 2 times; it is checked once" in reason(graded, "duplicated")
    assert graded[2]["duplicated"][2] == 2.0, "checked after the last copy of the solution, and once"


def test_edited_check_cells_and_forged_outputs_earn_nothing(graded):
    assert graded[3][("edited checks", "hours")][1:] == ("failed", f"Exercise 1: {NOT_ANSWERED}")
    assert graded[3][("edited checks", "relu")][1] == "failed"


def test_a_patched_checker_module_is_loaded_fresh(graded):
    assert graded[3][("patched checker", "hours")][2] == f"Exercise 1: {NOT_ANSWERED}"
    assert graded[3][("patched checker", "relu")][2] == f"Exercise 2: {NOT_ANSWERED}"


def test_no_kernel_outlives_its_grading(graded):
    """Endless loops, sleepers and crashes included: every sandbox and kernel is gone when grading returns."""
    assert graded[4] == set()


def test_patched_libraries_and_builtins_do_not_pass_a_check(graded):
    """The checks run in the grader, where the submission's patches do not reach; the patches are reported."""
    assert graded[3][("patched numpy", "relu")][1:] == ("failed", "Exercise 2: not quite. Hint: negative inputs "
                                                                  "become 0, others stay.")
    assert "TAMPERING: replaced numpy.allclose" in graded[2]["patched numpy"][1]
    assert "Hint:" in graded[3][("patched builtins", "hours")][2]
    assert "replaced builtins.abs" in graded[2]["patched builtins"][1]


def test_folders_with_no_notebook_or_two(graded):
    assert reason(graded, "no notebook") == "no notebook (.ipynb) in the folder"
    assert "2 notebooks (copy 1.ipynb, copy 2.ipynb)" in reason(graded, "two notebooks")


def test_feedback_pages_and_class_report(graded):
    out = graded[0]
    page = (out / "feedback" / f"{safe_name('김 철수')}.html").read_text(encoding="utf-8")
    assert "Feedback for 김 철수" in page and "2 of 2 points" in page
    zero = (out / "feedback" / "zero.html").read_text(encoding="utf-8")
    assert "Not answered yet" in zero and "0 / 1" in zero
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in report and "Pass rate per exercise" in report
    assert "Hints shown most often" in report and "Not answered yet" in report
    assert "the kernel died in cell 7" in report


def small_class(root: Path) -> None:
    save(root, "ana", full())
    save(root, "ben", untouched())


def gradings(db_path: Path) -> list[tuple]:
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT student, total, file_sha256 FROM gradings ORDER BY id").fetchall()


def test_regrading_skips_unchanged_submissions_regrades_changed_ones_and_keeps_history(tmp_path, capsys):
    small_class(tmp_path / "subs")
    args = [str(tmp_path / "subs"), "--lesson", "92", "--out", str(tmp_path / "out"), "--cell-timeout", "20",
            "--notebook-dir", str(FIXTURES), "-j", "2"]
    assert main(args) == 0
    assert main(args) == 0
    assert "2 submission(s) of 92_fixture_exercises: 0 to grade, 2 unchanged" in capsys.readouterr().out
    save(tmp_path / "subs", "ben", full())
    assert main(args) == 0
    history = gradings(tmp_path / "out" / "gradebook.sqlite")
    assert [(s, t) for s, t, _ in history] == [("ana", 2.0), ("ben", 0.0), ("ben", 2.0)] or \
        [(s, t) for s, t, _ in history] == [("ben", 0.0), ("ana", 2.0), ("ben", 2.0)]
    assert main([*args, "--redo"]) == 0
    assert len(gradings(tmp_path / "out" / "gradebook.sqlite")) == 5
    with open(tmp_path / "out" / "grades.csv", encoding="utf-8-sig") as handle:
        assert [row["total"] for row in csv.DictReader(handle)] == ["2", "2"]


def test_a_zip_with_escaping_paths_and_symlinks_is_unpacked_safely(tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("class/김 철수/92_fixture_exercises.ipynb", json.dumps(full()))
        zipped.writestr("class/../../escaped/92_fixture_exercises.ipynb", json.dumps(full()))
        zipped.writestr("/tmp/absolute.ipynb", json.dumps(full()))
        link = zipfile.ZipInfo("class/mallory/92_fixture_exercises.ipynb")
        link.external_attr = (0o120777 << 16)
        zipped.writestr(link, "/etc/passwd")
    summary = grade_class(archive, ["92"], tmp_path / "out", limits=LIMITS, notebook_dir=FIXTURES, progress=False)
    problems = "\n".join(summary["problems"])
    assert "'class/../../escaped/92_fixture_exercises.ipynb' points outside the submissions folder" in problems
    assert "'/tmp/absolute.ipynb' points outside" in problems
    assert "'class/mallory/92_fixture_exercises.ipynb' is a symbolic link: skipped" in problems
    assert not (tmp_path / "escaped").exists() and not Path("/tmp/absolute.ipynb").exists()
    assert [(s, t) for s, t, _ in gradings(tmp_path / "out" / "gradebook.sqlite")] == [("김 철수", 2.0)]


def test_zip_names_without_the_utf8_flag_are_read_as_korean():
    info = zipfile.ZipInfo("x")
    info.filename = "김철수/a.ipynb".encode("cp949").decode("cp437")
    assert member_name(info) == "김철수/a.ipynb"


def test_a_locked_gradebook_loses_nothing_and_is_merged_next_time(tmp_path):
    save(tmp_path / "subs", "ana", full())
    out = tmp_path / "out"
    out.mkdir()
    locker = sqlite3.connect(out / "gradebook.sqlite", isolation_level=None)
    locker.execute("CREATE TABLE other (x)")
    locker.execute("BEGIN EXCLUSIVE")
    try:
        summary = grade_class(tmp_path / "subs", ["92"], out, limits=LIMITS, notebook_dir=FIXTURES, progress=False,
                              lock_timeout=0.5)
    finally:
        locker.rollback()
        locker.close()
    assert "is locked by another program" in summary["gradebook_problem"]
    assert [(s, t) for s, t, _ in gradings(Path(summary["gradebook"]))] == [("ana", 2.0)]
    assert (out / "grades.csv").is_file() and "Gradebook not written" in (out / "report.html").read_text()
    again = grade_class(tmp_path / "subs", ["92"], out, limits=LIMITS, notebook_dir=FIXTURES, progress=False)
    assert again["gradebook_problem"] == "" and len(again["merged"]) == 1 and again["graded"] == 0
    assert [(s, t) for s, t, _ in gradings(out / "gradebook.sqlite")] == [("ana", 2.0)]


def test_a_gradebook_that_cannot_be_written_keeps_the_grades_beside_the_outputs(tmp_path):
    save(tmp_path / "subs", "ana", full())
    unwritable = Path("/proc/course-kit-gradebook.sqlite")  # no one, root included, can create a file in /proc
    summary = grade_class(tmp_path / "subs", ["92"], tmp_path / "out", limits=LIMITS, notebook_dir=FIXTURES,
                          gradebook_path=unwritable, progress=False)
    assert summary["gradebook_problem"].startswith(f"the gradebook {unwritable}")
    assert [(s, t) for s, t, _ in gradings(Path(summary["gradebook"]))] == [("ana", 2.0)]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write read-only files")
def test_a_read_only_gradebook_file(tmp_path):
    save(tmp_path / "subs", "ana", full())
    out = tmp_path / "out"
    out.mkdir()
    sqlite3.connect(out / "gradebook.sqlite").close()
    (out / "gradebook.sqlite").chmod(0o444)
    summary = grade_class(tmp_path / "subs", ["92"], out, limits=LIMITS, notebook_dir=FIXTURES, progress=False)
    assert "is read-only" in summary["gradebook_problem"]


def test_points_come_from_the_check_cells_metadata(tmp_path):
    nb = json.loads(LESSON.read_text())
    nb["cells"][position(nb, CHECK_2)]["metadata"]["course_kit"] = {"points": 3}
    path = tmp_path / LESSON.name
    path.write_text(json.dumps(nb))
    lesson = read_lesson(path)
    assert [(e.name, e.points) for e in lesson.exercises] == [("hours", 1.0), ("relu", 3.0)]
    assert lesson.max_points == 4.0


@pytest.mark.parametrize("number", ["02", "01"])
def test_grading_a_real_lesson(tmp_path, number):
    """02's answers are numbers and functions; 01's are torch models that stay in the student's kernel and are
    checked from the grader through remote calls (isinstance, modules(), predict)."""
    lesson = next(NOTEBOOK_DIR.glob(f"{number}_*.ipynb"))
    instructor = {c["id"]: c["source"] for c in json.loads(lesson.read_text())["cells"]}
    full_02 = student_version(json.loads(lesson.read_text()))
    for cell in full_02["cells"]:
        if "# YOUR CODE HERE" in "".join(cell["source"]):
            cell["source"] = instructor[cell["id"]]
    save(tmp_path / "subs", "full", full_02, lesson.name)
    save(tmp_path / "subs", "zero", student_version(json.loads(lesson.read_text())), lesson.name)
    summary = grade_class(tmp_path / "subs", [number], tmp_path / "out", workers=2, progress=False,
                          limits=Limits(cell_timeout=300, notebook_timeout=600))
    assert summary["errors"] == 0
    with open(tmp_path / "out" / "grades.csv", encoding="utf-8-sig") as handle:
        totals = {row["student"]: row["total"] for row in csv.DictReader(handle)}
    assert totals == {"full": "4", "zero": "0"}


def test_new_outputs_in_the_instructor_notebook_do_not_force_a_regrade_but_new_points_do(tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "fixture_checks.py").write_text((FIXTURES / "fixture_checks.py").read_text())
    nb = json.loads(LESSON.read_text())
    (lessons / LESSON.name).write_text(json.dumps(nb))
    save(tmp_path / "subs", "ana", full())

    def run() -> dict:
        return grade_class(tmp_path / "subs", ["92"], tmp_path / "out", limits=LIMITS, notebook_dir=lessons,
                           progress=False)

    assert run()["graded"] == 1
    nb["cells"][position(nb, SOLUTION_1)]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "19.4\n"}]
    (lessons / LESSON.name).write_text(json.dumps(nb))
    assert run()["graded"] == 0, "a regenerated lesson (new outputs only) keeps the grades"
    nb["cells"][position(nb, CHECK_2)]["metadata"]["course_kit"] = {"points": 2}
    (lessons / LESSON.name).write_text(json.dumps(nb))
    assert run()["graded"] == 1
    assert [(s, t) for s, t, _ in gradings(tmp_path / "out" / "gradebook.sqlite")] == [("ana", 2.0), ("ana", 3.0)]


def test_a_gradebook_from_before_the_worker_column_is_upgraded_and_its_spills_merged(tmp_path):
    from course_utils.instructor.gradebook import SCHEMA, Gradebook

    old_schema = SCHEMA.replace("graded_at TEXT NOT NULL,      -- UTC, ISO 8601\n    worker TEXT NOT NULL DEFAULT ''",
                                "graded_at TEXT NOT NULL")
    assert "worker TEXT" not in old_schema
    row = ("2026-01-01T00:00:00Z", "ana", "92_fixture_exercises", "x.ipynb", "abc", "key", "graded", "", 2.0, 2.0,
           1.0, "2026-01-01T00:00:01Z")
    for path in (tmp_path / "gradebook.sqlite", tmp_path / "gradebook.unsaved-20260101-000000-000001.sqlite"):
        with sqlite3.connect(path) as db:
            db.executescript(old_schema)
            db.execute("INSERT INTO gradings (run, student, lesson, file, file_sha256, grader_key, status, reason, "
                       "total, max_total, seconds, graded_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", row)
        db.close()
    book = Gradebook(tmp_path / "gradebook.sqlite", tmp_path)
    try:
        previous = book.reusable("ana", "92_fixture_exercises", "abc", "key")
        assert previous is not None and previous.total == 2.0 and previous.worker == ""
        assert [m.name for m in book.merged] == ["gradebook.unsaved-20260101-000000-000001.sqlite"]
    finally:
        book.close()
    with sqlite3.connect(tmp_path / "gradebook.sqlite") as db:
        assert db.execute("SELECT COUNT(*), SUM(worker = '') FROM gradings").fetchone() == (2, 2)
