"""Lesson 03 (backprop from scratch): gradient check, timing and MNIST training recorded by the quick run."""
from __future__ import annotations

from course_utils.results import read_results
from notebook_runner import error_outputs, notebook_path, run_quick

NAME = "03_backprop_from_scratch"


def test_quick_run_has_no_errors():
    path, _ = run_quick(NAME)
    assert error_outputs(path) == []


def test_gradient_check_passes_even_in_quick_mode():
    _, results = run_quick(NAME)
    assert results["gradient_check_max_rel_error"] < 1e-6
    assert results["gradient_check_max_rel_error_autograd"] < 1e-10
    assert results["gradient_check_max_rel_error_finite_differences"] < 1e-6


def test_finite_differences_fall_further_behind_as_parameters_grow():
    _, results = run_quick(NAME)
    counts, ratios = results["timing_parameters"], results["timing_ratio_finite_differences_over_backprop"]
    assert counts == sorted(counts) and len(counts) >= 3
    assert ratios[0] > 10
    assert ratios[-1] > 2 * ratios[0]


def test_numpy_and_torch_networks_learn_well_above_chance():
    _, results = run_quick(NAME)
    assert results["numpy_test_accuracy"] > 0.7
    assert results["torch_test_accuracy"] > 0.7
    assert abs(results["numpy_test_accuracy"] - results["torch_test_accuracy"]) < 0.1


def test_committed_full_run_reaches_95_percent_on_full_mnist():
    results = read_results(notebook_path(NAME))
    assert results["full_mnist"] is True and results["train_samples"] == 50_000
    assert results["numpy_test_accuracy"] >= 0.95
    assert results["gradient_check_max_rel_error"] < 1e-6
    assert results["torch_test_accuracy"] >= 0.94


def test_committed_full_run_meets_the_lesson_target():
    results = read_results(notebook_path(NAME))
    assert results["full_mnist"] is True
    assert results["numpy_test_accuracy"] >= 0.95
    assert results["gradient_check_max_rel_error"] < 1e-6
