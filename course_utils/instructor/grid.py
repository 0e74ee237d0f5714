"""Run course notebooks over a parameter grid with papermill, in parallel, and report every run's results.

Example (two learning rates x three seeds of lesson 02, quick profile, two workers):

    python -m course_utils.batch 02_gradient_descent -p LEARNING_RATE=0.01,0.1 -p SEED=0,1,2 --quick -j 2

or with a YAML file (``python -m course_utils.batch --config grid.yaml``)::

    notebooks: [02_gradient_descent]      # or a mapping: {02_gradient_descent: {LEARNING_RATE: [0.01, 0.1]}}
    grid: {SEED: [0, 1, 2]}                # applies to every notebook above
    quick: true
    workers: 2

Each run writes ``OUT/<notebook>/<parameters>/<notebook>.ipynb`` and ``run.json``; all runs are collected in
``OUT/results.csv`` and a self-contained ``OUT/report.html``. Runs that already succeeded with the same notebook
and parameters are skipped (``--redo`` runs them again); failed runs are retried. Folders a notebook saves to
(parameters NAME_DIR with a relative default, e.g. MODEL_DIR) go inside each run's folder unless ``--shared-dirs``.
"""
from __future__ import annotations

import argparse
import ast
import base64
import csv
import hashlib
import html
import io
import itertools
import json
import math
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .results import read_results

REPO = Path(__file__).resolve().parents[1]
CELL_TIMEOUT = 1800  # seconds per cell; a hung kernel fails its run instead of blocking the batch
NOTEBOOK_DIR = REPO / "notebooks"
SEED_NAMES = ("SEED",)
RUN_FILE = "run.json"
_UNPARSED = object()  # default of a parameter whose value is not a Python literal


class BatchError(ValueError):
    """The batch request is invalid (unknown notebook, parameter or value type); nothing was run."""


# --------------------------------------------------------------------------- notebooks and their parameters
def find_notebook(name: str, notebook_dir: Path = NOTEBOOK_DIR) -> Path:
    """Resolve a notebook given as a path, a name (with or without .ipynb) or a unique number prefix like '02'."""
    candidate = Path(name)
    if candidate.suffix == ".ipynb" and candidate.is_file():
        return candidate.resolve()
    available = sorted(notebook_dir.glob("*.ipynb"))
    stem = candidate.stem if candidate.suffix == ".ipynb" else name
    exact = [p for p in available if p.stem == stem]
    prefixed = [p for p in available if p.stem.startswith(f"{stem}_")]
    if exact or len(prefixed) == 1:
        return (exact or prefixed)[0].resolve()
    choices = ", ".join(p.stem for p in available) or "(none)"
    reason = "is ambiguous" if prefixed else "is not a notebook"
    raise BatchError(f"Notebook {name!r} {reason} in {_shown(notebook_dir)}. Choose from: {choices}.")


def _load(notebook: Path) -> dict:
    """Read a notebook's JSON."""
    return json.loads(notebook.read_text(encoding="utf-8"))


