"""Shared test setup: headless plotting, no progress widgets, notebook/browser markers with their time limits,
and a local HTTP server fixture."""
from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["COURSE_PROGRESS"] = "0"
os.environ["COURSE_LANG"] = "en"  # tests that expect Korean set it themselves; a Korean LANG must not change the rest

# Tests that execute a notebook or drive a browser, by test module (or module::test): marked `notebooks` so that
# `-m "not notebooks"` runs the unit tests alone; the value is a longer pytest-timeout where the default is too short.
NOTEBOOK_TESTS: dict[str, int | None] = {
    "test_nb0": None,  # every lesson's quick run (test_nb01_... to test_nb08_...)
    "test_notebooks_nbval.py": 1900,  # its nbval subprocess may take up to 1800 s
    "test_jupyterlab_e2e.py": 900,  # JupyterLab start-up plus up to 600 s of cells
    "test_exercise_display.py::test_a_failed_check_in_an_executed_notebook": None,
    "test_grade.py": 900,  # grades a class of 22 fixture submissions (about 3 min on 2 cores) and a real lesson
    "test_grade_isolation.py": 900,  # hostile fixture submissions graded in the sandbox (about 3 min on 2 cores)
    "test_translation.py::test_the_batch_runner_runs_a_korean_lesson": None,
}
BROWSER_MODULES = ("test_jupyterlab_e2e.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark notebook and browser tests (see NOTEBOOK_TESTS) and give the long ones their time limit."""
    for item in items:
        where = f"{item.path.name}::{item.name}"
        for prefix, seconds in NOTEBOOK_TESTS.items():
            if where.startswith(prefix):
                item.add_marker(pytest.mark.notebooks)
                if seconds is not None:
                    item.add_marker(pytest.mark.timeout(seconds))
        if item.path.name in BROWSER_MODULES:
            item.add_marker(pytest.mark.browser)


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
