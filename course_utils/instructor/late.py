"""Late submissions: when each file was handed in, and the penalty a stated policy gives for it.

When a file was handed in (stored per submitted file in the gradebook's `received` table by every grading run):
1. `submissions.csv` in the submissions folder, when it names the student: columns `student` (as graded: folder name
   or roster name), `submitted_at` (ISO 8601 with its time zone, e.g. 2026-04-07T23:12:00+09:00) and optional
   `lesson` (number or name; empty: every lesson). Use it when the LMS shows submission times (Moodle's grading
   worksheet, Canvas's submission details) or when files were collected by hand: it is the only exact source.
2. Else the modification time of what the student handed in, as it lies in the submissions folder: the notebook
   itself (loose in the student's folder, or an LMS download's flat file), or the zip it came in (a student's zip;
   the times inside a student's own zip are theirs to set and never used). Files unpacked from a class zip
   (`grade SUBMISSIONS.zip`) get the time of their zip entry, as `unzip` does; zip entries carry no time zone and
   are read in the grading machine's (set TZ, e.g. TZ=Asia/Seoul, to the LMS's zone). Copying files without
   keeping their times (a plain `cp`, a browser download of single files) loses this source: write submissions.csv.

The policy, `late.toml` in the grading output folder (beside gradebook.sqlite) or `grade export --late FILE`:

    penalty_percent = 10        # of the lesson's maximum points, per started day late
    per = "day"                 # or "hour"
    max_penalty_percent = 50    # the deduction never exceeds this share of the maximum points
    grace_minutes = 10          # this long after the deadline still counts as on time
    [deadlines]                 # lesson number or name = deadline, with its time zone
    "02" = 2026-04-07T23:59:00+09:00
    [extensions]                # per student: a later deadline, or days added, for a lesson ("*": every lesson)
    "kim" = { "02" = 2026-04-09T23:59:00+09:00 }
    "lee" = { "*" = 2 }

The deduction (never below 0 points) is taken from the lesson's total (automatic and manual points), in
grades.csv, the report, the feedback pages and every export; the gradebook keeps the points earned and the times,
so a changed policy or a new extension applies at the next export without grading again.
"""
from __future__ import annotations

import csv
import io
import math
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..paths import display_path
from .values import RequestError

if TYPE_CHECKING:
    from .grade import Submission

TIMES_FILE = "submissions.csv"
POLICY_FILE = "late.toml"
UNITS = {"day": timedelta(days=1), "hour": timedelta(hours=1)}


@dataclass
class Policy:
    """A late policy: deadlines per lesson, extensions per student, and the penalty."""

    deadlines: dict[str, datetime]
    extensions: dict[str, dict[str, datetime | timedelta]] = field(default_factory=dict)
    penalty_percent: float = 0.0
    per: str = "day"
    max_penalty_percent: float = 100.0
    grace: timedelta = timedelta(0)

    def deadline(self, student: str, lesson: str) -> datetime | None:
        """The student's deadline for a lesson (its extension applied), or None when the lesson has none."""
        prefix = lesson.split("_", 1)[0]
        base = self.deadlines.get(lesson) or self.deadlines.get(prefix)
        mine = self.extensions.get(student, {})
        extension = mine.get(lesson) or mine.get(prefix) or mine.get("*")
        if isinstance(extension, datetime):
            return extension
        if base is not None and isinstance(extension, timedelta):
            return base + extension
        return base


@dataclass
class Late:
    """How late one submission was and what it costs."""

    units: int  # started days (or hours) after deadline + grace; 0 when on time
    percent: float  # of the maximum points
    deducted: float  # points taken off
    note: str  # for grades.csv, the report and the feedback page ('' when on time)


