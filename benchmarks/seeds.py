#!/usr/bin/env python3
"""Seed audit (RESULTS §12): run lessons over many seeds with the kit's grid runner, then check each run's claims.

Run: COURSE_DATA_DIR=/path/to/data .venv/bin/python benchmarks/seeds.py 04 [07 ...] [--seeds 10] [--quick]
     [--scheduler tcp://HOST:8786 | local:N] [-j 2] [--out outputs/seeds] [--redo]

For each lesson, `python -m course_utils.instructor.grid LESSON -p SEED=0,...,N-1 --out OUT` runs its full profile
(or --quick) once per seed, locally or on a Dask cluster (--scheduler), writing OUT/<notebook>/SEED-<s>/<notebook>.ipynb;
finished runs are reused unless --redo. Then `tests/test_claims_NN.py` runs once per successful run with
COURSE_CLAIMS_RUN pointing at it. The markdown table (printed, and saved as OUT/seeds_NN.md) gives, for every claim
test, in how many seeds it holds and which seeds break it, plus the batch's wall time and the runs' own times.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from course_utils.instructor.cluster import add_scheduler_option  # noqa: E402
from course_utils.instructor.notebooks import NOTEBOOK_DIR, find_notebook  # noqa: E402
from course_utils.instructor.plan import slugify  # noqa: E402
from course_utils.instructor.values import RequestError  # noqa: E402

CLAIMS_VARIABLE = "COURSE_CLAIMS_RUN"  # read by tests/committed.py


def run_grid(stem: str, seeds: list[int], out: Path, args: argparse.Namespace) -> float:
    """Run one lesson over the seeds with the grid runner in a subprocess; return its wall time in seconds."""
    command = [sys.executable, "-m", "course_utils.instructor.grid", stem, "-p", "SEED=" + ",".join(map(str, seeds)),
               "--out", str(out), "-j", str(args.workers), "--no-progress", "--notebook-dir", str(args.notebook_dir)]
    command += ["--quick"] * args.quick + ["--redo"] * args.redo
    if args.scheduler:
        command += ["--scheduler", args.scheduler]
    start = time.perf_counter()
    code = subprocess.run(command, cwd=REPO).returncode
    if code not in (0, 1):  # 1: some runs failed (reported in the table); anything else: nothing usable ran
        raise SystemExit(f"the grid runner stopped with exit code {code} for {stem}; see its message above.")
    return time.perf_counter() - start


def finished_runs(stem: str, seeds: list[int], out: Path, quick: bool) -> dict[int, dict]:
    """The run.json of every seed's run of the lesson (status, seconds, output path), by seed."""
    runs = {}
    for seed in seeds:
        record = out / stem / slugify({"SEED": seed}, "quick" if quick else "full") / "run.json"
        if record.is_file():
            runs[seed] = json.loads(record.read_text(encoding="utf-8"))
    return runs


