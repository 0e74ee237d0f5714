"""The gradebook: an SQLite file (standard library sqlite3) that keeps every grading, never deleting one.

Tables: `gradings` (one row per student, lesson and grading run: the submission file's SHA-256, the grader key,
status, reason, total, time) and `scores` (one row per exercise of a grading: points, max points, status, hint).
The latest grading of a student's lesson with the same file hash and grader key is reused instead of running the
notebook again. The class table (grades.csv, the report, `grade export`) is the latest grading of every student's
lesson: `latest_gradings`. When the gradebook cannot be written (locked by another program, read-only, damaged), the
run's rows go to a file beside the outputs, `gradebook.unsaved-<time>.sqlite`, which the next run that can write the
gradebook merges into it; nothing is lost either way.

Beside the gradings it keeps the students' answers, the submission times and the points given by hand, which
`latest_gradings` merges into the class table (gradebook_extras): a regrade keeps the points given by hand.
"""
from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .gradebook_extras import EXTRA_TABLES, EXTRAS_SCHEMA, Extras, apply_extras, read_extras

SCHEMA = """
CREATE TABLE IF NOT EXISTS gradings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run TEXT NOT NULL,            -- grading run (UTC time it started)
    student TEXT NOT NULL,
    lesson TEXT NOT NULL,
    file TEXT NOT NULL,           -- the submitted file, relative to the student's folder ('' when none)
    file_sha256 TEXT NOT NULL,    -- '' when there was no file
    grader_key TEXT NOT NULL,     -- hash of the instructor notebook, grader and limits
    status TEXT NOT NULL,         -- graded | stopped | missing | ambiguous | unreadable | wrong-lesson | error
    reason TEXT NOT NULL,
    total REAL NOT NULL,
    max_total REAL NOT NULL,
    seconds REAL NOT NULL,
    graded_at TEXT NOT NULL,      -- UTC, ISO 8601
    worker TEXT NOT NULL DEFAULT ''  -- where it ran: 'local' or a Dask worker ('' in gradebooks from before)
);
CREATE TABLE IF NOT EXISTS scores (
    grading INTEGER NOT NULL REFERENCES gradings(id),
    exercise TEXT NOT NULL,
    number INTEGER NOT NULL,
    points REAL NOT NULL,
    max_points REAL NOT NULL,
    status TEXT NOT NULL,         -- passed | failed | not run
    hint TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS gradings_by_submission ON gradings(student, lesson, id);
"""
SCHEMA += EXTRAS_SCHEMA
GRADING_FIELDS = ("run", "student", "lesson", "file", "file_sha256", "grader_key", "status", "reason", "total",
                  "max_total", "seconds", "graded_at", "worker")
SCORE_FIELDS = ("exercise", "number", "points", "max_points", "status", "hint")
RETRIED = ("error",)  # a grading that failed for the grader's own reasons is done again next time


@dataclass
class Grading:
    """One grading of one student's lesson, as stored."""

    run: str
    student: str
    lesson: str
    file: str
    file_sha256: str
    grader_key: str
    status: str
    reason: str
    total: float
    max_total: float
    seconds: float
    graded_at: str
    worker: str = ""  # where it ran: "local" (this machine) or a Dask worker's name and address
    scores: list[dict[str, Any]] = field(default_factory=list)  # SCORE_FIELDS each
    answers: dict[str, list[list[str]]] = field(default_factory=dict)  # item -> [[cell type, source], ...] (read)
    submitted_at: str = ""  # when the file was handed in, UTC (read from `received`; '' when unknown)
    time_source: str = ""  # how that is known
    penalty: float = 0.0  # points a late policy took off `total` (set in the class table, late.py)
    late: str = ""  # what the late policy says about this submission


def connect(path: Path, timeout: float) -> sqlite3.Connection:
    """Open (creating) a gradebook and make sure it can be written now; raises sqlite3.Error or OSError if not."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=timeout)
    try:
        connection.executescript(SCHEMA)
        add_missing_columns(connection)
        connection.execute("BEGIN IMMEDIATE")  # takes the write lock: fails now, not halfway, when it is held
        connection.rollback()
    except BaseException:
        connection.close()
        raise
    return connection


def add_missing_columns(connection: sqlite3.Connection) -> None:
    """Bring a gradebook written by an earlier kit up to the current schema (the worker column)."""
    if "worker" not in {row[1] for row in connection.execute("PRAGMA table_info(gradings)")}:
        with connection:
            connection.execute("ALTER TABLE gradings ADD COLUMN worker TEXT NOT NULL DEFAULT ''")


def latest(connection: sqlite3.Connection, student: str, lesson: str) -> Grading | None:
    """The most recent grading of a student's lesson, with its scores, or None."""
    row = connection.execute(f"SELECT id, {', '.join(GRADING_FIELDS)} FROM gradings WHERE student = ? AND lesson = ? "
                             "ORDER BY id DESC LIMIT 1", (student, lesson)).fetchone()
    if row is None:
        return None
    return with_scores(connection, row)


