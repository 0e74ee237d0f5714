"""Experiment exercises of lessons 02-05: the check measures the student's own run and accepts only the rule's verdict."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.compare import compare_paired, compare_runs
from course_utils.exercises import ExerciseFailed
from course_utils.exercises.backprop import check_hidden_units_experiment
from course_utils.exercises.gradient_descent import check_learning_rate_experiment
from course_utils.exercises.overfitting import check_dropout_experiment
from course_utils.exercises.planet import check_augmentation_experiment
from course_utils.multilabel import apply_thresholds, fbeta_per_image
from course_utils.numpy_net import NumpyMLP, train_sgd
from course_utils.optim_demos import linear_cost, linear_gradients, make_linear_data, optimize

RATES = (0.5, 1.0, 1.4, 1.6, 2.0)


def other(verdict: str) -> str:
    return next(v for v in ("ahead of", "level with", "behind") if v != verdict)


def test_learning_rate_experiment(capsys):
    x, y = make_linear_data(100, weight=2.0, bias=1.0, noise=0.5, seed=0)

    def grad(p):
        return linear_gradients(p[0], p[1], x, y)

    paths = {rate: optimize(grad, [-1.0, -2.0], "sgd", rate, 40) for rate in RATES}
    stable = max(r for r, p in paths.items() if linear_cost(*p[-1], x, y) < linear_cost(*p[0], x, y))
    assert stable < max(RATES), "the case must contain a rate that blows up"
    check_learning_rate_experiment(paths, stable, x, y)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(ExerciseFailed, match="largest"):
        check_learning_rate_experiment(paths, max(RATES), x, y)
    faked = {**paths, 1.0: paths[0.5]}  # a path that was not run with its rate
    with pytest.raises(ExerciseFailed, match="rate 1.0"):
        check_learning_rate_experiment(faked, stable, x, y)
    with pytest.raises(ExerciseFailed, match="for the rates"):
        check_learning_rate_experiment({0.5: paths[0.5]}, 0.5, x, y)


@pytest.fixture(scope="module")
def digits():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 784)).astype(np.float32)
    labels = (x[:, :10]).argmax(1)
    return x, labels


def test_hidden_units_experiment(digits, capsys):
    x, labels = digits
    small, base = NumpyMLP([784, 10, 10], seed=0, dtype=np.float32), NumpyMLP([784, 30, 10], seed=0, dtype=np.float32)
    for net in (small, base):
        train_sgd(net, x, labels, x[:100], labels[:100], 3, 20, 0.5, seed=0, verbose=False)
    truth = compare_paired(small.predict(x) == labels, base.predict(x) == labels, "a", "b").verdict
    check_hidden_units_experiment(small, small.accuracy(x, labels), truth, base, x, labels)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(ExerciseFailed, match="compare_paired"):
        check_hidden_units_experiment(small, small.accuracy(x, labels), other(truth), base, x, labels)
    with pytest.raises(ExerciseFailed, match=r"NumpyMLP\(\[784, 10, 10\]"):
        check_hidden_units_experiment(base, base.accuracy(x, labels), truth, base, x, labels)
    with pytest.raises(ExerciseFailed, match="still guesses"):
        check_hidden_units_experiment(NumpyMLP([784, 10, 10], seed=1), 0.1, truth, base, x, labels)


def test_dropout_experiment(capsys):

    def rerun():
        return 0.11

    gaps, baseline = [0.11, 0.10, 0.12], [0.15, 0.16, 0.14]
    truth = compare_runs(gaps, baseline, "a", "b").verdict
    check_dropout_experiment(gaps, truth, baseline, rerun, 3)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(ExerciseFailed, match="compare_runs"):
        check_dropout_experiment(gaps, other(truth), baseline, rerun, 3)
    with pytest.raises(ExerciseFailed, match="first gap"):
        check_dropout_experiment([0.2, 0.10, 0.12], truth, baseline, rerun, 3)
    with pytest.raises(ExerciseFailed, match="REG_SEEDS = 3"):
        check_dropout_experiment(gaps[:2], truth, baseline, rerun, 3)


def test_augmentation_experiment(capsys):
    torch.manual_seed(0)
    x_val, y_val = torch.randn(80, 12), (torch.rand(80, 5) > 0.6).float()
    mine, base = nn.Linear(12, 5), nn.Linear(12, 5)

    def per_chip(m):
        return fbeta_per_image(apply_thresholds(torch.sigmoid(m(x_val)).detach(), 0.5), y_val)

    truth = compare_paired(per_chip(mine), per_chip(base), "a", "b").verdict
    check_augmentation_experiment(mine, per_chip(mine).mean().item(), truth, base, x_val, y_val)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(ExerciseFailed, match="chip by chip"):
        check_augmentation_experiment(mine, per_chip(mine).mean().item(), other(truth), base, x_val, y_val)
    with pytest.raises(ExerciseFailed, match="lesson's own CNN"):
        check_augmentation_experiment(base, per_chip(base).mean().item(), truth, base, x_val, y_val)
    with pytest.raises(ExerciseFailed, match="not what your model scores"):
        check_augmentation_experiment(mine, 0.999, truth, base, x_val, y_val)
