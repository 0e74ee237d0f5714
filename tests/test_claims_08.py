"""Claims of lesson 08 checked against its committed full run: each test is named for the sentence it guards."""
from __future__ import annotations

from committed import results

NAME = "08_project_template"


def test_both_models_beat_the_chance_level_by_a_wide_margin():
    r = results(NAME)
    assert min(r["logreg_test_accuracy"], r["mlp_test_accuracy"]) > r["chance_level"] + 0.2


def test_the_two_models_cv_means_differ_by_less_than_one_fold_standard_deviation():
    r = results(NAME)
    assert abs(r["cv5_logreg_mean"] - r["cv5_mlp_mean"]) < min(r["cv5_logreg_std"], r["cv5_mlp_std"])


def test_the_projects_success_level_of_95_percent_is_met():
    assert results(NAME)["tuned_test_accuracy"] >= 0.95


def test_the_saved_model_reloads_and_retrains_identically():
    r = results(NAME)
    assert r["reload_identical"] is True and r["reproducible"] is True
