"""Unit tests for the NumPy MLP: backprop equals finite differences and autograd, training learns."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils import numpy_net as nn_
from course_utils.numpy_net import NumpyMLP, one_hot


def small_problem(seed=0, sizes=(5, 4, 3, 3), batch=6):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, sizes[0])), one_hot(rng.integers(0, sizes[-1], batch), sizes[-1])


@pytest.mark.parametrize("cost", ["quadratic", "cross_entropy"])
@pytest.mark.parametrize("sizes", [(5, 3), (5, 4, 3), (5, 4, 4, 3, 3)])
def test_backprop_matches_finite_differences_and_autograd(cost, sizes):
    net = NumpyMLP(sizes, cost=cost, seed=3)
    x, y = small_problem(sizes=sizes)
    grads = net.backprop(x, y)
    assert nn_.relative_error(grads, nn_.numerical_gradients(net, x, y)) < 1e-6
    assert nn_.relative_error(grads, nn_.torch_gradients(net, x, y)) < 1e-10


def test_costs_match_their_formulas():
    a, y = np.array([[0.8], [0.2]]), np.array([[1.0], [0.0]])
    assert nn_.QuadraticCost.value(a, y) == pytest.approx(0.5 * (0.04 + 0.04))
    assert nn_.CrossEntropyCost.value(a, y) == pytest.approx(-2 * np.log(0.8))


def test_a_wrong_gradient_is_caught_by_the_check():
    net = NumpyMLP((5, 4, 3), seed=0)
    x, y = small_problem(sizes=(5, 4, 3))
    grad_w, grad_b = net.backprop(x, y)
    grad_w[0] = grad_w[0] * 1.01
    assert nn_.relative_error((grad_w, grad_b), nn_.torch_gradients(net, x, y)) > 1e-4


@pytest.mark.parametrize("seed", range(10))
def test_gradient_check_of_the_lesson_network_passes_for_every_seed(seed):
    # Lesson 03's check (sizes 6-5-4-4-3, ten samples): with seeds 6 and 8 some first-layer gradients are about 1e-8,
    # so an entry-by-entry relative error (floor 1e-8) reached 1e-5 against finite differences and stopped the lesson.
    sizes = (6, 5, 4, 4, 3)
    x, y = small_problem(seed, sizes, batch=10)
    for cost in ("quadratic", "cross_entropy"):
        net = NumpyMLP(sizes, cost=cost, seed=seed)
        grads = net.backprop(x, y)
        assert nn_.relative_error(grads, nn_.numerical_gradients(net, x, y)) < 1e-6
        assert nn_.relative_error(grads, nn_.torch_gradients(net, x, y)) < 1e-10


def test_relative_error_weighs_whole_vectors_and_is_zero_for_equal_or_zero_gradients():
    tiny_and_large = ([np.array([[1e-9, 3.0]])], [np.array([[4.0]])])
    tiny_entry_off = ([np.array([[2e-9, 3.0]])], [np.array([[4.0]])])
    assert nn_.relative_error(tiny_and_large, tiny_entry_off) == pytest.approx(1e-9 / 10)
    assert nn_.relative_error(tiny_and_large, ([np.array([[1e-9, 3.0]])], [np.array([[-4.0]])])) == pytest.approx(0.8)
    zeros = ([np.zeros((2, 2))], [np.zeros((2, 1))])
    assert nn_.relative_error(zeros, zeros) == 0.0


def test_relative_error_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes differ"):
        nn_.relative_error(([np.zeros((2, 2))], []), ([np.zeros((2, 3))], []))


def test_swapping_the_hidden_activation_keeps_gradients_right():
    tanh = nn_.Activation("tanh", np.tanh, lambda z: 1 - np.tanh(z) ** 2, torch.tanh)
    net = NumpyMLP((5, 4, 3), activation=tanh, seed=1)
    x, y = small_problem(sizes=(5, 4, 3))
    assert nn_.relative_error(net.backprop(x, y), nn_.torch_gradients(net, x, y)) < 1e-10


def test_bad_shapes_and_settings_get_clear_errors():
    net = NumpyMLP((4, 3, 2))
    with pytest.raises(ValueError, match=r"shape \(samples, 4\)"):
        net.forward(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="Unknown cost"):
        NumpyMLP((4, 2), cost="hinge")
    with pytest.raises(ValueError, match="at least an input and an output"):
        NumpyMLP((4,))
    with pytest.raises(ValueError, match="Labels must lie in 0..9"):
        one_hot([3, 12])
    with pytest.raises(ValueError, match="LEARNING_RATE must be a positive number"):
        nn_.train_sgd(net, np.zeros((4, 4)), [0, 1, 0, 1], np.zeros((2, 4)), [0, 1], 1, 2, -1.0)


def test_sigmoid_is_stable_for_large_inputs():
    with np.errstate(all="raise"):
        values = nn_.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_allclose(values, [0.0, 0.5, 1.0])


def test_train_sgd_learns_separable_blobs_and_keeps_best_epoch():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 8)) * 3
    labels = rng.integers(0, 3, 600)
    x = centres[labels] + rng.standard_normal((600, 8))
    net = NumpyMLP((8, 16, 3), seed=0)
    before = net.accuracy(x[400:], labels[400:])
    history = nn_.train_sgd(net, x[:400], labels[:400], x[400:], labels[400:], epochs=5, batch_size=16,
                            learning_rate=1.0, verbose=False)
    assert history.epochs == 5 and 1 <= history.best_epoch <= 5
    assert history.val_loss[-1] < history.val_loss[0]
    assert net.accuracy(x[400:], labels[400:]) > max(0.9, before)
    assert net.loss(x[400:], one_hot(labels[400:], 3)) == pytest.approx(history.best_val_loss)


def blob_problem(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian blobs in 8 dimensions with integer labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    return rng.standard_normal((3, 8))[labels] * 3 + rng.standard_normal((n, 8)), labels


def test_train_sgd_restores_its_best_epoch_not_its_last_one():
    x, labels = blob_problem()
    wrong = (labels + 1) % 3  # validation labels the net learns to get wrong: the best epoch is the first
    net = NumpyMLP((8, 16, 3), seed=0)
    start = net.loss(x, one_hot(wrong, 3))
    history = nn_.train_sgd(net, x, labels, x, wrong, epochs=4, batch_size=16, learning_rate=1.0, verbose=False)
    assert history.best_epoch == 1 and history.val_loss[-1] > history.val_loss[0]
    restored = net.loss(x, one_hot(wrong, 3))
    assert restored == pytest.approx(history.val_loss[0], rel=1e-12)
    assert restored != pytest.approx(start), "the epoch-1 parameters, not the untrained ones"


def trained_weights(seed: int) -> list[np.ndarray]:
    """Weights after one epoch from the same initial net, shuffled with the given seed."""
    x, labels = blob_problem(60)
    net = NumpyMLP((8, 5, 3), seed=0)
    nn_.train_sgd(net, x, labels, x, labels, epochs=1, batch_size=10, learning_rate=0.5, seed=seed, verbose=False)
    return net.weights


def test_train_sgd_shuffle_follows_its_seed():
    same = trained_weights(1), trained_weights(1)
    assert all(np.array_equal(a, b) for a, b in zip(*same))
    other = trained_weights(2)
    assert not np.allclose(same[0][0], other[0]), "a different seed must visit the minibatches in another order"


def test_gradient_timings_time_both_methods_and_report_their_ratio(monkeypatch):
    # Counts forward passes instead of seconds (no wall clock in unit tests): one backprop needs 1,
    # central differences need 2 per parameter, so the reported ratio must be exactly 2 * parameters.
    passes = []
    real_forward = NumpyMLP.forward_pass
    monkeypatch.setattr(NumpyMLP, "forward_pass", lambda self, x: passes.append(1) or real_forward(self, x))

    def counting_clock(fn):
        before = len(passes)
        fn()
        return float(len(passes) - before)

    monkeypatch.setattr(nn_, "_timed", counting_clock)
    timing = nn_.gradient_timings((10, 6, 3), batch=4)
    parameters = 10 * 6 + 6 + 6 * 3 + 3
    assert timing == {"parameters": parameters, "backprop_s": 1.0, "finite_diff_s": 2.0 * parameters,
                      "ratio": 2.0 * parameters}


def test_gradient_table_lists_every_parameter_with_matching_backprop_and_finite_differences():
    from course_utils.numpy_net import gradient_table

    net = NumpyMLP([2, 3, 1], cost="quadratic", seed=0)
    rows = gradient_table(net, np.array([[1.0, -2.0]]), np.array([[1.0]]))
    assert len(rows) == net.num_parameters
    assert rows[0]["parameter"] == "w1[1,1]" and rows[0]["value"] == net.weights[0][0, 0]
    assert rows[-1]["parameter"] == "b2[1]" and rows[-1]["value"] == net.biases[1][0, 0]
    for row in rows:
        assert abs(row["backprop"] - row["finite difference"]) <= 1e-6 * (abs(row["backprop"]) + 1e-8), row