def parameters_cell(notebook: Path) -> str:
    """Return the source of the notebook's cell tagged 'parameters', failing clearly when there is none."""
    tagged = [c for c in _load(notebook)["cells"]
              if c.get("cell_type") == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise BatchError(f"{notebook.name} must have exactly one code cell tagged 'parameters' "
                         f"(found {len(tagged)}); see CONTRIBUTING.md.")
    source = tagged[0]["source"]
    return "".join(source) if isinstance(source, list) else source


def notebook_parameters(notebook: Path) -> dict[str, Any]:
    """Return {NAME: default} for every assignment in the parameters cell (non-literal defaults map to _UNPARSED)."""
    source = parameters_cell(notebook)
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise BatchError(f"The parameters cell of {notebook.name} is not valid Python: {exc}") from exc
    found: dict[str, Any] = {}
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        value = getattr(node, "value", None)
        for target in targets:
            if isinstance(target, ast.Name) and value is not None:
                try:
                    found[target.id] = ast.literal_eval(value)
                except ValueError:
                    found[target.id] = _UNPARSED
    return found


def quick_parameters(notebook: Path) -> dict[str, Any]:
    """Return the quick profile from the notebook metadata (course_kit.quick_parameters)."""
    quick = _load(notebook).get("metadata", {}).get("course_kit", {}).get("quick_parameters")
    if not quick:
        raise BatchError(f"{notebook.name} has no quick profile (metadata course_kit.quick_parameters); "
                         "add one or run without --quick.")
    return dict(quick)


# --------------------------------------------------------------------------- values and types
def parse_value(text: str) -> Any:
    """Parse one command-line value: a Python literal (0.1, 3, 'x', [1, 2], True), true/false/none, else a string."""
    text = text.strip()
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
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
        raise BatchError(f"Cannot read -p {text!r}: write NAME=value or NAME=v1,v2,v3 (e.g. -p SEED=0,1,2).")
    parsed = [parse_value(v) for v in split_values(values)]
    return name, parsed


def type_problem(value: Any, default: Any) -> str | None:
    """Return why value cannot replace default (None when the types agree); ints are accepted for floats."""
    if default is _UNPARSED or default is None:
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


# --------------------------------------------------------------------------- planning
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

    @property
    def folder(self) -> Path:
        """The run's output folder."""
        return Path(self.output).parent


def slugify(varied: dict[str, Any], profile: str) -> str:
    """Return a readable, filesystem-safe folder name for one parameter combination."""
    parts = [f"{name}-{_compact(value)}" for name, value in varied.items()]
    readable = "__".join(parts) or "defaults"
    slug = re.sub(r"[^A-Za-z0-9._=-]+", "_", readable)
    if slug != readable or len(slug) > 80:
        digest = hashlib.sha1(json.dumps(varied, sort_keys=True, default=str).encode()).hexdigest()[:8]
        slug = f"{slug[:70]}_{digest}"
    return f"{slug}__quick" if profile == "quick" else slug


def _compact(value: Any) -> str:
    """Short text for a value in a folder name."""
    return json.dumps(value, separators=(",", ":")).strip('"') if not isinstance(value, float) else repr(value)


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


def plan_runs(requests: dict[str, dict[str, list[Any]]], out: Path, quick: bool = False,
              notebook_dir: Path = NOTEBOOK_DIR, shared_dirs: bool = False) -> list[Run]:
    """Validate {notebook: grid} and return every run; raises BatchError before anything runs.

    Unless shared_dirs, folders a notebook writes to (see output_dirs) move into each run's own folder, so
    parallel runs never overwrite each other's saved models."""
    if not requests:
        raise BatchError("No notebook chosen: name at least one (e.g. 02_gradient_descent) or use --config.")
    problems: list[str] = []
    runs: list[Run] = []
    for name, grid in requests.items():
        try:
            notebook = find_notebook(name, notebook_dir)
            declared = notebook_parameters(notebook)
            base = quick_parameters(notebook) if quick else {}
        except BatchError as exc:
            problems.append(str(exc))
            continue
        for pname, values in grid.items():
            if pname not in declared:
                close = [d for d in declared if d.lower() == pname.lower()]
                hint = f" Did you mean {close[0]}?" if close else ""
                problems.append(f"{notebook.stem}: unknown parameter {pname!r}; its parameters cell declares "
                                f"{', '.join(declared)}.{hint}")
                continue
            if not isinstance(values, list) or not values:
                problems.append(f"{notebook.stem}: parameter {pname} needs a non-empty list of values, got {values!r}.")
                continue
            for value in values:
                problem = type_problem(value, declared[pname])
                if problem:
                    problems.append(f"{notebook.stem}: wrong type for {pname}: {problem}.")
        if problems:
            continue
        if notebook.stem in {r.notebook for r in runs}:
            problems.append(f"{notebook.stem} is listed twice; give each notebook once (merge its grids).")
            continue
        profile = "quick" if quick else "full"
        sha = hashlib.sha256(notebook.read_bytes()).hexdigest()
        for varied in expand_grid(grid):
            slug = slugify(varied, profile)
            output = out / notebook.stem / slug / f"{notebook.stem}.ipynb"
            parameters = {**base, **varied}
            if not shared_dirs:
                own = output_dirs(declared, parameters)
                parameters.update({name: str(output.parent / rel) for name, rel in own.items() if name not in grid})
            runs.append(Run(notebook.stem, str(notebook), slug, varied, parameters, str(output), profile, sha))
    if problems:
        raise BatchError("Nothing was run. Fix these first:\n  - " + "\n  - ".join(problems))
    return runs


# --------------------------------------------------------------------------- executing
def execute(run: Run, threads: int | None = None, timeout: int | None = None, keep_record: bool = True) -> Run:
    """Execute one run with papermill (in this process), fill in status, error, cell and results, save run.json."""
    from papermill.exceptions import PapermillExecutionError

    from .execution import execute_notebook

    if threads:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, str(threads))
    os.environ["COURSE_PROGRESS"] = "0"  # see train.PROGRESS_ENV_VAR; the kernel inherits it: clean saved outputs
    Path(run.output).parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    run.error, run.cell = "", ""
    try:
        execute_notebook(run.source, run.output, run.parameters, cwd=Path(run.source).parent, timeout=timeout)
        run.status = "ok"
    except PapermillExecutionError as exc:
        run.status = "failed"
        first_line = next((ln for ln in exc.source.splitlines() if ln.strip()), "")
        run.cell = f"cell {exc.cell_index} (In [{exc.exec_count}]): {first_line[:80]}"
        run.error = f"{exc.ename}: {exc.evalue}"
    except Exception as exc:  # kernel death, timeout, unreadable notebook: the run fails, the batch goes on
        run.status = "failed"
        run.error = f"{type(exc).__name__}: {exc}"
    run.seconds = time.perf_counter() - start
    try:
        run.results = read_results(run.output) if Path(run.output).is_file() else {}
    except (OSError, ValueError):
        run.results = {}
    if keep_record:
        (run.folder / RUN_FILE).write_text(json.dumps(asdict(run), indent=2, ensure_ascii=False, default=str) + "\n")
    return run


