"""Execute the course notebooks headlessly with papermill and collect their recorded results.

The main job: every notebook (or the named ones) once, with its defaults or its quick profile, into an output
folder (outputs/course, or outputs/course-quick for quick runs) with summary.md, results.csv, results.json and
report.html (see course_summary); when a lesson ran on a stand-in for its data set (offline fallback, synthetic), a
banner opens the closing lines and summary.md. `$COURSE_DATA_DIR` is checked before any notebook starts.
`--in-place` regenerates the committed notebooks instead (figures of licensed data withheld: licensed.py).
Parameter grids over notebooks are `python -m course_utils.instructor.grid`; both share the planning, running and
reporting modules of this package.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from ..paths import check_environment_data_root, display_path
from .cluster import add_scheduler_option, resolve_scheduler
from .licensed import LICENSED_TAG, withhold_licensed_figures_in_file
from .notebooks import NOTEBOOK_DIR, REPO, find_notebook, lesson_notebooks, quick_parameters
from .plan import Run
from .course_summary import data_banner, data_root_text, headline_text, write_course_summary
from . import stopping
from .running import CELL_TIMEOUT, INTERRUPTED, run_all
from .values import RequestError

REGENERATE_DIR = REPO / "build" / "regenerate"  # in-place runs execute here first; the source is replaced on success
DEFAULT_OUT = {"full": "outputs/course", "quick": "outputs/course-quick"}  # a quick run never overwrites a full one


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
    """The results.json rows: notebook, status, error (with its cell), seconds, worker, results."""
    return [{"notebook": r.notebook, "status": r.status, "error": f"{r.cell}: {r.error}" if r.cell else r.error,
             "seconds": r.seconds, "worker": r.worker, "results": r.results} for r in runs]


def main(argv: list[str] | None = None) -> int:
    """Command line: run the chosen notebooks once each and write the summary (or regenerate them in place)."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.course_run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="notebook names (default: all, in course order)")
    parser.add_argument("--out", help=f"folder for executed copies and the summary (default {DEFAULT_OUT['full']}, "
                                         f"with --quick {DEFAULT_OUT['quick']})")
    parser.add_argument("--quick", action="store_true", help="run each notebook's quick profile")
    parser.add_argument("--in-place", action="store_true", help="overwrite notebooks/ with full-run outputs")
    parser.add_argument("-j", "--workers", type=int, default=1, help="notebooks run in parallel (default 1)")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT,
                        help=f"seconds allowed per cell before the run is failed (default {CELL_TIMEOUT}: no lesson cell "
                             "needs more than a few minutes, so a hung kernel fails the run instead of blocking it)")
    add_scheduler_option(parser)
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    try:
        scheduler = resolve_scheduler(args.scheduler)
    except RequestError as exc:
        parser.error(str(exc))
    problem = check_environment_data_root()  # before any kernel starts, not 12 cells into the first lesson
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    notebooks = course_notebooks(args.notebooks)
    if not notebooks:
        raise SystemExit(f"No notebooks found in {display_path(NOTEBOOK_DIR)}.")
    profile = "quick" if args.quick else "full"
    out = Path(args.out or DEFAULT_OUT[profile]).resolve()
    try:
        runs = plan(notebooks, out, args.quick, args.in_place)
    except RequestError as exc:
        raise SystemExit(str(exc)) from exc
    where = f"on the Dask scheduler {scheduler}" if scheduler else f"{args.workers} worker(s)"
    print(f"{len(runs)} notebook(s), {profile} profile, {where}"
          f"{' (regenerating in place)' if args.in_place else ''} ...", flush=True)
    with stopping.stoppable() as stop:  # Ctrl-C/SIGTERM: queued runs cancelled, running ones killed, the rest stored
        try:
            runs = run_all(runs, workers=args.workers, redo=True, timeout=args.timeout, keep_records=False,
                           scheduler=scheduler)
        except RequestError as exc:  # cluster.SchedulerError: unreachable, no workers, other versions; nothing ran
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if stop.requested:
            stopping.kill_children()  # nothing of this run may outlive it
    banner = data_banner(as_rows(runs), data_root_text())
    if banner:  # first among the closing lines: a run on stand-in data must not read like the lessons' results
        rule = "=" * 100
        print("\n".join([rule, *banner, rule]), flush=True)
    for run in runs:
        if args.in_place and run.status == "ok":
            strip_volatile_metadata(Path(run.output))
            if withheld := withhold_licensed_figures_in_file(Path(run.output)):  # never commit licensed data
                print(f"  {run.notebook}: {withheld} figure(s) of real licensed data (cells tagged {LICENSED_TAG!r}) "
                      "replaced by a notice before committing", flush=True)
            shutil.copyfile(run.output, run.source)
        elif args.in_place:
            print(f"  {run.notebook}: left unchanged; the failed run is in {display_path(Path(run.output))}")
        state = "ok" if run.status == "ok" else f"FAILED at {run.cell or 'unknown cell'}: {run.error}"
        if run.status == INTERRUPTED:
            state = "not finished (interrupted)"
        print(f"  {run.notebook}: {state} in {run.seconds / 60:.1f} min on {run.worker or '-'}; "
              f"{headline_text(run.notebook, run.results) or 'no results'}",
              flush=True)
    if not args.in_place:
        out.mkdir(parents=True, exist_ok=True)
        write_course_summary(out, as_rows(runs), profile, data_root_text())
        print(f"Executed notebooks and summary.md / results.csv / results.json / report.html are in "
              f"{display_path(out)}")
    if stop.requested:
        print(f"INTERRUPTED by {stop.describe()}: finished notebooks are in the summary; the others are marked "
              "interrupted.", file=sys.stderr, flush=True)
        return stopping.EXIT_CODE
    return 0 if all(r.status == "ok" for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
