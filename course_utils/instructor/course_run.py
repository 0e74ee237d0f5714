"""Execute the course notebooks headlessly with papermill and collect their recorded results.

The main job: every notebook (or the named ones) once, with its defaults or its quick profile, into an output
folder with summary.md, results.csv, results.json and report.html. `--in-place` regenerates the committed
notebooks instead. Parameter grids over notebooks are `python -m course_utils.instructor.grid`; both share the
planning, running and reporting modules of this package.
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from pathlib import Path

from ..paths import display_path
from .notebooks import NOTEBOOK_DIR, REPO, find_notebook, lesson_notebooks, quick_parameters
from .plan import Run
from .report import shown_value, write_html
from .running import CELL_TIMEOUT, run_all
from .values import RequestError

REGENERATE_DIR = REPO / "build" / "regenerate"  # in-place runs execute here first; the source is replaced on success


def course_notebooks(names: list[str] | None = None) -> list[Path]:
    """Return the lesson notebooks in course order, or the named ones (name, name.ipynb or number prefix)."""
    if not names:
        return lesson_notebooks(NOTEBOOK_DIR)
    try:
        return [find_notebook(name, NOTEBOOK_DIR) for name in names]
    except RequestError as exc:
        raise SystemExit(str(exc)) from exc


def strip_volatile_metadata(path: Path) -> None:
    """Drop papermill's per-cell timestamps so committed notebooks diff cleanly."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["metadata"].pop("papermill", None)
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("papermill", None)
        cell.get("metadata", {}).pop("execution", None)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def plan(notebooks: list[Path], out: Path, quick: bool, in_place: bool) -> list[Run]:
    """One run per notebook: defaults (or the quick profile) into out/<name>.ipynb, or onto itself in place."""
    runs = []
    for notebook in notebooks:
        parameters = quick_parameters(notebook) if quick else {}
        target = (REGENERATE_DIR if in_place else out) / notebook.name
        runs.append(Run(notebook.stem, str(notebook), notebook.stem, {}, parameters, str(target),
                        "quick" if quick else "full"))
    return runs


def as_rows(runs: list[Run]) -> list[dict]:
    """The results.json rows: notebook, status, error (with its cell), seconds, results."""
    return [{"notebook": r.notebook, "status": r.status, "error": f"{r.cell}: {r.error}" if r.cell else r.error,
             "seconds": r.seconds, "results": r.results} for r in runs]


def write_summary(out: Path, rows: list[dict]) -> None:
    """Write results.json, results.csv (one row per recorded result) and summary.md."""
    (out / "results.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    with open(out / "results.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["notebook", "status", "seconds", "result", "value"])
        for row in rows:
            for name, value in (row["results"] or {"": ""}).items():
                writer.writerow([row["notebook"], row["status"], f"{row['seconds']:.1f}", name, json.dumps(value)])
    lines = ["# Course run", "", "| notebook | status | minutes | results |", "|---|---|---|---|"]
    for row in rows:
        shown = ", ".join(f"{k} = {shown_value(v)}" for k, v in row["results"].items())
        status = row["status"] if row["status"] == "ok" else f"FAILED ({row['error']})"
        lines.append(f"| {row['notebook']} | {status.replace('|', '/')} | {row['seconds'] / 60:.1f} | {shown} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Command line: run the chosen notebooks once each and write the summary (or regenerate them in place)."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.course_run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="notebook names (default: all, in course order)")
    parser.add_argument("--out", default="outputs/course", help="folder for executed copies and the summary")
    parser.add_argument("--quick", action="store_true", help="run each notebook's quick profile")
    parser.add_argument("--in-place", action="store_true", help="overwrite notebooks/ with full-run outputs")
    parser.add_argument("-j", "--workers", type=int, default=1, help="notebooks run in parallel (default 1)")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT,
                        help=f"seconds allowed per cell before the run is failed (default {CELL_TIMEOUT}: no lesson cell "
                             "needs more than a few minutes, so a hung kernel fails the run instead of blocking it)")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    notebooks = course_notebooks(args.notebooks)
    if not notebooks:
        raise SystemExit(f"No notebooks found in {display_path(NOTEBOOK_DIR)}.")
    out = Path(args.out).resolve()
    try:
        runs = plan(notebooks, out, args.quick, args.in_place)
    except RequestError as exc:
        raise SystemExit(str(exc)) from exc
    profile = "quick" if args.quick else "full"
    print(f"{len(runs)} notebook(s), {profile} profile, {args.workers} worker(s)"
          f"{' (regenerating in place)' if args.in_place else ''} ...", flush=True)
    runs = run_all(runs, workers=args.workers, redo=True, timeout=args.timeout, keep_records=False)
    for run in runs:
        if args.in_place and run.status == "ok":
            strip_volatile_metadata(Path(run.output))
            shutil.copyfile(run.output, run.source)
        elif args.in_place:
            print(f"  {run.notebook}: left unchanged; the failed run is in {display_path(Path(run.output))}")
        state = "ok" if run.status == "ok" else f"FAILED at {run.cell or 'unknown cell'}: {run.error}"
        print(f"  {run.notebook}: {state} in {run.seconds / 60:.1f} min; results: {run.results}", flush=True)
    if not args.in_place:
        out.mkdir(parents=True, exist_ok=True)
        write_summary(out, as_rows(runs))
        write_html(runs, out / "report.html", title=f"Course run ({profile} profile)")
        print(f"Executed notebooks and summary.md / results.csv / results.json / report.html are in "
              f"{display_path(out)}")
    return 0 if all(r.status == "ok" for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