def finished_before(run: Run) -> Run | None:
    """Return the stored run when the same notebook (unchanged) and parameters already succeeded in this folder."""
    stored = run.folder / RUN_FILE
    if not stored.is_file() or not Path(run.output).is_file():
        return None
    try:
        previous = json.loads(stored.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    same = previous.get("parameters") == json.loads(json.dumps(run.parameters, default=str))
    if previous.get("status") != "ok" or not same or previous.get("source_sha") != run.source_sha:
        return None
    kept = Run(**{k: v for k, v in previous.items() if k in Run.__dataclass_fields__})
    kept.status = "skipped"
    return kept


def run_batch(runs: list[Run], workers: int = 1, redo: bool = False, timeout: int | None = None,
              progress: bool = True, keep_records: bool = True) -> list[Run]:
    """Execute the runs (skipping earlier successes unless redo) with N worker processes; return them all."""
    from tqdm.auto import tqdm

    done: dict[int, Run] = {}
    todo: list[int] = []
    for index, run in enumerate(runs):
        previous = None if redo or not keep_records else finished_before(run)
        if previous is not None:
            done[index] = previous
        else:
            todo.append(index)
    workers = max(1, min(workers, len(todo) or 1))
    threads = max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None
    bar = tqdm(total=len(runs), initial=len(done), desc="batch", unit="run", disable=not progress)
    failed = 0
    try:
        if workers == 1:
            for index in todo:
                done[index] = execute(runs[index], threads, timeout, keep_records)
                failed += done[index].status == "failed"
                bar.set_postfix(failed=failed)
                bar.update()
        else:
            import multiprocessing

            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                futures = {pool.submit(execute, runs[i], threads, timeout, keep_records): i for i in todo}
                for future in as_completed(futures):
                    index = futures[future]
                    try:
                        done[index] = future.result()
                    except Exception as exc:  # the worker process itself died
                        run = runs[index]
                        run.status, run.error = "failed", f"worker crashed: {type(exc).__name__}: {exc}"
                        done[index] = run
                    failed += done[index].status == "failed"
                    bar.set_postfix(failed=failed)
                    bar.update()
    finally:
        bar.close()
    return [done[i] for i in range(len(runs))]


# --------------------------------------------------------------------------- reporting
def _cell_value(value: Any) -> Any:
    """A CSV-friendly value: numbers and strings as they are, everything else as JSON."""
    return value if isinstance(value, (int, float, str)) or value is None else json.dumps(value, ensure_ascii=False)


def write_csv(runs: list[Run], path: Path) -> None:
    """Write one row per run: notebook, run, status, seconds, every parameter, every recorded result, error."""
    param_names = _ordered(name for run in runs for name in run.varied)
    result_names = _ordered(name for run in runs for name in run.results)
    header = ["notebook", "run", "profile", "status", "seconds", *param_names,
              *(f"result.{n}" for n in result_names), "cell", "error", "output"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for run in runs:
            writer.writerow([run.notebook, run.slug, run.profile, run.status, f"{run.seconds:.2f}",
                             *(_cell_value(run.varied.get(n, "")) for n in param_names),
                             *(_cell_value(run.results.get(n, "")) for n in result_names),
                             run.cell, run.error, _relative(Path(run.output), path.parent)])


def _ordered(names: Iterable[str]) -> list[str]:
    """Unique names in first-seen order."""
    return list(dict.fromkeys(names))


def _relative(path: Path, start: Path) -> str:
    """Path relative to start (for links inside the output folder)."""
    return Path(os.path.relpath(path, start)).as_posix()


def _is_number(value: Any) -> bool:
    """True for finite ints and floats (not bools)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0.0
    return mean, math.sqrt(var)


def parameter_plots(runs: list[Run], max_results: int = 9) -> list[tuple[str, str, str]]:
    """Return (notebook, parameter, base64 PNG) for each varied non-seed parameter: results vs the parameter,
    mean with error bars (standard deviation over seeds), one line per setting of the other varied parameters."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figures = []
    for notebook in _ordered(r.notebook for r in runs):
        ok = [r for r in runs if r.notebook == notebook and r.status in ("ok", "skipped")]
        varied = [n for n in _ordered(n for r in ok for n in r.varied)
                  if len({json.dumps(r.varied.get(n), sort_keys=True) for r in ok}) > 1]
        numeric = [n for n in _ordered(n for r in ok for n in r.results)  # numbers that differ between runs
                   if all(_is_number(r.results.get(n)) for r in ok) and len({r.results[n] for r in ok}) > 1]
        numeric = numeric[:max_results]
        for param in [n for n in varied if n not in SEED_NAMES]:
            others = [n for n in varied if n != param and n not in SEED_NAMES]
            groups: dict[str, list[Run]] = {}
            for r in ok:
                label = ", ".join(f"{o}={r.varied.get(o)}" for o in others)
                groups.setdefault(label, []).append(r)
            if not numeric:
                continue
            xs_all = _ordered(json.dumps(r.varied[param]) for r in ok)
            numeric_x = all(_is_number(json.loads(x)) for x in xs_all)
            cols = min(3, len(numeric))
            rows = math.ceil(len(numeric) / cols)
            fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), dpi=80, squeeze=False)
            for ax, result in zip(axes.flat, numeric):
                for label, members in groups.items():
                    xs, means, stds = [], [], []
                    for x in xs_all:
                        vals = [r.results[result] for r in members if json.dumps(r.varied[param]) == x]
                        if vals:
                            mean, std = _mean_std(vals)
                            xs.append(json.loads(x) if numeric_x else xs_all.index(x))
                            means.append(mean)
                            stds.append(std)
                    ax.errorbar(xs, means, yerr=stds, marker="o", capsize=4, label=label or None)
                if numeric_x and all(x > 0 for x in map(json.loads, xs_all)) and \
                        max(map(json.loads, xs_all)) / min(map(json.loads, xs_all)) >= 50:
                    ax.set_xscale("log")
                if not numeric_x:
                    ax.set_xticks(range(len(xs_all)), [str(json.loads(x)) for x in xs_all])
                ax.set_xlabel(param)
                ax.set_title(result, fontsize=10)
                ax.grid(alpha=0.3)
                if len(groups) > 1:
                    ax.legend(fontsize=7)
            for ax in list(axes.flat)[len(numeric):]:
                ax.axis("off")
            seeds = [n for n in varied if n in SEED_NAMES]
            note = f" (mean ± std over {', '.join(seeds)})" if seeds else ""
            fig.suptitle(f"{notebook}: results vs {param}{note}", fontsize=11)
            fig.tight_layout()
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png")
            plt.close(fig)
            figures.append((notebook, param, base64.b64encode(buffer.getvalue()).decode("ascii")))
    return figures


