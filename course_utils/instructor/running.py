"""Execute planned runs with papermill, in parallel worker processes, skipping runs that already succeeded."""
from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

from ..results import read_results
from .execution import execute_notebook
from .plan import Run

CELL_TIMEOUT = 1800  # seconds per cell; a hung kernel fails its run instead of blocking the batch
RUN_FILE = "run.json"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def kernel_environment(threads: int | None) -> dict[str, str]:
    """Environment for a run's kernel: no progress widgets (clean saved outputs) and, when given, a thread cap
    that a caller's own OMP/MKL settings override."""
    env = {"COURSE_PROGRESS": "0"}  # see train.PROGRESS_ENV_VAR
    if threads:
        env.update({var: str(threads) for var in THREAD_VARIABLES if var not in os.environ})
    return env


def execute_run(run: Run, threads: int | None = None, timeout: int | None = None, keep_record: bool = True) -> Run:
    """Execute one run with papermill (in this process), fill in status, error, cell and results, save run.json."""
    from papermill.exceptions import PapermillExecutionError

    Path(run.output).parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    run.error, run.cell = "", ""
    try:
        execute_notebook(run.source, run.output, run.parameters, cwd=Path(run.source).parent, timeout=timeout,
                         env=kernel_environment(threads))
        run.status = "ok"
    except PapermillExecutionError as exc:
        run.status = "failed"
        first_line = next((ln for ln in exc.source.splitlines() if ln.strip()), "")
        run.cell = f"cell {exc.cell_index} (In [{exc.exec_count}]): {first_line[:80]}"
        run.error = f"{exc.ename}: {exc.evalue}"
    except Exception as exc:  # kernel death, timeout, unreadable notebook: the run fails, the batch goes on
        run.status = "failed"
        run.error = f"{type(exc).__name__}: {exc}"
    run.seconds = time.perf_counter() - start
    try:
        run.results = read_results(run.output) if Path(run.output).is_file() else {}
    except (OSError, ValueError):
        run.results = {}
    if keep_record:
        (run.folder / RUN_FILE).write_text(json.dumps(asdict(run), indent=2, ensure_ascii=False, default=str) + "\n")
    return run


def finished_before(run: Run) -> Run | None:
    """Return the stored run when the same notebook (unchanged) and parameters already succeeded in this folder."""
    stored = run.folder / RUN_FILE
    if not stored.is_file() or not Path(run.output).is_file():
        return None
    try:
        previous = json.loads(stored.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    same = previous.get("parameters") == json.loads(json.dumps(run.parameters, default=str))
    if previous.get("status") != "ok" or not same or previous.get("source_sha") != run.source_sha:
        return None
    kept = Run(**{k: v for k, v in previous.items() if k in Run.__dataclass_fields__})
    kept.status = "skipped"
    return kept


def run_all(runs: list[Run], workers: int = 1, redo: bool = False, timeout: int | None = None,
            progress: bool = True, keep_records: bool = True) -> list[Run]:
    """Execute the runs (skipping earlier successes unless redo) with N worker processes; return them all."""
    from tqdm.auto import tqdm

    done: dict[int, Run] = {}
    todo: list[int] = []
    for index, run in enumerate(runs):
        previous = None if redo or not keep_records else finished_before(run)
        if previous is not None:
            done[index] = previous
        else:
            todo.append(index)
    workers = max(1, min(workers, len(todo) or 1))
    threads = max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None
    bar = tqdm(total=len(runs), initial=len(done), desc="batch", unit="run", disable=not progress)
    failed = 0
    try:
        if workers == 1:
            for index in todo:
                done[index] = execute_run(runs[index], threads, timeout, keep_records)
                failed += done[index].status == "failed"
                bar.set_postfix(failed=failed)
                bar.update()
        else:
            import multiprocessing

            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                futures = {pool.submit(execute_run, runs[i], threads, timeout, keep_records): i for i in todo}
                for future in as_completed(futures):
                    index = futures[future]
                    try:
                        done[index] = future.result()
                    except Exception as exc:  # the worker process itself died
                        run = runs[index]
                        run.status, run.error = "failed", f"worker crashed: {type(exc).__name__}: {exc}"
                        done[index] = run
                    failed += done[index].status == "failed"
                    bar.set_postfix(failed=failed)
                    bar.update()
    finally:
        bar.close()
    return [done[i] for i in range(len(runs))]
