"""The course run (`kit.py course`): the data root is checked before any kernel starts, quick and full runs write to
separate folders, and summary.md gives a short section per lesson (status, time, data, rounded headline results,
link) while results.csv keeps every result; a partial run says which notebooks are from earlier runs."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import pytest

from course_utils.instructor import course_run, course_summary
from course_utils.paths import DATA_ENV_VAR


def lesson(folder: Path, name: str, code: str) -> Path:
    """Write a small notebook that records results with course_utils.results."""
    notebook = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "course_kit": {"quick_parameters": {"SCALE": 0.5}}})
    notebook.cells = [nbformat.v4.new_code_cell("SCALE = 1.0  # a knob", metadata={"tags": ["parameters"]}),
                      nbformat.v4.new_code_cell("from course_utils.results import record, record_data_source\n" + code)]
    path = folder / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


def fake_run_all(runs, **kwargs):
    """Stand-in for running.run_all: every run succeeds at once with a few results (no kernel)."""
    for run in runs:
        Path(run.output).parent.mkdir(parents=True, exist_ok=True)
        Path(run.output).write_text("{}")
        run.status, run.seconds = "ok", 12.0
        run.results = {"data_source": "synthetic", "data_description": "made up", "score": 0.123456, "profile": run.profile}
    return runs


@pytest.fixture
def notebook_dir(tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    monkeypatch.setattr(course_run, "NOTEBOOK_DIR", folder)
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    return folder


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_a_bad_data_root_is_refused_before_any_notebook_starts(notebook_dir, tmp_path, monkeypatch, capsys, kind):
    lesson(notebook_dir, "01_lesson", "record('x', 1)")
    bad = tmp_path / "does" / "not" / "exist"
    if kind == "file":
        bad = tmp_path / "data.txt"
        bad.write_text("not a folder")
    monkeypatch.setenv(DATA_ENV_VAR, str(bad))
    monkeypatch.setattr(course_run, "run_all", lambda *a, **k: pytest.fail("a notebook was started"))
    assert course_run.main(["--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err  # the path itself, not "$COURSE_DATA_DIR"
    assert ("does not exist" if kind == "missing" else "is a file") in err
    assert (f"mkdir -p {bad}" in err) == (kind == "missing")
    assert f"export {DATA_ENV_VAR}=" in err and f"unset {DATA_ENV_VAR}" in err
    assert not (tmp_path / "out").exists()


def test_quick_and_full_runs_write_to_separate_default_folders(notebook_dir, tmp_path, monkeypatch):
    lesson(notebook_dir, "01_lesson", "record('x', 1)")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(course_run, "run_all", fake_run_all)
    assert course_run.main([]) == 0
    assert course_run.main(["--quick"]) == 0
    full, quick = tmp_path / "outputs" / "course", tmp_path / "outputs" / "course-quick"
    assert json.loads((full / "results.json").read_text())[0]["results"]["profile"] == "full"
    assert json.loads((quick / "results.json").read_text())[0]["results"]["profile"] == "quick"
    assert (full / "summary.md").read_text().startswith("# Course run: full profile")
    assert (quick / "summary.md").read_text().startswith("# Course run: quick profile")
    assert course_run.DEFAULT_OUT == {"full": "outputs/course", "quick": "outputs/course-quick"}


def test_help_names_both_default_folders_and_the_cell_timeout(capsys):
    with pytest.raises(SystemExit):
        course_run.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "outputs/course," in text and "outputs/course-quick" in text and "--timeout" in text


@pytest.mark.parametrize("value, shown", [(0.981234, "0.981"), (2.9214e-09, "2.92e-09"), (123.456, "123"),
                                          (61234.5, "61,234"), (7, "7"), (True, "True"), ("relu", "relu"),
                                          ([1, 2, 3], "(list of 3; see results.json)")])
def test_results_are_rounded_for_reading(value, shown):
    assert course_summary.rounded(value) == shown


def test_headlines_are_the_lessons_list_or_the_first_three_numbers():
    results = {"data_source": "real", "a": "text", "b": 1.0, "c": True, "d": 2, "e": 3.0, "f": 4.0,
               "test_accuracy": 0.9, "train_seconds": 12.0}
    assert course_summary.headline_names("01_mnist_fnn", results) == ["test_accuracy", "train_seconds"]
    assert course_summary.headline_names("42_unknown", results) == ["b", "d", "e"]
    assert course_summary.headline_names("05_cnn", {"test_f2_most_frequent_baseline": 0.5}) == [
        "test_f2_most_frequent_baseline"]


@pytest.mark.notebooks
def test_summary_has_a_short_section_per_lesson_and_a_partial_run_says_what_is_earlier(notebook_dir, tmp_path):
    lesson(notebook_dir, "01_lesson", "record_data_source('real', 'full MNIST: 60,000 train / 10,000 test digits')\n"
                                      "record('test_accuracy', 0.98123456 * SCALE)\nrecord('train_seconds', 95.4321)\n"
                                      + "".join(f"record('extra_{i}', {i} / 7)\n" for i in range(15)))
    lesson(notebook_dir, "42_legacy", "record('label', 'demo')\nrecord('alpha', 1 / 3)\nrecord('flag', True)\n"
                                      "record('beta', 2000.123)\nrecord('gamma', [1, 2])\nrecord('delta', 0.5)\n"
                                      "record('epsilon', 0.25)")
    out = tmp_path / "out"
    assert course_run.main(["--out", str(out)]) == 0
    summary = (out / "summary.md").read_text()
    assert summary.startswith("# Course run: full profile\n")
    assert "## 01_lesson: ok, " in summary and "## 42_legacy: ok, " in summary
    assert "- data: real: full MNIST: 60,000 train / 10,000 test digits" in summary
    assert "- test_accuracy = 0.981, train_seconds = 95.4" in summary
    assert "- executed notebook: [01_lesson.ipynb](01_lesson.ipynb)" in summary
    assert "extra_" not in summary and "|" not in summary  # no wide table: every result is in results.csv
    assert "- data: not recorded by this notebook" in summary
    assert "- alpha = 0.333, beta = 2,000, delta = 0.5" in summary  # the first three numbers, not bools or lists
    assert max(len(line) for line in summary.splitlines()) < 200
    with open(out / "results.csv", newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert {r["result"] for r in table if r["notebook"] == "01_lesson"} >= {f"extra_{i}" for i in range(15)}
    assert next(r for r in table if r["result"] == "test_accuracy")["value"] == "0.98123456"
    assert all(r["ran"] == "now" and r["profile"] == "full" for r in table)

    assert course_run.main(["42", "--out", str(out)]) == 0  # a partial run into the same folder
    summary = (out / "summary.md").read_text()
    assert "**Partial run:** only 42_legacy ran now. 01_lesson is from earlier runs" in summary
    section = summary[summary.index("## 01_lesson"):summary.index("## 42_legacy")]
    assert "EARLIER RUN (full profile, " in section and "not re-run now" in section
    assert "EARLIER RUN" not in summary[summary.index("## 42_legacy"):]
    rows = {row["notebook"]: row for row in json.loads((out / "results.json").read_text())}
    assert rows["01_lesson"]["fresh"] is False and rows["42_legacy"]["fresh"] is True
    with open(out / "results.csv", newline="", encoding="utf-8") as handle:
        ran = {(r["notebook"], r["ran"]) for r in csv.DictReader(handle)}
    assert ran == {("01_lesson", "earlier"), ("42_legacy", "now")}


def test_a_lesson_section_names_the_worker_that_ran_it():
    row = {"notebook": "02_gradient_descent", "status": "ok", "seconds": 12.0, "results": {}, "worker": "tcp://10.0.0.5:40123"}
    assert "- ran on: tcp://10.0.0.5:40123" in course_summary.lesson_section(row)
    assert not any(line.startswith("- ran on") for line in course_summary.lesson_section({**row, "worker": ""}))
