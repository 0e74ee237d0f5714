"""course_utils.instructor.cluster: batch grids and course runs on a real Dask LocalCluster (2 worker processes on
127.0.0.1): the same results as the local pool, a worker killed in the middle of a run, an unreachable scheduler,
workers with other versions, and the report naming the workers."""
from __future__ import annotations

import csv
import json
import os
import signal
import socket
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import nbformat
import pytest

from course_utils.instructor import cluster, course_run, grid
from course_utils.instructor.plan import Run
from course_utils.instructor.values import RequestError

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
SLOW = "95_slow"


def rows(out: Path) -> list[dict]:
    with open(out / "results.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def slow_notebook(folder: Path) -> None:
    """A notebook that leaves a marker named <worker pid>-<kernel pid> when it starts and when it ends a long sleep."""
    nb = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell('MARKERS = ""  # folder for the markers\nSLEEP = 1.0  # seconds\nSEED = 0')
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters, nbformat.v4.new_code_cell(
        "import os, time\nfrom pathlib import Path\nfrom course_utils.results import record\n"
        "marker = Path(MARKERS, f'{os.getppid()}-{os.getpid()}')\nmarker.write_text('started')\n"
        "time.sleep(SLEEP)\nmarker.write_text('finished')\nrecord('slept', SLEEP)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{SLOW}.ipynb")


@pytest.fixture(scope="module")
def dask_cluster():
    """A LocalCluster of 2 worker processes (1 thread each) on loopback; a run may survive one dead worker."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        local = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                             dashboard_address=None)
    client = Client(local)
    try:
        yield local, client
    finally:
        client.close()
        local.close()


def kill_when_started(markers: Path, client, killed: dict) -> threading.Thread:
    """Terminate the worker process whose kernel left the first marker, while the run sleeps (mid-run)."""
    pids = {pid: address for address, pid in client.run(os.getpid).items()}

    def watch() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            started = sorted(markers.iterdir())
            if started:
                worker_pid = int(started[0].name.split("-")[0])
                killed.update(pid=worker_pid, address=pids.get(worker_pid))
                os.kill(worker_pid, signal.SIGTERM)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.timeout(300)
def test_a_grid_on_a_local_cluster_records_the_same_results_as_the_local_pool(tmp_path):
    config = tmp_path / "grid.yaml"
    config.write_text("notebooks:\n  90_fixture_descent: {LEARNING_RATE: [0.5, 3.0]}\n  91_fixture_mean: {}\n"
                      "grid: {SEED: [0, 1]}\nquick: true\n")
    common = ["--notebook-dir", str(FIXTURES), "--config", str(config), "--no-progress"]
    assert grid.main(common + ["--out", str(tmp_path / "pool"), "-j", "2"]) == 1  # LEARNING_RATE=3.0 fails
    assert grid.main(common + ["--out", str(tmp_path / "dask"), "--scheduler", "local:2"]) == 1
    pool, dask = rows(tmp_path / "pool"), rows(tmp_path / "dask")
    assert len(pool) == len(dask) == 6
    assert all(r["worker"] == "local" for r in pool)
    assert all(r["worker"].startswith("tcp://127.0.0.1:") for r in dask), [r["worker"] for r in dask]
    ignored = {"seconds", "worker"}
    assert [{k: v for k, v in r.items() if k not in ignored} for r in dask] == \
           [{k: v for k, v in r.items() if k not in ignored} for r in pool]
    assert sum(r["status"] == "failed" for r in dask) == 2 and all(r["result.final_loss"] for r in dask
                                                                    if r["notebook"] == "90_fixture_descent"
                                                                    and r["status"] == "ok")
    # the files the run wrote on its worker are here, and the executed notebook shows this machine's paths
    folder = tmp_path / "dask" / "90_fixture_descent" / "LEARNING_RATE-0.5__SEED-1__quick"
    saved = float((folder / "artifacts" / "descent" / "weight.txt").read_text())
    assert saved == float(next(r for r in dask if r["run"] == folder.name)["result.weight"])
    executed = nbformat.read(folder / "90_fixture_descent.ipynb", as_version=4)
    assert executed.metadata.papermill.parameters["SAVE_DIR"] == str(folder / "artifacts" / "descent")
    assert "course-kit-run-" not in (folder / "90_fixture_descent.ipynb").read_text()
    assert json.loads((folder / "run.json").read_text())["worker"].startswith("tcp://127.0.0.1:")
    # the report names the worker of every run
    report = (tmp_path / "dask" / "report.html").read_text(encoding="utf-8")
    assert "<th>worker</th>" in report
    for worker in {r["worker"] for r in dask}:
        assert report.count(worker) >= 2  # the list of workers and each of its runs


@pytest.mark.timeout(300)
def test_a_worker_killed_mid_run_is_survived_and_finished_runs_are_kept(tmp_path, dask_cluster):
    _, client = dask_cluster
    notebooks, markers = tmp_path / "nbs", tmp_path / "markers"
    slow_notebook(notebooks)
    (notebooks / "91_fixture_mean.ipynb").write_bytes((FIXTURES / "91_fixture_mean.ipynb").read_bytes())
    markers.mkdir()
    out = tmp_path / "out"
    address = client.scheduler.address
    config = tmp_path / "grid.yaml"
    config.write_text(f"notebooks:\n  {SLOW}: {{MARKERS: ['{markers}'], SLEEP: [6.0]}}\n"
                      "  91_fixture_mean: {SEED: [0, 1]}\n")
    args = ["--notebook-dir", str(notebooks), "--config", str(config), "--out", str(out), "--no-progress",
            "--scheduler", address]
    killed: dict = {}
    watcher = kill_when_started(markers, client, killed)
    assert grid.main(args) == 0
    watcher.join(5)
    assert killed.get("address"), "the run's worker was killed"
    table = {r["notebook"] + r["run"]: r for r in rows(out)}
    slow = next(r for r in table.values() if r["notebook"] == SLOW)
    assert slow["status"] == "ok" and float(slow["result.slept"]) == 6.0
    assert slow["worker"] != killed["address"], "the run finished on another worker"
    states = {m.name: m.read_text() for m in markers.iterdir()}
    assert len(states) == 2, states  # started on the killed worker, then again on another one
    assert states[next(n for n in states if n.startswith(f"{killed['pid']}-"))] == "started", \
        "the first attempt was killed in the middle of its sleep"
    assert sorted(states.values()) == ["finished", "started"]
    assert all(r["status"] == "ok" for r in table.values())
    # resuming the batch finds every run finished: nothing is run again
    assert grid.main(args) == 0
    assert [r["status"] for r in rows(out)] == ["skipped"] * 3
    assert len(list(markers.iterdir())) == 2


@pytest.mark.timeout(300)
def test_a_run_whose_every_worker_dies_fails_with_the_reason_and_others_are_kept(tmp_path, dask_cluster):
    local, client = dask_cluster
    notebooks, markers = tmp_path / "nbs", tmp_path / "markers"
    slow_notebook(notebooks)
    (notebooks / "91_fixture_mean.ipynb").write_bytes((FIXTURES / "91_fixture_mean.ipynb").read_bytes())
    markers.mkdir()
    out = tmp_path / "out"
    config = tmp_path / "grid.yaml"
    config.write_text(f"notebooks:\n  {SLOW}: {{MARKERS: ['{markers}'], SLEEP: [5.0]}}\n  91_fixture_mean: {{}}\n"
                      f"scheduler: {client.scheduler.address}\n")
    args = ["--notebook-dir", str(notebooks), "--config", str(config), "--out", str(out), "--no-progress"]
    local.scheduler.allowed_failures = 0  # no second try: the dead worker is the run's end
    try:
        killed: dict = {}
        watcher = kill_when_started(markers, client, killed)
        assert grid.main(args) == 1
        watcher.join(5)
    finally:
        local.scheduler.allowed_failures = 1
    table = {r["notebook"]: r for r in rows(out)}
    assert table[SLOW]["status"] == "failed"
    assert "every worker that ran it died" in table[SLOW]["error"] and killed["address"] in table[SLOW]["error"]
    assert "every worker that ran it died" in (out / "report.html").read_text(encoding="utf-8")
    assert table["91_fixture_mean"]["status"] == "ok"
    # the finished run is kept; the failed one runs again on resume
    client.wait_for_workers(2, timeout=60)
    assert grid.main(args) == 0
    table = {r["notebook"]: r for r in rows(out)}
    assert table["91_fixture_mean"]["status"] == "skipped" and table[SLOW]["status"] == "ok"


def break_runs_of(notebook: str, log: str, everywhere: bool) -> None:
    """On a worker: a run of `notebook` raises OSError (its scratch disk is full) before it starts, on the first worker
    that gets one (claimed in log/broken) or, with everywhere, on every worker. Each try leaves a file
    try-<time>-<worker pid>-<failed|ran> in log."""
    import errno

    import course_utils.instructor.running as on_worker

    real = getattr(on_worker, "real_execute_run", on_worker.execute_run)

    def execute_run(run, *args, **kwargs):
        if run.notebook != notebook:
            return real(run, *args, **kwargs)
        try:
            claim = os.open(Path(log, "broken"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.write(claim, str(os.getpid()).encode())
            os.close(claim)
        except FileExistsError:
            pass
        broken = everywhere or Path(log, "broken").read_text() == str(os.getpid())
        Path(log, f"try-{time.time_ns()}-{os.getpid()}-{'failed' if broken else 'ran'}").touch()
        if broken:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(run, *args, **kwargs)

    on_worker.real_execute_run = real
    on_worker.execute_run = execute_run


def mend_runs() -> None:
    """On a worker: undo break_runs_of."""
    import course_utils.instructor.running as on_worker

    on_worker.execute_run = getattr(on_worker, "real_execute_run", on_worker.execute_run)


@contextmanager
def broken_runs(client, notebook: str, log: Path, everywhere: bool = False) -> Iterator[dict[int, str]]:
    """break_runs_of on every worker of the cluster while inside; yields {worker pid: worker address}."""
    import cloudpickle

    log.mkdir()
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    client.run(break_runs_of, notebook, str(log), everywhere)
    try:
        yield {pid: address for address, pid in client.run(os.getpid).items()}
    finally:
        client.run(mend_runs)
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def tries_logged(log: Path) -> list[tuple[int, str]]:
    """(worker pid, 'failed' or 'ran') of every try that break_runs_of saw, in order."""
    found = sorted((int(t), int(pid), outcome) for t, pid, outcome in
                   (p.name.split("-")[1:] for p in log.glob("try-*")))
    return [(pid, outcome) for _, pid, outcome in found]


@pytest.mark.timeout(300)
def test_a_run_that_raises_on_its_worker_is_tried_again_on_another_worker(tmp_path, dask_cluster):
    """The kit's retry, not Dask's: the run's first worker stays broken and is idle when the run is tried again,
    while the other worker is still busy with a slow run. Dask's own retries pick the idle, broken worker."""
    _, client = dask_cluster
    notebooks, markers = tmp_path / "nbs", tmp_path / "markers"
    slow_notebook(notebooks)
    (notebooks / "91_fixture_mean.ipynb").write_bytes((FIXTURES / "91_fixture_mean.ipynb").read_bytes())
    markers.mkdir()
    out = tmp_path / "out"
    config = tmp_path / "grid.yaml"
    config.write_text(f"notebooks:\n  {SLOW}: {{MARKERS: ['{markers}'], SLEEP: [8.0]}}\n  91_fixture_mean: {{}}\n")
    with broken_runs(client, "91_fixture_mean", tmp_path / "log") as workers:
        assert grid.main(["--notebook-dir", str(notebooks), "--config", str(config), "--out", str(out),
                          "--no-progress", "--scheduler", client.scheduler.address]) == 0
    table = {r["notebook"]: r for r in rows(out)}
    tries = tries_logged(tmp_path / "log")
    assert [outcome for _, outcome in tries] == ["failed", "ran"], tries
    (broken, _), (other, _) = tries
    assert broken != other, "tried again on another worker"
    assert table["91_fixture_mean"]["status"] == "ok" and table["91_fixture_mean"]["worker"] == workers[other]
    # what makes this the kit's doing: the broken worker was the only idle one when the run was tried again
    assert table[SLOW]["status"] == "ok" and table[SLOW]["worker"] == workers[other]


@pytest.mark.timeout(300)
def test_a_run_that_raises_on_every_try_fails_saying_how_many_tries_and_where(tmp_path, dask_cluster):
    _, client = dask_cluster
    out = tmp_path / "out"
    with broken_runs(client, "91_fixture_mean", tmp_path / "log", everywhere=True) as workers:
        assert grid.main(["--notebook-dir", str(FIXTURES), "91", "--quick", "--out", str(out), "--no-progress",
                          "--scheduler", client.scheduler.address]) == 1
    tries = tries_logged(tmp_path / "log")
    assert len(tries) == 1 + cluster.TASK_RETRIES == 2 and tries[0][0] != tries[1][0], tries
    row = rows(out)[0]
    assert row["status"] == "failed"
    first, second = (workers[pid] for pid, _ in tries)
    assert row["error"] == (f"on the cluster: OSError: [Errno 28] No space left on device "
                            f"(2 tries, on {first}, then {second})")


@pytest.mark.timeout(240)
def test_a_retry_whose_only_other_worker_leaves_is_run_anywhere_instead_of_waiting(tmp_path, monkeypatch):
    """The run raises on worker A and is tried again on B alone, busy with a slow run; B leaves the cluster. Dask
    would keep the try waiting for B for ever; the kit starts it again on what is left (A, which fails it again)."""
    import dask
    from distributed import Client, LocalCluster

    monkeypatch.setattr(cluster, "STRANDED_SECONDS", 1.0)
    notebooks, markers, log = tmp_path / "nbs", tmp_path / "markers", tmp_path / "log"
    slow_notebook(notebooks)
    (notebooks / "91_fixture_mean.ipynb").write_bytes((FIXTURES / "91_fixture_mean.ipynb").read_bytes())
    markers.mkdir()
    config = tmp_path / "grid.yaml"
    config.write_text(f"notebooks:\n  {SLOW}: {{MARKERS: ['{markers}'], SLEEP: [8.0]}}\n  91_fixture_mean: {{}}\n")
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        local = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                             dashboard_address=None)
    client = Client(local)
    retired: dict = {}

    def retire_the_busy_worker() -> None:  # once the run failed on A and the slow run sleeps on B
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            failed = [pid for pid, outcome in tries_logged(log) if outcome == "failed"]
            sleeping = [int(m.name.split("-")[0]) for m in markers.iterdir()]
            if failed and sleeping and sleeping[0] != failed[0]:
                time.sleep(1.0)  # the try again, restricted to B, is submitted by now
                retired["address"] = workers[sleeping[0]]
                client.retire_workers([retired["address"]], close_workers=True, remove=True)
                return
            time.sleep(0.05)

    try:
        with broken_runs(client, "91_fixture_mean", log) as workers:
            watcher = threading.Thread(target=retire_the_busy_worker, daemon=True)
            watcher.start()
            assert grid.main(["--notebook-dir", str(notebooks), "--config", str(config), "--out",
                              str(tmp_path / "out"), "--no-progress", "--scheduler", client.scheduler.address]) == 1
            watcher.join(5)
    finally:
        client.close()
        local.close()
    assert retired.get("address"), "the slow run's worker was retired while the run waited for it"
    table = {r["notebook"]: r for r in rows(tmp_path / "out")}
    tries = tries_logged(log)
    assert [outcome for _, outcome in tries] == ["failed", "failed"] and tries[0][0] == tries[1][0], \
        "tried again on A, the only worker left"
    broken = workers[tries[0][0]]
    assert table["91_fixture_mean"]["error"].endswith(f"(2 tries, on {broken}, then {broken})")
    assert table[SLOW]["status"] == "ok" and table[SLOW]["worker"] == broken


