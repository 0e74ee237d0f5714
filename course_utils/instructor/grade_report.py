"""The outputs of grading: grades.csv (one row per student), a feedback page per student and the class report (HTML,
rendered from Jinja2 templates in templates/), all written from the class table (grade_export: every lesson and
student of the gradebook and roster, latest grading each), so they cover the whole class after any run.

A feedback page shows, per lesson and exercise, the student's own answer cells, the hint their check gave and the
points, and for answers graded by hand the points and the instructor's comment; never a solution or the instructor's
reference answers (it is built from the student's cells, the checks' hints and the gradebook only). The class report
has, per lesson, the distribution of the totals and a plot of the points per exercise (plots/<lesson>-exercises.svg:
which share of the class got full, partial or no points, did not get that far, or is still to be graded by hand)."""
from __future__ import annotations

import base64
import csv
import io
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TextIO
from urllib.parse import quote

from .gradebook import Grading
from .gradebook_extras import CHANGED, NO_ANSWER, TO_GRADE
from .report import TEMPLATE_DIR

if TYPE_CHECKING:
    from .grade_export import ClassTable, LessonColumns

STATUS_TEXT = {
    "graded": "graded", "stopped": "stopped early", "missing": "missing", "ambiguous": "several notebooks",
    "unreadable": "not a notebook", "wrong-lesson": "another lesson", "error": "grader error",
    "interrupted": "not graded (grading was stopped)",
}


TAMPERING = "TAMPERING"  # how grade.grade_one marks what a submission tried against the grader

def number(value: float) -> str:
    """Points without a needless .0."""
    return f"{value:g}"


def csv_header(table: ClassTable, status: bool = False) -> list[str]:
    """student (and id when the roster has ids), then per lesson one column per exercise and per answer graded by
    hand (NN.name), NN.total (and NN.status with `status`; NN.submitted and NN.late_penalty with a late policy), then
    total, notes and ran_on (the machines that ran the student's notebooks: 'local' or Dask workers)."""
    header = ["student"] + (["id"] if table.has_ids else [])
    for lesson in table.lessons:
        header += [f"{lesson.prefix}.{e.name}" for e in lesson.exercises] + [f"{lesson.prefix}.total"]
        header += [f"{lesson.prefix}.status"] if status else []
        header += [f"{lesson.prefix}.submitted", f"{lesson.prefix}.late_penalty"] if table.policy else []
    return header + ["total", "notes", "ran_on"]


def cell_points(score: dict | None, manual: bool) -> str:
    """A score as grades.csv shows it: empty for an answer still to grade by hand."""
    if manual and (score is None or score["status"] == TO_GRADE):
        return ""
    return number(score["points"] if score else 0.0)


def hand_notes(grading: Grading) -> list[str]:
    """What grades.csv and the LMS exports say about a lesson's answers graded by hand."""
    pending = [s["exercise"] for s in grading.scores if s.get("manual") and s["status"] == TO_GRADE]
    changed = [s["exercise"] for s in grading.scores if s.get("manual") and s["status"] == CHANGED]
    return ([f"to grade by hand: {', '.join(pending)}"] if pending else []) + (
        [f"answer changed since graded by hand: {', '.join(changed)}"] if changed else [])


def feedback_text(grading: Grading) -> str:
    """A lesson's grade in one line, for an LMS's feedback column."""
    parts = [f"{grading.lesson}: {number(round(grading.total, 2))} of {number(grading.max_total)} points"]
    if grading.status != "graded":
        parts.append(f"{STATUS_TEXT.get(grading.status, grading.status)}: {grading.reason}")
    parts += [f"{s['exercise']}: {s['hint']}" for s in grading.scores if s.get("manual") and s["hint"]]
    return "; ".join(parts + ([grading.late] if grading.late else []))


