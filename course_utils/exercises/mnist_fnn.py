"""Checkers for the exercises of notebook 01 (MNIST with a feed-forward network)."""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from ..i18n import t
from ..train import predict
from . import ExerciseFailed, passed, require, require_answer
from .experiment import paired_verdict, require_own_score, require_verdict


def check_team_hours(hours_per_person: float | None) -> None:
    """Exercise 1: 12,000 satellite images, 8 s each, shared by 3 people."""
    name = t("Exercise {n}", n=1)
    require_answer(hours_per_person, name)
    require(isinstance(hours_per_person, (int, float)), name,
            t("the answer is one number (hours), not a string or list."))
    require(not math.isclose(hours_per_person, 12_000 * 8 / 3), name,
            t("that looks like seconds per person; divide by 3,600 to get hours."))
    require(not math.isclose(hours_per_person, 12_000 * 8 / 3600), name,
            t("that is the total for the whole team; share it among the people."))
    require(math.isclose(hours_per_person, 12_000 * 8 / 3600 / 3, rel_tol=1e-3), name,
            t("total seconds = images × seconds per image; hours = seconds / 3,600; then share among the team."))
    passed(name, t("{hours:.2f} hours each.", hours=hours_per_person))


def check_perceptron(decide: Callable) -> None:
    """Exercise 2: a perceptron decision function decide(inputs, weights, threshold) -> 0 or 1."""
    name = t("Exercise {n}", n=2)
    cases = [([1, 0, 1], [30, -20, 15], 40, 1), ([1, 1, 0], [30, -20, 15], 40, 0),
             ([0, 0, 0], [5, 5, 5], 0, 1), ([1, 1], [0.5, 0.5], 1, 1), ([1, 1], [0.5, 0.49], 1, 0)]
    for inputs, weights, threshold, expected in cases:
        try:
            got = decide(inputs, weights, threshold)
        except NotImplementedError:
            raise ExerciseFailed(t("{exercise}: not answered yet: write the body of {function}().", exercise=name,
                                   function="decide")) from None
        require_answer(got, name)
        require(got in (0, 1, True, False), name, t("return 0 or 1, got {got!r}.", got=got))
        require(int(got) == expected, name,
                t("for inputs {inputs}, weights {weights}, threshold {threshold}: add up weight × input and "
                  "compare with the threshold (≥ means 'yes').", inputs=inputs, weights=weights, threshold=threshold))
    passed(name)


def check_hidden_model(model: nn.Module | None) -> None:
    """Exercise 3: a network 784 → 256 → 128 → 10 with ReLU."""
    name = t("Exercise {n}", n=3)
    require_answer(model, name)
    require(isinstance(model, nn.Module), name, t("build the model with nn.Sequential(...) or FeedForwardNet(...)."))
    try:
        out = model(torch.zeros(4, 784))
    except Exception as exc:  # the student's model may fail in many ways
        raise ExerciseFailed(t("{exercise}: the model cannot take a batch of shape (4, 784): {error}. "
                               "Hint: the first layer must accept 784 inputs.", exercise=name, error=exc)) from None
    require(tuple(out.shape) == (4, 10), name,
            t("the output should have shape (4, 10), got {shape}.", shape=tuple(out.shape)))
    widths = [m.out_features for m in model.modules() if isinstance(m, nn.Linear)]
    require(widths == [256, 128, 10], name,
            t("the linear layers' output sizes are {widths}; aim for 256, 128, 10.", widths=widths))
    require(any(isinstance(m, nn.ReLU) for m in model.modules()), name, t("put a ReLU after each hidden layer."))
    passed(name, t("{count:,} parameters.", count=sum(p.numel() for p in model.parameters())))


def check_small_net_experiment(model: nn.Module | None, val_accuracy: float | None, verdict: str | None,
                               baseline: nn.Module, val_inputs: torch.Tensor, val_labels: torch.Tensor) -> None:
    """Exercise 4: the 784-256-128-10 net was trained, scored on validation, and judged against the baseline."""
    name = t("Exercise 4 (experiment)")
    require_answer(model, name)
    widths = [m.out_features for m in model.modules() if isinstance(m, nn.Linear)]
    require(widths == [256, 128, 10], name, t("train the small_model of exercise 3 (784 → 256 → 128 → 10)."))
    correct = (predict(model, val_inputs).argmax(1) == val_labels).numpy()
    require(correct.mean() > 0.5, name, t("small_model still guesses: train it with fit(...) before scoring it."))
    require_own_score(val_accuracy, correct.mean, name)
    truth = paired_verdict(correct, (predict(baseline, val_inputs).argmax(1) == val_labels).numpy())
    require_verdict(verdict, truth, name, t("compare the two models image by image with compare_paired(...)"))
    passed(name, truth.sentence("validation accuracy"))
