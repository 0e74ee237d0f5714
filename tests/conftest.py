"""Shared test setup: headless plotting, no progress widgets, the `notebooks` and `browser` markers with their time
limits (applied here and only here), a guard that keeps unmarked tests light, and a local HTTP server fixture."""
from __future__ import annotations

import functools
import http.server
import multiprocessing.process
import os
import sys
import threading
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["COURSE_PROGRESS"] = "0"
os.environ["COURSE_LANG"] = "en"  # tests that expect Korean set it themselves; a Korean LANG must not change the rest

# Every test that starts a Jupyter kernel, a virtual environment, a Dask cluster or a browser, by `module` or
# `module::test-name prefix`: marked `notebooks` here, so that `kit.py test -m "not notebooks"` is the fast unit run.
# The value is a longer pytest-timeout where the default (pyproject.toml) is too short. No test file marks itself.
NOTEBOOK_TESTS: dict[str, int | None] = {
    "test_nb0": None,  # every lesson's quick run (test_nb01_... to test_nb08_...)
    "test_lessons_reproduce.py::test_quick_profile_records_the_same_results": 1800,  # may run a lesson twice
    "test_notebooks_nbval.py::test_marked_outputs_reproduce": 1800,  # may run a lesson twice
    "test_lessons_record_their_data.py::test_quick_run": None,
    "test_colab_fresh_env.py": None,  # a fresh venv, then every lesson (its time limit is in the module)
    "test_stamp_colab.py::test_pip_install_from_a_clean_clone_into_a_fresh_venv": None,
    "test_jupyterlab_e2e.py::test_notebook_runs_in_jupyterlab": 900,  # JupyterLab start-up plus up to 600 s of cells
    "test_jupyterlab_e2e.py::test_a_korean_lesson_shows": 900,
    "test_site.py::test_built_site_": None,  # builds the course website once (kit.py site: about 30 s on 2 cores)
    "test_site.py::test_in_a_browser_": None,  # the built website in Chromium
    "test_exercise_display.py::test_a_failed_check_in_an_executed_notebook": None,
    "test_execution.py::test_execute_notebook_runs_a_widget_cell": None,
    "test_execution.py::test_a_successful_run_prints_no_transport_warning": None,
    "test_student.py::test_instructor_notebook_passes_every_check": None,
    "test_student.py::test_student_version_has_placeholders": None,
    "test_student.py::test_only_solution_and_check_cells_lose_their_outputs": None,
    "test_student.py::test_student_notebook_stops_at_the_first_check": None,
    "test_student.py::test_a_wrong_answer_gets_a_hint": None,
    "test_student.py::test_lesson_student_version_stops_at_its_first_exercise": None,
    "test_grid.py::test_batch_runs_every_combination": None,
    "test_grid.py::test_failing_run_is_reported": None,
    "test_grid.py::test_report_is_self_contained": None,
    "test_grid.py::test_rerun_skips_finished_runs": None,
    "test_grid.py::test_redo_runs_finished_runs_again": None,
    "test_grid.py::test_course_run_": None,
    "test_grid.py::test_failed_in_place_regeneration": None,
    "test_grid.py::test_a_changed_notebook_is_run_again_on_resume": None,
    "test_course_run.py::test_summary_has_a_short_section_per_lesson": None,
    "test_cluster.py::test_a_grid_on_a_local_cluster": None,
    "test_cluster.py::test_a_worker_killed_mid_run": None,
    "test_cluster.py::test_a_run_whose_every_worker_dies": None,
    "test_cluster.py::test_a_run_that_raises_on": None,
    "test_cluster.py::test_a_retry_whose_only_other_worker_leaves": None,
    "test_cluster.py::test_the_course_summary_names_the_worker": None,
    "test_cluster.py::test_workers_with_another_torch_version": None,  # a LocalCluster of 2 worker processes
    "test_cluster.py::test_grading_": None,
    "test_stopping.py::test_ctrl_c_": None,
    "test_stopping.py::test_a_second_ctrl_c": None,
    "test_stopping.py::test_sigterm_on_a_grid": None,
    "test_grade.py": 900,  # grades a class of 22 fixture submissions (about 3 min on 2 cores) and a real lesson
    "test_grade_isolation.py": 900,  # hostile fixture submissions graded in the sandbox (about 3 min on 2 cores)
    "test_manual.py::test_manual_points_survive_regrading_the_class": 300,  # grades one fixture notebook twice
    "test_release.py::test_a_released_notebook_runs": 300,  # runs the released fixture lesson once
    "test_translation.py::test_the_batch_runner_runs_a_korean_lesson": None,
    "test_results.py::test_recorded_results_are_read_back_from_an_executed_notebook": None,
    "test_grade_inputs.py::test_a_zip_in_a_students_folder_and_a_students_zip_are_graded": None,
}
BROWSER_TESTS = tuple(where for where in NOTEBOOK_TESTS  # also `browser`
                      if where.startswith(("test_jupyterlab_e2e.py::", "test_site.py::test_in_a_browser_")))

