"""Shared test setup: headless plotting, no progress widgets, and a local HTTP server fixture."""
from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["COURSE_PROGRESS"] = "0"


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
