"""Claims of lesson 03 checked against its committed full run: each test is named for the sentence it guards."""
from __future__ import annotations

import numpy as np

from committed import printed_line, results

NAME = "03_backprop_from_scratch"


def test_numpy_and_pytorch_networks_reach_about_the_same_accuracy_and_the_verdict_follows_the_rule():
    r = results(NAME)
    comparison = r["torch_vs_numpy"]
    assert abs(r["torch_test_accuracy"] - r["numpy_test_accuracy"]) < 0.01  # "about the same": within one point
    z = comparison["difference"] / comparison["standard_error"]
    assert comparison["verdict"] == ("ahead of" if z > 2 else "behind" if z < -2 else "level with")


def test_gradient_checks_agree_far_better_than_one_in_a_million():
    assert results(NAME)["gradient_check_max_rel_error"] < 1e-6


def test_autograd_agrees_to_rounding_and_finite_differences_less_closely():
    r = results(NAME)
    assert r["gradient_check_max_rel_error_autograd"] < 1e-13  # float64 rounding (whole-vector measure)
    assert r["gradient_check_max_rel_error_autograd"] < r["gradient_check_max_rel_error_finite_differences"] < 1e-6


def test_finite_difference_over_backprop_ratio_grows_roughly_in_proportion_to_the_parameters():
    r = results(NAME)
    slope = np.polyfit(np.log(r["timing_parameters"]), np.log(r["timing_ratio_finite_differences_over_backprop"]), 1)[0]
    assert 0.6 < slope < 1.4, f"log-log slope {slope:.2f}: not roughly proportional"


def test_numpy_network_reaches_over_95_percent_on_full_mnist_and_the_run_says_which_digits_it_used():
    r = results(NAME)
    scope = printed_line(NAME, "data = load_mnist(", "Data: .* training")  # which digits the run used
    if not r["full_mnist"]:
        assert "not full MNIST" in scope
    else:
        assert scope.startswith("Data: a subset of MNIST" if r["data_source"] == "real subset" else "Data: full MNIST —")
    if r["full_mnist"] and r["data_source"] != "real subset":  # all of full MNIST's training digits, as the title says
        assert r["numpy_test_accuracy"] > 0.95
