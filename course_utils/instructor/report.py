"""Write a batch's results: one CSV row per run, and a self-contained HTML report rendered from a Jinja2 template;
and render a course run's report (one card per lesson) from its own template."""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from .grid_plots import parameter_plots
from .plan import Run
from .summary import constant_rows, ordered, summary_rows

TEMPLATE_DIR = Path(__file__).parent / "templates"


def csv_value(value: Any) -> Any:
    """A CSV-friendly value: numbers and strings as they are, everything else as JSON."""
    return value if isinstance(value, (int, float, str)) or value is None else json.dumps(value, ensure_ascii=False)


def shown_value(value: Any) -> str:
    """A recorded value for reading: floats with 4 significant digits, everything else in full."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


DATA_KEYS = ("data_source", "data_description")  # recorded by course_utils.results.record_data_source


def data_source_text(results: dict[str, Any], missing: str = "not recorded") -> str:
    """Where a run's data came from, as the notebook recorded it ('real: full MNIST ...'), else `missing`."""
    source, description = (results.get(key) for key in DATA_KEYS)
    if source and description:
        return f"{source}: {description}"
    return str(source or description or missing)


def other_results(results: dict[str, Any]) -> dict[str, Any]:
    """The recorded results without the data-source record (shown in a column of its own)."""
    return {name: value for name, value in results.items() if name not in DATA_KEYS}


def params_text(varied: dict[str, Any]) -> str:
    """NAME=value pairs for display."""
    return ", ".join(f"{k}={v!r}" for k, v in varied.items()) or "(defaults)"


def relative(path: str | Path, start: Path) -> str:
    """Path relative to start (for links inside the output folder)."""
    return Path(os.path.relpath(path, start)).as_posix()


def write_csv(runs: list[Run], path: Path) -> None:
    """Write one row per run: notebook, run, status, seconds, worker, every parameter, every recorded result, error."""
    param_names = ordered(name for run in runs for name in run.varied)
    result_names = ordered(name for run in runs for name in run.results)
    header = ["notebook", "run", "profile", "status", "seconds", "worker", *param_names,
              *(f"result.{n}" for n in result_names), "cell", "error", "output"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for run in runs:
            writer.writerow([run.notebook, run.slug, run.profile, run.status, f"{run.seconds:.2f}", run.worker,
                             *(csv_value(run.varied.get(n, "")) for n in param_names),
                             *(csv_value(run.results.get(n, "")) for n in result_names),
                             run.cell, run.error, relative(run.output, path.parent)])


def render_html(runs: list[Run], folder: Path, title: str = "Batch report") -> str:
    """Render the report: counts, failures, plots (inline PNG), summary, constant results, and every run with the
    worker that ran it."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(params=params_text, value=shown_value, link=lambda output: relative(output, folder),
                       data=data_source_text, other=other_results)
    counts = {s: sum(r.status == s for r in runs) for s in ("ok", "skipped", "failed", "interrupted")}
    workers = sorted({r.worker for r in runs if r.worker})
    return env.get_template("report.html.j2").render(
        title=title, runs=runs, counts=counts, failed=[r for r in runs if r.status == "failed"], workers=workers,
        plots=parameter_plots(runs), summary=summary_rows(runs), constant=constant_rows(runs))


def render_course_html(cards: list[dict[str, Any]], title: str, header: str, banner: list[str],
                       notices: list[str]) -> str:
    """Render a course run's report: the data banner, the header, notices, and one card per lesson (see
    course_summary.lesson_card)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("course_report.html.j2").render(title=title, cards=cards, header=header, banner=banner,
                                                            notices=notices)


def write_html(runs: list[Run], path: Path, title: str = "Batch report") -> None:
    """Write the self-contained HTML report to path (links relative to its folder)."""
    path.write_text(render_html(runs, path.parent, title), encoding="utf-8")
