"""Answers graded by hand: which parts of a lesson they are, what each student wrote for them, and their points.

A lesson's items graded by hand (read from the instructor notebook; the automatic grading does not change):
- its **questionnaire**: a markdown cell followed by a cell tagged `answers` (the instructor's answers, removed from
  the student version). Worth `metadata.course_kit.manual_points` of the question cell, else one point per numbered
  question (`1. ...`).
- every **markdown solution**: a markdown cell with a `### BEGIN SOLUTION` block (students see "YOUR ANSWER HERE").
- every cell with `metadata.course_kit.manual_points`: an open question. On an exercise's prompt cell it covers the
  exercise's cells too, so an explanation written beside the code is found.
`metadata.course_kit.manual_name` names an item (default: questionnaire, answer_N, <exercise>_answer).

What a student wrote for an item: the item's cells where the student changed them, and every cell the student added
after them, up to the next cell of the lesson. For an exercise (used by the feedback pages) its solution cell as the
student left it. Cells are matched by id, else by the text of the cells left unchanged (grade_prepare).
Every grading run stores these answers for every submission (gradebook_extras), with the time it was handed in.
"""
from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from .gradebook_extras import KIND_EXERCISE, KIND_MANUAL
from .grade_prepare import SAME_LESSON, NotANotebook, base_id, lesson_match, normalise_cells, parse_submission
from .student import ANSWERS_TAG, BEGIN, cell_source, solution_lines, strip_solutions
from .values import RequestError

if TYPE_CHECKING:
    from .grade import Submission
    from .grade_prepare import Lesson
    from .gradebook import Gradebook

MAX_CELLS = 20  # cells kept per answer
MAX_CHARS = 20_000  # characters kept per cell
QUESTION = re.compile(r"^\s*\d+\.\s", re.MULTILINE)


@dataclass
class Item:
    """An exercise or an item graded by hand, and where a student's answer to it is."""

    name: str
    kind: str  # exercise | manual
    number: int
    max_points: float
    anchors: tuple[str, ...]  # ids of the lesson's cells (student version) that hold the answer
    after: str | None  # the lesson cell before them (where the answer starts when the anchors are not found)
    question: str = ""  # the question's text (for the instructor's page)
    reference: str = ""  # the instructor's answer: shown on the instructor's page only, never in feedback


def manual_points(cell: dict, where: str) -> float | None:
    """metadata.course_kit.manual_points of a cell (None when absent); refuses anything but a number >= 0."""
    value = cell.get("metadata", {}).get("course_kit", {}).get("manual_points")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise RequestError(f"{where}: metadata course_kit.manual_points must be a number >= 0, got {value!r}.")
    return float(value)


def lesson_items(lesson: Lesson) -> list[Item]:
    """The lesson's exercises and its items graded by hand, in this order (numbered on from the exercises)."""
    order = [c.get("id") for c in lesson.student["cells"]]

    def before(cell_id: str | None) -> str | None:
        return order[order.index(cell_id) - 1] if cell_id in order and order.index(cell_id) > 0 else None

    items = [Item(e.name, KIND_EXERCISE, e.number, e.points, (e.solution_id or "",), before(e.solution_id))
             for e in lesson.exercises]
    taken = {item.name for item in items}
    by_solution = {e.solution_id: e for e in lesson.exercises}
    cells = lesson.notebook["cells"]
    for index, cell in enumerate(cells):
        where = f"{lesson.path.name}, cell {index}"
        if ANSWERS_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        text, points = cell_source(cell), manual_points(cell, where)
        following = cells[index + 1] if index + 1 < len(cells) else {}
        answers = ANSWERS_TAG in following.get("metadata", {}).get("tags", [])
        solution = cell.get("cell_type") == "markdown" and BEGIN in text
        if points is None and not (cell.get("cell_type") == "markdown" and answers) and not solution:
            continue
        exercise = by_solution.get(following.get("id"))
        anchors = (cell.get("id", ""),) + ((exercise.solution_id or "", exercise.key) if exercise else ())
        if points is None:
            points = float(len(QUESTION.findall(text)) or 1) if answers else 1.0
        default = ("questionnaire" if answers else f"{exercise.name}_answer" if exercise
                   else f"answer_{len(items) - len(lesson.exercises) + 1}")
        name, n = str(cell.get("metadata", {}).get("course_kit", {}).get("manual_name") or default), 2
        while name in taken:
            name, n = f"{default}_{n}", n + 1
        taken.add(name)
        reference = cell_source(following) if answers else "\n".join(solution_lines({"cells": [cell]}))
        items.append(Item(name, KIND_MANUAL, len(items) + 1, points, anchors, before(cell.get("id")),
                          strip_solutions(text, markdown=True) if solution else text, reference))
    return items


