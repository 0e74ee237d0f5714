"""Claims of lesson 04 checked against its committed full run: each test is named for the sentence it guards."""
from __future__ import annotations

import numpy as np

from committed import markdown, results
from course_utils.compare import compare_runs, less_spread

NAME = "04_overfitting_curves"


def test_validation_loss_against_capacity_is_u_shaped():
    table = results(NAME)["capacity_table"]
    losses = table["val_loss"]
    best = int(np.argmin(losses))
    assert 0 < best < len(losses) - 1, "the lowest validation loss must be inside the sweep, not at an end"
    assert losses[-1] > losses[best] and losses[0] > losses[best]
    assert table["train_loss"][-1] < 0.01, "the training loss keeps falling to (nearly) zero"


def test_validation_error_of_the_largest_nets_does_not_climb_back():
    errors = results(NAME)["capacity_table"]["val_error"]
    assert errors[-1] <= errors[-2] <= errors[int(np.argmin(results(NAME)["capacity_table"]["val_loss"]))]


def test_best_checkpoint_has_lower_validation_and_test_loss_and_close_accuracy():
    r = results(NAME)
    assert r["val_loss_early_stopping"] < r["val_loss_last_epoch"]
    assert r["test_loss_early_stopping"] < r["test_loss_last_epoch"]
    assert abs(r["test_accuracy_early_stopping"] - r["test_accuracy_last_epoch"]) < 0.01


def test_more_data_closes_the_gap_while_training_error_stays_near_zero():
    curve = results(NAME)["size_curve"]
    gaps = np.subtract(curve["val_error"], curve["train_error"])
    assert max(curve["train_error"]) <= 0.01
    assert all(b <= a + 0.01 for a, b in zip(curve["val_error"], curve["val_error"][1:]))
    assert gaps[-1] < gaps[0] / 2


def test_learning_rate_sweep_small_rates_crawl_and_the_largest_blows_up():
    table = results(NAME)["lr_table"]
    rates, losses, diverged = table["learning rate"], table["final val loss"], table["diverged"]
    assert diverged[int(np.argmax(rates))] is True
    best = results(NAME)["best_learning_rate"]
    assert min(rates) < best < max(rates)
    assert losses[int(np.argmin(rates))] > 2 * losses[rates.index(best)]


def test_regularisation_findings_follow_the_rule_and_the_summary_does_not_claim_every_cure_narrows_the_gap():
    r = results(NAME)
    gaps = r["regularisation_gaps"]
    assert all(len(v) >= 3 for v in gaps.values())
    effects = {"behind": "narrows", "ahead of": "widens", "level with": "does not measurably change"}
    for name, effect in r["regularisation_findings"].items():
        assert effect == effects[compare_runs(gaps[name], gaps["none (last epoch)"], "a", "b").verdict], name
    assert "weight decay, dropout and early stopping narrow it" not in markdown(NAME)


def test_the_gap_stays_large_with_every_cure():
    assert min(np.mean(v) for v in results(NAME)["regularisation_gaps"].values()) > 0.05


def test_picking_on_test_is_optimistic_and_picking_on_validation_is_centred_near_zero():
    r = results(NAME)
    on_test, on_val = r["selection_optimism"]["picked on test"], r["selection_optimism"]["picked on validation"]
    assert on_test["mean"] > 2 * on_test["se"] and on_test["mean"] > 0.005
    assert r["selection_comparison"]["verdict"] == "ahead of"
    assert abs(on_val["mean"]) < 0.005


def test_kfold_mean_is_steadier_than_a_single_split():
    r = results(NAME)
    assert len(r["kfold_means"]) >= 3 and len(r["random_split_scores"]) >= 5
    _, _, steadier = less_spread(r["kfold_means"], r["random_split_scores"])
    assert steadier and r["kfold_mean_steadier"] is True
