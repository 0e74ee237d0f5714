"""Grade answers by hand in a local web page (standard library http.server), writing into the gradebook.

    python -m course_utils.instructor.grade manual [--out DIR | --gradebook FILE] [--port 8765] [--no-browser]

The page lists every lesson's items graded by hand (manual.py: the questionnaire, markdown answers, open questions)
with how many answers are still to grade. An item's page shows the question and the instructor's reference answer,
then every student's answer (from their latest graded file) with a form for points and a comment; saving stores
them in the gradebook's `manual_scores`, beside the automatic grades, and the next `grade` run or `grade export`
counts them. Answers still to grade, and answers changed since they were graded, come first.

The server listens on 127.0.0.1 only, answers only requests addressed to that host, and accepts a form only with
the token of this run (a web page open in another tab cannot post grades). Students' answers are shown as text, never
as HTML. Stop it with Ctrl-C.
"""
from __future__ import annotations

import argparse
import secrets
import sqlite3
import sys
import webbrowser
from contextlib import closing
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlparse

from ..paths import display_path
from .grade_export import gradebook_files
from .gradebook import connect, read_latest
from .gradebook_extras import CHANGED, TO_GRADE
from .manual import Item, lesson_items, set_manual_score
from .notebooks import NOTEBOOK_DIR
from .values import RequestError

ORDER = {TO_GRADE: 0, CHANGED: 1}  # what the instructor sees first on an item's page


def lesson_questions(lesson: str, notebook_dir: Path) -> dict[str, Item]:
    """The items of a lesson's instructor notebook by name ({} when the notebook is not there)."""
    from .grade_prepare import read_lesson
    from .notebooks import find_notebook

    try:
        return {item.name: item for item in lesson_items(read_lesson(find_notebook(lesson, notebook_dir)))}
    except RequestError:
        return {}


def overview(gradebook: Path) -> list[dict]:
    """Per lesson and item graded by hand: how many answers are in each status."""
    gradings, problems = read_latest(gradebook_files(gradebook))
    if problems:
        raise RequestError("Cannot read the gradebook: " + "; ".join(problems))
    found: dict[tuple[str, str], dict] = {}
    for grading in gradings:
        for score in grading.scores:
            if score.get("manual"):
                entry = found.setdefault((grading.lesson, score["exercise"]),
                                         {"lesson": grading.lesson, "item": score["exercise"], "counts": {}})
                entry["counts"][score["status"]] = entry["counts"].get(score["status"], 0) + 1
    return [found[key] for key in sorted(found)]


def answers_of(gradebook: Path, lesson: str, item: str) -> list[dict]:
    """Every student's answer to one item (latest graded file) with its status, points and comment."""
    gradings, _ = read_latest(gradebook_files(gradebook))
    rows = []
    for grading in gradings:
        score = next((s for s in grading.scores if s.get("manual") and s["exercise"] == item), None)
        if grading.lesson == lesson and score is not None:
            rows.append({"student": grading.student, "score": score, "cells": grading.answers.get(item, []),
                         "anchor": "s-" + quote(grading.student, safe="")})
    return sorted(rows, key=lambda r: (ORDER.get(r["score"]["status"], 2), r["student"]))


def render(name: str, **context) -> bytes:
    """A page from templates/ (autoescaped: student text is shown as text)."""
    from .grade_report import environment

    return environment().get_template(name).render(**context).encode("utf-8")


