"""Lesson 05 (Planet CNN): the quick profile runs cleanly and its model beats the trivial baselines."""
from __future__ import annotations

from course_utils.paths import data_root
from notebook_runner import error_outputs, run_quick

NAME = "05_cnn_amazon_satellite"


def test_quick_run_has_no_errors_and_records_results():
    path, results = run_quick(NAME)
    assert error_outputs(path) == []
    for key in ("test_f2_per_label_thresholds", "test_f2_global_threshold", "test_f2_most_frequent_baseline",
                "test_f2_all_positive_baseline", "test_f2_dense_net", "cnn_parameters", "dense_parameters"):
        assert key in results, f"{key} was not recorded"
    assert results["n_chips"] == 300  # quick profile LIMIT


def test_model_beats_the_all_positive_baseline_and_scores_are_f2_values():
    _, results = run_quick(NAME)
    scores = [v for k, v in results.items() if k.startswith("test_f2")]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert results["test_f2_global_threshold"] > results["test_f2_all_positive_baseline"] + 0.1
    assert results["test_f2_per_label_thresholds"] > results["test_f2_all_positive_baseline"] + 0.1


def test_cnn_is_much_smaller_than_the_dense_net():
    _, results = run_quick(NAME)
    assert results["dense_parameters"] > 10 * results["cnn_parameters"]


def test_data_source_matches_the_data_root():
    _, results = run_quick(NAME)
    has_planet = (data_root() / "planet").is_dir()
    assert results["data_source"] == ("real subset" if has_planet else "synthetic")  # the quick profile uses LIMIT rows
    if has_planet:  # on the real sample the baselines have known values (about 0.48 and 0.65-0.67)
        assert 0.40 < results["test_f2_all_positive_baseline"] < 0.56
        assert 0.58 < results["test_f2_most_frequent_baseline"] < 0.75


def test_committed_full_run_meets_the_f2_target_on_real_chips():
    from course_utils.results import read_results
    from notebook_runner import notebook_path

    results = read_results(notebook_path(NAME))
    assert results["data_source"] in ("real", "real subset")
    assert results["test_f2_global_threshold"] >= 0.80
    assert results["test_f2_global_threshold"] > results["test_f2_most_frequent_baseline"] > results["test_f2_all_positive_baseline"]
