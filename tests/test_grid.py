"""course_utils.instructor.grid and the course run: real papermill batches over small fixture notebooks (resume,
redo, failures), and bad input refused before anything runs."""
from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from course_utils.instructor import course_run, grid, notebooks, plan, report, running, summary, values
from course_utils.results import read_results

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
GRID_YAML = """\
notebooks:
  90_fixture_descent: {LEARNING_RATE: [0.1, 0.5, 3.0]}   # 3.0 diverges: that run fails on purpose
  91_fixture_mean: {NOISE: [0.5, 2.0]}
grid: {SEED: [0, 1]}
quick: true
workers: 2
"""


def rows(out: Path) -> list[dict]:
    with open(out / "results.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def first_batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("batch")
    config = tmp / "grid.yaml"
    config.write_text(GRID_YAML)
    out = tmp / "out"
    code = grid.main(["--notebook-dir", str(FIXTURES), "--config", str(config), "--out", str(out), "--no-progress"])
    return code, config, out


def test_batch_runs_every_combination_and_collects_results(first_batch):
    code, _, out = first_batch
    assert code == 1, "a batch with a failed run exits non-zero"
    table = rows(out)
    assert len(table) == 3 * 2 + 2 * 2
    ok = [r for r in table if r["status"] == "ok"]
    assert len(ok) == 8
    for row in ok:
        executed = out / row["output"]
        assert executed.is_file() and executed.parent.parent.name == row["notebook"]
        assert read_results(executed)  # the CSV comes from what the notebook recorded
    descent = {(r["LEARNING_RATE"], r["SEED"]): r for r in table if r["notebook"] == "90_fixture_descent"}
    assert set(descent) == {(lr, s) for lr in ("0.1", "0.5", "3.0") for s in ("0", "1")}
    assert 0.05 < float(descent[("0.5", "0")]["result.final_loss"]) < 0.3
    assert 2.5 < float(descent[("0.5", "1")]["result.weight"]) < 3.5
    folder = out / "90_fixture_descent" / "LEARNING_RATE-0.1__SEED-0__quick"
    executed = nbformat.read(folder / "90_fixture_descent.ipynb", as_version=4)
    assert executed.metadata.papermill.parameters == {"STEPS": 40, "LEARNING_RATE": 0.1, "SEED": 0,
                                                      "SAVE_DIR": str(folder / "artifacts" / "descent")}
    assert json.loads((folder / "run.json").read_text())["status"] == "ok"
    for row in ok:  # each run saved into its own folder: parallel runs cannot overwrite each other
        if row["notebook"] == "90_fixture_descent":
            saved = (out / row["output"]).parent / "artifacts" / "descent" / "weight.txt"
            assert float(saved.read_text()) == float(row["result.weight"])
    assert not (FIXTURES / "artifacts").exists()
    noisy = [float(r["result.abs_error"]) for r in table if r["notebook"] == "91_fixture_mean" and r["NOISE"] == "2.0"]
    quiet = [float(r["result.abs_error"]) for r in table if r["notebook"] == "91_fixture_mean" and r["NOISE"] == "0.5"]
    assert sum(noisy) > sum(quiet), "four times the noise gives a larger error of the mean"


def test_failing_run_is_reported_with_its_cell_and_message_and_others_finish(first_batch):
    _, _, out = first_batch
    failed = [r for r in rows(out) if r["status"] == "failed"]
    assert [r["LEARNING_RATE"] for r in failed] == ["3.0", "3.0"]
    for row in failed:
        assert row["error"] == "FloatingPointError: gradient descent diverged with LEARNING_RATE=3.0"
        assert row["cell"].startswith("cell ") and "math.isfinite(loss)" in row["cell"]
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Failed runs" in report and "gradient descent diverged with LEARNING_RATE=3.0" in report
    assert "math.isfinite(loss)" in report


def test_report_is_self_contained_with_a_plot_per_varied_parameter(first_batch):
    _, _, out = first_batch
    report = (out / "report.html").read_text(encoding="utf-8")
    assert report.count('src="data:image/png;base64,') == 2  # LEARNING_RATE (lesson 90) and NOISE (lesson 91)
    assert "results vs LEARNING_RATE" in report and "results vs NOISE" in report
    assert "http://" not in report and "https://" not in report and "<script" not in report
    assert "mean ± std" in report


def test_rerun_skips_finished_runs_and_retries_failed_ones(first_batch):
    _, config, out = first_batch
    ok_notebook = out / "91_fixture_mean" / "NOISE-0.5__SEED-0__quick" / "91_fixture_mean.ipynb"
    before = ok_notebook.stat().st_mtime_ns
    code = grid.main(["--notebook-dir", str(FIXTURES), "--config", str(config), "--out", str(out), "--no-progress"])
    assert code == 1
    table = rows(out)
    assert sorted(r["status"] for r in table) == ["failed"] * 2 + ["skipped"] * 8
    assert ok_notebook.stat().st_mtime_ns == before, "a finished run is not executed again"
    assert all(r["result.final_loss"] for r in table if r["status"] == "skipped" and r["notebook"] == "90_fixture_descent")


def test_redo_runs_finished_runs_again(first_batch):
    _, _, out = first_batch
    ok_notebook = out / "91_fixture_mean" / "NOISE-0.5__SEED-0__quick" / "91_fixture_mean.ipynb"
    before = ok_notebook.stat().st_mtime_ns
    args = ["--notebook-dir", str(FIXTURES), "91_fixture_mean", "-p", "NOISE=0.5", "-p", "SEED=0", "--quick",
            "--out", str(out), "--no-progress"]
    assert grid.main(args) == 0
    assert ok_notebook.stat().st_mtime_ns == before
    assert [r["status"] for r in rows(out)] == ["skipped"]
    assert grid.main(args + ["--redo"]) == 0
    assert ok_notebook.stat().st_mtime_ns != before
    assert [r["status"] for r in rows(out)] == ["ok"]


@pytest.mark.parametrize("args, message", [
    (["99_missing"], "Notebook '99_missing' is not a notebook"),
    (["90_fixture_descent", "-p", "LEARNIG_RATE=0.1"], "unknown parameter 'LEARNIG_RATE'"),
    (["90_fixture_descent", "-p", "learning_rate=0.1"], "Did you mean LEARNING_RATE?"),
    (["90_fixture_descent", "-p", "LEARNING_RATE=fast"], "wrong type for LEARNING_RATE: 'fast' is a str"),
    (["90_fixture_descent", "-p", "STEPS=10,2.5"], "wrong type for STEPS: 2.5 is a float, but the default 200 is a int"),
    (["91_fixture_mean", "-p", "CENTERED=1"], "wrong type for CENTERED: 1 is a int, but the default True is a bool"),
    (["91_fixture_mean", "-p", "LABEL=3"], "wrong type for LABEL"),
    (["90_fixture_descent", "-p", "SEED"], "write NAME=value or NAME=v1,v2,v3"),
    (["90_fixture_descent", "--workers", "0"], "workers (option --workers or YAML key workers) must be at least 1"),
    ([], "No notebook chosen"),
])
def test_bad_input_is_refused_before_anything_runs(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    code = grid.main(["--notebook-dir", str(FIXTURES), "--out", str(out), "--no-progress", *args])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists(), "nothing may run or be written when the request is invalid"


def test_every_problem_is_listed_at_once(tmp_path, capsys):
    code = grid.main(["--notebook-dir", str(FIXTURES), "--out", str(tmp_path / "o"), "90", "91",
                       "-p", "LEARNING_RATE=0.1", "-p", "SEED=x"])
    err = capsys.readouterr().err
    assert code == 2
    assert "91_fixture_mean: unknown parameter 'LEARNING_RATE'" in err
    assert "90_fixture_descent: wrong type for SEED" in err and "91_fixture_mean: wrong type for SEED" in err


def test_bad_config_file_is_refused(tmp_path, capsys):
    config = tmp_path / "grid.yaml"
    config.write_text("notebooks: [90_fixture_descent]\ngird: {SEED: [0]}\n")
    assert grid.main(["--notebook-dir", str(FIXTURES), "--config", str(config), "--out", str(tmp_path / "o")]) == 2
    assert "unexpected keys ['gird']" in capsys.readouterr().err
    assert grid.main(["--config", str(tmp_path / "nope.yaml")]) == 2
    assert "No batch file" in capsys.readouterr().err


def test_quick_needs_a_quick_profile(tmp_path):
    nb = nbformat.read(FIXTURES / "91_fixture_mean.ipynb", as_version=4)
    del nb.metadata["course_kit"]
    nbformat.write(nb, tmp_path / "91_no_quick.ipynb")
    with pytest.raises(values.RequestError, match="has no quick profile"):
        plan.plan_runs({"91_no_quick": {}}, tmp_path / "o", quick=True, notebook_dir=tmp_path)


def test_parameters_are_read_from_the_parameters_cell():
    declared = notebooks.notebook_parameters(FIXTURES / "91_fixture_mean.ipynb")
    assert declared == {"SEED": 0, "DEVICE": "auto", "DATA_DIR": "", "SAMPLES": 1000, "NOISE": 1.0,
                        "LABEL": "demo", "CENTERED": True}


def test_values_parse_like_python_literals():
    assert values.parse_assignment("LR=0.1,1e-3,2") == ("LR", [0.1, 0.001, 2])
    assert values.parse_assignment("HIDDEN=[64,32],[128]") == ("HIDDEN", [[64, 32], [128]])
    assert values.parse_assignment("NAME=relu,'leaky,relu',true,None") == ("NAME", ["relu", "leaky,relu", True, None])
    assert values.type_problem(3, 0.1) is None and values.type_problem(True, 0.1)
    assert plan.slugify({"LR": 0.1, "SEED": 0}, "full") == "LR-0.1__SEED-0"
    odd = plan.slugify({"NAME": "a b/c"}, "quick")
    assert "/" not in odd and " " not in odd and odd.endswith("__quick")
    assert plan.slugify({"NAME": "a b/c"}, "full") != plan.slugify({"NAME": "a_b_c"}, "full")


def test_course_run_writes_summary_and_report(tmp_path, monkeypatch):
    monkeypatch.setattr(course_run, "NOTEBOOK_DIR", FIXTURES)
    out = tmp_path / "course"
    assert course_run.main(["91_fixture_mean", "--quick", "--out", str(out)]) == 0
    result = json.loads((out / "results.json").read_text())
    assert result[0]["notebook"] == "91_fixture_mean" and result[0]["status"] == "ok"
    assert result[0]["results"]["label"] == "demo"
    assert "## 91_fixture_mean: ok, " in (out / "summary.md").read_text()
    assert (out / "91_fixture_mean.ipynb").is_file() and (out / "report.html").is_file()
    assert not (out / "run.json").exists()


def test_course_run_in_place_regenerates_without_volatile_metadata(tmp_path, monkeypatch):
    shutil.copy(FIXTURES / "90_fixture_descent.ipynb", tmp_path)
    monkeypatch.setattr(course_run, "NOTEBOOK_DIR", tmp_path)
    monkeypatch.setattr(course_run, "REGENERATE_DIR", tmp_path / "scratch")
    assert course_run.main(["90_fixture_descent", "--in-place", "--out", str(tmp_path / "unused")]) == 0
    nb = json.loads((tmp_path / "90_fixture_descent.ipynb").read_text())
    assert "papermill" not in nb["metadata"]
    assert all("papermill" not in c["metadata"] for c in nb["cells"])
    assert read_results(tmp_path / "90_fixture_descent.ipynb")["final_loss"] < 0.3
    assert not (tmp_path / "unused").exists() and not (tmp_path / "run.json").exists()


def test_failed_in_place_regeneration_leaves_the_notebook_untouched(tmp_path, monkeypatch):
    nb = nbformat.read(FIXTURES / "90_fixture_descent.ipynb", as_version=4)
    nb.cells[2].source = nb.cells[2].source.replace("LEARNING_RATE = 0.1", "LEARNING_RATE = 3.0")
    nbformat.write(nb, tmp_path / "90_fixture_descent.ipynb")
    before = (tmp_path / "90_fixture_descent.ipynb").read_bytes()
    monkeypatch.setattr(course_run, "NOTEBOOK_DIR", tmp_path)
    monkeypatch.setattr(course_run, "REGENERATE_DIR", tmp_path / "scratch")
    assert course_run.main(["90_fixture_descent", "--in-place"]) == 1
    assert (tmp_path / "90_fixture_descent.ipynb").read_bytes() == before
    assert (tmp_path / "scratch" / "90_fixture_descent.ipynb").is_file()


def test_course_run_reports_the_failing_cell(tmp_path, monkeypatch):
    nb = nbformat.read(FIXTURES / "90_fixture_descent.ipynb", as_version=4)
    nb.cells[2].source = nb.cells[2].source.replace("LEARNING_RATE = 0.1", "LEARNING_RATE = 3.0")
    nbformat.write(nb, tmp_path / "90_fixture_descent.ipynb")
    monkeypatch.setattr(course_run, "NOTEBOOK_DIR", tmp_path)
    out = tmp_path / "course"
    assert course_run.main(["--quick", "--out", str(out)]) == 1
    row = json.loads((out / "results.json").read_text())[0]
    assert row["status"] == "failed" and "FloatingPointError" in row["error"] and "cell " in row["error"]
    assert "FAILED" in (out / "summary.md").read_text()


def test_a_changed_notebook_is_run_again_on_resume(tmp_path):
    shutil.copy(FIXTURES / "91_fixture_mean.ipynb", tmp_path)
    args = ["--notebook-dir", str(tmp_path), "91_fixture_mean", "--quick", "--out", str(tmp_path / "out"), "--no-progress"]
    assert grid.main(args) == 0
    assert grid.main(args) == 0
    assert [r["status"] for r in rows(tmp_path / "out")] == ["skipped"]
    nb = nbformat.read(tmp_path / "91_fixture_mean.ipynb", as_version=4)
    nb.cells[2].source = nb.cells[2].source.replace('LABEL = "demo"', 'LABEL = "edited"')
    nbformat.write(nb, tmp_path / "91_fixture_mean.ipynb")
    assert grid.main(args) == 0
    table = rows(tmp_path / "out")
    assert [r["status"] for r in table] == ["ok"] and table[0]["result.label"] == "edited"
    assert table[0]["run"] == "defaults__quick"


def test_a_notebook_listed_twice_is_refused(tmp_path, capsys):
    assert grid.main(["--notebook-dir", str(FIXTURES), "--out", str(tmp_path / "o"), "91", "91_fixture_mean"]) == 2
    assert "91_fixture_mean is listed twice" in capsys.readouterr().err


def test_shared_dirs_keeps_the_notebook_folders(tmp_path):
    runs = plan.plan_runs({"90": {"SEED": [0, 1]}}, tmp_path, quick=True, notebook_dir=FIXTURES, shared_dirs=True)
    assert all("SAVE_DIR" not in r.parameters for r in runs)
    runs = plan.plan_runs({"90": {"SAVE_DIR": ["a", "b"]}}, tmp_path, notebook_dir=FIXTURES)
    assert [r.parameters["SAVE_DIR"] for r in runs] == ["a", "b"], "values chosen in the grid are kept"
    assert plan.output_dirs({"DATA_DIR": "x", "MODEL_DIR": "m", "ASSETS_DIR": "../assets", "OUT_DIR": "/abs"}, {}) \
        == {"MODEL_DIR": "m"}


def finished_run(notebook: str, varied: dict, results: dict, status: str = "ok") -> plan.Run:
    """A run as the runner leaves it, without executing anything."""
    slug = plan.slugify(varied, "quick")
    return plan.Run(notebook, f"{notebook}.ipynb", slug, varied, dict(varied), f"/out/{notebook}/{slug}/x.ipynb",
                    "quick", status=status, results=results)


def test_report_lists_every_result_of_every_run_without_cutting_a_value(tmp_path):
    results = {f"final_loss_{name}": 0.1 + i / 1000 for i, name in enumerate(
        ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adamax", "nadam", "radam", "adamw",
         "lion", "lamb", "lars", "yogi", "adabound", "ranger", "sophia", "prodigy", "adafactor", "adam"])}
    results["history"] = list(range(40))
    runs = [finished_run("90_fixture_descent", {"SEED": seed}, {**results, "weight": 1.0 + seed}) for seed in (0, 1)]
    report.write_html(runs, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    all_runs = page[page.index("<h2>All runs</h2>"):]
    assert all_runs.count("final_loss_adam = 0.119<") == 2, "the last result of each run is shown with its value"
    assert all_runs.count(f"history = {list(range(40))}") == 2


def test_constant_results_are_shown_once_apart_from_the_summary(tmp_path):
    runs = [finished_run("02_gd", {"LEARNING_RATE": lr, "SEED": seed},
                         {"hand_cost_example": 0.04, "loss": lr * (1 + seed / 10), "label": "demo"})
            for lr in (0.1, 0.5) for seed in (0, 1, 2)]
    runs.append(finished_run("02_gd", {"LEARNING_RATE": 3.0, "SEED": 0}, {}, status="failed"))
    rows = summary.summary_rows(runs)
    assert {r["result"] for r in rows} == {"loss"} and [r["n"] for r in rows] == [3, 3]
    assert summary.constant_rows(runs) == [
        {"notebook": "02_gd", "result": "hand_cost_example", "value": 0.04, "n": 6},
        {"notebook": "02_gd", "result": "label", "value": "demo", "n": 6}]
    report.write_html(runs, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    constant = page[page.index("Results that are the same in every run"):page.index("<h2>All runs</h2>")]
    assert constant.count("hand_cost_example") == 1 and "0.04" in constant
    assert page.count("hand_cost_example") == 1 + 6, "once apart, then only in each run's own list"
    assert "± 0<" not in page


def test_a_result_that_varies_between_runs_is_not_constant():
    runs = [finished_run("91", {"SEED": s}, {"score": 0.5}) for s in (0, 1)]
    runs.append(finished_run("91", {"SEED": 2}, {"score": 0.6}))
    runs.append(finished_run("91", {"SEED": 3}, {}))  # a run that did not record it: not the same in every run
    assert summary.constant_rows(runs) == []
    assert summary.constant_rows(runs[:2]) == [{"notebook": "91", "result": "score", "value": 0.5, "n": 2}]


@pytest.fixture
def planned(monkeypatch):
    """Run grid.main up to the runner and capture what it would run with (nothing executes)."""
    seen = {}

    def fake_run_all(runs, **options):
        seen.update(options, runs=runs)
        return [finished_run(r.notebook, r.varied, {}) for r in runs]

    monkeypatch.setattr(grid, "run_all", fake_run_all)
    return seen


def test_yaml_timeout_and_workers_are_used_and_the_command_line_wins(tmp_path, planned):
    config = tmp_path / "grid.yaml"
    config.write_text("notebooks: [91_fixture_mean]\ntimeout: 7\nworkers: 3\nquick: true\n")
    base = ["--notebook-dir", str(FIXTURES), "--config", str(config), "--out", str(tmp_path / "o"), "--no-progress"]
    assert grid.main(base) == 0
    assert planned["timeout"] == 7 and planned["workers"] == 3 and planned["runs"][0].profile == "quick"
    assert grid.main(base + ["--timeout", "9", "-j", "1"]) == 0
    assert planned["timeout"] == 9 and planned["workers"] == 1
    assert grid.main(["--notebook-dir", str(FIXTURES), "91", "--out", str(tmp_path / "p"), "--no-progress"]) == 0
    assert planned["timeout"] == grid.CELL_TIMEOUT and planned["workers"] == 1


@pytest.mark.parametrize("line, message", [
    ("workers: two", "workers must be a whole number, got 'two'"),
    ("workers: 2.5", "workers must be a whole number, got 2.5"),
    ("workers: true", "workers must be a whole number, got True"),
    ("workers: 0", "workers (option --workers or YAML key workers) must be at least 1, got 0"),
    ("timeout: 0", "timeout (option --timeout or YAML key timeout) must be at least 1, got 0"),
    ("timeout: 10 minutes", "timeout must be a whole number"),
    ("quick: 'yes'", "quick must be true or false, got 'yes'"),
    ("grid: [SEED]", "grid must be a mapping"),
    ("out: 3", "out must be a folder path"),
])
def test_bad_values_in_the_config_file_are_named(tmp_path, capsys, line, message):
    config = tmp_path / "grid.yaml"
    config.write_text(f"notebooks: [91_fixture_mean]\n{line}\n")
    out = tmp_path / "o"
    assert grid.main(["--notebook-dir", str(FIXTURES), "--config", str(config), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("text", ["{[1]: 2}", "{{}: 1}"])  # literal_eval raises TypeError (unhashable key)
def test_values_that_break_literal_parsing_are_read_as_text(text):
    assert values.parse_value(text) == text


def test_an_unhashable_literal_value_is_refused_with_its_parameter(tmp_path, capsys):
    assert grid.main(["--notebook-dir", str(FIXTURES), "90", "-p", "LEARNING_RATE={[1]:2}",
                      "--out", str(tmp_path / "o")]) == 2
    assert "wrong type for LEARNING_RATE: '{[1]:2}' is a str" in capsys.readouterr().err


def test_a_non_literal_default_in_the_parameters_cell_accepts_any_value(tmp_path):
    nb = nbformat.read(FIXTURES / "91_fixture_mean.ipynb", as_version=4)
    nb.cells[2].source += "\nODD = {[1]: 2}  # raises TypeError in literal_eval\n"
    nbformat.write(nb, tmp_path / "91_odd.ipynb")
    declared = notebooks.notebook_parameters(tmp_path / "91_odd.ipynb")
    assert declared["ODD"] is values.UNPARSED and declared["SAMPLES"] == 1000


def test_a_run_leaves_the_callers_environment_as_it_was(tmp_path, monkeypatch):
    import papermill

    seen = {}

    def fake_papermill(source, output, **kwargs):
        seen.update({k: os.environ.get(k) for k in ("COURSE_PROGRESS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")})

    monkeypatch.setattr(papermill, "execute_notebook", fake_papermill)
    monkeypatch.delenv("COURSE_PROGRESS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "5")
    run = plan.plan_runs({"91": {}}, tmp_path, notebook_dir=FIXTURES)[0]
    running.execute_run(run, threads=2)
    assert seen == {"COURSE_PROGRESS": "0", "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "5"}, \
        "the kernel starts without progress bars, with a thread cap that the caller's own setting overrides"
    assert "COURSE_PROGRESS" not in os.environ and "OMP_NUM_THREADS" not in os.environ
    assert os.environ["MKL_NUM_THREADS"] == "5"
