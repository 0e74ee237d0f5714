"""Lesson 04 (overfitting, capacity, honest evaluation): quick papermill run, checked through its recorded results."""
from __future__ import annotations

import pytest

from committed import widget_states
from notebook_runner import error_outputs, quick_parameters, run_quick

NAME = "04_overfitting_curves"
CHANCE = 0.1


@pytest.fixture(scope="module")
def results():
    path, recorded = run_quick(NAME)
    assert error_outputs(path) == []
    return recorded


def test_quick_run_records_every_headline_result(results):
    expected = {"best_capacity", "best_capacity_parameters", "test_accuracy_early_stopping", "test_accuracy_last_epoch",
                "val_loss_early_stopping", "val_loss_last_epoch", "kfold_mean", "kfold_std", "random_split_std",
                "best_learning_rate", "selection_optimism", "selection_comparison", "regularisation_findings",
                "defect_test_f1_at_0_5", "defect_test_average_precision", "regularisation_test_accuracy",
                "early_stopping_accuracy_comparison", "defect_validation_at_thresholds", "section_1_errors",
                "regularisation_val_loss"}
    assert expected <= set(results)


def test_test_accuracies_are_well_above_chance(results):
    assert results["test_accuracy_early_stopping"] > 2 * CHANCE
    assert results["test_accuracy_last_epoch"] > 2 * CHANCE
    assert all(CHANCE < acc <= 1.0 for acc in results["regularisation_test_accuracy"].values())


def test_early_stopping_model_is_not_worse_on_validation_loss(results):
    assert results["val_loss_early_stopping"] <= results["val_loss_last_epoch"] + 1e-9
    assert 1 <= results["best_epoch"] <= quick_parameters(NAME)["EPOCHS"]


def test_best_capacity_is_one_of_the_swept_networks(results):
    swept = {"-".join(str(h) for h in hidden) for hidden in quick_parameters(NAME)["CAPACITIES"]}
    assert results["best_capacity"] in swept and results["best_capacity_by_error"] in swept
    assert results["best_capacity_parameters"] > 0


def test_kfold_mean_and_std_are_sane(results):
    assert 0.1 < results["kfold_mean"] <= 1.0
    assert results["kfold_std"] >= 0.0 and results["random_split_std"] >= 0.0


def test_learning_rate_sweep_picks_a_rate_that_did_not_diverge(results):
    rates = quick_parameters(NAME)["LEARNING_RATES"]
    assert results["best_learning_rate"] in rates
    assert results["best_learning_rate"] != max(rates), "the quick profile's largest rate (100) must diverge"


def test_binary_inspection_measures_are_probabilities_above_chance(results):
    assert 0.0 < results["defect_test_f1_at_0_5"] <= 1.0
    # a random scorer's average precision is the defect rate (about 0.1)
    assert 0.2 < results["defect_test_average_precision"] <= 1.0


def test_threshold_slider_is_an_ipywidget():
    """The committed run created the threshold slider as an ipywidgets FloatSlider, which Colab and JupyterLab show."""
    [slider] = widget_states(NAME, "FloatSliderModel")
    assert slider["description"] == "threshold" and 0 < slider["min"] < slider["max"] < 1
