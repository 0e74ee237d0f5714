"""Summarise a batch's recorded results: mean ± std per setting over seeds, and the results that never vary."""
from __future__ import annotations

import json
import math
from typing import Any, Iterable

from .plan import Run

SEED_NAMES = ("SEED",)
FINISHED = ("ok", "skipped")


def ordered(names: Iterable[str]) -> list[str]:
    """Unique names in first-seen order."""
    return list(dict.fromkeys(names))


def is_number(value: Any) -> bool:
    """True for finite ints and floats (not bools)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0.0
    return mean, math.sqrt(var)


def finished(runs: list[Run], notebook: str) -> list[Run]:
    """The runs of one notebook that have results (ran now or reused)."""
    return [r for r in runs if r.notebook == notebook and r.status in FINISHED]


def constant_names(runs: list[Run], notebook: str) -> list[str]:
    """Results of a notebook that every finished run recorded with one and the same value."""
    done = finished(runs, notebook)
    names = ordered(n for r in done for n in r.results)
    return [n for n in names if all(n in r.results for r in done)
            and len({json.dumps(r.results[n], sort_keys=True, default=str) for r in done}) == 1]


def constant_rows(runs: list[Run]) -> list[dict[str, Any]]:
    """One row per result that never varies: notebook, result, value, and in how many runs."""
    rows = []
    for notebook in ordered(r.notebook for r in runs):
        done = finished(runs, notebook)
        rows.extend({"notebook": notebook, "result": name, "value": done[0].results[name], "n": len(done)}
                    for name in constant_names(runs, notebook))
    return rows


def setting_text(run: Run) -> str:
    """The run's non-seed parameters as NAME=value, or '(defaults)'."""
    return ", ".join(f"{k}={v}" for k, v in run.varied.items() if k not in SEED_NAMES) or "(defaults)"


def summary_rows(runs: list[Run]) -> list[dict[str, Any]]:
    """Mean ± std (and n) of every numeric result that varies, per notebook and setting of the non-seed parameters."""
    constant = {notebook: set(constant_names(runs, notebook)) for notebook in ordered(r.notebook for r in runs)}
    table: dict[tuple[str, str], dict[str, list[float]]] = {}
    for r in runs:
        if r.status not in FINISHED:
            continue
        bucket = table.setdefault((r.notebook, setting_text(r)), {})
        for name, value in r.results.items():
            if is_number(value) and name not in constant[r.notebook]:
                bucket.setdefault(name, []).append(float(value))
    rows = []
    for (notebook, setting), results in table.items():
        for name, values in results.items():
            mean, std = mean_std(values)
            rows.append({"notebook": notebook, "setting": setting, "result": name,
                         "mean": mean, "std": std, "n": len(values)})
    return rows
