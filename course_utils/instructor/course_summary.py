"""Write a course run's summary: summary.md (a short section per lesson), results.csv (every recorded result),
results.json (the rows), and the cards of report.html, for `python -m course_utils.instructor.course_run`.

Each lesson's section gives its status, time, the data it ran on (the `data_source` and `data_description` that
`course_utils.results.record_data_source` records) and its 2-4 headline results, rounded and labelled with their data
source, with a link to the executed notebook. When a lesson ran on a stand-in for its data set (an offline fallback
or synthetic data, see lesson_data), a banner at the top says which lessons ran on which data and how to get the real
data. A run of some notebooks into a folder that holds earlier runs of others keeps those rows and marks them as
earlier, so the summary never mixes fresh and stale notebooks without saying so.
"""
from __future__ import annotations

import base64
import csv
import io
import json
import math
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from ..paths import DATA_ENV_VAR, data_root
from .lesson_data import BY_DESIGN, DATASETS, lesson_dataset, lesson_number, ran_on_stand_in
from .report import DATA_KEYS, csv_value, data_source_text, render_course_html
from .student import cell_source

# The results that matter most per lesson (by number prefix), in the order shown, with what each one means; other
# notebooks show their first three numeric results. Every result is in results.csv.
HEADLINES: dict[str, dict[str, str]] = {
    "01": {"test_accuracy": "share of the test digits the network classifies correctly",
           "train_seconds": "seconds the training took on this machine"},
    "02": {"final_loss_sgd": "cost left on the lesson's elongated bowl after the same number of steps: plain SGD",
           "final_loss_momentum": "the same with momentum",
           "final_loss_adam": "the same with Adam (lower is better)"},
    "03": {"numpy_test_accuracy": "test accuracy of the NumPy network trained with the lesson's backpropagation",
           "torch_test_accuracy": "test accuracy of the same network trained with PyTorch",
           "gradient_check_max_rel_error": "largest relative gap between backpropagation's gradients and the checks' "
                                           "(tiny: backpropagation is right)"},
    "04": {"test_accuracy_early_stopping": "test accuracy of the weights from the best validation epoch",
           "test_accuracy_last_epoch": "test accuracy of the weights after the last epoch",
           "best_capacity": "hidden layers with the lowest validation loss"},
    "05": {"test_f2_global_threshold": "F2 score of the CNN on the test chips, one threshold for every tag",
           "test_f2_most_frequent_baseline": "F2 score of always predicting the most frequent tags (the score to beat)"},
    "06": {"scratch_gensim_similarity_correlation": "correlation of word similarities between the from-scratch "
                                                    "skip-gram and gensim's",
           "scratch_gensim_neighbour_overlap": "share of nearest neighbours the two models agree on",
           "scratch_neighbour_overlap_chance": "the same share for neighbours drawn at random (chance)"},
    "07": {"test_accuracy_rnn": "test accuracy of the bidirectional GRU",
           "test_accuracy_bow_logreg": "test accuracy of the bag-of-words logistic regression baseline",
           "test_accuracy_chance": "test accuracy of always predicting the commoner class of the training reviews"},
    "08": {"tuned_test_accuracy": "test accuracy of the tuned network",
           "chance_level": "accuracy of always predicting the commoner class (benign)"},
}
FALLBACK_HEADLINES = 3
# The cell whose first image is each lesson's key figure in report.html; other notebooks show their first image.
KEY_FIGURES = {"01": "9e01e19f", "02": "61ce942b", "03": "a3ba09b8", "04": "753cc697", "05": "22dd5cbf",
               "06": "00f7ac47", "07": "916f6f79", "08": "d44c8872"}
FIGURE_WIDTH = 560  # pixels: figures are downscaled to this width at most, so the report stays light
PROFILE_NOTES = {
    "full": "Every lesson with its defaults: the numbers a student should see",
    "quick": "Each lesson's quick profile (small data, few epochs): a smoke test, not the lessons' results",
}
STAND_IN_NOTE = ("Every lesson with its defaults, but {count} of them ran on stand-in data (see above): only the "
                 "lessons that ran on their real data show the numbers a student should see")


