"""Unit tests for the gradient-descent demos: hand-written optimisers must match torch.optim exactly."""
from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
import torch

from course_utils import optim_demos as od

matplotlib.use("Agg")


def test_quadratic_cost_matches_hand_computation():
    assert od.quadratic_cost([0.8, 0.2, 0.6], [1, 0, 1]) == pytest.approx(0.04)


def test_quadratic_cost_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="same length"):
        od.quadratic_cost([1, 2], [1, 2, 3])


def test_iterations_per_epoch_course_example_and_partial_batch():
    assert od.iterations_per_epoch(50_000, 1_000) == 50
    assert od.iterations_per_epoch(60_000, 128) == 469


@pytest.mark.parametrize("bad", [0, -5, 2.5, True])
def test_iterations_per_epoch_rejects_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        od.iterations_per_epoch(100, bad)


def test_gradient_descent_on_parabola_follows_the_update_rule():
    path = od.gradient_descent(lambda w: 2 * w, 1.0, 0.25, 3)
    np.testing.assert_allclose(path[:, 0], [1.0, 0.5, 0.25, 0.125])


@pytest.mark.parametrize("rate", [0, -0.1, float("nan")])
def test_bad_learning_rate_is_refused(rate):
    with pytest.raises(ValueError, match="learning rate must be a positive number"):
        od.gradient_descent(lambda w: w, 1.0, rate, 3)


def test_unknown_optimiser_is_named():
    with pytest.raises(ValueError, match="rmsprop"):
        od.optimize(lambda w: w, [1.0], "rmsprop", 0.1, 3)


@pytest.mark.parametrize("method", ["sgd", "momentum", "adam"])
def test_hand_written_optimisers_match_torch_optim(method):
    _, grad = od.elongated_bowl(10.0)
    start = [1.5, -0.8]
    path = od.optimize(grad, start, method, 0.05, 20)
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = {"sgd": lambda: torch.optim.SGD([p], lr=0.05),
                 "momentum": lambda: torch.optim.SGD([p], lr=0.05, momentum=0.9),
                 "adam": lambda: torch.optim.Adam([p], lr=0.05)}[method]()
    for _ in range(20):
        optimizer.zero_grad()
        (0.5 * (p[0] ** 2 + 10.0 * p[1] ** 2)).backward()
        optimizer.step()
    np.testing.assert_allclose(path[-1], p.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_bumpy_function_has_local_and_global_minimum():
    small = od.gradient_descent(od.bumpy_gradient, 2.0, 0.01, 500)[-1, 0]
    assert small == pytest.approx(1.35, abs=0.02)
    assert od.bumpy_function(-1.47) < od.bumpy_function(small)
    x = np.linspace(-2, 2, 7)
    numeric = (od.bumpy_function(x + 1e-6) - od.bumpy_function(x - 1e-6)) / 2e-6
    np.testing.assert_allclose(od.bumpy_gradient(x), numeric, rtol=1e-6, atol=1e-6)


def test_linear_gradients_match_finite_differences_and_cost_broadcasts():
    x, y = od.make_linear_data(50, seed=1)
    w, b, h = 0.3, -0.7, 1e-6
    numeric = [(od.linear_cost(w + h, b, x, y) - od.linear_cost(w - h, b, x, y)) / (2 * h),
               (od.linear_cost(w, b + h, x, y) - od.linear_cost(w, b - h, x, y)) / (2 * h)]
    np.testing.assert_allclose(od.linear_gradients(w, b, x, y), numeric, rtol=1e-6)
    grid = od.linear_cost(np.array([[0.3, 1.0]]), np.array([[-0.7, 0.0]]), x, y)
    assert grid.shape == (1, 2) and grid[0, 0] == pytest.approx(od.linear_cost(w, b, x, y))


def test_minibatch_descent_counts_updates_and_learns_the_line():
    x, y = od.make_linear_data(200, weight=2.0, bias=1.0, noise=0.1, seed=0)
    run = od.minibatch_descent(x, y, 0.1, epochs=20, batch_size=32)
    assert len(run["loss"]) == 20 * 7 + 1 and run["epoch_ends"][0] == 7
    w, b = run["path"][-1]
    assert w == pytest.approx(2.0, abs=0.05) and b == pytest.approx(1.0, abs=0.05)
    assert run["loss"][-1] < run["loss"][0] / 50


def test_sweep_marks_divergence_as_infinite_and_adam_tolerates_more_rates():
    f, grad = od.elongated_bowl(50.0)
    rates = np.logspace(-3, 0, 7)
    sweep = od.learning_rate_sweep(f, grad, [1.5, 0.5], rates, 200)
    assert math.isinf(sweep["sgd"][-1]) or sweep["sgd"][-1] > 1e6
    good = {m: int(np.sum(v < 1e-2)) for m, v in sweep.items()}
    assert good["adam"] > good["sgd"]


def test_elongated_bowl_rejects_condition_below_one():
    with pytest.raises(ValueError, match="condition must be at least 1"):
        od.elongated_bowl(0.5)


def test_plots_draw_paths():
    f, grad = od.elongated_bowl(5.0)
    ax = od.plot_contour_paths(f, {"sgd": od.optimize(grad, [1, 1], "sgd", 0.1, 5)}, (-2, 2), (-2, 2))
    assert len(ax.lines) == 1
    ax = od.plot_path_1d(od.bumpy_function, od.gradient_descent(od.bumpy_gradient, 2.0, 0.01, 5), (-2.5, 2.5))
    assert len(ax.lines) == 3