def summary_rows(runs: list[Run]) -> list[dict[str, Any]]:
    """Mean ± std (and n) of every numeric result per notebook and setting of the non-seed parameters."""
    table: dict[tuple[str, str], dict[str, list[float]]] = {}
    for r in runs:
        if r.status not in ("ok", "skipped"):
            continue
        setting = ", ".join(f"{k}={v}" for k, v in r.varied.items() if k not in SEED_NAMES) or "(defaults)"
        bucket = table.setdefault((r.notebook, setting), {})
        for name, value in r.results.items():
            if _is_number(value):
                bucket.setdefault(name, []).append(float(value))
    rows = []
    for (notebook, setting), results in table.items():
        for name, values in results.items():
            mean, std = _mean_std(values)
            rows.append({"notebook": notebook, "setting": setting, "result": name,
                         "mean": mean, "std": std, "n": len(values)})
    return rows


def write_html(runs: list[Run], path: Path, title: str = "Batch report") -> None:
    """Write a self-contained HTML report: counts, plots (inline PNG), summary, failures, and every run."""
    esc = html.escape
    failed = [r for r in runs if r.status == "failed"]
    counts = {s: sum(r.status == s for r in runs) for s in ("ok", "skipped", "failed")}
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title><style>body{{font-family:sans-serif;margin:1.5em;color:#222}}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}"
        "th{background:#f0f0f0}.failed{background:#fde8e8}img{max-width:100%}code{font-size:12px}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p>{len(runs)} runs: {counts['ok']} ran now, {counts['skipped']} reused from an earlier batch, "
        f"<b>{counts['failed']} failed</b>.</p>",
    ]
    if failed:
        parts.append("<h2>Failed runs</h2><table><tr><th>notebook</th><th>parameters</th><th>cell</th>"
                     "<th>error</th><th>executed notebook</th></tr>")
        for r in failed:
            link = _relative(Path(r.output), path.parent)
            parts.append(f"<tr class='failed'><td>{esc(r.notebook)}</td><td>{esc(_params_text(r.varied))}</td>"
                         f"<td><code>{esc(r.cell or 'unknown')}</code></td><td><code>{esc(r.error)}</code></td>"
                         f"<td><a href='{esc(link)}'>{esc(link)}</a></td></tr>")
        parts.append("</table>")
    plots = parameter_plots(runs)
    if plots:
        parts.append("<h2>Results per varied parameter</h2>")
        for notebook, param, png in plots:
            parts.append(f"<h3>{esc(notebook)}: {esc(param)}</h3>"
                         f"<img alt='{esc(notebook)} results vs {esc(param)}' src='data:image/png;base64,{png}'>")
    summary = summary_rows(runs)
    if summary:
        parts.append("<h2>Summary (mean ± std over seeds)</h2><table><tr><th>notebook</th><th>setting</th>"
                     "<th>result</th><th>mean ± std</th><th>n</th></tr>")
        for row in summary:
            parts.append(f"<tr><td>{esc(row['notebook'])}</td><td>{esc(row['setting'])}</td><td>{esc(row['result'])}</td>"
                         f"<td>{row['mean']:.4g} ± {row['std']:.2g}</td><td>{row['n']}</td></tr>")
        parts.append("</table>")
    parts.append("<h2>All runs</h2><table><tr><th>notebook</th><th>parameters</th><th>profile</th><th>status</th>"
                 "<th>seconds</th><th>results</th></tr>")
    for r in runs:
        shown = ", ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}" for k, v in r.results.items())
        parts.append(f"<tr class='{'failed' if r.status == 'failed' else ''}'><td>{esc(r.notebook)}</td>"
                     f"<td>{esc(_params_text(r.varied))}</td><td>{r.profile}</td><td>{r.status}</td>"
                     f"<td>{r.seconds:.1f}</td><td>{esc(shown[:400])}</td></tr>")
    parts.append("</table></body></html>")
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")