def parse_time(value: Any, where: str) -> datetime:
    """An aware datetime from a TOML datetime or an ISO 8601 string; refuses a time without a time zone."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise RequestError(f"{where}: {value!r} is not a date and time (write e.g. 2026-04-07T23:59:00+09:00)."
                               ) from exc
    if not isinstance(value, datetime):
        raise RequestError(f"{where}: {value!r} is not a date and time (write e.g. 2026-04-07T23:59:00+09:00).")
    if value.tzinfo is None:
        raise RequestError(f"{where}: {value.isoformat()} has no time zone; add it, e.g. +09:00 or Z for UTC.")
    return value


def read_policy(path: Path) -> Policy:
    """Read late.toml. Raises RequestError naming the file and the setting that cannot be used."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RequestError(f"Cannot read the late policy {display_path(path)}: {exc}") from exc
    where = display_path(path)
    known = {"penalty_percent", "per", "max_penalty_percent", "grace_minutes", "deadlines", "extensions"}
    if set(data) - known:
        raise RequestError(f"{where}: unknown setting(s) {', '.join(sorted(set(data) - known))}; the settings are "
                           f"{', '.join(sorted(known))}.")
    numbers = {}
    for name, default in (("penalty_percent", 0.0), ("max_penalty_percent", 100.0), ("grace_minutes", 0.0)):
        value = data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise RequestError(f"{where}: {name} must be a number >= 0, got {value!r}.")
        numbers[name] = float(value)
    if data.get("per", "day") not in UNITS:
        raise RequestError(f"{where}: per must be \"day\" or \"hour\", got {data.get('per')!r}.")
    deadlines = {str(k): parse_time(v, f"{where}, deadlines.{k}") for k, v in data.get("deadlines", {}).items()}
    extensions: dict[str, dict[str, datetime | timedelta]] = {}
    for student, given in data.get("extensions", {}).items():
        if not isinstance(given, dict):
            raise RequestError(f"{where}: extensions.{student} must be a table, e.g. {{ \"02\" = 2 }}.")
        for lesson, value in given.items():
            spot = f"{where}, extensions.{student}.{lesson}"
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                extensions.setdefault(str(student), {})[str(lesson)] = timedelta(days=value)
            else:
                extensions.setdefault(str(student), {})[str(lesson)] = parse_time(value, spot)
    return Policy(deadlines, extensions, numbers["penalty_percent"], data.get("per", "day"),
                  numbers["max_penalty_percent"], timedelta(minutes=numbers["grace_minutes"]))


def find_policy(folder: Path, given: Path | None = None) -> Policy | None:
    """The policy given, else late.toml in the folder, else None (no penalties)."""
    path = given or folder / POLICY_FILE
    return read_policy(path) if given is not None or path.is_file() else None


def assess(policy: Policy, student: str, lesson: str, submitted_at: str, max_points: float,
           earned: float) -> Late:
    """The penalty of one submission handed in at `submitted_at` (UTC ISO 8601; '' when unknown)."""
    deadline = policy.deadline(student, lesson)
    if deadline is None:
        return Late(0, 0.0, 0.0, "")
    if not submitted_at:
        return Late(0, 0.0, 0.0, "submission time unknown: no late penalty applied")
    submitted = datetime.fromisoformat(submitted_at)
    over = submitted - deadline - policy.grace
    if over <= timedelta(0):
        return Late(0, 0.0, 0.0, "")
    units = math.ceil(over / UNITS[policy.per])
    percent = min(units * policy.penalty_percent, policy.max_penalty_percent)
    deducted = min(earned, max_points * percent / 100)
    local = submitted.astimezone(deadline.tzinfo)
    return Late(units, percent, deducted,
                f"handed in {local.isoformat(timespec='minutes')}, {units} {policy.per}(s) after the deadline "
                f"{deadline.isoformat(timespec='minutes')}: -{percent:g} % of {max_points:g} points = -{deducted:g}")


def read_times(root: Path) -> tuple[dict[tuple[str, str], str], list[str]]:
    """The submission times of submissions.csv in the submissions folder (or the one folder wrapping the class):
    (student, lesson or '') -> UTC ISO 8601; and the rows that could not be used."""
    folders = [root] + [p for p in root.iterdir() if p.is_dir()] if root.is_dir() else []
    found = [folder / TIMES_FILE for folder in folders if (folder / TIMES_FILE).is_file()]
    if not found:
        return {}, []
    path, times, problems = found[0], {}, []
    try:
        rows = list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return {}, [f"{TIMES_FILE}: cannot be read ({exc}); save it as CSV (UTF-8): submission times from file times"]
    for number, row in enumerate(rows, 2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if isinstance(v, str)}
        try:
            at = parse_time(row.get("submitted_at", ""), f"{TIMES_FILE}, line {number}")
        except RequestError as exc:
            problems.append(str(exc))
            continue
        times[(row.get("student", ""), row.get("lesson", ""))] = utc_text(at)
    return times, problems


def utc_text(moment: datetime) -> str:
    """An aware datetime as stored: UTC, ISO 8601, to the second."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def submission_time(sub: Submission, times: dict[tuple[str, str], str]) -> tuple[str, str]:
    """(UTC ISO 8601, how it is known) for a submission: submissions.csv, else the file time of what was handed in
    (the notebook, or the zip it came in); ('', '') when neither is there."""
    prefix = sub.lesson.name.split("_", 1)[0]
    for lesson in (sub.lesson.name, prefix, ""):
        if (sub.student, lesson) in times:
            return times[(sub.student, lesson)], TIMES_FILE
    handed_in = sub.received or sub.path
    try:
        moment = datetime.fromtimestamp(handed_in.stat().st_mtime, timezone.utc) if handed_in else None
    except OSError:
        moment = None
    return (utc_text(moment), f"file time of {handed_in.name}") if moment and handed_in else ("", "")