def test_the_tries_of_a_run_whose_workers_died_are_counted():
    from types import SimpleNamespace

    from distributed.scheduler import KilledWorker

    died = KilledWorker("notebook-run-x", SimpleNamespace(address="tcp://127.0.0.1:2"), 2)
    assert cluster.failure_text(died).startswith("every worker that ran it died (3 tries, last tcp://127.0.0.1:2)")
    # a try that raised on another worker before, then every worker of the next try died
    assert "(4 tries, last tcp://127.0.0.1:2)" in cluster.failure_text(died, ["tcp://127.0.0.1:1"])
    once = KilledWorker("notebook-run-x", SimpleNamespace(address="tcp://127.0.0.1:2"), 0)
    assert "(1 try, last" in cluster.failure_text(once)


@pytest.mark.timeout(120)
def test_the_course_summary_names_the_worker(tmp_path, monkeypatch, dask_cluster):
    _, client = dask_cluster
    monkeypatch.setattr(course_run, "NOTEBOOK_DIR", FIXTURES)
    out = tmp_path / "course"
    assert course_run.main(["91_fixture_mean", "--quick", "--out", str(out), "--scheduler",
                            client.scheduler.address]) == 0
    row = json.loads((out / "results.json").read_text())[0]
    assert row["status"] == "ok" and row["results"]["label"] == "demo"
    assert row["worker"] in client.scheduler_info()["workers"]
    with open(out / "results.csv", newline="", encoding="utf-8") as handle:
        assert {r["worker"] for r in csv.DictReader(handle)} == {row["worker"]}
    assert row["worker"] in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.timeout(60)
