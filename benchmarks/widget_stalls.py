#!/usr/bin/env python3
"""Reliability of headless runs: how often a widget cell stalls, stock papermill vs course_utils.instructor.execution.

Runs a four-cell notebook whose third cell is lesson 01's `widgets.interact` cell, many times, in parallel workers,
once through `papermill.execute_notebook` as shipped and once through `course_utils.instructor.execution.execute_notebook`
(sliced waits). A run that takes longer than --stall seconds stalled: its executor lost the kernel's reply and only
went on when the per-cell timeout fired. Prints a markdown table.

Run: .venv/bin/python benchmarks/widget_stalls.py [--runs 150] [--workers 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CELL_TIMEOUT = 20  # seconds; a run this long has stalled (a healthy one takes about 2 s)


def widget_notebook(path: Path) -> None:
    """Write the test notebook: imports, a figure, lesson 01's interact cell, a last cell."""
    lesson = nbformat.read(REPO / "notebooks" / "01_mnist_fnn.ipynb", as_version=4)
    interact = next(c.source for c in lesson.cells if c.cell_type == "code" and "widgets.interact(" in c.source)
    notebook = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    notebook.cells = [
        nbformat.v4.new_code_cell("import ipywidgets as widgets\nimport matplotlib.pyplot as plt\n"
                                  "from course_utils.labeling import labeling_cost"),
        nbformat.v4.new_code_cell("fig, ax = plt.subplots(figsize=(3, 2))\nax.plot([1, 2, 3]);"),
        nbformat.v4.new_code_cell(interact),
        nbformat.v4.new_code_cell("print('done')"),
    ]
    nbformat.write(notebook, path)


def one_run(job: tuple[str, str, str]) -> tuple[float, str]:
    """Execute the notebook once with the named executor; return (wall seconds, error or "")."""
    executor, source, output = job
    start = time.perf_counter()
    try:
        if executor == "stock papermill":
            import papermill
            papermill.execute_notebook(source, output, kernel_name="python3", progress_bar=False,
                                       execution_timeout=CELL_TIMEOUT)
        else:
            from course_utils.instructor.execution import execute_notebook
            execute_notebook(source, output, timeout=CELL_TIMEOUT)
        error = ""
    except Exception as exc:  # a timed-out cell fails the run; count it, go on
        error = f"{type(exc).__name__}: {str(exc)[:120]}"
    return time.perf_counter() - start, error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=150, help="runs per executor")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--stall", type=float, default=10.0, help="seconds after which a run counts as stalled")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "widget.ipynb"
        widget_notebook(source)
        for executor in ("stock papermill", "course_utils.execution"):
            jobs = [(executor, str(source), str(Path(tmp) / f"out{i}.ipynb")) for i in range(args.runs)]
            with ProcessPoolExecutor(args.workers) as pool:
                outcomes = list(pool.map(one_run, jobs))
            seconds = [s for s, _ in outcomes]
            failed = sum(bool(error) for _, error in outcomes)
            stalled = sum(s > args.stall for s in seconds)
            rows.append((executor, stalled, failed, statistics.median(seconds), max(seconds)))
    print(f"{args.runs} runs per executor, {args.workers} at a time, per-cell timeout {CELL_TIMEOUT} s; "
          f"stalled = longer than {args.stall:g} s\n")
    print("| executor | stalled runs | failed runs | median run | slowest run |")
    print("|---|---|---|---|---|")
    for executor, stalled, failed, median, slowest in rows:
        print(f"| {executor} | {stalled} of {args.runs} | {failed} | {median:.1f} s | {slowest:.1f} s |")


if __name__ == "__main__":
    main()
