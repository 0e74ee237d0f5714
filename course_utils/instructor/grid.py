"""Run course notebooks over a parameter grid with papermill, in parallel, and report every run's results.

Example (two learning rates x three seeds of lesson 02, quick profile, two workers):

    python -m course_utils.instructor.grid 02_gradient_descent -p LEARNING_RATE=0.01,0.1 -p SEED=0,1,2 --quick -j 2

or with a YAML file (``python -m course_utils.instructor.grid --config grid.yaml``)::

    notebooks: [02_gradient_descent]      # or a mapping: {02_gradient_descent: {LEARNING_RATE: [0.01, 0.1]}}
    grid: {SEED: [0, 1, 2]}                # applies to every notebook above
    quick: true
    workers: 2
    timeout: 600                           # seconds per cell
    scheduler: tcp://head-node:8786        # optional: run on a Dask cluster (see course_utils.instructor.cluster)

Each run writes ``OUT/<notebook>/<parameters>/<notebook>.ipynb`` and ``run.json``; all runs are collected in
``OUT/results.csv`` and a self-contained ``OUT/report.html``. Runs that already succeeded with the same notebook
and parameters are skipped (``--redo`` runs them again); failed runs are retried. Folders a notebook saves to
(parameters NAME_DIR with a relative default, e.g. MODEL_DIR) go inside each run's folder unless ``--shared-dirs``.
Command-line options override the YAML file. ``--scheduler tcp://HOST:8786`` (or ``scheduler:``, or
$COURSE_SCHEDULER) sends each run to a Dask cluster and ``--scheduler local:N`` starts one here; the report then
names the worker that ran each run. Ctrl-C or SIGTERM stops the batch cleanly (see stopping): queued runs never start,
running ones are killed, the finished ones are written to the CSV and report (the others marked interrupted), exit
code 130.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..paths import display_path
from .cluster import add_scheduler_option, resolve_scheduler
from .notebooks import NOTEBOOK_DIR
from .plan import build_requests, plan_runs
from .report import params_text, write_csv, write_html
from . import stopping
from .running import CELL_TIMEOUT, INTERRUPTED, run_all
from .values import RequestError, parse_assignment

CONFIG_TYPES: dict[str, tuple[type, ...]] = {"notebooks": (list, dict), "grid": (dict,), "quick": (bool,),
                                             "workers": (int,), "out": (str,), "redo": (bool,), "timeout": (int,),
                                             "scheduler": (str,)}
TEXT_KEYS = {"out": "a folder path", "scheduler": "an address like tcp://HOST:8786, local:N or none"}
DEFAULT_OUT = "outputs/batch"


def read_config(path: Path) -> dict[str, Any]:
    """Read a YAML batch file with keys notebooks (list or {name: grid}), grid, quick, workers, out, redo, timeout,
    scheduler."""
    import yaml

    if not path.is_file():
        raise RequestError(f"No batch file at {display_path(path)}.")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RequestError(f"{display_path(path)} is not valid YAML: {exc}") from exc
    if not isinstance(config, dict):
        raise RequestError(f"{display_path(path)} must be a mapping of keys {sorted(CONFIG_TYPES)}, "
                           f"got {type(config).__name__}.")
    extra = sorted(map(str, set(config) - set(CONFIG_TYPES)))
    if extra:
        raise RequestError(f"{display_path(path)}: unexpected keys {extra}; allowed: {sorted(CONFIG_TYPES)}.")
    for key, value in config.items():
        wanted = CONFIG_TYPES[key]
        if value is not None and (not isinstance(value, wanted) or (bool not in wanted and isinstance(value, bool))):
            names = " or ".join({list: "a list", dict: "a mapping", bool: "true or false", int: "a whole number",
                                 str: TEXT_KEYS.get(key, "text")}[t] for t in wanted)
            raise RequestError(f"{display_path(path)}: {key} must be {names}, got {value!r}.")
    return config


def chosen(*values: Any) -> Any:
    """The first value that is not None (command line, then YAML file, then default)."""
    return next(v for v in values if v is not None)


def at_least_one(name: str, value: int) -> int:
    """Return value, refusing a count below 1 with the option's name."""
    if value < 1:
        raise RequestError(f"{name} (option --{name} or YAML key {name}) must be at least 1, got {value}.")
    return value