def test_an_unreachable_scheduler_fails_within_seconds_and_runs_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    address = f"tcp://127.0.0.1:{free_port()}"
    start = time.monotonic()
    code = grid.main(["--notebook-dir", str(FIXTURES), "91", "--quick", "--out", str(out), "--no-progress",
                      "--scheduler", address])
    assert time.monotonic() - start < cluster.CONNECT_SECONDS + 10
    assert code == 2
    err = capsys.readouterr().err
    assert f"Cannot reach the Dask scheduler at {address}" in err and "nothing was run" in err
    assert "Traceback" not in err
    assert not (out / "91_fixture_mean").exists()


@pytest.mark.timeout(60)
def test_the_course_run_refuses_an_unreachable_scheduler(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(course_run, "NOTEBOOK_DIR", FIXTURES)
    monkeypatch.setenv(cluster.ENV_VAR, f"tcp://127.0.0.1:{free_port()}")  # the environment variable is used
    out = tmp_path / "course"
    assert course_run.main(["91_fixture_mean", "--quick", "--out", str(out)]) == 2
    assert "Cannot reach the Dask scheduler" in capsys.readouterr().err
    assert not out.exists()


def fake_torch_version() -> None:
    """On a worker: report another torch version, as a worker with another installation would."""
    import course_utils.instructor.cluster as on_worker

    real = on_worker.kit_versions
    on_worker.kit_versions = lambda: {**real(), "torch": "0.0.fake"}
    on_worker.real_kit_versions = real


def real_torch_version() -> None:
    import course_utils.instructor.cluster as on_worker

    on_worker.kit_versions = getattr(on_worker, "real_kit_versions", on_worker.kit_versions)


@pytest.mark.timeout(120)
def test_workers_with_another_torch_version_are_refused_naming_both_versions(tmp_path, capsys, dask_cluster):
    import cloudpickle

    _, client = dask_cluster
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    client.run(fake_torch_version)
    try:
        out = tmp_path / "out"
        code = grid.main(["--notebook-dir", str(FIXTURES), "91", "--quick", "--out", str(out), "--no-progress",
                          "--scheduler", client.scheduler.address])
    finally:
        client.run(real_torch_version)
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    err = capsys.readouterr().err
    assert code == 2
    here = cluster.package_version("torch")
    assert f"has torch 0.0.fake, this machine has torch {here}" in err and "nothing was run" in err
    assert not (out / "91_fixture_mean").exists()


@pytest.mark.parametrize("text, expected", [
    (None, None), ("", None), ("none", None), ("local:2", "local:2"), ("tcp://10.0.0.5:8786", "tcp://10.0.0.5:8786"),
    ("head-node:8786", "tcp://head-node:8786"), ("tls://head:8786/", "tls://head:8786"),
])
def test_scheduler_choices_are_read(text, expected):
    assert cluster.parse_scheduler(text) == expected


@pytest.mark.parametrize("text", ["local:0", "local", "http://head:8786", "head node:8786", "tcp://head"])
def test_a_bad_scheduler_is_refused_before_anything_runs(text):
    with pytest.raises(RequestError, match="scheduler"):
        cluster.parse_scheduler(text)


def test_the_command_line_wins_over_the_batch_file_over_the_environment(monkeypatch):
    monkeypatch.setenv(cluster.ENV_VAR, "tcp://env:8786")
    assert cluster.resolve_scheduler(None, None) == "tcp://env:8786"
    assert cluster.resolve_scheduler(None, "tcp://yaml:8786") == "tcp://yaml:8786"
    assert cluster.resolve_scheduler("none", "tcp://yaml:8786") is None
    monkeypatch.delenv(cluster.ENV_VAR)
    assert cluster.resolve_scheduler(None, None) is None


def test_a_bad_scheduler_in_the_batch_file_is_named(tmp_path, capsys):
    config = tmp_path / "grid.yaml"
    config.write_text("notebooks: [91_fixture_mean]\nscheduler: 8786\n")
    assert grid.main(["--notebook-dir", str(FIXTURES), "--config", str(config), "--out", str(tmp_path / "o")]) == 2
    assert "scheduler must be an address like tcp://HOST:8786" in capsys.readouterr().err


def test_paths_into_the_run_folder_move_to_the_worker_and_back():
    folder = os.path.join(os.sep, "out", "run")
    parameters = {"SAVE_DIR": os.path.join(folder, "models"), "OTHER": os.path.join(os.sep, "out", "runner"),
                  "LIST": [folder], "N": 3}
    moved = cluster.relocated(parameters, folder, "/scratch/run")
    assert moved == {"SAVE_DIR": "/scratch/run/models", "OTHER": os.path.join(os.sep, "out", "runner"),
                     "LIST": ["/scratch/run"], "N": 3}
    assert cluster.relocated(moved, "/scratch/run", folder) == parameters


def test_a_file_sent_back_outside_its_folder_is_refused(tmp_path):
    run = Run("n", str(tmp_path / "nb" / "n.ipynb"), "s", {}, {}, str(tmp_path / "out" / "n.ipynb"))
    cluster.store_files(run, {"run/models/w.txt": b"1", "work/artifacts/a.txt": b"2"})
    assert (tmp_path / "out" / "models" / "w.txt").read_bytes() == b"1"
    assert (tmp_path / "nb" / "artifacts" / "a.txt").read_bytes() == b"2"
    with pytest.raises(ValueError, match="outside its folder"):
        cluster.store_files(run, {"run/../../escape.txt": b"x"})
    assert not (tmp_path.parent / "escape.txt").exists()


# --- grading on the cluster ------------------------------------------------------------------------------------

def grading_class(root: Path, markers: Path | None = None) -> None:
    """ana solves both exercises, ben none, carl hands in nothing; with markers, ana's notebook sleeps mid-run."""
    from test_grade import code, full, insert_after, save, untouched, SOLUTION_1

    nb = full()
    if markers is not None:  # the kernel's grandparent is the worker process (worker -> runner -> kernel)
        nb = insert_after(nb, SOLUTION_1, code(
            "import os, time\nfrom pathlib import Path\n"
            "stat = Path(f'/proc/{os.getppid()}/stat').read_text()\n"
            "worker = int(stat.rsplit(')', 1)[1].split()[1])\n"
            f"marker = Path({str(markers)!r}, f'{{worker}}-{{os.getpid()}}')\n"
            "marker.write_text('started')\ntime.sleep(6)\nmarker.write_text('finished')", "sleepy"))
    save(root, "ana", nb)
    save(root, "ben", untouched())
    (root / "carl").mkdir(parents=True)


def graded_rows(out: Path) -> dict[str, tuple]:
    import sqlite3

    with sqlite3.connect(out / "gradebook.sqlite") as db:
        return {s: (st, t, w) for s, st, t, w in db.execute("SELECT student, status, total, worker FROM gradings")}


@pytest.mark.timeout(300)
def test_grading_on_a_cluster_gives_the_local_grades_and_names_the_workers(tmp_path, dask_cluster):
    from course_utils.instructor.grade import Limits, grade_class

    local, client = dask_cluster
    grading_class(tmp_path / "subs")
    limits = Limits(cell_timeout=30, notebook_timeout=90, memory=2 << 30)
    common = dict(limits=limits, notebook_dir=FIXTURES, progress=False)
    grade_class(tmp_path / "subs", ["92"], tmp_path / "here", **common)
    grade_class(tmp_path / "subs", ["92"], tmp_path / "there", scheduler=local.scheduler_address, **common)
    here, there = graded_rows(tmp_path / "here"), graded_rows(tmp_path / "there")
    assert {s: v[:2] for s, v in here.items()} == {s: v[:2] for s, v in there.items()} == {
        "ana": ("graded", 2.0), "ben": ("graded", 0.0), "carl": ("missing", 0.0)}
    assert {v[2] for v in here.values()} == {"local"}
    workers = set(client.scheduler_info()["workers"])
    for student in ("ana", "ben"):
        assert any(address in there[student][2] for address in workers), there[student]
    assert there["carl"][2] == "local", "nothing to run: decided here"
    assert (tmp_path / "there" / "executed" / "92_fixture_exercises" / "ana.ipynb").is_file()
    with open(tmp_path / "there" / "grades.csv", encoding="utf-8-sig", newline="") as handle:
        ran_on = {r["student"]: r["ran_on"] for r in csv.DictReader(handle)}
    assert ran_on["ana"] == there["ana"][2]
    assert there["ana"][2] in (tmp_path / "there" / "report.html").read_text(encoding="utf-8")


@pytest.mark.timeout(300)
def test_grading_survives_a_worker_killed_mid_notebook_and_cleans_its_scratch(tmp_path, dask_cluster):
    import tempfile

    from course_utils.instructor.grade import Limits, grade_class

    local, client = dask_cluster
    markers = tmp_path / "markers"
    markers.mkdir()
    grading_class(tmp_path / "subs", markers)
    killed: dict = {}
    watcher = kill_when_started(markers, client, killed)
    # unsafe: the marker cell names its worker in a folder outside its own, which the sandbox forbids; this test is
    # about the kit's retries (tests/test_grade_isolation.py covers the sandbox)
    grade_class(tmp_path / "subs", ["92"], tmp_path / "out", scheduler=local.scheduler_address,
                limits=Limits(cell_timeout=30, notebook_timeout=120, memory=2 << 30), notebook_dir=FIXTURES,
                progress=False, unsafe=True)
    watcher.join(5)
    assert killed.get("address"), "ana's worker was killed while her notebook ran"
    rows = graded_rows(tmp_path / "out")
    assert rows["ana"][:2] == ("graded", 2.0) and killed["address"] not in rows["ana"][2]
    assert rows["ben"][:2] == ("graded", 0.0)
    states = {p.name: p.read_text() for p in markers.iterdir()}
    assert states[next(n for n in states if n.startswith(f"{killed['pid']}-"))] == "started"
    assert not list(Path(tempfile.gettempdir()).glob(f"{cluster.SCRATCH_PREFIX}*-{killed['pid']}-*")), \
        "the killed worker's scratch folder was removed by a later task"


def test_an_unreachable_scheduler_grades_nothing(tmp_path, capsys):
    from course_utils.instructor.grade import main

    grading_class(tmp_path / "subs")
    start = time.monotonic()
    code = main([str(tmp_path / "subs"), "--lesson", "92", "--out", str(tmp_path / "out"), "--notebook-dir",
                 str(FIXTURES), "--scheduler", f"tcp://127.0.0.1:{free_port()}"])
    assert code == 2 and time.monotonic() - start < 30
    assert "Cannot reach the Dask scheduler" in capsys.readouterr().err
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_stale_scratch_of_dead_workers_is_swept_and_live_ones_kept(tmp_path):
    import subprocess

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{cluster.SCRATCH_PREFIX}grade-{dead.pid}-abc"
    alive = tmp_path / f"{cluster.SCRATCH_PREFIX}run-{os.getpid()}-def"
    other = tmp_path / "course-kit-something-else"
    for folder in (stale, alive, other):
        (folder / "inside").mkdir(parents=True)
    assert cluster.sweep_stale_scratch(tmp_path) == [stale]
    assert not stale.exists() and alive.exists() and other.exists()


def test_the_sweep_keeps_the_scratch_of_another_users_live_process(tmp_path, monkeypatch):
    """Signalling another user's process is refused (EPERM) although it is alive: its folder is kept. Process 1
    belongs to root; the test may run as root, so os.kill answers for it as it does for any other user."""
    import subprocess

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    theirs_pid = 1
    real_kill = os.kill

    def kill(pid: int, sig: int) -> None:
        if pid == theirs_pid:
            raise PermissionError(1, "Operation not permitted")
        real_kill(pid, sig)

    monkeypatch.setattr(os, "kill", kill)
    theirs = tmp_path / f"{cluster.SCRATCH_PREFIX}grade-{theirs_pid}-abc"
    stale = tmp_path / f"{cluster.SCRATCH_PREFIX}run-{dead.pid}-def"
    for folder in (theirs, stale):
        (folder / "inside").mkdir(parents=True)
    assert cluster.sweep_stale_scratch(tmp_path) == [stale]
    assert theirs.exists() and not stale.exists()


# --- something else at the scheduler's address ------------------------------------------------------------------

@pytest.fixture
def http_server():
    """A plain HTTP server (http.server) on 127.0.0.1, in a thread; yields its port."""
    import http.server

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # noqa: D102 - no request log in the test output
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.timeout(60)
def test_an_http_server_at_the_scheduler_address_fails_within_seconds_naming_it(http_server):
    import distributed  # noqa: F401 - imported before the clock starts, as the grid has it by then

    address = f"tcp://127.0.0.1:{http_server}"
    start = time.monotonic()
    with pytest.raises(cluster.SchedulerError) as caught:
        with cluster.connect(address):
            pass
    assert time.monotonic() - start < cluster.CONNECT_SECONDS
    message = str(caught.value)
    assert f"{address} is not a Dask scheduler: an HTTP server" in message and "Nothing was run" in message


@pytest.mark.timeout(60)
def test_the_grid_refuses_an_http_server_as_scheduler_and_runs_nothing(tmp_path, capsys, http_server):
    out = tmp_path / "out"
    start = time.monotonic()
    code = grid.main(["--notebook-dir", str(FIXTURES), "91", "--quick", "--out", str(out), "--no-progress",
                      "--scheduler", f"127.0.0.1:{http_server}"])
    assert code == 2 and time.monotonic() - start < cluster.CONNECT_SECONDS + 5
    err = capsys.readouterr().err
    assert "is not a Dask scheduler: an HTTP server" in err and "Traceback" not in err
    assert not (out / "91_fixture_mean").exists()


@pytest.mark.timeout(60)
def test_a_silent_server_or_a_stalled_handshake_fails_within_seconds():
    """A server that accepts and says nothing, and one that sends a Dask-like greeting and then stalls."""
    import struct

    import distributed  # noqa: F401

    def serve(greeting: bytes) -> tuple[socket.socket, list]:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        held = []

        def accept() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                held.append(conn)
                conn.sendall(greeting)

        threading.Thread(target=accept, daemon=True).start()
        return listener, held

    for greeting, expected in ((b"", "sent nothing"),
                               (struct.pack("<QQQ", 58, 1, 42) + b"\x83" * 10, "did not complete Dask's handshake")):
        listener, held = serve(greeting)
        try:
            start = time.monotonic()
            with pytest.raises(cluster.SchedulerError, match=expected):
                with cluster.connect(f"tcp://127.0.0.1:{listener.getsockname()[1]}", connect_seconds=2):
                    pass
            assert time.monotonic() - start < 2 + 1.5
        finally:
            listener.close()
            for conn in held:
                conn.close()
