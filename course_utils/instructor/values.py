"""Parameter values for notebook runs: Python literals from the command line or a notebook, and type checks."""
from __future__ import annotations

import ast
from typing import Any

UNPARSED = object()  # stands for a notebook default that is not a Python literal (any value may replace it)


class RequestError(ValueError):
    """A run request names a notebook, parameter or value that does not fit; nothing was run."""


def read_literal(source: str | ast.expr) -> Any:
    """Evaluate a Python literal (text or expression node); raise ValueError for anything else."""
    try:
        return ast.literal_eval(source)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
        raise ValueError(f"not a Python literal ({type(exc).__name__}: {exc})") from exc


def parse_value(text: str) -> Any:
    """Parse one command-line value: a Python literal (0.1, 3, 'x', [1, 2], True), true/false/none, else a string."""
    text = text.strip()
    try:
        return read_literal(text)
    except ValueError:
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered in ("none", "null"):
            return None
        return text


def split_values(text: str) -> list[str]:
    """Split 'a,b,[1,2]' at the commas outside brackets and quotes."""
    parts, depth, quote, current = [], 0, "", []
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def parse_assignment(text: str) -> tuple[str, list[Any]]:
    """Parse a -p option 'NAME=v1,v2' into (NAME, [v1, v2])."""
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not name or not values.strip():
        raise RequestError(f"Cannot read -p {text!r}: write NAME=value or NAME=v1,v2,v3 (e.g. -p SEED=0,1,2).")
    return name, [parse_value(v) for v in split_values(values)]


def type_problem(value: Any, default: Any) -> str | None:
    """Return why value cannot replace default (None when the types agree); ints are accepted for floats."""
    if default is UNPARSED or default is None:
        return None
    expected = type(default)
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif isinstance(default, (list, tuple)):
        ok = isinstance(value, (list, tuple))
    else:
        ok = isinstance(value, expected)
    if ok:
        return None
    return f"{value!r} is a {type(value).__name__}, but the default {default!r} is a {expected.__name__}"