def main(argv: list[str] | None = None) -> int:
    """Command line: plan the grid (refusing bad input before anything runs), run it, write the CSV and report."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.grid", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="notebook names, number prefixes (02) or .ipynb paths")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=v1,v2",
                        help="a grid axis; repeat for more axes (the grid is their cartesian product)")
    parser.add_argument("-c", "--config", type=Path, help="YAML batch file (command-line options override it)")
    parser.add_argument("--quick", action="store_true", default=None, help="start from each notebook's quick profile")
    parser.add_argument("-j", "--workers", type=int, default=None, help="parallel runs (default 1)")
    parser.add_argument("--out", type=Path, default=None, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--redo", action="store_true", default=None, help="run again even if a run already succeeded")
    parser.add_argument("--timeout", type=int, default=None,
                        help=f"seconds allowed per cell before the run is failed (default {CELL_TIMEOUT}: no lesson cell "
                             "needs more than a few minutes, so a hung kernel fails the run instead of blocking it)")
    parser.add_argument("--shared-dirs", action="store_true",
                        help="keep NAME_DIR output folders where the notebook puts them (default: one per run)")
    add_scheduler_option(parser)
    parser.add_argument("--notebook-dir", type=Path, default=NOTEBOOK_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        config = read_config(args.config) if args.config else {}
        grid = dict(config.get("grid") or {})
        for text in args.param:
            name, values = parse_assignment(text)
            grid[name] = values
        notebooks = args.notebooks or config.get("notebooks") or []
        quick = chosen(args.quick, config.get("quick"), False)
        workers = at_least_one("workers", chosen(args.workers, config.get("workers"), 1))
        timeout = at_least_one("timeout", chosen(args.timeout, config.get("timeout"), CELL_TIMEOUT))
        out = Path(chosen(args.out, config.get("out"), DEFAULT_OUT)).resolve()
        redo = chosen(args.redo, config.get("redo"), False)
        scheduler = resolve_scheduler(args.scheduler, config.get("scheduler"))
        runs = plan_runs(build_requests(notebooks, grid), out, quick, args.notebook_dir, args.shared_dirs)
    except RequestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    where = f"on the Dask scheduler {scheduler}" if scheduler else f"{workers} worker(s)"
    print(f"{len(runs)} runs of {len({r.notebook for r in runs})} notebook(s), {'quick' if quick else 'full'} "
          f"profile, {where}, {timeout} s per cell -> {display_path(out)}", flush=True)
    with stopping.stoppable() as stop:  # Ctrl-C/SIGTERM: queued runs cancelled, running ones killed, the rest stored
        try:
            runs = run_all(runs, workers=workers, redo=redo, timeout=timeout, progress=not args.no_progress,
                           scheduler=scheduler)
        except RequestError as exc:  # cluster.SchedulerError: unreachable, no workers, other versions; nothing ran
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if stop.requested:
            stopping.kill_children()  # nothing of this batch may outlive it
    out.mkdir(parents=True, exist_ok=True)
    write_csv(runs, out / "results.csv")
    title = "Batch report (interrupted)" if stop.requested else "Batch report"
    write_html(runs, out / "report.html", title=title)
    failed = [r for r in runs if r.status == "failed"]
    for r in failed:
        print(f"FAILED {r.notebook} [{params_text(r.varied)}] at {r.cell or 'unknown cell'}: {r.error}", flush=True)
    cut = [r for r in runs if r.status == INTERRUPTED]
    print(f"{len(runs) - len(failed) - len(cut)} ok, {len(failed)} failed"
          f"{f', {len(cut)} not finished (interrupted)' if cut else ''}. Table: {display_path(out / 'results.csv')}; "
          f"report: {display_path(out / 'report.html')}", flush=True)
    if stop.requested:
        print(f"INTERRUPTED by {stop.describe()}: finished runs are stored; run the same command again to run the "
              f"{len(cut)} others.", file=sys.stderr, flush=True)
        return stopping.EXIT_CODE
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
