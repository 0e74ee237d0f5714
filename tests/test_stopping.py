"""Stopping cleanly: Ctrl-C (SIGINT) or SIGTERM on a batch grid or a grading, sent to a real `python -m ...` process
once its first result is stored. Queued runs never start, running notebooks' processes are killed (psutil finds
none left), what finished is stored (run.json, results.csv, report, gradebook, grades.csv), and the exit code is
130; a second Ctrl-C exits at once."""
from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from course_utils.instructor import stopping

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
SLOW = "96_sleepy"

def runs_notebooks(test):
    """At most 90 s for a test that runs notebooks in a real subprocess (marked `notebooks` in conftest.py)."""
    return pytest.mark.timeout(90)(test)


def sleepy_notebook(folder: Path, markers: Path) -> None:
    """A notebook that leaves markers/<SLEEP>.started when it starts, sleeps SLEEP seconds and records it."""
    markers.mkdir()
    nb = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell(f'MARKERS = {str(markers)!r}  # folder for the markers\nSLEEP = 1.0  # seconds')
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters, nbformat.v4.new_code_cell(
        "import time\nfrom pathlib import Path\nfrom course_utils.results import record\n"
        "Path(MARKERS, f'{SLEEP}.started').write_text('started')\n"
        "time.sleep(SLEEP)\nrecord('slept', SLEEP)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{SLOW}.ipynb")


