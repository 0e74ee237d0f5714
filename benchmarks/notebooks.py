#!/usr/bin/env python3
"""Benchmarks 2 and 4: wall time, peak memory and headline results of each notebook's full (or quick) profile.

Run: COURSE_DATA_DIR=/path/to/data .venv/bin/python benchmarks/notebooks.py [--quick] [--in-place] [NAME ...]
Each notebook runs in a fresh process; peak memory is the largest resident set of that process tree (the kernel).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from course_utils.instructor.course_run import strip_volatile_metadata  # noqa: E402
from course_utils.instructor.notebooks import quick_parameters  # noqa: E402
MEASURE = r"""
import json, os, resource, sys, time
from course_utils.instructor.execution import execute_notebook
from course_utils.results import read_results
src, out, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
start = time.perf_counter()
execute_notebook(src, out, params, cwd=os.path.dirname(src))
wall = time.perf_counter() - start
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": wall, "peak_mib": peak_kib / 1024, "results": read_results(out)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--in-place", action="store_true",
                        help="also replace each notebook with its executed copy when the run succeeds (full profile)")
    args = parser.parse_args()
    notebooks = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.names:
        notebooks = [p for p in notebooks if p.stem in args.names]
    env = dict(os.environ, COURSE_PROGRESS="0")
    print("| notebook | profile | wall time (min) | peak memory (MiB) | headline results |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for nb in notebooks:
            params = quick_parameters(nb) if args.quick else {}
            out = Path(tmp) / nb.name
            proc = subprocess.run([sys.executable, "-c", MEASURE, str(nb), str(out), json.dumps(params)],
                                  capture_output=True, text=True, env=env, cwd=REPO)
            if proc.returncode:
                print(f"| {nb.stem} | {'quick' if args.quick else 'full'} | FAILED | | {proc.stderr.strip().splitlines()[-1]} |")
                continue
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            if args.in_place and not args.quick:
                strip_volatile_metadata(out)
                shutil.copyfile(out, nb)
            shown = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row["results"].items()
                              if isinstance(v, (int, float)) and not isinstance(v, bool))
            print(f"| {nb.stem} | {'quick' if args.quick else 'full'} | {row['seconds'] / 60:.1f} | {row['peak_mib']:.0f} | {shown} |",
                  flush=True)


if __name__ == "__main__":
    main()
