"""Claims of lesson 04 checked against its committed full run (or the run in $COURSE_CLAIMS_RUN, see committed.py):
each test is named for the sentence it guards; benchmarks/seeds.py counts the seeds each one holds in."""
from __future__ import annotations

import numpy as np

from committed import markdown, printed, results
from course_utils.compare import compare_runs, less_spread, verdict

NAME = "04_overfitting_curves"
# "does not climb back": the largest net's validation error may exceed the best capacity's by at most half a point,
# below one standard error (about 0.0075) of an error near 0.13 measured on the lesson's 2,000 validation digits
ERROR_TOLERANCE = 0.005
# "within half a point of zero": the mean optimism of picking on validation, about 10 standard errors over 2,000 games
HONEST_OPTIMISM = 0.005


def prose() -> str:
    """The lesson's markdown with its line breaks and runs of spaces made single spaces."""
    return " ".join(markdown(NAME).split())


def test_the_tiny_net_never_gets_a_low_training_error_and_the_big_one_reaches_zero_far_below_validation():
    curves = results(NAME)["section_1_errors"]
    assert min(curves["tiny"]["train"]) > 0.3, "two hidden units: the training error never gets low"
    big = curves["big"]
    assert 0 in big["train"], "the big net's training error drops to zero"
    reached = big["train"].index(0)
    assert min(big["val"][reached:]) > max(big["train"][reached:]) + 0.05, "the validation error stays far above it"


def test_validation_loss_against_capacity_is_u_shaped():
    table = results(NAME)["capacity_table"]
    losses = table["val_loss"]
    best = int(np.argmin(losses))
    assert 0 < best < len(losses) - 1, "the lowest validation loss must be inside the sweep, not at an end"
    assert losses[-1] > losses[best] and losses[0] > losses[best]
    assert table["train_loss"][-1] < 0.01, "the training loss keeps falling to (nearly) zero"


def test_validation_error_of_the_largest_nets_does_not_climb_back():
    table = results(NAME)["capacity_table"]
    best = int(np.argmin(table["val_loss"]))
    assert table["val_error"][-1] <= table["val_error"][best] + ERROR_TOLERANCE
    line = printed(NAME, "from there to the largest net")
    assert f"validation error {table['val_error'][best]:.4f} -> {table['val_error'][-1]:.4f}" in line


def test_best_checkpoint_has_lower_validation_and_test_loss_and_the_accuracy_verdict_follows_the_rule():
    r = results(NAME)
    assert r["val_loss_early_stopping"] < r["val_loss_last_epoch"]
    assert r["test_loss_early_stopping"] < r["test_loss_last_epoch"]
    comparison = r["early_stopping_accuracy_comparison"]
    assert np.isclose(comparison["difference"], r["test_accuracy_early_stopping"] - r["test_accuracy_last_epoch"],
                      atol=1e-4), "the comparison must be of the two checkpoints' test accuracies"
    assert comparison["verdict"] == verdict(comparison["difference"], comparison["standard_error"])
    assert f"is {comparison['verdict']} last epoch" in printed(NAME, "stopping = compare_paired(")


def test_the_gap_narrows_as_n_grows_to_less_than_half_while_training_error_stays_at_or_near_zero():
    curve = results(NAME)["size_curve"]
    gaps = np.subtract(curve["val_error"], curve["train_error"])
    assert max(curve["train_error"]) <= 0.01, "the training error stays at or near zero"
    assert all(b <= a + 0.01 for a, b in zip(curve["val_error"], curve["val_error"][1:])), "validation error keeps falling"
    assert all(b <= a + 0.01 for a, b in zip(gaps, gaps[1:])), "the gap narrows as n grows (no step widens it)"
    assert gaps[-1] < gaps[0] / 2, "from the smallest subset to the largest the gap falls to less than half"


def test_learning_rate_sweep_small_rates_crawl_and_the_largest_blows_up():
    table = results(NAME)["lr_table"]
    rates, losses, diverged = table["learning rate"], table["final val loss"], table["diverged"]
    assert diverged[int(np.argmax(rates))] is True
    best = results(NAME)["best_learning_rate"]
    assert min(rates) < best < max(rates)
    assert losses[int(np.argmin(rates))] > 2 * losses[rates.index(best)]


def test_regularisation_findings_follow_the_rule():
    r = results(NAME)
    gaps = r["regularisation_gaps"]
    assert all(len(v) >= 3 for v in gaps.values())
    effects = {"behind": "narrows", "ahead of": "widens", "level with": "does not measurably change"}
    for name, effect in r["regularisation_findings"].items():
        assert effect == effects[compare_runs(gaps[name], gaps["none (last epoch)"], "a", "b").verdict], name


def test_the_gap_stays_large_with_every_cure():
    assert min(np.mean(v) for v in results(NAME)["regularisation_gaps"].values()) > 0.05


def test_picking_on_test_is_optimistic_and_picking_on_validation_is_centred_near_zero():
    r = results(NAME)
    on_test, on_val = r["selection_optimism"]["picked on test"], r["selection_optimism"]["picked on validation"]
    assert on_test["mean"] > 2 * on_test["se"] and on_test["mean"] > HONEST_OPTIMISM
    assert r["selection_comparison"]["verdict"] == "ahead of"
    assert abs(on_val["mean"]) < HONEST_OPTIMISM
    assert f"within half a point ({HONEST_OPTIMISM:g}) of zero" in prose()


def test_kfold_mean_is_steadier_than_a_single_split():
    r = results(NAME)
    assert len(r["kfold_means"]) >= 3 and len(r["random_split_scores"]) >= 5
    std_kfold, std_single, steadier = less_spread(r["kfold_means"], r["random_split_scores"])
    assert steadier and r["kfold_mean_steadier"] is True
    assert std_kfold < std_single / 2, "the prose says it moves less than half as much"
    assert "moves less than half as much as one split's score" in prose()


def test_a_low_threshold_catches_the_most_defects_and_a_high_one_flags_the_fewest_most_of_them_defective():
    at = results(NAME)["defect_validation_at_thresholds"]
    low, middle, high = at["0.1"], at["0.5"], at["0.9"]
    assert low["tp"] >= middle["tp"] >= high["tp"] and low["fp"] >= middle["fp"] >= high["fp"]
    assert low["tp"] > high["tp"] and low["fp"] > high["fp"]
    assert high["tp"] > high["fp"], "most of the parts flagged at t = 0.9 are defective"
    share = f"at t = 0.9: {high['tp']} of {high['tp'] + high['fp']} flagged parts are defective"
    assert share in printed(NAME, "high = binary_counts(val_scores, val_defect, 0.9)"), "the line above gives the share"


def test_the_exercise_rows_make_the_bigger_net_better_by_error_and_worse_by_loss():
    from course_utils.exercises.overfitting import SWEEP_ROWS

    rows = {row["hidden"]: row for row in SWEEP_ROWS}
    small, big = rows["128"], rows["512-512"]
    assert big["val_error"] < small["val_error"] and big["val_loss"] > small["val_loss"]
    assert min(SWEEP_ROWS, key=lambda row: row["val_loss"]) is small
    assert min(SWEEP_ROWS, key=lambda row: row["val_error"]) is big
    assert min(SWEEP_ROWS, key=lambda row: row["test_loss"])["hidden"] == "512"