def is_number(value: Any) -> bool:
    """True for finite ints and floats (not bools)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def rounded(value: Any) -> str:
    """A result for reading: 3 significant digits, whole numbers from 100 up, lists and dicts summarised."""
    if isinstance(value, bool) or not isinstance(value, (int, float, list, dict)):
        return str(value)
    if isinstance(value, (list, dict)):
        return f"({type(value).__name__} of {len(value)}; see results.json)"
    if isinstance(value, int) or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def headline_names(notebook: str, results: dict[str, Any]) -> list[str]:
    """The headline results of a notebook: its lesson's list where known, else its first three numeric results."""
    chosen = HEADLINES.get(lesson_number(notebook))
    if chosen:
        return [name for name in chosen if name in results]
    return [name for name, value in results.items() if is_number(value) and name not in DATA_KEYS][:FALLBACK_HEADLINES]


def data_tag(notebook: str, results: dict[str, Any]) -> str:
    """The data a notebook's numbers come from, in a few words; a stand-in for the lesson's data set is in capitals."""
    source = results.get("data_source")
    if not source:
        return "unrecorded data"
    dataset = lesson_dataset(notebook)
    if dataset and ran_on_stand_in(notebook, results):
        return f"{str(source).upper()} data, a stand-in for {dataset.name}"
    return f"{source} data"


def headline_text(notebook: str, results: dict[str, Any]) -> str:
    """The headline results with their data source, 'on real data: name = rounded value, ...' (empty when none)."""
    names = headline_names(notebook, results)
    if not names:
        return ""
    return f"on {data_tag(notebook, results)}: " + ", ".join(f"{name} = {rounded(results[name])}" for name in names)


def data_text(results: dict[str, Any]) -> str:
    """Where the notebook's data came from, as it recorded it; says so when it recorded nothing."""
    return data_source_text(results, missing="not recorded by this notebook (it does not call "
                                             "course_utils.results.record_data_source)")


def data_banner(rows: list[dict], root: str) -> list[str]:
    """Lines that say which lessons ran on stand-in data instead of their real data set, which data every lesson used,
    and what to do to get the real data (root: the data root of the run); empty when no lesson used a stand-in."""
    stand_ins = [row for row in rows if ran_on_stand_in(row["notebook"], row.get("results") or {})]
    if not stand_ins:
        return []
    lines = [f"NOT THE LESSONS' DATA: {len(stand_ins)} of {len(rows)} lessons ran on stand-in data, so their numbers "
             "are not the ones the lessons discuss.", ""]
    for row in rows:
        results = row.get("results") or {}
        mark = "STAND-IN " if ran_on_stand_in(row["notebook"], results) else ""
        design = " (by design)" if lesson_number(row["notebook"]) in BY_DESIGN and results.get("data_source") else ""
        lines.append(f"- {row['notebook']}: {mark}{data_text(results)}{design}")
    needed: dict[str, list[str]] = {}
    for row in stand_ins:
        needed.setdefault(lesson_dataset(row["notebook"]).name, []).append(lesson_number(row["notebook"]))
    lines += ["", "To run them on the real data:"]
    for dataset in DATASETS.values():
        if dataset.name in needed:
            numbers = needed[dataset.name]
            lines.append(f"- {dataset.name} (lesson{'s' * (len(numbers) > 1)} {', '.join(numbers)}): {dataset.get_it}")
    lines += [f"- then run the course again (python3 scripts/kit.py course). This run's data root: {root}; to use "
              f"another folder: export {DATA_ENV_VAR}=/path/to/data. python3 scripts/kit.py doctor shows what each "
              "lesson will use."]
    return lines


