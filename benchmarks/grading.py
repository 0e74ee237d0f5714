#!/usr/bin/env python3
"""Benchmark 9: grading a class: seconds per submission and the whole-class time, N submissions of one lesson.

Run: .venv/bin/python benchmarks/grading.py [--lesson 02] [--students 40] [-j 2]
The class is built from the lesson's student version: a third full marks (solutions from the instructor version),
a third untouched, a third with only the first exercise solved. Prints a Markdown row for RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from course_utils.instructor.grade import Limits, grade_class  # noqa: E402
from course_utils.instructor.grade_prepare import read_lesson  # noqa: E402
from course_utils.instructor.notebooks import find_notebook  # noqa: E402
from course_utils.instructor.student import cell_source, student_version  # noqa: E402


def build_class(lesson_path: Path, root: Path, students: int) -> None:
    """Write `students` submissions: full, untouched and first-exercise-only in turn."""
    instructor = json.loads(lesson_path.read_text(encoding="utf-8"))
    sources = {c["id"]: c["source"] for c in instructor["cells"]}
    first = read_lesson(lesson_path).exercises[0].solution_id
    for index in range(students):
        nb = student_version(instructor)
        kind = index % 3
        for cell in nb["cells"]:
            if "# YOUR CODE HERE" in cell_source(cell) and (kind == 0 or (kind == 2 and cell["id"] == first)):
                cell["source"] = sources[cell["id"]]
        folder = root / f"student {index:02d}"
        folder.mkdir(parents=True)
        (folder / lesson_path.name).write_text(json.dumps(nb), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lesson", default="02")
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("-j", "--workers", type=int, default=2)
    args = parser.parse_args()
    lesson = find_notebook(args.lesson)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_class(lesson, root / "submissions", args.students)
        start = time.perf_counter()
        summary = grade_class(root / "submissions", [args.lesson], root / "out", workers=args.workers,
                              limits=Limits(), progress=False)
        wall = time.perf_counter() - start
        with sqlite3.connect(root / "out" / "gradebook.sqlite") as db:
            seconds = [r[0] for r in db.execute("SELECT seconds FROM gradings")]
            totals = [r[0] for r in db.execute("SELECT total FROM gradings")]
        start = time.perf_counter()
        again = grade_class(root / "submissions", [args.lesson], root / "out", workers=args.workers, progress=False)
        rerun = time.perf_counter() - start
    seconds.sort()
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"errors: {summary['errors']}, totals: {sorted(totals)}; re-run graded {again['graded']}")
    print("| lesson | submissions | workers | whole class (s) | per submission, median (s) | slowest (s) "
          "| class time / submission (s) | unchanged re-run (s) |")
    print(f"| {lesson.stem} | {args.students} | {args.workers} | {wall:.0f} | {seconds[len(seconds) // 2]:.1f} "
          f"| {seconds[-1]:.1f} | {wall / args.students:.1f} | {rerun:.1f} |")


if __name__ == "__main__":
    main()