def with_scores(connection: sqlite3.Connection, row: tuple) -> Grading:
    """The grading of a row (id, GRADING_FIELDS...) with its scores."""
    grading = Grading(*row[1:])
    grading.scores = [dict(zip(SCORE_FIELDS, r)) for r in connection.execute(
        f"SELECT {', '.join(SCORE_FIELDS)} FROM scores WHERE grading = ? ORDER BY number", (row[0],))]
    return grading


def insert(connection: sqlite3.Connection, grading: Grading) -> None:
    """Append one grading and its scores (one transaction)."""
    with connection:
        cursor = connection.execute(f"INSERT INTO gradings ({', '.join(GRADING_FIELDS)}) VALUES "
                                    f"({', '.join('?' * len(GRADING_FIELDS))})",
                                    tuple(getattr(grading, f) for f in GRADING_FIELDS))
        connection.executemany(f"INSERT INTO scores (grading, {', '.join(SCORE_FIELDS)}) VALUES "
                               f"(?, {', '.join('?' * len(SCORE_FIELDS))})",
                               [(cursor.lastrowid, *(s[f] for f in SCORE_FIELDS)) for s in grading.scores])


def all_gradings(connection: sqlite3.Connection) -> list[Grading]:
    """Every grading in the order stored, with scores."""
    rows = connection.execute(f"SELECT id, {', '.join(GRADING_FIELDS)} FROM gradings ORDER BY id").fetchall()
    return [with_scores(connection, row) for row in rows]


LATEST = """
WITH latest AS (
    SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY student, lesson ORDER BY graded_at DESC, id DESC) AS age
                    FROM gradings)
    WHERE age = 1
)"""


def latest_gradings(connection: sqlite3.Connection) -> list[Grading]:
    """The rows of the class table: the latest grading of every student's lesson (raw_latest) with what the student
    wrote, when it was handed in and the points given by hand merged in (gradebook_extras)."""
    return apply_extras(raw_latest(connection), read_extras(connection))


def raw_latest(connection: sqlite3.Connection) -> list[Grading]:
    """The latest grading (by graded_at, then by id) of every student's lesson, with its scores, ordered by student
    and lesson, as the automatic grading stored it."""
    columns = {row[1] for row in connection.execute("PRAGMA table_info(gradings)")}
    fields = ", ".join(f"g.{f}" if f in columns else "''" for f in GRADING_FIELDS)  # gradebooks from before a column
    gradings = {}
    for row in connection.execute(f"{LATEST} SELECT g.id, {fields} FROM gradings g JOIN latest USING (id) "
                                  "ORDER BY g.student, g.lesson"):
        gradings[row[0]] = Grading(*row[1:])
    for row in connection.execute(f"{LATEST} SELECT s.grading, {', '.join('s.' + f for f in SCORE_FIELDS)} "
                                  "FROM scores s JOIN latest ON s.grading = latest.id ORDER BY s.grading, s.number"):
        gradings[row[0]].scores.append(dict(zip(SCORE_FIELDS, row[1:])))
    return list(gradings.values())


def newest(gradings: list[Grading]) -> list[Grading]:
    """One grading per student's lesson: the latest by graded_at (on a tie, the one listed last)."""
    kept: dict[tuple[str, str], Grading] = {}
    for grading in gradings:
        key = (grading.student, grading.lesson)
        if key not in kept or grading.graded_at >= kept[key].graded_at:
            kept[key] = grading
    return list(kept.values())


def read_latest(paths: list[Path], timeout: float = 5.0,
                gradings: list[Grading] | None = None) -> tuple[list[Grading], list[str]]:
    """The latest gradings of several gradebook files (a gradebook and its unsaved spills) read without writing,
    with their extras merged in, and the files that could not be read; with `gradings`, those (not the files')."""
    found, problems, extras = [], [], Extras()
    for path in paths:
        try:
            with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)) as db:
                found += raw_latest(db) if gradings is None else []
                extras.merge(read_extras(db))
        except (sqlite3.Error, OSError) as exc:
            problems.append(f"{path}: {exc}")
    return apply_extras(newest(found) if gradings is None else gradings, extras), problems


