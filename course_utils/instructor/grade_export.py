"""The class table: the gradebook as the source of truth for a whole class.

Every lesson and every student of the gradebook (and of the roster, students.csv), each student's lesson with its
latest grading; a roster student with no grading of a lesson is `missing` ("no submission"). grades.csv,
report.html and the feedback pages are written from it after each grading run, and the command below exports it:

    python -m course_utils.instructor.grade export [--out DIR | --gradebook FILE] [--roster students.csv] [-o class.csv]

Columns: student (and id when the roster has ids), then per lesson its exercises' points (NN.<exercise>), the points
of its answers graded by hand (NN.<item>; empty while not graded, manual.py), NN.total and NN.status (with a late
policy also NN.submitted and NN.late_penalty: late.py), then total, notes and ran_on. The roster is --roster, else
students.csv beside the gradebook (a grading run keeps a copy of the roster it used there); the late policy is --late,
else late.toml beside it. Unsaved gradebook files (gradebook.unsaved-*.sqlite) beside it count too.
--format canvas or moodle writes the file those LMSs import instead (lms.py). Exit code 0, or 2 when there is no
gradebook or the roster or late policy cannot be read.
"""
from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from ..paths import display_path
from .gradebook import Grading, newest, read_latest
from .grade_submissions import ROSTER_FILE, Roster, read_roster
from .late import POLICY_FILE, Policy, assess, find_policy
from .values import RequestError

if TYPE_CHECKING:
    from .grade_prepare import Lesson

NO_SUBMISSION = "no submission"
NOT_ON_ROSTER = "not on the roster"
DEFAULT_CSV = "class.csv"


@dataclass
class Column:
    """One exercise of a lesson, as a column of the class table."""

    name: str
    number: int
    points: float
    manual: bool = False  # graded by hand


@dataclass
class LessonColumns:
    """A lesson as the class table knows it (from the instructor notebook, or from the gradebook's scores)."""

    name: str
    exercises: list[Column]
    max_points: float
    prefix: str = ""  # column prefix: the lesson number ('02'), or its name when two lessons share a number


@dataclass
class ClassTable:
    """Every student (roster order, then the others sorted) x every lesson (sorted): a grading each."""

    lessons: list[LessonColumns]
    students: list[str]
    gradings: dict[tuple[str, str], Grading]
    roster: Roster | None = None
    policy: Policy | None = None  # the late policy applied (late.py)
    problems: list[str] = field(default_factory=list)  # gradebook files that could not be read

    def of(self, student: str) -> list[Grading]:
        """A student's gradings, one per lesson."""
        return [self.gradings[(student, lesson.name)] for lesson in self.lessons]

    def ordered(self) -> list[Grading]:
        """Every grading, student by student."""
        return [g for student in self.students for g in self.of(student)]

    def student_id(self, student: str) -> str:
        """The student's id in the roster ('' when none)."""
        return self.roster.rows.get(student, {}).get("id", "") if self.roster else ""

    @property
    def has_ids(self) -> bool:
        """Whether the roster gives ids (the table then has an id column)."""
        return bool(self.roster and self.roster.has_ids)

    def not_on_roster(self) -> list[str]:
        """Students with gradings who are not on the roster (none without a roster)."""
        return [s for s in self.students if self.roster and s not in self.roster.rows]

    def missing(self) -> list[tuple[str, str]]:
        """(student, lesson) of every lesson a student has no grading of."""
        return [(g.student, g.lesson) for g in self.ordered() if placeholder(g)]


def placeholder(grading: Grading) -> bool:
    """Whether a grading stands for a submission that never came (it was not graded: no time)."""
    return not grading.graded_at


def lesson_prefix(name: str) -> str:
    """The lesson's number prefix ('02'), or its name when it has none."""
    head = name.split("_", 1)[0]
    return head if head.isdigit() else name


