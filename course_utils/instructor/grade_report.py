"""The outputs of grading: grades.csv (one row per student), a feedback page per student and the class report (HTML,
rendered from Jinja2 templates in templates/), all written from the class table (grade_export: every lesson and
student of the gradebook and roster, latest grading each), so they cover the whole class after any run."""
from __future__ import annotations

import base64
import csv
import io
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TextIO
from urllib.parse import quote

from .gradebook import Grading
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
    """student (and id when the roster has ids), then per lesson one column per exercise (NN.name), NN.total (and
    NN.status with `status`), then total, notes and ran_on (the machines that ran the student's notebooks: 'local'
    or Dask workers)."""
    header = ["student"] + (["id"] if table.has_ids else [])
    for lesson in table.lessons:
        header += [f"{lesson.prefix}.{e.name}" for e in lesson.exercises] + [f"{lesson.prefix}.total"]
        header += [f"{lesson.prefix}.status"] if status else []
    return header + ["total", "notes", "ran_on"]


def csv_rows(table: ClassTable, status: bool = False) -> list[list[str]]:
    """The header and one row per student of the class table."""
    from .grade_export import NOT_ON_ROSTER

    rows = [csv_header(table, status)]
    strangers = set(table.not_on_roster())
    for student in table.students:
        row: list[str] = [student] + ([table.student_id(student)] if table.has_ids else [])
        total, notes = 0.0, []
        for lesson, grading in zip(table.lessons, table.of(student)):
            points = {s["exercise"]: s["points"] for s in grading.scores}
            row += [number(points.get(e.name, 0.0)) for e in lesson.exercises]
            row.append(number(grading.total))
            row += [grading.status] if status else []
            total += grading.total
            if grading.status != "graded":
                notes.append(f"{lesson.prefix}: {STATUS_TEXT.get(grading.status, grading.status)}: {grading.reason}")
            elif grading.reason:  # graded, with something to say: errors in cells, a late file, TAMPERING
                notes.append(f"{lesson.prefix}: {grading.reason}")
        if student in strangers:
            notes.append(NOT_ON_ROSTER)
        workers = dict.fromkeys(g.worker for g in table.of(student) if g.worker)
        rows.append(row + [number(total), " | ".join(notes), ", ".join(workers)])
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


def lesson_summary(lesson: LessonColumns, gradings: list[Grading]) -> dict:
    """Pass rate per exercise, the hints shown most often, the histogram and the submissions that need a look (of the
    students who handed something in), and who handed in nothing."""
    from .grade_export import placeholder

    mine = [g for g in gradings if g.lesson == lesson.name and not placeholder(g)]
    absent = [g.student for g in gradings if g.lesson == lesson.name and placeholder(g)]
    exercises = []
    for exercise in lesson.exercises:
        rows = [s for g in mine for s in g.scores if s["exercise"] == exercise.name]
        passed = sum(s["status"] == "passed" for s in rows)
        exercises.append({"number": exercise.number, "name": exercise.name, "points": number(exercise.points),
                          "passed": passed, "n": len(mine), "rate": passed / len(mine) if mine else 0.0})
    hints = Counter((s["exercise"], s["hint"]) for g in mine for s in g.scores if s["status"] != "passed" and s["hint"])
    totals = [g.total for g in mine]
    return {"lesson": lesson, "max": number(lesson.max_points), "exercises": exercises, "n": len(mine),
            "mean": number(round(sum(totals) / len(totals), 2)) if totals else "–",
            "hints": [{"exercise": e, "hint": h, "count": c} for (e, h), c in hints.most_common(10)],
            "plot": histogram(lesson, totals) if mine else "",
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
        lessons=[lesson_summary(lesson, gradings) for lesson in table.lessons], rows=rows, summary=summary,
        lesson_names=[lesson.name for lesson in table.lessons], has_ids=table.has_ids,
        roster=table.roster, strangers=sorted(strangers)), encoding="utf-8")
