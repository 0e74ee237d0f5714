"""Plan a batch: validate {notebook: parameter grid} and expand it into runs, each with its own output folder."""
from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..hashing import file_digest
from .notebooks import NOTEBOOK_DIR, find_notebook, notebook_parameters, quick_parameters
from .values import RequestError, type_problem


@dataclass
class Run:
    """One execution of one notebook with one set of parameters."""

    notebook: str  # notebook stem
    source: str  # path of the notebook to execute
    slug: str  # folder name made of the varied parameters
    varied: dict[str, Any]  # the grid values of this run
    parameters: dict[str, Any]  # everything injected (quick profile + grid values)
    output: str  # executed notebook path
    profile: str = "full"
    source_sha: str = ""  # hash of the notebook that was (or will be) executed
    status: str = "pending"  # pending | ok | failed | skipped
    seconds: float = 0.0
    error: str = ""
    cell: str = ""
    results: dict[str, Any] = field(default_factory=dict)
    worker: str = ""  # where it ran: "local" (this machine's process pool) or a Dask worker's address

    @property
    def folder(self) -> Path:
        """The run's output folder."""
        return Path(self.output).parent


def compact(value: Any) -> str:
    """Short text for a value in a folder name."""
    return repr(value) if isinstance(value, float) else json.dumps(value, separators=(",", ":")).strip('"')


def slugify(varied: dict[str, Any], profile: str) -> str:
    """Return a readable, filesystem-safe folder name for one parameter combination."""
    readable = "__".join(f"{name}-{compact(value)}" for name, value in varied.items()) or "defaults"
    slug = re.sub(r"[^A-Za-z0-9._=-]+", "_", readable)
    if slug != readable or len(slug) > 80:
        digest = hashlib.sha1(json.dumps(varied, sort_keys=True, default=str).encode()).hexdigest()[:8]
        slug = f"{slug[:70]}_{digest}"
    return f"{slug}__quick" if profile == "quick" else slug


def expand_grid(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Return every combination of the grid (the cartesian product, in the given name order)."""
    names = list(grid)
    return [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))]


def output_dirs(declared: dict[str, Any], fixed: dict[str, Any]) -> dict[str, str]:
    """Parameters that name a folder a notebook writes to: NAME_DIR (not DATA_DIR) with a relative default
    inside the notebook folder (no '..'), unless set explicitly; {name: relative path}."""
    found = {}
    for name, default in declared.items():
        value = fixed.get(name, default)
        if (name.endswith("_DIR") and name != "DATA_DIR" and isinstance(value, str) and value
                and not Path(value).is_absolute() and ".." not in Path(value).parts):
            found[name] = value
    return found


def build_requests(notebooks: list[str] | dict[str, Any], grid: dict[str, Any]) -> dict[str, dict[str, list]]:
    """Combine notebook names (or {name: own grid}) with a common grid into {name: grid}."""
    items = list(notebooks.items()) if isinstance(notebooks, dict) else [(name, {}) for name in notebooks]
    requests = {}
    for name, own in items:
        own = own or {}
        if not isinstance(own, dict):
            raise RequestError(f"The grid of notebook {name!r} must be a mapping NAME: [values], got {own!r}.")
        merged = {**own, **{k: v for k, v in grid.items() if k not in own}}
        requests[str(name)] = {k: v if isinstance(v, list) else [v] for k, v in merged.items()}
    return requests


def grid_problems(notebook: Path, declared: dict[str, Any], grid: dict[str, list[Any]]) -> list[str]:
    """Every unknown parameter name, empty value list and wrong value type of one notebook's grid."""
    problems = []
    for pname, values in grid.items():
        if pname not in declared:
            close = [d for d in declared if d.lower() == str(pname).lower()]
            hint = f" Did you mean {close[0]}?" if close else ""
            problems.append(f"{notebook.stem}: unknown parameter {pname!r}; its parameters cell declares "
                            f"{', '.join(declared)}.{hint}")
        elif not isinstance(values, list) or not values:
            problems.append(f"{notebook.stem}: parameter {pname} needs a non-empty list of values, got {values!r}.")
        else:
            problems.extend(f"{notebook.stem}: wrong type for {pname}: {problem}." for problem in
                            (type_problem(value, declared[pname]) for value in values) if problem)
    return problems


def plan_runs(requests: dict[str, dict[str, list[Any]]], out: Path, quick: bool = False,
              notebook_dir: Path = NOTEBOOK_DIR, shared_dirs: bool = False) -> list[Run]:
    """Validate {notebook: grid} and return every run; raises RequestError before anything runs.

    Unless shared_dirs, folders a notebook writes to (see output_dirs) move into each run's own folder, so
    parallel runs never overwrite each other's saved models."""
    if not requests:
        raise RequestError("No notebook chosen: name at least one (e.g. 02_gradient_descent) or use --config.")
    problems: list[str] = []
    runs: list[Run] = []
    profile = "quick" if quick else "full"
    for name, grid in requests.items():
        try:
            notebook = find_notebook(name, notebook_dir)
            declared = notebook_parameters(notebook)
            base = quick_parameters(notebook) if quick else {}
        except RequestError as exc:
            problems.append(str(exc))
            continue
        problems.extend(grid_problems(notebook, declared, grid))
        if problems:
            continue
        if notebook.stem in {r.notebook for r in runs}:
            problems.append(f"{notebook.stem} is listed twice; give each notebook once (merge its grids).")
            continue
        sha = file_digest(notebook)
        for varied in expand_grid(grid):
            slug = slugify(varied, profile)
            output = out / notebook.stem / slug / f"{notebook.stem}.ipynb"
            parameters = {**base, **varied}
            if not shared_dirs:
                own = output_dirs(declared, parameters)
                parameters.update({n: str(output.parent / rel) for n, rel in own.items() if n not in grid})
            runs.append(Run(notebook.stem, str(notebook), slug, varied, parameters, str(output), profile, sha))
    if problems:
        raise RequestError("Nothing was run. Fix these first:\n  - " + "\n  - ".join(problems))
    return runs
