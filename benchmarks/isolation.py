#!/usr/bin/env python3
"""Benchmark 10: what grading in the sandbox costs per submission, against the same grading with --unsafe.

Run: .venv/bin/python benchmarks/isolation.py [--lesson 02] [--students 4] [--rounds 2]
Grades the same class (built as in benchmarks/grading.py) in rounds that alternate sandboxed and --unsafe, one
submission at a time, so both see the same machine; also times the sandbox alone starting `python -c pass`.
Prints Markdown rows for RESULTS.md.
"""
from __future__ import annotations

import argparse
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from course_utils.instructor.grade import Limits, grade_class  # noqa: E402
from course_utils.instructor.notebooks import find_notebook  # noqa: E402
from grading import build_class  # noqa: E402


def sandbox_start(repeats: int) -> list[float]:
    """Seconds for the sandbox to start and run `python -c pass`, against the same command started directly."""
    with tempfile.TemporaryDirectory() as scratch:
        inside = [sys.executable, "-m", "course_utils.instructor.sandbox", "--scratch", scratch, "--", sys.executable,
                  "-c", "pass"]
        plain = [sys.executable, "-c", "pass"]
        times = {"sandbox": [], "plain": []}
        for _ in range(repeats):
            for name, command in (("sandbox", inside), ("plain", plain)):
                start = time.perf_counter()
                subprocess.run(command, check=True, cwd=REPO)
                times[name].append(time.perf_counter() - start)
    return [statistics.median(times["sandbox"]), statistics.median(times["plain"])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lesson", default="02")
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    lesson = find_notebook(args.lesson)
    seconds: dict[str, list[float]] = {"sandbox": [], "unsafe": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_class(lesson, root / "submissions", args.students)
        for round_number in range(args.rounds):
            for mode in ("sandbox", "unsafe") if round_number % 2 == 0 else ("unsafe", "sandbox"):
                out = root / f"out-{mode}-{round_number}"
                grade_class(root / "submissions", [args.lesson], out, workers=1, limits=Limits(), progress=False,
                            unsafe=mode == "unsafe")
                with sqlite3.connect(out / "gradebook.sqlite") as db:
                    seconds[mode] += [r[0] for r in db.execute("SELECT seconds FROM gradings")]
    start, plain = sandbox_start(20)
    sandboxed, unsafe = statistics.median(seconds["sandbox"]), statistics.median(seconds["unsafe"])
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print("| lesson | gradings each | sandboxed: median per submission | --unsafe: median | cost per submission |")
    print("|---|---|---|---|---|")
    print(f"| {lesson.stem} | {len(seconds['sandbox'])} | {sandboxed:.1f} s | {unsafe:.1f} s | "
          f"{sandboxed - unsafe:+.1f} s ({(sandboxed / unsafe - 1) * 100:+.0f} %) |")
    print(f"\nsandbox start-up alone (`python -c pass`, median of 20): {start * 1000:.0f} ms against "
          f"{plain * 1000:.0f} ms without it")


if __name__ == "__main__":
    main()
