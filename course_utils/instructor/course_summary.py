"""Write a course run's summary: summary.md (a short section per lesson), results.csv (every recorded result),
results.json (the rows), for `python -m course_utils.instructor.course_run`.

Each lesson's section gives its status, time, the data it ran on (the `data_source` and `data_description` that
`course_utils.results.record_data_source` records) and its 2-4 headline results, rounded, with a link to the
executed notebook. A run of some notebooks into a folder that holds earlier runs of others keeps those rows and
marks them as earlier, so the summary never mixes fresh and stale notebooks without saying so.
"""
from __future__ import annotations

import csv
import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

from .report import DATA_KEYS, csv_value, data_source_text

# The results that matter most per lesson (by number prefix), in the order shown; other notebooks show their first
# three numeric results. Every result is in results.csv.
HEADLINES: dict[str, tuple[str, ...]] = {
    "01": ("test_accuracy", "train_seconds"),
    "02": ("final_loss_sgd", "final_loss_momentum", "final_loss_adam"),
    "03": ("numpy_test_accuracy", "torch_test_accuracy", "gradient_check_max_rel_error"),
    "04": ("test_accuracy_early_stopping", "test_accuracy_last_epoch", "best_capacity"),
    "05": ("test_f2_global_threshold", "test_f2_most_frequent_baseline"),
    "06": ("scratch_gensim_similarity_correlation", "scratch_gensim_neighbour_overlap", "w2v_seconds"),
    "07": ("test_accuracy_rnn", "test_accuracy_bow_logreg"),
    "08": ("tuned_test_accuracy", "chance_level"),
}
FALLBACK_HEADLINES = 3
PROFILE_NOTES = {
    "full": "Every lesson with its defaults: the numbers a student should see",
    "quick": "Each lesson's quick profile (small data, few epochs): a smoke test, not the lessons' results",
}


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
    chosen = HEADLINES.get(notebook.split("_", 1)[0])
    if chosen:
        return [name for name in chosen if name in results]
    return [name for name, value in results.items() if is_number(value) and name not in DATA_KEYS][:FALLBACK_HEADLINES]


def headline_text(notebook: str, results: dict[str, Any]) -> str:
    """The headline results as 'name = rounded value, ...' (empty when there are none)."""
    return ", ".join(f"{name} = {rounded(results[name])}" for name in headline_names(notebook, results))


def data_text(results: dict[str, Any]) -> str:
    """Where the notebook's data came from, as it recorded it; says so when it recorded nothing."""
    return data_source_text(results, missing="not recorded by this notebook (it does not call "
                                             "course_utils.results.record_data_source)")


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


def summary_lines(rows: list[dict], profile: str, finished: str) -> list[str]:
    """summary.md: a heading that names the profile, what ran now, and a section per notebook."""
    fresh = [row for row in rows if row.get("fresh", True)]
    stale = [row for row in rows if not row.get("fresh", True)]
    cut = [row["notebook"] for row in fresh if row["status"] == "interrupted"]
    failed = [row["notebook"] for row in fresh if row["status"] not in ("ok", "interrupted")]
    minutes = sum(row["seconds"] for row in fresh) / 60
    lines = [f"# Course run: {profile} profile", "",
             f"{PROFILE_NOTES.get(profile, profile)}. Finished {finished}: {len(fresh)} notebook(s) ran now in "
             f"{minutes:.1f} min, {len(fresh) - len(failed) - len(cut)} ok, {len(failed)} failed"
             f"{' (' + ', '.join(failed) + ')' if failed else ''}.", ""]
    if cut:
        lines += [f"**Interrupted** (Ctrl-C or SIGTERM): {', '.join(cut)} did not finish.", ""]
    if stale:
        lines += [f"**Partial run:** only {', '.join(row['notebook'] for row in fresh)} ran now. "
                  f"{', '.join(row['notebook'] for row in stale)} {'is' if len(stale) == 1 else 'are'} from earlier "
                  "runs into this folder, marked EARLIER RUN below; report.html covers only the notebooks that ran "
                  "now.", ""]
    lines += ["Every recorded result is in results.csv (one row per result) and results.json.", ""]
    for row in rows:
        lines += lesson_section(row)
    return lines


def write_course_summary(out: Path, rows: list[dict], profile: str) -> list[dict]:
    """Write summary.md, results.csv and results.json for the rows run now (plus earlier rows still in out)."""
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
    (out / "summary.md").write_text("\n".join(summary_lines(merged, profile, finished)), encoding="utf-8")
    return merged
