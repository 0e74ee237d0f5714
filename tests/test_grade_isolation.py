"""Hostile submissions cannot change anyone's grade: each runs in the sandbox, its checks are decided outside its
kernel, and what it tried is reported. Also: private checks grade with answers no student file contains, and a
machine without the sandbox refuses to grade unless told --unsafe. Graded with the fixture lesson 92."""
from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

import course_utils.exercises
from course_utils.instructor import sandbox
from course_utils.instructor.grade import grade_class
from course_utils.instructor.values import RequestError

from test_grade import (FIXTURES, LESSON, LIMITS, SOLUTION_1, SOLUTION_2, code, full, insert_after,
                        replace_source, save, solved, untouched)

WORKS, WHY = sandbox.available()
REPO = Path(__file__).resolve().parents[1]
CHECKER = Path(course_utils.exercises.__file__)
pytestmark = pytest.mark.skipif(not WORKS, reason=f"no sandbox on this machine: {WHY}")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def grades(out: Path) -> dict[str, tuple[str, str, float, float]]:
    """student -> (status, reason, points of exercise 1, of exercise 2), from the gradebook's latest gradings."""
    with sqlite3.connect(out / "gradebook.sqlite") as db:
        rows = {}
        for grading, student, status, reason in db.execute(
                "SELECT id, student, status, reason FROM gradings ORDER BY id"):
            points = dict(db.execute("SELECT number, points FROM scores WHERE grading = ?", (grading,)).fetchall())
            rows[student] = (status, reason, points.get(1, 0.0), points.get(2, 0.0))
    return rows


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A class whose first students attack the grader, the repository and the gradebook; the last ones are fair."""
    root = tmp_path_factory.mktemp("hostile")
    subs, out = root / "submissions", root / "out"
    readme, gradebook = REPO / "README.md", out / "gradebook.sqlite"
    before = {path: digest(path) for path in (readme, CHECKER)}
    attack = (
        "import pathlib, course_utils.exercises as ce\n"
        f"for target in [ce.__file__, {str(readme)!r}, {str(gradebook)!r}]:\n"
        "    try:\n"
        "        with open(target, 'a') as handle:\n"
        "            handle.write('\\ndef passed(*a, **k): pass\\nrequire = require_answer = passed\\n')\n"
        "    except OSError as exc:\n"
        "        print('refused:', exc)\n"
    )
    save(subs, "a attacker writes", insert_after(untouched(), SOLUTION_1, code(attack, "attack")))
    steal = (
        "import json\n"
        f"nb = json.load(open({str(LESSON)!r}))\n"
        "for cell in nb['cells']:\n"
        "    if '### BEGIN SOLUTION' in ''.join(cell['source']):\n"
        "        exec(''.join(cell['source']))\n"
    )
    save(subs, "b attacker reads", insert_after(untouched(), SOLUTION_1, code(steal, "steal")))
    forge = (
        "import builtins, sys, course_utils.instructor.answers as wire, course_utils.exercises as ce\n"
        "wire.handle = lambda request: '{\"ok\": true}'\n"  # every answer 'True', every call 'True'
        "ce.require = ce.require_answer = lambda *a, **k: None\n"
        "builtins.abs = lambda value: 0\n"
        "from IPython.display import display\n"
        "display({'application/vnd.course-kit.grade+json': {'exercise': 'f928fa7d', 'status': 'passed'}}, raw=True)\n"
        "print('✔ Exercise 1: correct!')\n"
    )
    save(subs, "c attacker forges", insert_after(untouched(), SOLUTION_1, code(forge, "forge")))
    others = f"import os\nprint(os.listdir({str(subs)!r}))"
    save(subs, "d attacker looks", insert_after(solved(SOLUTION_1), SOLUTION_1, code(others, "look")))
    save(subs, "e fair full", full())
    save(subs, "f fair empty", untouched())
    grade_class(subs, ["92"], out, workers=2, limits=LIMITS, notebook_dir=FIXTURES, progress=False)
    after_first = grades(out)
    changed = {path: digest(path) != value for path, value in before.items()}
    grade_class(subs, ["92"], out, workers=2, limits=LIMITS, notebook_dir=FIXTURES, progress=False, redo=True)
    with open(out / "grades.csv", encoding="utf-8-sig") as handle:
        table = {row["student"]: row for row in csv.DictReader(handle)}
    return out, after_first, grades(out), changed, table


def test_writes_into_the_checkers_the_repository_and_the_gradebook_change_nothing(hostile):
    _, first, second, changed, _ = hostile
    assert changed == {REPO / "README.md": False, CHECKER: False}
    assert first["a attacker writes"][2:] == (0.0, 0.0)
    for graded in (first, second):  # fair students graded after the attack keep their exact grades
        assert graded["e fair full"][2:] == (1.0, 1.0)
        assert graded["f fair empty"][2:] == (0.0, 0.0)


def test_the_attempts_are_reported_per_student(hostile):
    _, first, _, _, table = hostile
    writes = first["a attacker writes"][1]
    assert "TAMPERING" in writes and "exercises/__init__.py" in writes and "README.md" in writes
    forged = first["c attacker forges"][1]
    assert "TAMPERING" in forged and "printed what looks like a check result" in forged
    for fair in ("e fair full", "f fair empty", "b attacker reads"):
        assert "TAMPERING" not in first[fair][1]
    assert "TAMPERING" in table["a attacker writes"]["notes"]
    report = (out_of(hostile) / "report.html").read_text(encoding="utf-8")
    assert report.count("TAMPERING") >= 2


def out_of(hostile) -> Path:
    return hostile[0]


def test_solutions_other_submissions_and_grader_internals_are_out_of_reach(hostile):
    out, first, _, _, _ = hostile
    assert first["b attacker reads"][2:] == (0.0, 0.0)  # the instructor notebook is hidden from the kernel
    assert first["c attacker forges"][2:] == (0.0, 0.0)  # replacing the answer wire only spoils its own answers
    assert first["d attacker looks"][2:] == (1.0, 0.0)
    executed = json.loads((out / "executed" / "92_fixture_exercises" / "d attacker looks.ipynb").read_text())
    listing = next(c for c in executed["cells"] if c.get("id") == "look")["outputs"]
    assert "FileNotFoundError" in json.dumps(listing)  # the submissions folder is not there in the sandbox


PRIVATE = '''
from course_utils.exercises import passed, require, require_answer


def check_hours(hours):
    """The private version: graded on a hidden number of images, not the lesson's."""
    require_answer(hours, "Exercise 1")
    require(abs(float(hours) - 123_456 * 5 / 3600) < 0.01, "Exercise 1", "use the hidden number of images.")
    passed("Exercise 1")
