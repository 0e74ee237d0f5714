"""Claims of lesson 02 checked against its committed full run: each test is named for the sentence it guards."""
from __future__ import annotations

from committed import results

NAME = "02_gradient_descent"


def test_momentum_and_adam_beat_plain_sgd_by_orders_of_magnitude_in_the_valley():
    r = results(NAME)
    assert r["final_loss_sgd"] > 100 * max(r["final_loss_momentum"], r["final_loss_adam"])


def test_momentum_widens_the_window_of_good_learning_rates_and_adam_widens_it_most():
    r = results(NAME)
    assert r["good_learning_rates_sgd"] < r["good_learning_rates_momentum"] <= r["good_learning_rates_adam"]
    assert r["good_learning_rates_adam"] >= 3 * r["good_learning_rates_sgd"]


def test_stochastic_and_minibatch_runs_get_closer_to_the_bottom_than_full_batch_in_the_same_epochs():
    r = results(NAME)
    assert r["final_loss_minibatch"] < r["final_loss_full_batch"] and r["final_loss_stochastic"] < r["final_loss_full_batch"]
    assert r["final_loss_minibatch"] - r["least_squares_cost"] < 0.01
