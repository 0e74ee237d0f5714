"""Read a lesson as committed: its recorded full-run results, its markdown and the text its code cells printed."""
from __future__ import annotations

import json
from functools import lru_cache

from course_utils.results import read_results
from notebook_runner import notebook_path


@lru_cache(maxsize=None)
def cells(name: str) -> tuple[dict, ...]:
    """All cells of the committed notebook."""
    return tuple(json.loads(notebook_path(name).read_text(encoding="utf-8"))["cells"])


def results(name: str) -> dict:
    """The results recorded by the committed full run."""
    return read_results(notebook_path(name))


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