def claim_outcomes(claims_file: Path, executed: Path) -> dict[str, str]:
    """Run the lesson's claim tests against one executed run; return {test name: passed | failed | error | skipped}."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "claims.xml"
        env = {**os.environ, CLAIMS_VARIABLE: str(executed)}
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(claims_file),
                        f"--junitxml={report}"], cwd=REPO, env=env, capture_output=True, text=True)
        if not report.is_file():
            raise SystemExit(f"pytest wrote no report for {claims_file.name} against {executed}; run it by hand: "
                             f"{CLAIMS_VARIABLE}={executed} {sys.executable} -m pytest {claims_file}")
        outcomes = {}
        for case in ET.parse(report).getroot().iter("testcase"):
            kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
            outcomes[case.get("name", "?")] = {"failure": "failed"}.get(kinds[0], kinds[0]) if kinds else "passed"
        return outcomes


def audit_table(stem: str, seeds: list[int], runs: dict[int, dict], outcomes: dict[int, dict[str, str]],
                wall: float, quick: bool, reused: list[int]) -> str:
    """The markdown table of one lesson: every claim test with the seeds it holds in, then the times."""
    ok = [s for s in seeds if runs.get(s, {}).get("status") == "ok" and s in outcomes]
    broken = [s for s in seeds if s not in ok]
    names = sorted({name for per_seed in outcomes.values() for name in per_seed},
                   key=lambda n: next(list(o).index(n) for o in outcomes.values() if n in o))
    lines = [f"**{stem}** ({'quick' if quick else 'full'} profile, seeds {seeds[0]}–{seeds[-1]})", "",
             "| claim test | holds in | seeds where it fails |", "|---|---|---|"]
    for name in names:
        held = [s for s in ok if outcomes[s].get(name) == "passed"]
        failing = [f"{s}" + ("" if outcomes[s].get(name) == "failed" else f" ({outcomes[s].get(name, 'missing')})")
                   for s in ok if s not in held]
        lines.append(f"| `{name}` | {len(held)}/{len(seeds)} | {', '.join(failing) or '—'} |")
    seconds = [runs[s]["seconds"] for s in ok]
    lines.append("")
    if broken:
        lines.append(f"Runs that failed (every claim counted as not holding): seeds {', '.join(map(str, broken))}.")
    if reused:
        lines.append(f"Runs reused from an earlier batch (not in the wall time): seeds {', '.join(map(str, reused))}.")
    if seconds:
        lines.append(f"Batch wall time {wall / 60:.1f} min for {len(seeds) - len(reused)} run(s); one run took "
                     f"{statistics.median(seconds):.0f} s median ({min(seconds):.0f}–{max(seconds):.0f} s, "
                     f"as recorded by the grid runner).")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Command line: run each lesson's grid, check every run's claims, print and save the tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lessons", nargs="+", help="lesson names or number prefixes (04)")
    parser.add_argument("--seeds", type=int, default=10, help="how many seeds: SEED = first, first+1, ... (default 10)")
    parser.add_argument("--first", type=int, default=0, help="the first seed (default 0)")
    parser.add_argument("--quick", action="store_true", help="each lesson's quick profile (to try the script out)")
    parser.add_argument("-j", "--workers", type=int, default=1, help="parallel runs on this machine (default 1)")
    parser.add_argument("--out", type=Path, default=REPO / "outputs" / "seeds", help="grid output folder")
    parser.add_argument("--redo", action="store_true", help="run again even where a seed's run already succeeded")
    parser.add_argument("--notebook-dir", type=Path, default=NOTEBOOK_DIR,
                        help="where the lessons are (default notebooks/; e.g. a folder holding an older version)")
    add_scheduler_option(parser)
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}.")
    seeds = list(range(args.first, args.first + args.seeds))
    out, args.notebook_dir = args.out.resolve(), args.notebook_dir.resolve()
    try:
        notebooks = [find_notebook(name, args.notebook_dir) for name in args.lessons]
    except RequestError as exc:
        parser.error(str(exc))
    for notebook in notebooks:
        claims_file = REPO / "tests" / f"test_claims_{notebook.stem[:2]}.py"
        if not claims_file.is_file():
            parser.error(f"{notebook.stem} has no claim tests ({claims_file.relative_to(REPO)} is missing).")
    for notebook in notebooks:
        stem = notebook.stem
        before = {} if args.redo else finished_runs(stem, seeds, out, args.quick)
        wall = run_grid(stem, seeds, out, args)
        runs = finished_runs(stem, seeds, out, args.quick)
        outcomes = {seed: claim_outcomes(REPO / "tests" / f"test_claims_{stem[:2]}.py", Path(run["output"]))
                    for seed, run in runs.items() if run.get("status") == "ok"}
        reused = [seed for seed, run in before.items() if run.get("status") == "ok" and run == runs.get(seed)]
        table = audit_table(stem, seeds, runs, outcomes, wall, args.quick, reused)
        (out / f"seeds_{stem[:2]}{'_quick' if args.quick else ''}.md").write_text(table, encoding="utf-8")
        print(table, flush=True)


if __name__ == "__main__":
    main()