def csv_rows(table: ClassTable, status: bool = False) -> list[list[str]]:
    """The header and one row per student of the class table."""
    from .grade_export import NOT_ON_ROSTER

    rows = [csv_header(table, status)]
    strangers = set(table.not_on_roster())
    for student in table.students:
        row: list[str] = [student] + ([table.student_id(student)] if table.has_ids else [])
        total, notes = 0.0, []
        for lesson, grading in zip(table.lessons, table.of(student)):
            scores = {s["exercise"]: s for s in grading.scores}
            row += [cell_points(scores.get(e.name), e.manual) for e in lesson.exercises]
            row.append(number(round(grading.total, 2)))
            row += [grading.status] if status else []
            row += [grading.submitted_at, number(round(grading.penalty, 2))] if table.policy else []
            total += grading.total
            if grading.status != "graded":
                notes.append(f"{lesson.prefix}: {STATUS_TEXT.get(grading.status, grading.status)}: {grading.reason}")
            elif grading.reason:  # graded, with something to say: errors in cells, a late file, TAMPERING
                notes.append(f"{lesson.prefix}: {grading.reason}")
            notes += [f"{lesson.prefix}: {note}" for note in [*hand_notes(grading), grading.late] if note]
        if student in strangers:
            notes.append(NOT_ON_ROSTER)
        workers = dict.fromkeys(g.worker for g in table.of(student) if g.worker)
        rows.append(row + [number(round(total, 2)), " | ".join(notes), ", ".join(workers)])
    return rows


def write_csv(target: Path | TextIO, table: ClassTable, status: bool = False) -> None:
    """The class table as CSV: to a file in UTF-8 with a byte-order mark (so spreadsheet programs read Korean
    names), or to an open text stream."""
    if isinstance(target, Path):
        with open(target, "w", newline="", encoding="utf-8-sig") as handle:
            csv.writer(handle).writerows(csv_rows(table, status))
    else:
        csv.writer(target).writerows(csv_rows(table, status))


def histogram(lesson: LessonColumns, totals: list[float]) -> str:
    """A base64 PNG of the distribution of a lesson's totals (one bar per possible score)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3), dpi=80)
    counts = Counter(totals)
    xs = sorted(set(counts) | {0.0, lesson.max_points})
    ax.bar([str(number(x)) for x in xs], [counts.get(x, 0) for x in xs], color="#4477aa")
    ax.set_xlabel(f"points (of {number(lesson.max_points)})")
    ax.set_ylabel("students")
    ax.set_title(f"{lesson.name}: {len(totals)} submission(s)", fontsize=10)
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


CATEGORIES = (("full points", "#4477aa"), ("part of the points", "#88ccee"), ("no points", "#cc6677"),
              ("not reached / no answer", "#bbbbbb"), ("to grade by hand", "#ddcc77"))


def category(score: dict | None) -> int:
    """Which of CATEGORIES a student's score of one exercise falls in."""
    if score is None or score["status"] in ("not run", NO_ANSWER):
        return 3
    if score["status"] == TO_GRADE:
        return 4
    if score["points"] >= score["max_points"]:
        return 0
    return 1 if score["points"] > 0 else 2


def exercise_counts(lesson: LessonColumns, gradings: list[Grading]) -> list[list[int]]:
    """Per exercise (and answer graded by hand) of a lesson, how many of these gradings fall in each category."""
    counts = []
    for exercise in lesson.exercises:
        row = [0] * len(CATEGORIES)
        for grading in gradings:
            row[category(next((s for s in grading.scores if s["exercise"] == exercise.name), None))] += 1
        counts.append(row)
    return counts


