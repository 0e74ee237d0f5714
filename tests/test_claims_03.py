"""Claims of lesson 03 checked against its committed full run: each test is named for the sentence it guards."""
from __future__ import annotations

from committed import markdown, results

NAME = "03_backprop_from_scratch"


def test_numpy_and_pytorch_networks_are_within_half_a_point_and_the_verdict_follows_the_rule():
    r = results(NAME)
    comparison = r["torch_vs_numpy"]
    assert abs(r["torch_test_accuracy"] - r["numpy_test_accuracy"]) < 0.005
    z = comparison["difference"] / comparison["standard_error"]
    assert comparison["verdict"] == ("ahead of" if z > 2 else "behind" if z < -2 else "level with")


def test_gradient_checks_agree_far_better_than_one_in_a_million():
    assert results(NAME)["gradient_check_max_rel_error"] < 1e-6


def test_lesson_does_not_claim_pytorch_pulls_ahead_without_a_measurement():
    assert "pulls ahead" not in markdown(NAME)
