"""The outputs of a grading run: grades.csv (one row per student), a feedback page per student and the class report
(HTML, rendered from Jinja2 templates in templates/)."""
from __future__ import annotations

import base64
import csv
import io
from collections import Counter
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from .gradebook import Grading
from .grade_prepare import Lesson
from .report import TEMPLATE_DIR

STATUS_TEXT = {
    "graded": "graded", "stopped": "stopped early", "missing": "no notebook", "ambiguous": "several notebooks",
    "unreadable": "not a notebook", "wrong-lesson": "another lesson", "error": "grader error",
}


def number(value: float) -> str:
    """Points without a needless .0."""
    return f"{value:g}"


def lesson_number(lesson: Lesson) -> str:
    """The lesson's number prefix ('02'), or its name when it has none."""
    head = lesson.name.split("_", 1)[0]
    return head if head.isdigit() else lesson.name


def csv_header(lessons: list[Lesson]) -> list[str]:
    """student, then per lesson one column per exercise (NN.name) and NN.total, then total, notes and ran_on (the
    machines that ran the student's notebooks: 'local' or Dask workers)."""
    header = ["student"]
    for lesson in lessons:
        prefix = lesson_number(lesson)
        header += [f"{prefix}.{e.name}" for e in lesson.exercises] + [f"{prefix}.total"]
    return header + ["total", "notes", "ran_on"]


def write_csv(path: Path, lessons: list[Lesson], gradings: list[Grading]) -> None:
    """grades.csv: UTF-8 with a byte-order mark (so spreadsheet programs read Korean names), one row per student."""
    students = list(dict.fromkeys(g.student for g in gradings))
    by_key = {(g.student, g.lesson): g for g in gradings}
    with open(path, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(csv_header(lessons))
        for student in students:
            row: list[str] = [student]
            total, notes = 0.0, []
            for lesson in lessons:
                grading = by_key.get((student, lesson.name))
                points = {s["exercise"]: s["points"] for s in grading.scores} if grading else {}
                row += [number(points.get(e.name, 0.0)) for e in lesson.exercises]
                lesson_total = sum(points.get(e.name, 0.0) for e in lesson.exercises)
                row.append(number(lesson_total))
                total += lesson_total
                if grading and grading.status != "graded":
                    notes.append(f"{lesson_number(lesson)}: {STATUS_TEXT.get(grading.status, grading.status)}: "
                                 f"{grading.reason}")
            workers = dict.fromkeys(g.worker for g in gradings if g.student == student and g.worker)
            writer.writerow(row + [number(total), " | ".join(notes), ", ".join(workers)])


def histogram(lesson: Lesson, totals: list[float]) -> str:
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


def lesson_summary(lesson: Lesson, gradings: list[Grading]) -> dict:
    """Pass rate per exercise, the hints shown most often, the histogram and the submissions that need a look."""
    mine = [g for g in gradings if g.lesson == lesson.name]
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
            "problems": [g for g in mine if g.status != "graded"]}


def environment():
    """The Jinja2 environment of the grading pages."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(points=number, status=lambda s: STATUS_TEXT.get(s, s))
    return env


def write_outputs(out: Path, lessons: list[Lesson], gradings: list[Grading], summary: dict,
                  safe_name: Callable[[str], str]) -> None:
    """Write grades.csv, feedback/<student>.html and report.html into out."""
    write_csv(out / "grades.csv", lessons, gradings)
    env = environment()
    feedback = out / "feedback"
    feedback.mkdir(exist_ok=True)
    students = list(dict.fromkeys(g.student for g in gradings))
    pages = {}
    for student in students:
        mine = [g for g in gradings if g.student == student]
        page = f"{safe_name(student)}.html"
        (feedback / page).write_text(env.get_template("grade_feedback.html.j2").render(
            student=student, gradings=mine, total=number(sum(g.total for g in mine)),
            max_total=number(sum(g.max_total for g in mine))), encoding="utf-8")
        pages[student] = "feedback/" + quote(page)
    rows = [{"student": s, "page": pages[s],
             "gradings": {g.lesson: g for g in gradings if g.student == s}} for s in students]
    (out / "report.html").write_text(env.get_template("grade_report.html.j2").render(
        lessons=[lesson_summary(lesson, gradings) for lesson in lessons], rows=rows, summary=summary,
        lesson_names=[lesson.name for lesson in lessons]), encoding="utf-8")