def lesson_columns(name: str, gradings: list[Grading], lesson: Lesson | None = None) -> LessonColumns:
    """A lesson's columns: the instructor notebook's exercises and items graded by hand (manual.py) when it is given,
    plus any exercise the gradebook's gradings score (an earlier version of the lesson), ordered by number."""
    from .gradebook_extras import KIND_MANUAL
    from .manual import lesson_items

    columns: dict[str, Column] = {}
    if lesson is not None:
        columns = {i.name: Column(i.name, i.number, i.max_points, i.kind == KIND_MANUAL) for i in lesson_items(lesson)}
    extra: dict[str, Column] = {}
    for grading in sorted(gradings, key=lambda g: g.graded_at):  # the latest grading's points win
        for score in grading.scores:
            if score["exercise"] not in columns:
                extra[score["exercise"]] = Column(score["exercise"], score["number"], score["max_points"],
                                                  bool(score.get("manual")))
    exercises = list(columns.values()) + sorted(extra.values(), key=lambda c: (c.number, c.name))
    if lesson is not None:
        max_points = sum(c.points for c in columns.values())
    else:
        real = sorted((g for g in gradings if g.graded_at), key=lambda g: g.graded_at)
        max_points = real[-1].max_total if real else sum(c.points for c in exercises)
    return LessonColumns(name, exercises, max_points)


def no_submission(student: str, lesson: LessonColumns) -> Grading:
    """The placeholder of a lesson a student handed nothing in for."""
    scores = [{"exercise": c.name, "number": c.number, "points": 0.0, "max_points": c.points, "status": "not run",
               "hint": f"not graded: {NO_SUBMISSION}"} for c in lesson.exercises]
    return Grading("", student, lesson.name, "", "", "", "missing", NO_SUBMISSION, 0.0, lesson.max_points, 0.0, "",
                   "", scores)


def class_table(gradings: Iterable[Grading], lessons: Iterable[Lesson] = (), roster: Roster | None = None,
                policy: Policy | None = None) -> ClassTable:
    """The class table of a gradebook's latest gradings (later ones in the list win a tie), the lessons of a grading
    run (their columns from the instructor notebooks), the roster and the late policy (its deductions applied)."""
    latest = {(g.student, g.lesson): g for g in newest(list(gradings))}
    if policy is not None:
        latest = {key: with_penalty(g, policy) for key, g in latest.items()}
    given = {lesson.name: lesson for lesson in lessons}
    names = sorted({lesson for _, lesson in latest} | set(given))
    columns = [lesson_columns(name, [g for (_, lesson), g in latest.items() if lesson == name], given.get(name))
               for name in names]
    prefixes = [lesson_prefix(c.name) for c in columns]
    for column, prefix in zip(columns, prefixes):
        column.prefix = prefix if prefixes.count(prefix) == 1 else column.name
    expected = roster.students if roster else []
    others = sorted({student for student, _ in latest} - set(expected))
    table = ClassTable(columns, expected + others, {}, roster, policy)
    for student in table.students:
        for lesson in columns:
            found = latest.get((student, lesson.name))
            table.gradings[(student, lesson.name)] = found or no_submission(student, lesson)
    return table


def with_penalty(grading: Grading, policy: Policy) -> Grading:
    """A copy of a grading with the late policy's deduction taken off its total (and said in `late`)."""
    late = assess(policy, grading.student, grading.lesson, grading.submitted_at, grading.max_total, grading.total)
    return dataclasses.replace(grading, total=grading.total - late.deducted, penalty=late.deducted, late=late.note)


def save_roster(roster: Roster | None, out: Path) -> None:
    """Keep a copy of the roster a run used in its output folder, where later runs and `grade export` find it."""
    if roster is None:
        return
    target = out / ROSTER_FILE
    try:
        if not target.exists() or not target.samefile(roster.path):
            shutil.copyfile(roster.path, target)
    except OSError:
        pass


def gradebook_files(gradebook: Path) -> list[Path]:
    """A gradebook and the unsaved gradebooks beside it that have not been merged into it yet."""
    files = [gradebook] if gradebook.is_file() else []
    return files + sorted(gradebook.parent.glob("gradebook.unsaved-*.sqlite"))


