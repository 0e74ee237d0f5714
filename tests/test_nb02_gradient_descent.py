"""Lesson 02 (gradient descent) runs its quick profile cleanly and records the numbers the lesson teaches."""
from __future__ import annotations

import math

import pytest

from committed import widget_states
from notebook_runner import error_outputs, notebook_path, run_quick

NAME = "02_gradient_descent"


def test_quick_run_has_no_errors():
    path, _ = run_quick(NAME)
    assert error_outputs(path) == []


def test_hand_computations_match_the_course():
    _, results = run_quick(NAME)
    assert results["hand_cost_example"] == pytest.approx(0.04)
    assert results["iterations_per_epoch_50000_1000"] == 50


def test_hand_written_descent_fits_the_line():
    _, results = run_quick(NAME)
    assert results["least_squares_cost"] <= results["line_fit_cost"] < 1.05 * results["least_squares_cost"]


def test_smaller_minibatches_get_further_in_the_same_epochs():
    _, results = run_quick(NAME)
    assert results["final_loss_minibatch"] < results["final_loss_full_batch"]
    assert results["final_loss_stochastic"] < results["final_loss_full_batch"]


def test_optimiser_race_records_final_losses_and_adam_tolerates_more_rates():
    _, results = run_quick(NAME)
    for method in ("sgd", "momentum", "adam"):
        assert math.isfinite(results[f"final_loss_{method}"])
    assert results["final_loss_momentum"] < results["final_loss_sgd"]
    assert results["final_loss_adam"] < results["final_loss_sgd"]
    assert results["good_learning_rates_adam"] > results["good_learning_rates_sgd"]


def test_every_optimiser_reaches_the_bottom_of_the_round_line_fit():
    _, results = run_quick(NAME)
    assert results["final_loss_line_fit_sgd"] < 0.01  # plain descent needs no help on a round bowl
    for method in ("momentum", "adam"):
        assert 0 <= results[f"final_loss_line_fit_{method}"] < 0.2


def test_autograd_reproduces_hand_gradients():
    _, results = run_quick(NAME)
    assert results["autograd_max_abs_difference"] < 1e-10


def test_committed_full_run_records_the_same_lessons():
    from course_utils.results import read_results

    results = read_results(notebook_path(NAME))
    assert results["iterations_per_epoch_50000_1000"] == 50
    assert results["good_learning_rates_adam"] > results["good_learning_rates_momentum"] > results["good_learning_rates_sgd"]


def test_learning_rate_slider_is_an_ipywidget():
    """The committed run created the slider as an ipywidgets FloatLogSlider, which Colab and JupyterLab show."""
    [slider] = widget_states(NAME, "FloatLogSliderModel")
    assert slider["description"] == "learning rate" and slider["base"] == 10
