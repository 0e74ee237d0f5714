#!/usr/bin/env python3
"""Benchmark 8: the same quick runs on the local process pool (2 workers) and on a 2-worker Dask LocalCluster.

Run: .venv/bin/python benchmarks/dask_overhead.py [--seeds 6] [--repeats 1]

The runs are the small test fixtures (tests/fixtures/notebooks/90_fixture_descent and 91_fixture_mean, quick
profile, one run per seed each), so the figures are the runner's own cost, not the lessons'. Per mode it reports the
total wall time, the mean time a run spends inside papermill (`Run.seconds`), and the per-run overhead: wall time x
workers / runs - time inside papermill, i.e. worker-seconds a run costs outside its notebook (process start, task
transfer, writing files). The cluster's start (2 worker processes, version checks) is shown on its own, because a
real cluster is started once for many batches. Both modes must record the same results.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from course_utils.instructor import cluster, plan, running  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures" / "notebooks"
WORKERS = 2


def planned(out: Path, seeds: int) -> list[plan.Run]:
    """One quick run per seed of each fixture notebook."""
    grid = {"SEED": list(range(seeds))}
    return plan.plan_runs({"90_fixture_descent": grid, "91_fixture_mean": grid}, out, True, FIXTURES)


def measured(runs: list[plan.Run], wall: float) -> dict:
    """Wall time, mean time inside papermill and per-run overhead of a finished set of runs."""
    inside = statistics.mean(r.seconds for r in runs)
    return {"wall": wall, "inside": inside, "overhead": wall * WORKERS / len(runs) - inside,
            "failed": sum(r.status != "ok" for r in runs), "workers": sorted({r.worker for r in runs})}


def on_pool(out: Path, seeds: int) -> tuple[dict, list[plan.Run]]:
    """The runs on this machine's process pool (spawned worker processes, as `grid -j 2`)."""
    runs = planned(out, seeds)
    start = time.perf_counter()
    runs = running.run_all(runs, workers=WORKERS, redo=True, progress=False)
    return measured(runs, time.perf_counter() - start), runs


def on_dask(out: Path, seeds: int) -> tuple[dict, list[plan.Run]]:
    """The runs on a fresh 2-worker LocalCluster (as `grid --scheduler local:2`), its start timed apart."""
    runs = planned(out, seeds)
    start = time.perf_counter()
    with cluster.connect(f"local:{WORKERS}") as client:
        started = time.perf_counter()
        finished = dict(running.recorded(cluster.run_on_cluster(client, dict(enumerate(runs)), None), True))
        wall = time.perf_counter() - started
    result = measured([finished[i] for i in range(len(runs))], wall)
    result["start"] = started - start
    return result, [finished[i] for i in range(len(runs))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=6, help="runs per fixture notebook (default 6: 12 runs)")
    parser.add_argument("--repeats", type=int, default=1, help="alternate the two modes this many times")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="dask-overhead-") as tmp:
        for repeat in range(args.repeats):
            pool, pool_runs = on_pool(Path(tmp) / f"pool{repeat}", args.seeds)
            dask, dask_runs = on_dask(Path(tmp) / f"dask{repeat}", args.seeds)
            same = [r.results for r in pool_runs] == [r.results for r in dask_runs]
            rows.append((pool, dask, same))
    n = 2 * args.seeds
    print(f"{n} quick runs of the fixture notebooks, {WORKERS} workers each way\n")
    print("| executor | total wall | cluster start | mean time in papermill | per-run overhead | failed | same results |")
    print("|---|---|---|---|---|---|---|")
    for pool, dask, same in rows:
        print(f"| local process pool (-j {WORKERS}) | {pool['wall']:.1f} s | - | {pool['inside']:.2f} s | "
              f"{pool['overhead']:.2f} s | {pool['failed']} | - |")
        print(f"| Dask LocalCluster (local:{WORKERS}) | {dask['wall'] + dask['start']:.1f} s "
              f"({dask['wall']:.1f} s after start) | {dask['start']:.1f} s | {dask['inside']:.2f} s | "
              f"{dask['overhead']:.2f} s | {dask['failed']} | {'yes' if same else 'NO'} |")
    extra = statistics.mean(d["overhead"] - p["overhead"] for p, d, _ in rows)
    print(f"\nGoing through Dask costs {extra:+.2f} s per run against the local pool (cluster start apart).")


if __name__ == "__main__":
    main()