def export(gradebook: Path, roster_path: Path | None = None, late: Path | None = None) -> ClassTable:
    """The class table of a gradebook (and its unsaved files), with the late policy `late` (else late.toml beside
    the gradebook) applied. Raises RequestError when there is none, or the roster or policy cannot be read."""
    files = gradebook_files(gradebook)
    if not files:
        raise RequestError(f"No gradebook at {display_path(gradebook)}: grade a class first, or give --out or "
                           "--gradebook.")
    gradings, problems = read_latest(files)
    if problems and len(problems) == len(files):
        raise RequestError("Cannot read the gradebook: " + "; ".join(problems))
    if roster_path is None and (gradebook.parent / ROSTER_FILE).is_file():
        roster_path = gradebook.parent / ROSTER_FILE
    table = class_table(gradings, roster=read_roster(roster_path) if roster_path else None,
                        policy=find_policy(gradebook.parent, late))
    table.problems = problems
    return table


def main(argv: list[str] | None = None) -> int:
    """Command line: write the class table as CSV (or in an LMS's import format); 2 for a bad request."""
    from .grade import DEFAULT_OUT
    from .grade_report import write_csv
    from .lms import FORMATS, write_lms

    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.grade export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(DEFAULT_OUT),
                        help=f"grading output folder (default {DEFAULT_OUT}): its gradebook.sqlite and students.csv")
    parser.add_argument("--gradebook", type=Path, help="the gradebook file (default OUT/gradebook.sqlite)")
    parser.add_argument("--roster", type=Path, help=f"roster CSV (default: {ROSTER_FILE} beside the gradebook)")
    parser.add_argument("--late", type=Path, help=f"late policy (default: {POLICY_FILE} beside the gradebook)")
    parser.add_argument("--format", choices=("class", *FORMATS), default="class",
                        help="class: the class table (default); canvas or moodle: the file that LMS imports")
    parser.add_argument("--lesson", help="moodle: the lesson of the worksheet (one assignment per file)")
    parser.add_argument("--assignment", action="append", default=[], metavar="LESSON=ID",
                        help="canvas: the Canvas assignment id of a lesson, e.g. 02=12345 (repeat per lesson)")
    parser.add_argument("-o", "--output", type=Path,
                        help=f"the CSV to write (default {DEFAULT_CSV}, canvas.csv or moodle-LESSON.csv beside the "
                             "gradebook; - for standard output)")
    args = parser.parse_args(argv)
    gradebook = (args.gradebook or args.out / "gradebook.sqlite").expanduser().resolve()
    try:
        table = export(gradebook, args.roster.expanduser().resolve() if args.roster else None,
                       args.late.expanduser().resolve() if args.late else None)
        to_stdout = args.output is not None and str(args.output) == "-"
        lesson = args.lesson or (table.lessons[0].prefix if len(table.lessons) == 1 else "")
        name = {"class": DEFAULT_CSV, "canvas": "canvas.csv", "moodle": f"moodle-{lesson}.csv"}[args.format]
        output = None if to_stdout else (args.output or gradebook.parent / name).expanduser().resolve()
        if output is not None:
            output.parent.mkdir(parents=True, exist_ok=True)
        target = sys.stdout if output is None else output
        found = [] if args.format == "class" else write_lms(target, table, args.format, args.lesson, args.assignment)
        if args.format == "class":
            write_csv(target, table, status=True)
    except RequestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for problem in table.problems:
        print(f"WARNING: not read: {problem}", file=sys.stderr)
    for warning in found:
        print(f"WARNING: {warning}", file=sys.stderr)
    if output is None:
        return 0
    missing, strangers = table.missing(), table.not_on_roster()
    print(f"{display_path(output)}: {len(table.students)} student(s), lesson(s) "
          f"{', '.join(lesson.name for lesson in table.lessons) or 'none'}; {len(missing)} lesson(s) with no submission"
          + (f"; {len(strangers)} student(s) not on the roster: {', '.join(strangers)}" if strangers else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