class Gradebook:
    """The gradebook of a grading run: the real file when it can be written, else an unsaved file beside outputs."""

    def __init__(self, path: Path, spill_dir: Path, timeout: float = 30.0) -> None:
        self.path, self.spill_dir, self.timeout = path, spill_dir, timeout
        self.problem = ""
        self.merged: list[Path] = []
        self.written_to = path
        try:
            self.connection = connect(path, timeout)
        except (sqlite3.Error, OSError) as exc:
            self.spill(exc)
        else:
            self.merge_unsaved()

    def spill(self, exc: BaseException) -> None:
        """Switch to an unsaved gradebook beside the outputs, remembering why."""
        self.problem = problem_text(self.path, exc)
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**6:06d}"
        self.written_to = self.spill_dir / f"gradebook.unsaved-{stamp}.sqlite"
        self.connection = connect(self.written_to, self.timeout)

    def merge_unsaved(self) -> None:
        """Copy the rows of earlier runs' unsaved gradebooks into this one, then mark those files merged."""
        for spilled in sorted(self.spill_dir.glob("gradebook.unsaved-*.sqlite")):
            if spilled.resolve() == self.path.resolve():
                continue
            try:
                with closing(sqlite3.connect(spilled, timeout=self.timeout)) as source:
                    add_missing_columns(source)
                    rows = all_gradings(source)
                    tables = {r[0] for r in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                    extra = {t: source.execute(f"SELECT * FROM {t}").fetchall() for t in EXTRA_TABLES if t in tables}
            except sqlite3.Error:
                continue
            for grading in rows:
                insert(self.connection, grading)
            with self.connection:
                for table, found in extra.items():
                    if found:
                        self.connection.executemany(f"INSERT OR REPLACE INTO {table} VALUES "
                                                    f"({', '.join('?' * len(found[0]))})", found)
            spilled.rename(spilled.with_name(spilled.name.replace(".unsaved-", ".merged-")))
            self.merged.append(spilled)

    def reusable(self, student: str, lesson: str, file_sha256: str, grader_key: str) -> Grading | None:
        """The latest grading when it graded this very file with this grader and limits (and did not fail itself)."""
        previous = latest(self.connection, student, lesson)
        if previous is None and self.written_to != self.path:
            try:  # the real gradebook may still be readable while it cannot be written
                with closing(sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                             timeout=1)) as readonly:
                    previous = latest(readonly, student, lesson)
            except sqlite3.Error:
                previous = None
        if (previous is not None and file_sha256 and previous.file_sha256 == file_sha256
                and previous.grader_key == grader_key and previous.status not in RETRIED):
            return previous
        return None

    def add(self, grading: Grading) -> None:
        """Store a grading (sqlite waits `timeout` seconds for a busy file); if the gradebook stops being writable
        during the run, this and later gradings go to an unsaved gradebook instead."""
        try:
            insert(self.connection, grading)
        except sqlite3.Error as exc:
            if self.written_to != self.path:
                raise
            self.connection.close()
            self.spill(exc)
            insert(self.connection, grading)

    def write(self, sql: str, rows: list[tuple]) -> None:
        """Run one statement for many rows (what a run records beside its gradings), spilling like `add`."""
        try:
            with self.connection:
                self.connection.executemany(sql, rows)
        except sqlite3.Error as exc:
            if self.written_to != self.path:
                raise
            self.connection.close()
            self.spill(exc)
            with self.connection:
                self.connection.executemany(sql, rows)

    def files(self) -> list[Path]:
        """The files this run's class table comes from: the gradebook; while this run writes to an unsaved file,
        also the real gradebook (if it can be read) and earlier unsaved files, this run's last."""
        if self.written_to == self.path:
            return [self.path]
        others = [p for p in [self.path, *sorted(self.spill_dir.glob("gradebook.unsaved-*.sqlite"))]
                  if p.is_file() and p.resolve() != self.written_to.resolve()]
        return [*others, self.written_to]

    def latest_gradings(self) -> list[Grading]:
        """The latest grading of every student's lesson (extras merged) in the files of this run's class table."""
        if self.written_to == self.path:
            return latest_gradings(self.connection)
        return read_latest(self.files(), timeout=1.0)[0]

    def with_extras(self, gradings: list[Grading]) -> list[Grading]:
        """Gradings of this run with what the gradebook keeps beside them merged in (as in latest_gradings)."""
        if self.written_to == self.path:
            return apply_extras(gradings, read_extras(self.connection))
        return read_latest(self.files(), timeout=1.0, gradings=gradings)[0]

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


def problem_text(path: Path, exc: BaseException) -> str:
    """Why the gradebook cannot be written, in an instructor's words."""
    message = str(exc)
    if "locked" in message or "busy" in message:
        why = "is locked by another program (another grading run, or a database browser with unsaved changes)"
    elif "readonly" in message or "read-only" in message or isinstance(exc, PermissionError):
        why = "is read-only"
    elif "not a database" in message or "malformed" in message:
        why = "is not an SQLite gradebook (damaged, or another file)"
    else:
        why = f"cannot be opened for writing ({message})"
    return f"the gradebook {path} {why}"
