"""What the gradebook keeps beside the automatic gradings, and how the class table joins it to them.

Three tables of gradebook.sqlite (created with the others, see gradebook.SCHEMA):
- `answers`: per submitted file (student, lesson, SHA-256 of the file) and item, the cells the student wrote for it:
  for each exercise its answer cell, for each item graded by hand (manual.py) the student's text. Written by every
  grading run, for every submission, also the ones reused unchanged.
- `received`: per submitted file, when it was handed in and how that is known (late.py).
- `manual_scores`: points and a comment given by hand per student, lesson and item, with the SHA-256 of the answer
  they were given to. Rows are never deleted; the latest counts (points NULL: withdrawn, to grade again).

Points given by hand belong to the student's lesson and item, not to one grading: a regrade (same or changed file)
keeps them. When the latest file's answer to an item differs from the answer that was graded, the points still count
and the item says `answer changed` until the instructor grades it again.
"""
from __future__ import annotations

import dataclasses
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .gradebook import Grading

EXTRAS_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    student TEXT NOT NULL, lesson TEXT NOT NULL, file_sha256 TEXT NOT NULL,
    item TEXT NOT NULL,           -- an exercise's name, or an item graded by hand
    kind TEXT NOT NULL,           -- exercise | manual
    number INTEGER NOT NULL,
    max_points REAL NOT NULL,
    cells TEXT NOT NULL,          -- JSON list of [cell type, source]: the student's cells for it
    sha256 TEXT NOT NULL,         -- of cells
    PRIMARY KEY (student, lesson, file_sha256, item)
);
CREATE TABLE IF NOT EXISTS received (
    student TEXT NOT NULL, lesson TEXT NOT NULL, file_sha256 TEXT NOT NULL,
    submitted_at TEXT NOT NULL,   -- UTC, ISO 8601
    source TEXT NOT NULL,         -- how it is known (late.py)
    PRIMARY KEY (student, lesson, file_sha256)
);
CREATE TABLE IF NOT EXISTS manual_scores (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    student TEXT NOT NULL, lesson TEXT NOT NULL, item TEXT NOT NULL,
    points REAL,                  -- NULL: withdrawn (to grade again)
    max_points REAL NOT NULL,
    comment TEXT NOT NULL,
    answer_sha256 TEXT NOT NULL,  -- of the answer the points were given to
    graded_at TEXT NOT NULL       -- UTC, ISO 8601
);
"""
EXTRA_TABLES = ("answers", "received")  # written by grading runs, so merged from unsaved gradebooks
GRADED_BY_HAND = "graded by hand"
TO_GRADE = "to grade"
CHANGED = "answer changed"  # graded by hand, but the latest file's answer is not the one graded
NO_ANSWER = "no answer"  # nothing written for it (0 points without grading, unless graded by hand)
KIND_EXERCISE, KIND_MANUAL = "exercise", "manual"


@dataclass
class Answer:
    """What a student wrote for one item of one submitted file."""

    kind: str
    number: int
    max_points: float
    cells: list[list[str]]
    sha256: str


@dataclass
class ManualScore:
    """The latest points given by hand to a student's item (points None: withdrawn)."""

    points: float | None
    max_points: float
    comment: str
    answer_sha256: str
    graded_at: str


@dataclass
class Extras:
    """The three tables, read: answers and times per (student, lesson, file SHA-256), scores per (student, lesson)."""

    answers: dict[tuple[str, str, str], dict[str, Answer]] = field(default_factory=dict)
    received: dict[tuple[str, str, str], tuple[str, str]] = field(default_factory=dict)
    manual: dict[tuple[str, str], dict[str, ManualScore]] = field(default_factory=dict)

    def merge(self, other: Extras) -> None:
        """Add another gradebook file's extras; of two manual scores of one item the later one wins."""
        for key, items in other.answers.items():
            self.answers.setdefault(key, {}).update(items)
        self.received.update(other.received)
        for key, items in other.manual.items():
            mine = self.manual.setdefault(key, {})
            for item, score in items.items():
                if item not in mine or score.graded_at >= mine[item].graded_at:
                    mine[item] = score


def read_extras(connection: sqlite3.Connection) -> Extras:
    """The extras of one gradebook file (none from a gradebook written before they existed)."""
    import json

    extras = Extras()
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "answers" in tables:
        for student, lesson, sha, item, kind, number, max_points, cells, digest in connection.execute(
                "SELECT student, lesson, file_sha256, item, kind, number, max_points, cells, sha256 FROM answers"):
            extras.answers.setdefault((student, lesson, sha), {})[item] = Answer(kind, number, max_points,
                                                                                json.loads(cells), digest)
    if "received" in tables:
        for student, lesson, sha, at, source in connection.execute(
                "SELECT student, lesson, file_sha256, submitted_at, source FROM received"):
            extras.received[(student, lesson, sha)] = (at, source)
    if "manual_scores" in tables:
        for student, lesson, item, points, max_points, comment, answer, at in connection.execute(
                "SELECT student, lesson, item, points, max_points, comment, answer_sha256, graded_at "
                "FROM manual_scores ORDER BY graded_at, id"):
            extras.manual.setdefault((student, lesson), {})[item] = ManualScore(points, max_points, comment, answer,
                                                                                at)
    return extras


def manual_status(score: ManualScore | None, answer: Answer | None, file_known: bool) -> str:
    """An item's status: to grade (no answer when nothing was written), graded by hand, or answer changed (the answer
    graded is not the latest one)."""
    if score is None or score.points is None:
        return NO_ANSWER if answer is not None and not answer.cells else TO_GRADE
    if answer is not None:
        return GRADED_BY_HAND if answer.sha256 == score.answer_sha256 else CHANGED
    return CHANGED if file_known else GRADED_BY_HAND  # the item is gone from the file / no answers were kept


def apply_extras(gradings: list[Grading], extras: Extras) -> list[Grading]:
    """Copies of the gradings with the student's answers, the submission time and a score row per item graded by
    hand (`manual: True`; counted in total and max_total). Applying it twice gives the same result."""
    result = []
    for grading in gradings:
        key = (grading.student, grading.lesson, grading.file_sha256)
        answers = extras.answers.get(key, {})
        scores = [dict(s) for s in grading.scores if not s.get("manual")]
        previous = [s for s in grading.scores if s.get("manual")]
        total = grading.total - sum(s["points"] for s in previous)
        max_total = grading.max_total - sum(s["max_points"] for s in previous)
        given = extras.manual.get((grading.student, grading.lesson), {})
        items = {item: a for item, a in answers.items() if a.kind == KIND_MANUAL}
        for item in [*items, *(i for i in given if i not in items)]:
            answer, score = items.get(item), given.get(item)
            status = manual_status(score, answer, bool(answers))
            points = score.points if score is not None and score.points is not None else 0.0
            maximum = answer.max_points if answer is not None else score.max_points  # type: ignore[union-attr]
            scores.append({"exercise": item, "number": answer.number if answer else 1000, "points": points,
                           "max_points": maximum, "status": status,
                           "hint": score.comment if score is not None else "", "manual": True})
            total += points
            max_total += maximum
        submitted_at, source = extras.received.get(key, ("", ""))
        result.append(dataclasses.replace(grading, scores=scores, total=total, max_total=max_total,
                                          answers={item: a.cells for item, a in answers.items()},
                                          submitted_at=submitted_at, time_source=source))
    return result