def exercise_plot(lesson: LessonColumns, counts: list[list[int]], students: int) -> str:
    """An SVG of the points per exercise: for each, the share of the class in each category."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    labels = [f"{e.number}. {e.name}" + (" (by hand)" if e.manual else "") for e in lesson.exercises]
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "course-kit"}):
        fig, ax = plt.subplots(figsize=(6, 0.4 * len(labels) + 1), dpi=80)
        left = [0.0] * len(labels)
        for k, (name, color) in enumerate(CATEGORIES):
            shares = [100 * row[k] / students for row in counts]
            ax.barh(labels, shares, left=left, color=color, label=name)
            left = [a + b for a, b in zip(left, shares)]
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel(f"% of the {students} student(s) who handed in {lesson.name}")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
        plt.close(fig)
    return buffer.getvalue()


def lesson_summary(lesson: LessonColumns, gradings: list[Grading], plots: Path | None = None) -> dict:
    """Pass rate and mean points per exercise, the hints shown most often, the histogram and the submissions that
    need a look (of the students who handed something in), who handed in nothing, and (written into `plots`) the
    plot of the points per exercise."""
    from .grade_export import placeholder

    mine = [g for g in gradings if g.lesson == lesson.name and not placeholder(g)]
    absent = [g.student for g in gradings if g.lesson == lesson.name and placeholder(g)]
    counts = exercise_counts(lesson, mine)
    exercises = []
    for exercise, count in zip(lesson.exercises, counts):
        rows = [s for g in mine for s in g.scores if s["exercise"] == exercise.name]
        passed = sum(s["status"] == "passed" for s in rows)
        exercises.append({"number": exercise.number, "name": exercise.name, "points": number(exercise.points),
                          "passed": passed, "n": len(mine), "rate": passed / len(mine) if mine else 0.0,
                          "manual": exercise.manual, "to_grade": count[4],
                          "mean": number(round(sum(s["points"] for s in rows) / len(mine), 2)) if mine else "–"})
    plot = ""
    if plots is not None and mine and lesson.exercises:
        plots.mkdir(exist_ok=True)
        plot = f"{plots.name}/{quote(lesson.prefix)}-exercises.svg"
        (plots / f"{lesson.prefix}-exercises.svg").write_text(exercise_plot(lesson, counts, len(mine)),
                                                             encoding="utf-8")
    hints = Counter((s["exercise"], s["hint"]) for g in mine for s in g.scores if s["status"] != "passed" and s["hint"])
    totals = [g.total for g in mine]
    return {"lesson": lesson, "max": number(lesson.max_points), "exercises": exercises, "n": len(mine),
            "mean": number(round(sum(totals) / len(totals), 2)) if totals else "–",
            "hints": [{"exercise": e, "hint": h, "count": c} for (e, h), c in hints.most_common(10)],
            "plot": histogram(lesson, totals) if mine else "", "exercise_plot": plot,
            "problems": [g for g in mine if g.status != "graded"], "absent": absent,
            "tampering": [g for g in mine if TAMPERING in g.reason]}


def environment():
    """The Jinja2 environment of the grading pages."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(points=number, status=lambda s: STATUS_TEXT.get(s, s))
    return env


def write_outputs(out: Path, table: ClassTable, summary: dict, safe_name: Callable[[str], str]) -> None:
    """Write grades.csv, feedback/<student>.html and report.html of the whole class table into out."""
    write_csv(out / "grades.csv", table)
    env = environment()
    feedback = out / "feedback"
    feedback.mkdir(exist_ok=True)
    pages = {}
    for student in table.students:
        mine = table.of(student)
        page = f"{safe_name(student)}.html"
        (feedback / page).write_text(env.get_template("grade_feedback.html.j2").render(
            student=student, gradings=mine, total=number(sum(g.total for g in mine)),
            max_total=number(sum(g.max_total for g in mine))), encoding="utf-8")
        pages[student] = "feedback/" + quote(page)
    strangers = set(table.not_on_roster())
    rows = [{"student": s, "id": table.student_id(s), "page": pages[s], "stranger": s in strangers,
             "gradings": {g.lesson: g for g in table.of(s)}} for s in table.students]
    gradings = table.ordered()
    (out / "report.html").write_text(env.get_template("grade_report.html.j2").render(
        lessons=[lesson_summary(lesson, gradings, out / "plots") for lesson in table.lessons], rows=rows,
        summary=summary,
        lesson_names=[lesson.name for lesson in table.lessons], has_ids=table.has_ids,
        roster=table.roster, strangers=sorted(strangers)), encoding="utf-8")
