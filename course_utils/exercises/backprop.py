"""Checkers for the exercises of lesson 03 (backpropagation): they say 'correct' or give a hint."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..i18n import t
from ..numpy_net import Activation, NumpyMLP, one_hot, relative_error, torch_gradients
from . import ExerciseFailed, passed, require, require_answer
from .experiment import paired_verdict, require_own_score, require_verdict

GRID = np.array([-3.0, -1.2, -0.4, -0.05, 0.05, 0.3, 1.0, 2.5])


def _check_derivative(name: str, fn: Callable, torch_fn: Callable, prime: Callable | None, shape_hint: str) -> None:
    """Compare a derivative with central differences, then run a gradient check of a net that uses it."""
    require_answer(prime, name)
    try:
        answer = prime(GRID.copy())
    except Exception as exc:  # the student's code may fail in any way
        raise ExerciseFailed(t("{exercise}: calling your function on an array failed ({error}: {detail}). Hint: {hint}",
                               exercise=name, error=type(exc).__name__, detail=exc, hint=shape_hint)) from None
    require_answer(answer, name)
    values = np.asarray(answer, dtype=float)
    require(values.shape == GRID.shape, name, t("return one slope per element of z (shape {expected}, got {got}). {hint}",
                                                expected=GRID.shape, got=values.shape, hint=shape_hint))
    numeric = (fn(GRID + 1e-6) - fn(GRID - 1e-6)) / 2e-6
    require(bool(np.all(values >= -1e-12)), name, t("this activation never decreases, so its slope is never negative."))
    require(np.allclose(values, numeric, rtol=1e-5, atol=1e-7), name,
            t("your slopes differ from (f(z + h) - f(z - h)) / 2h at some z. {hint}", hint=shape_hint))
    rng = np.random.default_rng(0)
    net = NumpyMLP((4, 5, 3), activation=Activation(name, fn, prime, torch_fn), seed=2)
    x = rng.standard_normal((6, 4))
    y = one_hot(rng.integers(0, 3, 6), 3)
    error = relative_error(net.backprop(x, y), torch_gradients(net, x, y))
    require(error < 1e-8, name, t("used inside the network your derivative gives a gradient error of {error:.1e} against "
                                  "autograd.", error=error))
    passed(name, t("Backprop with it matches torch.autograd (relative error {error:.1e}).", error=error))


def check_tanh_prime(tanh_prime: Callable | None) -> None:
    """Exercise 1: derivative of tanh, checked numerically and inside a network."""
    _check_derivative(t("Exercise 1 (tanh')"), np.tanh, torch.tanh, tanh_prime,
                      t("write the slope of tanh using tanh(z) itself, the way s'(z) = s(z)(1 - s(z)); at z = 0 it is 1."))


def check_relu_prime(relu_prime: Callable | None) -> None:
    """Exercise 2: derivative of ReLU, checked numerically and inside a network."""
    _check_derivative(t("Exercise 2 (ReLU')"), lambda z: np.maximum(z, 0.0), torch.relu, relu_prime,
                      t("ReLU is a straight line on each side of 0: compare z with 0 elementwise."))


def check_finite_difference_cost(parameters: int | None, forward_passes: int | None) -> None:
    """Exercise 3: parameter count of a 784-30-10 net and cost evaluations for one central-difference gradient."""
    name = t("Exercise 3 (cost of finite differences)")
    require_answer(parameters, name)
    require_answer(forward_passes, name)
    expected = 784 * 30 + 30 + 30 * 10 + 10
    require(int(parameters) != 784 * 30 + 30 * 10, name,
            t("do not forget the biases: one per neuron of every layer after the input."))
    require(int(parameters) == expected, name,
            t("count one weight per connection between consecutive layers, plus one bias per neuron."))
    require(int(forward_passes) != expected, name,
            t("a central difference evaluates the cost twice per parameter (at p + eps and p - eps)."))
    require(int(forward_passes) == 2 * expected, name,
            t("how many cost evaluations does one central difference need, and for how many parameters?"))
    passed(name, t("Backprop gets all of these derivatives from one forward and one backward pass."))


def check_hidden_units_experiment(net, test_accuracy: float | None, verdict: str | None, baseline, x_test, labels_test,
                                  hidden: int = 10) -> None:
    """Exercise 4: a NumPy net with `hidden` units was trained and judged against the lesson's net by the paired rule."""
    name = t("Exercise 4 (experiment)")
    require_answer(net, name)
    require(list(getattr(net, "sizes", [])) == [784, hidden, 10], name,
            t("build the experiment's network as NumpyMLP([784, {hidden}, 10], ...) and train it with train_sgd.",
              hidden=hidden))
    correct = net.predict(x_test) == labels_test
    require(correct.mean() > 0.5, name, t("the network still guesses: train it with train_sgd(...) before scoring it."))
    require_own_score(test_accuracy, correct.mean, name)
    truth = paired_verdict(correct, baseline.predict(x_test) == labels_test)
    require_verdict(verdict, truth, name, t("compare the two networks digit by digit with compare_paired(...)"))
    passed(name, truth.sentence("test accuracy"))
