"""Execute planned runs with papermill, in parallel worker processes or on a Dask cluster (see cluster), skipping
runs that already succeeded."""
from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Iterator

from ..results import read_results
from . import stopping
from .execution import execute_notebook
from .plan import Run

LOCAL_WORKER = "local"  # Run.worker of a run executed in this machine's process pool
INTERRUPTED = "interrupted"  # Run.status of a run that a stop (Ctrl-C, SIGTERM) cancelled or killed

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


def save_record(run: Run) -> None:
    """Write the run's run.json into its folder (what a resumed batch reads back)."""
    run.folder.mkdir(parents=True, exist_ok=True)
    (run.folder / RUN_FILE).write_text(json.dumps(asdict(run), indent=2, ensure_ascii=False, default=str) + "\n")


def execute_run(run: Run, threads: int | None = None, timeout: int | None = None, keep_record: bool = True) -> Run:
    """Execute one run with papermill (in this process), fill in status, error, cell and results, save run.json."""
    from papermill.exceptions import PapermillExecutionError

    Path(run.output).parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    run.error, run.cell = "", ""
    run.worker = run.worker or LOCAL_WORKER
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
        save_record(run)
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
            progress: bool = True, keep_records: bool = True, scheduler: str | None = None) -> list[Run]:
    """Execute the runs (skipping earlier successes unless redo) and return them all, in order.

    scheduler: None runs them here with N worker processes; an address or 'local:N' (see cluster.parse_scheduler)
    sends each run to a Dask cluster, and cluster.SchedulerError is raised before anything runs when it cannot be
    used. Either way each finished run is recorded as it arrives, so an interrupted batch resumes where it was.

    Stopped by Ctrl-C or SIGTERM (see stopping; the caller enters stopping.stoppable()), queued runs are cancelled,
    running ones killed, and every run that had not finished comes back with status INTERRUPTED."""
    from tqdm.auto import tqdm

    done: dict[int, Run] = {}
    todo: list[int] = []
    for index, run in enumerate(runs):
        previous = None if redo or not keep_records else finished_before(run)
        if previous is not None:
            done[index] = previous
        else:
            todo.append(index)
    stop = stopping.current()
    with runner(runs, todo, workers, timeout, keep_records, scheduler) as finishing:
        bar = tqdm(total=len(runs), initial=len(done), desc="batch", unit="run", disable=not progress)
        failed = 0
        try:
            for index, run in finishing:
                if stop.requested and run.status != "ok":  # it may have failed because it was killed
                    continue
                done[index] = run
                failed += run.status == "failed"
                bar.set_postfix(failed=failed)
                bar.update()
        finally:
            bar.close()
    for index in set(range(len(runs))) - set(done):  # only after a stop: cancelled or killed
        run = runs[index]
        run.status, run.cell = INTERRUPTED, ""
        run.error = f"not finished: the batch was stopped ({stop.describe()}); run the same command again to run it"
        done[index] = run
    return [done[i] for i in range(len(runs))]


@contextmanager
def runner(runs: list[Run], todo: list[int], workers: int, timeout: int | None, keep_records: bool,
           scheduler: str | None) -> Iterator[Iterator[tuple[int, Run]]]:
    """Yield an iterator of (index, finished run) over the runs to do, on the local pool or the Dask cluster."""
    if scheduler and todo:
        from .cluster import connect, run_on_cluster

        with connect(scheduler) as client:  # raises SchedulerError before any run starts
            yield recorded(run_on_cluster(client, {i: runs[i] for i in todo}, timeout), keep_records)
    else:
        yield local_pool(runs, todo, workers, timeout, keep_records)


def recorded(finishing: Iterator[tuple[int, Run]], keep_records: bool) -> Iterator[tuple[int, Run]]:
    """Save each run's run.json on this machine as it comes back from the cluster."""
    for index, run in finishing:
        if keep_records:
            save_record(run)
        yield index, run


def local_pool(runs: list[Run], todo: list[int], workers: int, timeout: int | None,
               keep_records: bool) -> Iterator[tuple[int, Run]]:
    """Execute the runs in this process (one worker) or in N spawned worker processes; yield them as they finish.

    On a stop (see stopping) no further run starts and the running ones' processes are killed; what they yield
    after it is only what had finished."""
    workers = max(1, min(workers, len(todo) or 1))
    threads = max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None
    stop = stopping.current()
    if workers == 1:
        with stop.watch(sweep=True):  # the kernel is this process's child
            for index in todo:
                if stop.requested:
                    return
                yield index, execute_run(runs[index], threads, timeout, keep_records)
        return
    import multiprocessing

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=stopping.ignore_interrupts) as pool:
        futures = {pool.submit(execute_run, runs[i], threads, timeout, keep_records): i for i in todo}
        with stop.watch(lambda: pool.shutdown(wait=False, cancel_futures=True), sweep=True):
            for future in stopping.as_finished(futures):
                index = futures[future]
                if future.cancelled():
                    continue
                try:
                    run = future.result()
                except Exception as exc:  # the worker process itself died (or was killed by a stop)
                    if stop.requested:
                        continue
                    run = runs[index]
                    run.status, run.error, run.worker = ("failed", f"worker crashed: {type(exc).__name__}: {exc}",
                                                         LOCAL_WORKER)
                yield index, run