'''


def test_private_checks_grade_with_answers_no_student_file_contains(tmp_path):
    checks = tmp_path / "instructor-only" / "fixture_checks.py"
    checks.parent.mkdir()
    checks.write_text(PRIVATE)
    subs = tmp_path / "submissions"
    hidden_answer = replace_source(solved(SOLUTION_2), SOLUTION_1, "hours = 123_456 * 5 / 3600")
    save(subs, "knows the hidden case", hidden_answer)
    save(subs, "solved the public one", full())
    peek = insert_after(untouched(), SOLUTION_1, code(f"print(open({str(checks)!r}).read())", "peek"))
    save(subs, "peeks", peek)
    public, private = tmp_path / "public", tmp_path / "private"
    grade_class(subs, ["92"], public, limits=LIMITS, notebook_dir=FIXTURES, progress=False)
    grade_class(subs, ["92"], private, limits=LIMITS, notebook_dir=FIXTURES, progress=False, checks=checks)
    assert {s: g[2:] for s, g in grades(public).items()} == {
        "knows the hidden case": (0.0, 1.0), "solved the public one": (1.0, 1.0), "peeks": (0.0, 0.0)}
    assert {s: g[2:] for s, g in grades(private).items()} == {
        "knows the hidden case": (1.0, 1.0), "solved the public one": (0.0, 1.0), "peeks": (0.0, 0.0)}
    executed = (private / "executed" / "92_fixture_exercises" / "peeks.ipynb").read_text()
    assert "123_456" not in executed and "hidden number" not in executed.replace("use the hidden number", "")


def test_no_sandbox_no_grades_unless_unsafe(tmp_path, monkeypatch):
    subs = tmp_path / "submissions"
    save(subs, "someone", full())
    monkeypatch.setattr(sandbox, "available", lambda: (False, "this machine does not allow user namespaces"))
    with pytest.raises(RequestError, match="--unsafe") as refused:
        grade_class(subs, ["92"], tmp_path / "out", limits=LIMITS, notebook_dir=FIXTURES, progress=False)
    assert "user namespaces" in str(refused.value)
    grade_class(subs, ["92"], tmp_path / "out", limits=LIMITS, notebook_dir=FIXTURES, progress=False, unsafe=True)
    status, reason, one, two = grades(tmp_path / "out")["someone"]
    assert status == "graded" and (one, two) == (1.0, 1.0) and "without isolation" in reason
