"""Claims of lesson 02 checked against its committed full run: each test is named for the sentence it guards."""
from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np

from committed import code, printed, results
from course_utils.optim_demos import bumpy_function, bumpy_gradient, gradient_descent, plot_path_1d

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


def test_a_small_rate_stays_in_the_local_minimum_and_a_larger_one_jumps_over_and_keeps_bouncing():
    """Run the figure's cell and check the two paths it draws."""
    drawn = []

    def recorded(*args):
        drawn.append((args[2], gradient_descent(*args)))
        return drawn[-1][1]

    exec(code(NAME, "bumpy_gradient, 2.0"), {"plt": plt, "gradient_descent": recorded, "bumpy_gradient": bumpy_gradient,
                                              "bumpy_function": bumpy_function, "plot_path_1d": plot_path_1d})
    plt.close("all")
    (small_rate, small), (large_rate, large) = drawn
    assert small_rate < large_rate, "the left panel shows the small rate"
    small, large = small[:, 0], large[:, 0]
    assert abs(small[-1] - 1.35) < 0.01, "the small rate ends in the local minimum near w = 1.35"
    assert (large[-10:] < 0).all(), "the larger rate crosses the hill into the deeper valley on the left"
    assert np.ptp(large[-10:]) > 0.1, "and keeps bouncing there instead of settling"


def test_on_the_round_bowl_all_three_reach_the_bottom_and_plain_gradient_descent_needs_no_help():
    r = results(NAME)
    finals = [r[f"final_loss_line_fit_{m}"] for m in ("sgd", "momentum", "adam")]
    assert max(finals) < 1e-3 and r["final_loss_line_fit_sgd"] == min(finals)


def test_autograd_and_torch_optim_reproduce_the_hand_written_gradients_up_to_rounding():
    assert results(NAME)["autograd_max_abs_difference"] < 1e-12
    # "identical up to rounding (about 1e-15)": float64 rounding, not exactly zero (seed 0 gives 1.1e-16)
    found = re.search(r"largest difference after \d+ steps: (\S+)", printed(NAME, "torch.optim.SGD([w_t, b_t]"))
    assert found and float(found.group(1)) < 1e-12
