"""The class table as the CSV files Canvas and Moodle import (`grade export --format canvas|moodle`).

Canvas (Grades > Import): the columns of Canvas's own gradebook export, which its importer reads: `Student`, `ID`,
`SIS User ID`, `SIS Login ID`, `Section`, then one column per lesson, and a second row `Points Possible` with each
lesson's maximum. Canvas finds a student by `ID` (the Canvas user id: the number in the names of Canvas's submission
downloads, also the ID column of its gradebook export), else by SIS User ID or SIS Login ID. A lesson's column is
`<lesson> (<assignment id>)` with `--assignment 02=12345`, which puts the scores into that Canvas assignment; without
it Canvas offers to create an assignment named after the lesson.

Moodle (the assignment's "Upload grading worksheet", one file per assignment, so one lesson): the columns of its
offline grading worksheet: `Identifier` (`Participant <id>`: the number in the names of Moodle's submission
downloads), `Full name`, `Email address`, `Grade`, `Maximum grade`, `Last modified (submission)`,
`Last modified (grade)` (the export time; Moodle skips grades changed in Moodle after it unless told to overwrite)
and `Feedback comments`.

The ids are the roster's (students.csv: `id`, and for Canvas optionally `sis_user_id`, `sis_login_id`, `section`).
A student without an id cannot be matched by the LMS: their row is left out and named in a warning. A lesson's score
is its total after any late deduction; answers still to grade by hand count 0 until graded (named in a warning).
Files are UTF-8 without a byte-order mark, comma-separated, with points like 3.5.
"""
from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .gradebook_extras import TO_GRADE, CHANGED
from .values import RequestError

if TYPE_CHECKING:
    from .grade_export import ClassTable, LessonColumns

FORMATS = ("canvas", "moodle")
CANVAS_STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["Identifier", "Full name", "Email address", "Grade", "Maximum grade", "Last modified (submission)",
                  "Last modified (grade)", "Feedback comments"]
PARTICIPANT = "Participant "  # Moodle's prefix of an Identifier


def points(value: float) -> str:
    """Points as an LMS reads them: at most two decimals, no needless zeros."""
    return f"{round(value, 2):g}"


def parse_assignments(given: list[str], table: ClassTable) -> dict[str, str]:
    """{lesson name: Canvas assignment id} from `02=12345` items. Raises RequestError for a bad item."""
    found = {}
    for item in given:
        lesson, _, number = item.partition("=")
        matches = [known.name for known in table.lessons if lesson.strip() in (known.name, known.prefix)]
        if not number.strip().isdigit() or len(matches) != 1:
            raise RequestError(f"--assignment {item!r}: write LESSON=ID with a lesson of the gradebook "
                               f"({', '.join(known.prefix for known in table.lessons)}) and Canvas's numeric "
                               "assignment id.")
        found[matches[0]] = number.strip()
    return found


def identified(table: ClassTable, fields: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(students the LMS can match by one of the roster's fields, students it cannot)."""
    rows = table.roster.rows if table.roster else {}
    known = [s for s in table.students if any(rows.get(s, {}).get(f) for f in fields)]
    return known, [s for s in table.students if s not in known]


def canvas_rows(table: ClassTable, assignments: dict[str, str]) -> tuple[list[list[str]], list[str]]:
    """The rows of a Canvas import file, and its warnings."""
    header = CANVAS_STUDENT_COLUMNS + [f"{lesson.name} ({assignments[lesson.name]})" if lesson.name in assignments
                                       else lesson.name for lesson in table.lessons]
    rows = [header, ["Points Possible", "", "", "", ""] + [points(lesson.max_points) for lesson in table.lessons]]
    known, unknown = identified(table, ("id", "sis_user_id", "sis_login_id"))
    for student in known:
        row = table.roster.rows[student]  # type: ignore[union-attr]
        rows.append([row.get("name") or student, row.get("id", ""), row.get("sis_user_id", ""),
                     row.get("sis_login_id", ""), row.get("section", "")]
                    + [points(g.total) for g in table.of(student)])
    return rows, warnings(table, known, unknown, "an id, sis_user_id or sis_login_id")


def moodle_rows(table: ClassTable, lesson: LessonColumns) -> tuple[list[list[str]], list[str]]:
    """The rows of a Moodle grading worksheet for one lesson, and its warnings."""
    from .grade_report import feedback_text

    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    rows = [list(MOODLE_COLUMNS)]
    known, unknown = identified(table, ("id",))
    for student in known:
        row = table.roster.rows[student]  # type: ignore[union-attr]
        grading = table.gradings[(student, lesson.name)]
        rows.append([PARTICIPANT + row["id"], row.get("name") or student, row.get("email", ""), points(grading.total),
                     points(lesson.max_points), grading.submitted_at, now, feedback_text(grading)])
    return rows, warnings(table, known, unknown, "an id")


def warnings(table: ClassTable, known: list[str], unknown: list[str], needed: str) -> list[str]:
    """What the instructor must know before importing: students left out, points still to give by hand."""
    found = []
    if unknown:
        found.append(f"{len(unknown)} student(s) left out: the LMS cannot match them without {needed} in "
                     f"students.csv: {', '.join(unknown)}")
    pending = sorted({f"{g.student} / {g.lesson}" for s in known for g in table.of(s)
                      for score in g.scores if score.get("manual") and score["status"] in (TO_GRADE, CHANGED)})
    if pending:
        found.append(f"{len(pending)} lesson(s) have answers to grade by hand (counted 0, or points given to an "
                     f"earlier answer; `grade manual`): {', '.join(pending[:10])}" + (" ..." if len(pending) > 10 else ""))
    return found


def write_lms(target: Path | TextIO, table: ClassTable, fmt: str, lesson: str | None = None,
              assignments: list[str] = ()) -> list[str]:
    """Write the class table in an LMS's import format; return warnings. Raises RequestError when the format, the
    lesson (Moodle: one lesson per file) or an --assignment item does not fit."""
    if fmt == "canvas":
        rows, found = canvas_rows(table, parse_assignments(list(assignments), table))
    elif fmt == "moodle":
        chosen = [known for known in table.lessons if lesson in (known.name, known.prefix)] if lesson else table.lessons
        if len(chosen) != 1:
            raise RequestError("A Moodle grading worksheet holds one assignment: name its lesson with --lesson "
                               f"({', '.join(known.prefix for known in table.lessons) or 'none in the gradebook'}).")
        rows, found = moodle_rows(table, chosen[0])
    else:
        raise RequestError(f"Unknown LMS format {fmt!r}; choose {' or '.join(FORMATS)}.")
    if isinstance(target, Path):
        with open(target, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
    else:
        csv.writer(target).writerows(rows)
    return found
