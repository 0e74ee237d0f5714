"""Read a lesson as committed: its recorded full-run results, its markdown and the text its code cells printed.

``COURSE_CLAIMS_RUN=path/to/NN_name.ipynb pytest tests/test_claims_NN.py`` points the claim tests at another executed
run of one lesson (a rerun, another seed, a student's run): the run replaces the committed notebook of the lesson whose
two-digit number its file name starts with; the other lessons stay as committed.
"""
from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path

from course_utils.results import read_results
from notebook_runner import notebook_path

RUN_VARIABLE = "COURSE_CLAIMS_RUN"


def claims_run() -> Path | None:
    """The executed notebook named by $COURSE_CLAIMS_RUN, or None; a missing file fails with the path."""
    value = os.environ.get(RUN_VARIABLE, "").strip()
    if not value:
        return None
    path = Path(value).expanduser().resolve()
    assert path.is_file(), f"{RUN_VARIABLE}={value}: no such executed notebook; give the path of an .ipynb file"
    assert path.name[:2].isdigit(), f"{RUN_VARIABLE}={value}: the file name must start with the lesson number (04_...)"
    return path


def source(name: str) -> Path:
    """The notebook the claims of lesson `name` are checked against: $COURSE_CLAIMS_RUN for its lesson, else committed."""
    run = claims_run()
    if run is not None and run.name[:2] == name[:2]:
        return run
    return notebook_path(name)


@lru_cache(maxsize=None)
def _notebook(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _cells(path: Path) -> tuple[dict, ...]:
    return tuple(_notebook(path)["cells"])


def cells(name: str) -> tuple[dict, ...]:
    """All cells of the notebook the claims are checked against (committed unless $COURSE_CLAIMS_RUN names a run)."""
    return _cells(source(name))


def results(name: str) -> dict:
    """The results recorded by that notebook's run (the committed full run by default)."""
    return read_results(source(name))


def markdown(name: str) -> str:
    """Every markdown cell, joined."""
    return "\n\n".join("".join(c["source"]) for c in cells(name) if c["cell_type"] == "markdown")


def printed(name: str, source_contains: str) -> str:
    """The printed (stream and text/plain) output of the code cell whose source contains a string."""
    matches = [c for c in cells(name) if c["cell_type"] == "code" and source_contains in "".join(c["source"])]
    assert len(matches) == 1, f"{len(matches)} code cells of {name} contain {source_contains!r}"
    text = []
    for output in matches[0].get("outputs", []):
        if output.get("output_type") == "stream":
            text.append("".join(output["text"]))
        elif "text/plain" in output.get("data", {}):
            text.append("".join(output["data"]["text/plain"]))
    return "".join(text)


def code(name: str, source_contains: str) -> str:
    """The source of the one code cell that contains a string."""
    matches = ["".join(c["source"]) for c in cells(name) if c["cell_type"] == "code" and source_contains in "".join(c["source"])]
    assert len(matches) == 1, f"{len(matches)} code cells of {name} contain {source_contains!r}"
    return matches[0]


def printed_line(name: str, source_contains: str, pattern: str) -> str:
    """The one line printed by the code cell whose source contains a string that matches a regular expression."""
    lines = [line for line in printed(name, source_contains).splitlines() if re.match(pattern, line)]
    assert len(lines) == 1, f"the cell of {name} with {source_contains!r} printed {len(lines)} lines like {pattern!r}"
    return lines[0]


def widget_states(name: str, model_name: str) -> list[dict]:
    """The saved state of each widget of one model class ("CheckboxModel", ...) as the run left it: nbclient, which
    runs the lessons, stores the state of every widget a run created in the notebook's metadata."""
    saved = _notebook(source(name))["metadata"].get("widgets", {}).get("application/vnd.jupyter.widget-state+json")
    assert saved, f"{name} holds no saved widget state: save it from a run that showed its widgets"
    return [model["state"] for model in saved["state"].values() if model["model_name"] == model_name]