class Handler(BaseHTTPRequestHandler):
    """The pages; the server carries the gradebook, the notebook folder and the token."""

    server: ManualServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        """Keep the terminal quiet (one line per saved grade is printed instead)."""

    def send(self, status: int, body: bytes, kind: str = "text/html; charset=utf-8", where: str = "") -> None:
        """Answer with a body (or a redirect to `where`)."""
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if where:
            self.send_header("Location", where)
        self.end_headers()
        self.wfile.write(body)

    def allowed(self) -> bool:
        """Whether the request is addressed to this server by its loopback name (not a rebound DNS name)."""
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        if host in ("127.0.0.1", "localhost"):
            return True
        self.send(403, b"Forbidden: open the page at http://127.0.0.1 as printed by the command.", "text/plain")
        return False

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        """The overview, or one item's answers."""
        if not self.allowed():
            return
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        try:
            if url.path == "/":
                body = render("grade_manual.html.j2", items=overview(self.server.gradebook), item=None,
                              gradebook=display_path(self.server.gradebook))
            elif url.path == "/item" and {"lesson", "item"} <= set(query):
                questions = lesson_questions(query["lesson"], self.server.notebook_dir)
                body = render("grade_manual.html.j2", item=query["item"], lesson=query["lesson"],
                              question=questions.get(query["item"]), token=self.server.token,
                              answers=answers_of(self.server.gradebook, query["lesson"], query["item"]),
                              gradebook=display_path(self.server.gradebook))
            else:
                self.send(404, b"Not found", "text/plain")
                return
        except RequestError as exc:
            self.send(500, str(exc).encode(), "text/plain; charset=utf-8")
            return
        self.send(200, body)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        """Save one student's points and comment, then go back to the item's page."""
        if not self.allowed():
            return
        length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("utf-8", "replace")).items()}
        if self.path != "/save" or not secrets.compare_digest(form.get("token", ""), self.server.token):
            self.send(403, b"Forbidden: reload the page (the server was restarted, or this form is not its own).",
                      "text/plain")
            return
        try:
            text = form.get("points", "").strip().replace(",", ".")
            points = float(text) if text else None
            with closing(connect(self.server.gradebook, timeout=10)) as connection:  # the schema made current
                set_manual_score(connection, form.get("student", ""), form.get("lesson", ""), form.get("item", ""),
                                 points, form.get("comment", ""))
        except (RequestError, ValueError, sqlite3.Error, OSError) as exc:
            self.send(400, f"Not saved: {exc}. Go back, correct it and save again.".encode(), "text/plain; charset=utf-8")
            return
        print(f"  {form.get('student')} / {form.get('lesson')} / {form.get('item')}: "
              f"{'withdrawn' if points is None else f'{points:g}'}", flush=True)
        where = "/item?" + urlencode({"lesson": form["lesson"], "item": form["item"]})
        self.send(303, b"", where=f"{where}#s-{quote(form['student'], safe='')}")


class ManualServer(HTTPServer):
    """The page's server: bound to 127.0.0.1, with the gradebook and this run's form token."""

    def __init__(self, gradebook: Path, notebook_dir: Path = NOTEBOOK_DIR, port: int = 0) -> None:
        self.gradebook, self.notebook_dir, self.token = gradebook, notebook_dir, secrets.token_urlsafe(24)
        super().__init__(("127.0.0.1", port), Handler)

    @property
    def url(self) -> str:
        """The address to open."""
        return f"http://127.0.0.1:{self.server_address[1]}/"


def main(argv: list[str] | None = None) -> int:
    """Command line: serve the page until Ctrl-C; 2 for a bad request."""
    from .grade import DEFAULT_OUT

    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.grade manual", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(DEFAULT_OUT), help=f"grading output folder (default {DEFAULT_OUT})")
    parser.add_argument("--gradebook", type=Path, help="the gradebook file (default OUT/gradebook.sqlite)")
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0: any free one)")
    parser.add_argument("--no-browser", action="store_true", help="do not open the page in a browser")
    parser.add_argument("--notebook-dir", type=Path, default=NOTEBOOK_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    gradebook = (args.gradebook or args.out / "gradebook.sqlite").expanduser().resolve()
    if not gradebook.is_file():
        print(f"error: no gradebook at {display_path(gradebook)}: grade the class first (the grading run stores the "
              "answers), or give --out or --gradebook.", file=sys.stderr)
        return 2
    try:
        server = ManualServer(gradebook, args.notebook_dir, args.port)
    except OSError as exc:
        print(f"error: cannot listen on 127.0.0.1:{args.port} ({exc.strerror}); choose another --port (0: any free "
              "one).", file=sys.stderr)
        return 2
    print(f"Grading by hand: {server.url} (gradebook {display_path(gradebook)}); Ctrl-C to stop.", flush=True)
    if not args.no_browser:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped; the points given are in the gradebook (`grade export` counts them).")
    finally:
        server.server_close()
    return 0