def start(*args: str, cwd: Path) -> subprocess.Popen:
    """The command as a real process (its own session, as from a terminal), output to cwd/log.txt."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           "PYTHONUNBUFFERED": "1"}
    with open(cwd / "log.txt", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", *args], cwd=cwd, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    process.log = cwd / "log.txt"
    return process


def wait_for(condition, seconds: float, what: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, f"the command ended (code {process.returncode}) before {what}"
        assert time.monotonic() < deadline, f"no {what} within {seconds} s"
        time.sleep(0.1)


def command(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:  # ended meanwhile
        return ""


def family(process: subprocess.Popen) -> list[psutil.Process]:
    """Every process the command started (worker processes, kernels, grading children), as psutil sees them."""
    return psutil.Process(process.pid).children(recursive=True)


def finish(process: subprocess.Popen, seconds: float) -> tuple[int, str]:
    """Wait for the command to end; its exit code and output."""
    try:
        code = process.wait(seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError(f"the command did not end within {seconds} s of the signal") from None
    return code, process.log.read_text(errors="replace")


def exiting(shown: str) -> bool:
    """A process that is ending by itself: multiprocessing's resource tracker, or one already killed (no command
    line left) that is not yet a zombie."""
    return "resource_tracker" in shown or shown.endswith(": ")


def left_behind(processes: list[psutil.Process], grace: float = 5.0) -> list[str]:
    """The processes of the list that still run when the command has ended (not counting zombies about to be
    reaped); only processes that are ending anyway (see exiting) get `grace` seconds. (A kernel whose parent died
    would end by itself after a while: it must be dead at once.)"""
    deadline = time.monotonic() + grace
    while True:
        alive = []
        for process in processes:
            try:
                if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"{process.pid}: {command(process)[:150]}")
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() > deadline or not all(exiting(a) for a in alive):
            return alive
        time.sleep(0.1)


def kill_all(process: subprocess.Popen, started: list[psutil.Process]) -> None:
    """After a test, pass or fail: nothing it started may run on."""
    if process.poll() is None:
        started = started + family(process)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    for child in started:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass


def rows(path: Path, encoding: str = "utf-8") -> list[dict]:
    with open(path, newline="", encoding=encoding) as handle:
        return list(csv.DictReader(handle))


def grid_args(notebooks: Path, out: Path, sleeps: str, workers: int) -> list[str]:
    return ["course_utils.instructor.grid", SLOW, "-p", f"SLEEP={sleeps}",
            "--notebook-dir", str(notebooks), "--out", str(out), "-j", str(workers), "--no-progress"]


def run_json(out: Path, sleep: str) -> dict | None:
    found = list((out / SLOW).glob(f"SLEEP-{sleep}/run.json"))
    return json.loads(found[0].read_text()) if found else None


@runs_notebooks
def test_ctrl_c_on_a_parallel_grid_stores_what_finished_and_leaves_no_process(tmp_path):
    notebooks, markers, out = tmp_path / "nbs", tmp_path / "markers", tmp_path / "out"
    sleepy_notebook(notebooks, markers)
    process = start(*grid_args(notebooks, out, "0.1,30.0,31.0,32.0", 2), cwd=tmp_path)
    started = []
    try:
        wait_for(lambda: (run_json(out, "0.1") or {}).get("status") == "ok", 60, "first stored run", process)
        wait_for(lambda: {"30.0.started", "31.0.started"} <= {m.name for m in markers.iterdir()}, 30,
                 "the next two runs", process)
        started = family(process)
        assert any("ipykernel" in command(p) for p in started), "kernels run while it is stopped"
        began = time.monotonic()
        os.kill(process.pid, signal.SIGINT)
        code, log = finish(process, 30)
        stopped_in = time.monotonic() - began
        assert code == stopping.EXIT_CODE, log
        assert stopped_in < 20, f"stopping took {stopped_in:.0f} s, not seconds"
        assert not (alive := left_behind(started)), alive
    finally:
        kill_all(process, started)
    table = {r["SLEEP"]: r for r in rows(out / "results.csv")}
    assert table["0.1"]["status"] == "ok" and float(table["0.1"]["result.slept"]) == 0.1
    assert {table[s]["status"] for s in ("30.0", "31.0", "32.0")} == {"interrupted"}, table
    assert "stopped" in table["32.0"]["error"]
    assert not (markers / "32.0.started").exists(), "a queued run started after Ctrl-C"
    assert run_json(out, "30.0") is None, "a killed run is not recorded as finished"
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "interrupted" in report and "3 not finished" in report
    assert "INTERRUPTED" in log and "Traceback" not in log, log
    # the next run resumes: the finished run is skipped, the others run
    again = subprocess.run([sys.executable, "-m", *grid_args(notebooks, out, "0.1", 1)], cwd=tmp_path,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and rows(out / "results.csv")[0]["status"] == "skipped", again.stdout + again.stderr


@runs_notebooks
def test_a_second_ctrl_c_exits_at_once_and_still_kills_the_notebooks(tmp_path):
    notebooks, markers, out = tmp_path / "nbs", tmp_path / "markers", tmp_path / "out"
    sleepy_notebook(notebooks, markers)
    process = start(*grid_args(notebooks, out, "40.0,41.0,42.0", 2), cwd=tmp_path)
    started = []
    try:
        wait_for(lambda: len(list(markers.iterdir())) == 2, 60, "two running notebooks", process)
        started = family(process)
        began = time.monotonic()
        os.kill(process.pid, signal.SIGINT)
        time.sleep(0.3)
        os.kill(process.pid, signal.SIGINT)
        code, log = finish(process, 15)
        assert code == stopping.EXIT_CODE, log
        assert time.monotonic() - began < 10
        assert "again" in log, log
        assert not (alive := left_behind(started)), alive
    finally:
        kill_all(process, started)
    assert not (markers / "42.0.started").exists()


@runs_notebooks
@pytest.mark.parametrize("workers, sleeps, running, queued", [(1, "0.1,30.0,31.0", "30.0", "31.0"),
                                                              (2, "0.1,30.0,31.0,32.0", "31.0", "32.0")])
def test_sigterm_on_a_grid_stops_it_the_same_way(tmp_path, workers, sleeps, running, queued):
    """`kill PID`: with one worker the kernel is the grid's own child; with two, the worker processes' children."""
    notebooks, markers, out = tmp_path / "nbs", tmp_path / "markers", tmp_path / "out"
    sleepy_notebook(notebooks, markers)
    process = start(*grid_args(notebooks, out, sleeps, workers), cwd=tmp_path)
    started = []
    try:
        wait_for(lambda: (markers / f"{running}.started").exists(), 60, "the last run to start", process)
        started = family(process)
        assert any("ipykernel" in command(p) for p in started), "kernels run while it is stopped"
        os.kill(process.pid, signal.SIGTERM)
        code, log = finish(process, 30)
        assert code == stopping.EXIT_CODE, log
        assert not (alive := left_behind(started)), alive
    finally:
        kill_all(process, started)
    statuses = [r["status"] for r in rows(out / "results.csv")]
    assert statuses == ["ok"] + ["interrupted"] * (len(statuses) - 1)
    assert not (markers / f"{queued}.started").exists()
    assert "SIGTERM" in log


@runs_notebooks
def test_ctrl_c_on_a_grid_on_a_local_dask_cluster_cancels_tasks_and_kills_their_kernels(tmp_path):
    notebooks, markers, out = tmp_path / "nbs", tmp_path / "markers", tmp_path / "out"
    sleepy_notebook(notebooks, markers)
    process = start(*grid_args(notebooks, out, "0.1,30.0,31.0,32.0", 1), "--scheduler", "local:2", cwd=tmp_path)
    started = []
    try:
        wait_for(lambda: (run_json(out, "0.1") or {}).get("status") == "ok", 75, "first stored run", process)
        wait_for(lambda: {"30.0.started", "31.0.started"} <= {m.name for m in markers.iterdir()}, 30,
                 "the next two runs", process)
        started = family(process)
        os.killpg(process.pid, signal.SIGINT)  # as a terminal does: the whole process group
        code, log = finish(process, 40)
        assert code == stopping.EXIT_CODE, log
        assert not (alive := left_behind(started)), alive
    finally:
        kill_all(process, started)
    table = {r["SLEEP"]: r for r in rows(out / "results.csv")}
    assert table["0.1"]["status"] == "ok" and table["0.1"]["worker"].startswith("tcp://127.0.0.1:")
    assert {table[s]["status"] for s in ("30.0", "31.0", "32.0")} == {"interrupted"}, table
    assert not (markers / "32.0.started").exists(), "a queued task started after Ctrl-C"


# --- grading ----------------------------------------------------------------------------------------------------

@runs_notebooks
def test_ctrl_c_while_grading_keeps_the_finished_grades_and_kills_the_running_notebooks(tmp_path):
    from course_utils.instructor import sandbox
    from test_grade import SOLUTION_1, code, full, insert_after, save

    subs, out = tmp_path / "subs", tmp_path / "out"
    save(subs, "a-quick", full())
    sleepy = insert_after(full(), SOLUTION_1, code("import time\ntime.sleep(30)", "nap"))
    for student in ("b-slow", "c-slow", "d-slow"):
        save(subs, student, sleepy)
    unsafe = [] if sandbox.available()[0] else ["--unsafe"]
    process = start("course_utils.instructor.grade", str(subs), "--lesson", "92", "--out", str(out),
                    "--notebook-dir", str(FIXTURES), "-j", "2", "--cell-timeout", "60", "--notebook-timeout", "80",
                    *unsafe, cwd=tmp_path)

    def stored() -> list[tuple]:
        try:
            with sqlite3.connect(out / "gradebook.sqlite", timeout=1) as db:
                return db.execute("SELECT student, status, total FROM gradings").fetchall()
        except sqlite3.Error:
            return []

    started = []
    try:
        wait_for(lambda: stored(), 60, "a stored grading", process)
        time.sleep(3)  # the next submission's notebook starts
        started = family(process)
        assert started, "notebooks are running"
        os.kill(process.pid, signal.SIGINT)
        code_, log = finish(process, 30)
        assert code_ == stopping.EXIT_CODE, log
        assert not (alive := left_behind(started)), alive
    finally:
        kill_all(process, started)
    assert stored() == [("a-quick", "graded", 2.0)], "only the finished grading is stored"
    table = {r["student"]: r for r in rows(out / "grades.csv", "utf-8-sig")}
    assert table["a-quick"]["total"] == "2"
    for student in ("b-slow", "c-slow", "d-slow"):
        assert "not graded" in table[student]["notes"], table[student]
    assert "Interrupted" in (out / "report.html").read_text(encoding="utf-8")
    assert "INTERRUPTED" in log and "Traceback" not in log, log


# --- the machinery, in this process -----------------------------------------------------------------------------

def test_futures_cancelled_by_shutdown_are_yielded_too():
    """concurrent.futures.as_completed waits forever for a future that shutdown(cancel_futures=True) cancelled."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    release = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        futures = [pool.submit(release.wait, 10) for _ in range(3)]  # one runs, two wait in the queue
        finishing = stopping.as_finished(futures)
        pool.shutdown(wait=False, cancel_futures=True)
        release.set()
        start = time.monotonic()
        seen = list(finishing)
    assert len(seen) == 3 and sum(f.cancelled() for f in seen) == 2 and time.monotonic() - start < 5


@pytest.mark.timeout(30)
def test_a_signal_runs_the_stop_actions_and_kills_children_and_the_handlers_come_back():
    before, before_int = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    done = []
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with stopping.stoppable() as stop:
            assert signal.getsignal(signal.SIGTERM) != before
            with stop.watch(lambda: done.append("action"), sweep=True):
                os.kill(os.getpid(), signal.SIGTERM)
                deadline = time.monotonic() + 10
                while child.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.05)
            assert stop.requested and stop.describe() == "SIGTERM" and done == ["action"]
            assert child.poll() is not None, "the child process was killed"
        assert signal.getsignal(signal.SIGTERM) is stopping._exit_on_signal  # a further signal exits at once
    finally:
        signal.signal(signal.SIGTERM, before)
        signal.signal(signal.SIGINT, before_int)
        if child.poll() is None:
            child.kill()
    with stopping.stoppable() as stop:  # no signal: the handlers are given back
        assert not stop.requested and stopping.current() is stop
    assert signal.getsignal(signal.SIGTERM) is before and stopping.current() is stopping.NEVER
