"""Late submissions: the policy (deadline, extensions, penalty per started day, cap, grace), where the time a file was
handed in comes from (submissions.csv, the file's time, the time of the zip it came in, a class zip's entries), and
the deduction in grades.csv and the export. No notebook runs here."""
from __future__ import annotations

import json
import os
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from course_utils.instructor.grade import collect
from course_utils.instructor.grade_export import class_table
from course_utils.instructor.grade_prepare import read_lesson
from course_utils.instructor.grade_report import csv_rows
from course_utils.instructor.grade_submissions import safe_extract
from course_utils.instructor.gradebook import Grading
from course_utils.instructor.late import assess, read_policy, read_times, submission_time
from course_utils.instructor.student import student_version
from course_utils.instructor.values import RequestError

LESSON = Path(__file__).parent / "fixtures" / "notebooks" / "92_fixture_exercises.ipynb"
POLICY = """
penalty_percent = 10
max_penalty_percent = 30
grace_minutes = 10
[deadlines]
"92" = 2026-04-07T23:59:00+09:00
[extensions]
"kim" = { "92_fixture_exercises" = "2026-04-09T23:59:00+09:00" }
"lee" = { "*" = 2 }
"""


@pytest.fixture
def policy(tmp_path):
    path = tmp_path / "late.toml"
    path.write_text(POLICY)
    return read_policy(path)


@pytest.mark.parametrize("student, submitted, percent", [
    ("ana", "2026-04-07T14:59:00+00:00", 0),  # 23:59 in Seoul: on time
    ("ana", "2026-04-07T15:08:00+00:00", 0),  # 9 minutes late: within the grace
    ("ana", "2026-04-07T15:10:00+00:00", 10),  # 11 minutes late: one started day
    ("ana", "2026-04-09T15:09:00+00:00", 20),  # 2 days and 10 minutes: 2 started days after the grace
    ("ana", "2026-04-09T15:10:00+00:00", 30),  # a minute more: a third day
    ("ana", "2026-04-30T00:00:00+00:00", 30),  # weeks late: the cap
    ("kim", "2026-04-09T14:00:00+00:00", 0),  # before the extended deadline (23:00 in Seoul)
    ("kim", "2026-04-10T01:00:00+00:00", 10),  # 10:00 the next morning in Seoul
    ("lee", "2026-04-09T14:00:00+00:00", 0),  # two extra days for every lesson
])
def test_the_penalty_counts_started_days_after_deadline_extension_and_grace(policy, student, submitted, percent):
    late = assess(policy, student, "92_fixture_exercises", submitted, max_points=4.0, earned=4.0)
    assert (late.percent, late.deducted) == (percent, 4.0 * percent / 100)
    assert bool(late.note) == bool(percent)


def test_the_deduction_never_takes_more_than_was_earned_and_an_unknown_time_costs_nothing(policy):
    assert assess(policy, "ana", "92_fixture_exercises", "2026-04-30T00:00:00+00:00", 4.0, 0.5).deducted == 0.5
    unknown = assess(policy, "ana", "92_fixture_exercises", "", 4.0, 4.0)
    assert unknown.deducted == 0 and "submission time unknown" in unknown.note
    assert assess(policy, "ana", "93_other", "2026-04-30T00:00:00+00:00", 4.0, 4.0).note == ""  # no deadline