# What an unmarked test must not start, by a word of the command line it launches (see UnitGuard).
HEAVY_COMMANDS = {
    "ipykernel_launcher": "a Jupyter kernel",
    "course_utils.instructor.grade_driver": "a grading kernel",
    "ensurepip": "a virtual environment",
    "jupyterlab": "JupyterLab",
    "lab": "JupyterLab",
    "run-driver": "a Playwright browser",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark notebook and browser tests (see NOTEBOOK_TESTS) and give the long ones their time limit; refuse markers
    set anywhere else, so that this table stays the one place that says which tests are slow."""
    elsewhere = [item.nodeid for item in items if item.get_closest_marker("notebooks") or item.get_closest_marker("browser")]
    if elsewhere:
        raise pytest.UsageError("mark notebook and browser tests in NOTEBOOK_TESTS of tests/conftest.py, not in the test "
                                "file: " + ", ".join(elsewhere[:5]))
    for item in items:
        where = f"{item.path.name}::{item.name}"
        for prefix, seconds in NOTEBOOK_TESTS.items():
            if where.startswith(prefix):
                item.add_marker(pytest.mark.notebooks)
                if seconds is not None:
                    item.add_marker(pytest.mark.timeout(seconds))
        if where.startswith(BROWSER_TESTS):
            item.add_marker(pytest.mark.browser)


class UnitGuard:
    """While a test without the `notebooks` marker sets up and runs, starting a kernel, a venv, JupyterLab, a browser
    or a Dask worker process fails it, naming what it started: the unit run (-m "not notebooks") stays fast.

    It sees what the test's own process launches (subprocess commands, through an audit hook, and multiprocessing
    processes whose target is Dask's), not what a child process starts in turn."""

    test: str | None = None  # node id of the unmarked test now running, or None
    started: dict[str, list[str]] = {}  # node id -> what it started

    @classmethod
    def notice(cls, what: str) -> None:
        """Record that the running unmarked test started `what`, and fail it right there."""
        cls.started.setdefault(cls.test, []).append(what)
        raise RuntimeError(f"{cls.test} starts {what} but is not marked `notebooks`: add it to NOTEBOOK_TESTS in "
                           "tests/conftest.py (the unit run, -m 'not notebooks', starts no kernel, venv, Dask cluster "
                           "or browser)")

    @classmethod
    def audit(cls, event: str, args: tuple) -> None:
        """sys.addaudithook callback: check each subprocess command line an unmarked test launches."""
        if event != "subprocess.Popen" or cls.test is None:
            return
        argv = args[1].split() if isinstance(args[1], str) else [str(word) for word in args[1]]
        words = {os.path.basename(word) for word in argv}
        for word, what in HEAVY_COMMANDS.items():
            if word in words and (word != "lab" or "jupyter" in words):
                cls.notice(f"{what} ({' '.join(argv)[:200]})")

    @classmethod
    def check_process(cls, process: multiprocessing.process.BaseProcess) -> None:
        """Refuse a Dask worker (nanny) process, started through multiprocessing, in an unmarked test."""
        target = getattr(process, "_target", None)
        if cls.test is not None and getattr(target, "__module__", "").startswith("distributed"):
            cls.notice(f"a Dask worker process ({target.__qualname__})")


_start_process = multiprocessing.process.BaseProcess.start


def _guarded_start(process: multiprocessing.process.BaseProcess) -> None:
    """multiprocessing's Process.start behind UnitGuard.check_process."""
    UnitGuard.check_process(process)
    _start_process(process)


sys.addaudithook(UnitGuard.audit)
multiprocessing.process.BaseProcess.start = _guarded_start


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """Watch unmarked tests (UnitGuard) from the set-up of their fixtures to their teardown."""
    UnitGuard.test = None if item.get_closest_marker("notebooks") else item.nodeid
    try:
        yield
    finally:
        UnitGuard.test = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Fail an unmarked test that started something heavy, saying so, also where its code caught the guard's error."""
    outcome = yield
    report = outcome.get_result()
    started = UnitGuard.started.get(item.nodeid)
    if started and report.when == "call":
        message = f"started {'; '.join(started)} but is not marked `notebooks` (tests/conftest.py NOTEBOOK_TESTS)"
        if report.passed:
            report.outcome, report.longrepr = "failed", message
        else:
            report.sections.append(("unit guard", message))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serve files from a folder without logging every request."""

    def log_message(self, *args):  # noqa: D102 - silence the default stderr log
        pass


@pytest.fixture
def http_folder(tmp_path: Path):
    """Serve tmp_path/www over HTTP on 127.0.0.1; yields (folder, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium (Playwright) for the JupyterLab and website tests; skipped or failed as
    test_jupyterlab_e2e.require_chromium says when it is not installed."""
    from playwright.sync_api import sync_playwright
    from test_jupyterlab_e2e import CHROMIUM, CHROMIUM_ARGS, require_chromium

    require_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()
