"""Record key results inside an executed notebook and read them back from the .ipynb file."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

from IPython.display import display

from .i18n import t

RESULT_MIME = "application/vnd.course-kit.result+json"


def record(name: str, value: float | int | str | bool | list | dict) -> None:
    """Store a named result as a notebook output that tests and the batch runner can read back."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"A result name must be a Python-identifier-like string, got {name!r}.")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"Result {name!r} is {value}; only finite numbers can be recorded.")
    try:
        payload = json.loads(json.dumps({"name": name, "value": value}))
    except TypeError as exc:
        raise TypeError(f"Result {name!r} must be JSON-serialisable (numbers, strings, lists, dicts): {exc}") from exc
    shown = f"{value:.4f}" if isinstance(value, float) else repr(value)
    display({RESULT_MIME: payload, "text/plain": t("recorded {name} = {value}", name=name, value=shown)}, raw=True)


def read_results(notebook: str | os.PathLike[str] | dict) -> dict[str, object]:
    """Return {name: value} for every result recorded in an executed notebook (later records win)."""
    if isinstance(notebook, dict):
        content = notebook
    else:
        path = Path(notebook)
        if not path.is_file():
            raise FileNotFoundError(f"No notebook at {path}.")
        content = json.loads(path.read_text(encoding="utf-8"))
    results: dict[str, object] = {}
    for cell in content.get("cells", []):
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(RESULT_MIME)
            if payload is not None:
                results[payload["name"]] = payload["value"]
    return results


DATA_SOURCES = ("real", "real subset", "downloaded", "offline fallback", "synthetic")


def record_data_source(kind: str, description: str) -> None:
    """Record where a lesson's data came from: `data_source` (one word of DATA_SOURCES) and a human description."""
    if kind not in DATA_SOURCES:
        raise ValueError(f"data source must be one of {', '.join(DATA_SOURCES)}; got {kind!r}.")
    if not description or not description.strip():
        raise ValueError("describe the data in a few words (which data set, which part, from where).")
    record("data_source", kind)
    record("data_description", description.strip())