@pytest.mark.parametrize("text, message", [
    ('[deadlines]\n"92" = 2026-04-07T23:59:00', "has no time zone"),
    ('[deadlines]\n"92" = "next friday"', "is not a date and time"),
    ("penalty_percent = -5", "penalty_percent must be a number >= 0"),
    ('per = "week"', 'per must be "day" or "hour"'),
    ("penalty = 5", "unknown setting(s) penalty"),
])
def test_a_policy_that_cannot_be_used_is_refused_naming_the_setting(tmp_path, text, message):
    (tmp_path / "late.toml").write_text(text)
    with pytest.raises(RequestError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_policy(tmp_path / "late.toml")


def notebook() -> bytes:
    return json.dumps(student_version(json.loads(LESSON.read_text()))).encode()


def stamp(path: Path, when: str) -> None:
    moment = datetime.fromisoformat(when).timestamp()
    os.utime(path, (moment, moment))


def test_the_submission_time_comes_from_the_csv_else_from_what_was_handed_in(tmp_path):
    root = tmp_path / "subs"
    (root / "ana").mkdir(parents=True)
    (root / "ana" / LESSON.name).write_bytes(notebook())
    stamp(root / "ana" / LESSON.name, "2026-04-07T15:00:00+00:00")
    with zipfile.ZipFile(root / "ben.zip", "w") as archive:  # the time inside a student's own zip is theirs to set
        archive.writestr(zipfile.ZipInfo(LESSON.name, date_time=(2026, 4, 1, 0, 0, 0)), notebook())
    stamp(root / "ben.zip", "2026-04-08T02:00:00+00:00")
    (root / "cho").mkdir()
    (root / "cho" / LESSON.name).write_bytes(notebook())
    (root / "submissions.csv").write_text("student,lesson,submitted_at\ncho,92,2026-04-07T23:00:00+09:00\n"
                                          "dan,,yesterday\n")
    subs, problems, _ = collect(root, [read_lesson(LESSON)], tmp_path / "scratch")
    assert problems == []  # submissions.csv is not an input
    times, bad = read_times(root)
    assert bad == ["submissions.csv, line 3: 'yesterday' is not a date and time (write e.g. "
                   "2026-04-07T23:59:00+09:00)."]
    got = {s.student: submission_time(s, times) for s in subs}
    assert got == {"ana": ("2026-04-07T15:00:00+00:00", f"file time of {LESSON.name}"),
                   "ben": ("2026-04-08T02:00:00+00:00", "file time of ben.zip"),
                   "cho": ("2026-04-07T14:00:00+00:00", "submissions.csv")}


@pytest.fixture
def seoul(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Seoul")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_files_unpacked_from_a_class_zip_keep_their_entrys_time_in_the_machines_zone(tmp_path, seoul):
    with zipfile.ZipFile(tmp_path / "class.zip", "w") as archive:
        archive.writestr(zipfile.ZipInfo(f"ana/{LESSON.name}", date_time=(2026, 4, 8, 10, 30, 0)), notebook())
    assert safe_extract(tmp_path / "class.zip", tmp_path / "out") == []
    mtime = (tmp_path / "out" / "ana" / LESSON.name).stat().st_mtime
    assert datetime.fromtimestamp(mtime, timezone.utc).isoformat() == "2026-04-08T01:30:00+00:00"


def test_the_deduction_is_in_grades_csv(policy):
    scores = [{"exercise": "hours", "number": 1, "points": 1.0, "max_points": 1.0, "status": "passed", "hint": ""},
              {"exercise": "relu", "number": 2, "points": 1.0, "max_points": 1.0, "status": "passed", "hint": ""}]
    gradings = [Grading("r", s, "92_fixture_exercises", "f", s, "k", "graded", "", 2.0, 2.0, 1.0, "2026-05-01", "",
                        scores, submitted_at=at) for s, at in (("ana", "2026-04-07T14:00:00+00:00"),
                                                               ("ben", "2026-04-09T15:30:00+00:00"))]
    rows = csv_rows(class_table(gradings, policy=policy))
    got = {row[0]: dict(zip(rows[0], row)) for row in rows[1:]}
    assert [got[s]["92.total"] for s in ("ana", "ben")] == ["2", "1.4"]  # 3 started days: -30 % of 2 points
    assert got["ben"]["92.late_penalty"] == "0.6" and got["ben"]["92.submitted"] == "2026-04-09T15:30:00+00:00"
    assert "3 day(s) after the deadline 2026-04-07T23:59+09:00: -30 % of 2 points = -0.6" in got["ben"]["notes"]
    assert got["ben"]["total"] == "1.4" and got["ana"]["notes"] == ""