def _params_text(varied: dict[str, Any]) -> str:
    """NAME=value pairs for display."""
    return ", ".join(f"{k}={v!r}" for k, v in varied.items()) or "(defaults)"


def _shown(path: Path) -> str:
    """Path for messages, without machine-specific prefixes."""
    from .paths import display_path

    return display_path(path)


# --------------------------------------------------------------------------- command line
def read_config(path: Path) -> dict[str, Any]:
    """Read a YAML batch file with keys notebooks (list or {name: grid}), grid, quick, workers, out, redo."""
    import yaml

    if not path.is_file():
        raise BatchError(f"No batch file at {_shown(path)}.")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise BatchError(f"{_shown(path)} is not valid YAML: {exc}") from exc
    allowed = {"notebooks", "grid", "quick", "workers", "out", "redo", "timeout"}
    if not isinstance(config, dict) or set(config) - allowed:
        extra = sorted(set(config) - allowed) if isinstance(config, dict) else config
        raise BatchError(f"{_shown(path)}: unexpected keys {extra}; allowed: {sorted(allowed)}.")
    return config


def build_requests(notebooks: list[str] | dict[str, Any], grid: dict[str, list[Any]]) -> dict[str, dict[str, list]]:
    """Combine notebook names (or {name: own grid}) with a common grid into {name: grid}."""
    if isinstance(notebooks, dict):
        items = [(name, own or {}) for name, own in notebooks.items()]
    else:
        items = [(name, {}) for name in notebooks]
    requests = {}
    for name, own in items:
        if not isinstance(own, dict):
            raise BatchError(f"The grid of notebook {name!r} must be a mapping NAME: [values], got {own!r}.")
        merged = {**own, **{k: v for k, v in grid.items() if k not in own}}
        requests[str(name)] = {k: v if isinstance(v, list) else [v] for k, v in merged.items()}
    return requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.batch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="notebook names, number prefixes (02) or .ipynb paths")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=v1,v2",
                        help="a grid axis; repeat for more axes (the grid is their cartesian product)")
    parser.add_argument("-c", "--config", type=Path, help="YAML batch file (command-line options add to it)")
    parser.add_argument("--quick", action="store_true", default=None, help="start from each notebook's quick profile")
    parser.add_argument("-j", "--workers", type=int, default=None, help="parallel runs (default 1)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default outputs/batch)")
    parser.add_argument("--redo", action="store_true", default=None, help="run again even if a run already succeeded")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT,
                        help=f"seconds allowed per cell before the run is failed (default {CELL_TIMEOUT}: no lesson cell "
                             "needs more than a few minutes, so a hung kernel fails the run instead of blocking it)")
    parser.add_argument("--shared-dirs", action="store_true",
                        help="keep NAME_DIR output folders where the notebook puts them (default: one per run)")
    parser.add_argument("--notebook-dir", type=Path, default=NOTEBOOK_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        config = read_config(args.config) if args.config else {}
        grid = {k: v if isinstance(v, list) else [v] for k, v in (config.get("grid") or {}).items()}
        for text in args.param:
            name, values = parse_assignment(text)
            grid[name] = values
        notebooks = args.notebooks or config.get("notebooks") or []
        quick = args.quick if args.quick is not None else bool(config.get("quick", False))
        workers = args.workers if args.workers is not None else int(config.get("workers", 1))
        if workers < 1:
            raise BatchError(f"--workers must be at least 1, got {workers}.")
        out = (args.out or Path(config.get("out", "outputs/batch"))).resolve()
        redo = args.redo if args.redo is not None else bool(config.get("redo", False))
        timeout = args.timeout if args.timeout is not None else config.get("timeout")
        runs = plan_runs(build_requests(notebooks, grid), out, quick, args.notebook_dir, args.shared_dirs)
    except BatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(runs)} runs of {len({r.notebook for r in runs})} notebook(s), "
          f"{'quick' if quick else 'full'} profile, {workers} worker(s) -> {_shown(out)}", flush=True)
    runs = run_batch(runs, workers=workers, redo=redo, timeout=timeout, progress=not args.no_progress)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(runs, out / "results.csv")
    write_html(runs, out / "report.html")
    failed = [r for r in runs if r.status == "failed"]
    for r in failed:
        print(f"FAILED {r.notebook} [{_params_text(r.varied)}] at {r.cell or 'unknown cell'}: {r.error}", flush=True)
    print(f"{len(runs) - len(failed)} ok, {len(failed)} failed. Table: {_shown(out / 'results.csv')}; "
          f"report: {_shown(out / 'report.html')}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