def earlier_rows(out: Path, fresh: list[dict]) -> list[dict]:
    """Rows of results.json from an earlier run in out, for notebooks not run now whose executed copy is still there."""
    try:
        previous = json.loads((out / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    now = {row["notebook"] for row in fresh}
    kept = [row for row in previous if isinstance(row, dict) and row.get("notebook") not in now
            and (out / f"{row.get('notebook')}.ipynb").is_file()]
    return [{**row, "fresh": False} for row in kept]


def when_text(row: dict) -> str:
    """'ran now' or when an earlier row ran (and with which profile)."""
    if row.get("fresh", True):
        return "ran now"
    finished = row.get("finished") or "at an unknown time"
    return f"EARLIER RUN ({row.get('profile', 'unknown')} profile, {finished}), not re-run now"


def lesson_section(row: dict) -> list[str]:
    """The summary.md section of one notebook."""
    minutes = f"{row['seconds'] / 60:.1f} min"
    status = {"ok": "ok", "interrupted": "NOT FINISHED (the run was interrupted)"}.get(row["status"], "FAILED")
    lines = [f"## {row['notebook']}: {status}, {minutes}", ""]
    if not row.get("fresh", True):
        lines += [f"- **{when_text(row)}**"]
    if row["status"] != "ok":
        lines += [f"- error: {row.get('error') or 'unknown'}"]
    results = row.get("results") or {}
    lines += [f"- data: {data_text(results)}"]
    if row.get("worker"):
        lines += [f"- ran on: {row['worker']}"]
    headlines = headline_text(row["notebook"], results)
    if headlines:
        lines += [f"- {headlines}"]
    lines += [f"- executed notebook: [{row['notebook']}.ipynb]({row['notebook']}.ipynb)", ""]
    return lines


def overview(rows: list[dict], profile: str, finished: str,
             root: str) -> tuple[list[str], str, list[tuple[str, str]]]:
    """What summary.md and report.html say before the lessons: the data banner (empty when every lesson ran on its
    own data), the header sentence, and (title, text) notices: interrupted, partial run."""
    fresh = [row for row in rows if row.get("fresh", True)]
    stale = [row for row in rows if not row.get("fresh", True)]
    cut = [row["notebook"] for row in fresh if row["status"] == "interrupted"]
    failed = [row["notebook"] for row in fresh if row["status"] not in ("ok", "interrupted")]
    minutes = sum(row["seconds"] for row in fresh) / 60
    banner = data_banner(rows, root)
    note = PROFILE_NOTES.get(profile, profile)
    if banner and profile == "full":
        note = STAND_IN_NOTE.format(count=sum(ran_on_stand_in(r["notebook"], r.get("results") or {}) for r in rows))
    header = (f"{note}. Finished {finished}: {len(fresh)} notebook(s) ran now in {minutes:.1f} min, "
              f"{len(fresh) - len(failed) - len(cut)} ok, {len(failed)} failed"
              f"{' (' + ', '.join(failed) + ')' if failed else ''}.")
    notices = []
    if cut:
        notices.append(("Interrupted", f"Ctrl-C or SIGTERM stopped the run: {', '.join(cut)} did not finish."))
    if stale:
        notices.append(("Partial run", f"only {', '.join(row['notebook'] for row in fresh)} ran now. "
                        f"{', '.join(row['notebook'] for row in stale)} {'is' if len(stale) == 1 else 'are'} from "
                        "earlier runs into this folder, marked EARLIER RUN."))
    return banner, header, notices


def summary_lines(rows: list[dict], profile: str, finished: str, root: str) -> list[str]:
    """summary.md: a heading that names the profile, the data banner when a lesson ran on a stand-in, what ran now,
    and a section per notebook."""
    banner, header, notices = overview(rows, profile, finished, root)
    lines = [f"# Course run: {profile} profile", ""]
    if banner:
        lines += [f"**{banner[0]}**", *banner[1:], ""]
    lines += [header, ""]
    for title, text in notices:
        lines += [f"**{title}:** {text}", ""]
    lines += ["Every recorded result is in results.csv (one row per result) and results.json.", ""]
    for row in rows:
        lines += lesson_section(row)
    return lines


def data_root_text() -> str:
    """The data root in full, and where it came from, for the banner's advice."""
    if os.environ.get(DATA_ENV_VAR):
        return f"{data_root()} (from ${DATA_ENV_VAR})"
    return f"{data_root()} (the default: ${DATA_ENV_VAR} is not set)"


def write_course_summary(out: Path, rows: list[dict], profile: str, root: str) -> list[dict]:
    """Write summary.md, results.csv, results.json and report.html for the rows run now (plus earlier rows still in
    out); return all the rows, earlier ones included (root: the run's data root, as shown to the reader)."""
    finished = datetime.now().astimezone().isoformat(timespec="minutes")
    fresh = [{**row, "profile": profile, "finished": finished, "fresh": True} for row in rows]
    merged = sorted(fresh + earlier_rows(out, fresh), key=lambda row: row["notebook"])
    (out / "results.json").write_text(json.dumps(merged, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with open(out / "results.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["notebook", "status", "profile", "ran", "finished", "seconds", "worker", "result", "value"])
        for row in merged:
            for name, value in (row.get("results") or {"": ""}).items():
                writer.writerow([row["notebook"], row["status"], row.get("profile", ""),
                                 "now" if row["fresh"] else "earlier", row.get("finished", ""),
                                 f"{row['seconds']:.1f}", row.get("worker", ""), name, csv_value(value)])
    (out / "summary.md").write_text("\n".join(summary_lines(merged, profile, finished, root)), encoding="utf-8")
    banner, header, notices = overview(merged, profile, finished, root)
    cards = [lesson_card(row, out) for row in merged]
    title = f"Course run ({profile} profile{', interrupted' if any(r['status'] == 'interrupted' for r in fresh) else ''})"
    (out / "report.html").write_text(render_course_html(cards, title, header, banner, notices), encoding="utf-8")
    return merged


def lesson_title(notebook: dict) -> str:
    """The notebook's first top-level heading ('' when it has none)."""
    for cell in notebook.get("cells", []):
        source = cell_source(cell).lstrip()
        if cell.get("cell_type") == "markdown" and source.startswith("# "):
            return source.split("\n", 1)[0][2:].strip()
    return ""


def downscaled_png(data: str, width: int = FIGURE_WIDTH) -> str:
    """A base64 PNG shrunk to at most `width` pixels wide and to a 64-colour palette, as base64."""
    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(data)))
    image.thumbnail((width, width * 4))
    buffer = io.BytesIO()
    image.convert("RGB").quantize(colors=64).save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def key_figure(notebook: dict, name: str) -> str | None:
    """The lesson's key figure (first image of its KEY_FIGURES cell, else the notebook's first image), downscaled, as
    base64 PNG; None when the notebook has no image (e.g. it failed before its first figure)."""
    wanted = KEY_FIGURES.get(lesson_number(name))
    cells = [cell for cell in notebook.get("cells", []) if cell.get("cell_type") == "code"]
    chosen = [cell for cell in cells if cell.get("id") == wanted] or cells
    for cell in chosen:
        for output in cell.get("outputs", []):
            data = output.get("data", {}).get("image/png")
            if data:
                return downscaled_png("".join(data) if isinstance(data, list) else data)
    return None


def lesson_card(row: dict, out: Path) -> dict[str, Any]:
    """What report.html shows of one lesson: title, status, time, data, headline results with their meaning, the key
    figure and the link to the executed notebook (read from out/<notebook>.ipynb when it is there)."""
    path = out / f"{row['notebook']}.ipynb"
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        notebook = {}
    results = row.get("results") or {}
    meanings = HEADLINES.get(lesson_number(row["notebook"]), {})
    status = {"ok": "ok", "interrupted": "not finished (interrupted)"}.get(row["status"], "FAILED")
    return {"notebook": row["notebook"], "title": lesson_title(notebook), "status": status, "ok": row["status"] == "ok",
            "when": when_text(row), "fresh": row.get("fresh", True), "minutes": row["seconds"] / 60,
            "worker": row.get("worker") or "", "error": (row.get("error") or "unknown") if row["status"] != "ok" else "",
            "data": data_text(results), "data_tag": data_tag(row["notebook"], results),
            "stand_in": ran_on_stand_in(row["notebook"], results),
            "headlines": [(name, rounded(results[name]), meanings.get(name, ""))
                          for name in headline_names(row["notebook"], results)],
            "figure": key_figure(notebook, row["notebook"]) if notebook else None,
            "link": path.name if path.is_file() else ""}