def extract_answers(notebook: dict, lesson: Lesson, items: Iterable[Item]) -> dict[str, list[list[str]]]:
    """What the student wrote for each item: [[cell type, source], ...] (see the module's description)."""
    cells, _, _ = normalise_cells(notebook["cells"], lesson)
    original = {c.get("id"): cell_source(c) for c in lesson.student["cells"]}
    ids = recognise_edited(cells, lesson)
    found: dict[str, list[list[str]]] = {}
    for item in items:
        known = any(a in ids for a in item.anchors)
        inside, kept = False, []
        for cell, cell_id in zip(cells, ids):
            if cell_id in item.anchors:
                inside = True
                if item.kind == KIND_EXERCISE or cell_source(cell) != original.get(cell_id):
                    kept.append(cell)
            elif cell_id == item.after and not known:
                inside = True
            elif cell_id in original:
                inside = False
            elif inside:
                kept.append(cell)
        found[item.name] = [[c["cell_type"], cell_source(c)[:MAX_CHARS]] for c in kept[:MAX_CELLS]]
    return found


def first_line(text: str) -> str:
    """A cell's first non-empty line, stripped."""
    return next((line.strip() for line in text.split("\n") if line.strip()), "")


def recognise_edited(cells: list[dict], lesson: Lesson) -> list[str]:
    """The lesson cell id of each (normalised) submission cell. A cell saved without an id (Colab) whose text was
    edited is taken for the lesson cell of the same type that starts with the same line, when that is the only one
    and it is not there already: a questionnaire answered inside its own cell is still found."""
    ids = [base_id(c["id"]) for c in cells]
    present = set(ids)
    starts: dict[tuple[str, str], list[str]] = {}
    for cell in lesson.student["cells"]:
        starts.setdefault((cell.get("cell_type", ""), first_line(cell_source(cell))), []).append(cell.get("id", ""))
    for index, cell in enumerate(cells):
        if cell["id"].startswith("cell-"):
            same = [i for i in starts.get((cell["cell_type"], first_line(cell_source(cell))), []) if i not in present]
            if len(same) == 1 and first_line(cell_source(cell)):
                ids[index] = same[0]
                present.add(same[0])
    return ids


def digest(cells: list[list[str]]) -> str:
    """The SHA-256 of an answer's cells."""
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode()).hexdigest()


def record_submissions(book: Gradebook, submissions: list[Submission], root: Path) -> list[str]:
    """Store, for every submission of a run (graded now or reused), what the student wrote for each item and when
    the file was handed in (late.submission_time); return problems with the submission times file."""
    from .late import read_times, submission_time

    times, problems = read_times(root)
    items: dict[str, list[Item]] = {}
    answers, received = [], []
    for sub in submissions:
        if sub.path is None:
            continue
        lesson = sub.lesson
        items.setdefault(lesson.name, lesson_items(lesson))
        try:
            notebook = parse_submission(sub.path.read_bytes())
            written = extract_answers(notebook, lesson, items[lesson.name]) \
                if lesson_match(notebook, lesson) >= SAME_LESSON else {}
        except (NotANotebook, OSError):
            written = {}
        for item in items[lesson.name]:
            cells = written.get(item.name, [])
            answers.append((sub.student, lesson.name, sub.sha256, item.name, item.kind, item.number, item.max_points,
                            json.dumps(cells, ensure_ascii=False), digest(cells)))
        at, source = submission_time(sub, times)
        if at:
            received.append((sub.student, lesson.name, sub.sha256, at, source))
    book.write("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", answers)
    book.write("INSERT OR REPLACE INTO received VALUES (?, ?, ?, ?, ?)", received)
    return problems


def set_manual_score(connection: sqlite3.Connection, student: str, lesson: str, item: str, points: float | None,
                     comment: str = "") -> None:
    """Store points (None: withdraw them) and a comment given by hand to the answer of a student's latest file.
    Raises RequestError for an item the student's latest grading has no answer for, or points out of range."""
    latest = connection.execute("SELECT file_sha256 FROM gradings WHERE student = ? AND lesson = ? "
                                "ORDER BY graded_at DESC, id DESC LIMIT 1", (student, lesson)).fetchone()
    row = connection.execute("SELECT sha256, max_points, kind FROM answers WHERE student = ? AND lesson = ? AND "
                             "file_sha256 = ? AND item = ?", (student, lesson, latest[0], item)).fetchone() \
        if latest else None
    if row is None or row[2] != KIND_MANUAL:
        raise RequestError(f"{student} / {lesson} has no answer graded by hand named {item!r}: grade the class "
                           "(the grading run stores the answers), and name an item the lesson has.")
    answer_sha, maximum, _ = row
    if points is not None and not 0 <= points <= maximum:
        raise RequestError(f"{item} of {student} / {lesson}: points must be between 0 and {maximum:g}, got {points:g}.")
    with connection:
        connection.execute("INSERT INTO manual_scores (student, lesson, item, points, max_points, comment, "
                           "answer_sha256, graded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (student, lesson, item, points, maximum, comment.strip(), answer_sha,
                            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
