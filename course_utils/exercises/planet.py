"""Checkers for lesson 05 (Planet CNN): F2 by hand, parameter counts, receptive field."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..i18n import t
from ..multilabel import apply_thresholds, fbeta_per_image
from ..train import predict
from . import passed, require, require_answer
from .experiment import paired_verdict, require_own_score, require_verdict


def _number(value: Any, exercise: str, what: str) -> float:
    """Return value as a float or fail with a hint about the expected type."""
    require_answer(value, exercise)
    require(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value)), exercise,
            t("{what} should be a single finite number (int or float), not {kind}.", what=what,
              kind=type(value).__name__))
    return float(value)


def check_f2_by_hand(f2_a: Any, f2_b: Any) -> None:
    """Exercise 1: F2 of prediction A {haze, primary} and B {haze, primary, road, agriculture, water, cultivation,
    habitation} for an image tagged {haze, primary, road, agriculture}."""
    exercise = t("Exercise 1 (F2 by hand)")
    a = _number(f2_a, exercise, "f2_a")
    b = _number(f2_b, exercise, "f2_b")
    require(0 <= a <= 1 and 0 <= b <= 1, exercise, t("an F-score lies between 0 and 1."))
    require(abs(a - 5 / 9) < 1e-3, exercise,
            t("for A count TP, FP, FN first; precision = TP/(TP+FP), recall = TP/(TP+FN); "
              "F2 = 5PR/(4P+R) (beta squared is 4, and it multiplies the precision in the denominator)."))
    require(abs(b - 20 / 23) < 1e-3, exercise,
            t("A is right; for B, three of the seven predicted tags are wrong (FP = 3) but no true tag is missed."))
    passed(exercise, t("B scores higher although it makes more mistakes: F2 forgives false alarms more than misses."))


def check_parameter_counts(conv_params: Any, dense_params: Any) -> None:
    """Exercise 2: parameters of Conv2d(3, 32, kernel_size=3) and of Linear(3*64*64, 256), biases included."""
    exercise = t("Exercise 2 (parameter counts)")
    conv = _number(conv_params, exercise, "conv_params")
    dense = _number(dense_params, exercise, "dense_params")
    require(conv == 3 * 3 * 3 * 32 + 32, exercise,
            t("a 3x3 filter looks at all 3 input channels: each of the 32 filters has 3*3*3 weights, plus one bias "
              "each."))
    require(dense == 3 * 64 * 64 * 256 + 256, exercise,
            t("every one of the 3*64*64 input values is wired to each of the 256 units, plus one bias per unit."))
    passed(exercise, t("The dense layer has {ratio:,.0f} times more parameters, and it ignores that neighbouring pixels "
                       "belong together.", ratio=dense / conv))


def check_receptive_field(function: Any) -> None:
    """Exercise 3: a function (kernel_sizes, strides) -> receptive field in pixels."""
    exercise = t("Exercise 3 (receptive field)")
    require_answer(function, exercise)
    require(callable(function), exercise, t("define a function receptive_field_of(kernel_sizes, strides)."))
    cases = [([3], [1], 3), ([3, 3], [1, 1], 5), ([3, 2], [1, 2], 4), ([3, 2, 3], [1, 2, 1], 8),
             ([3, 2] * 4, [1, 2] * 4, 46), ([7, 3, 3], [2, 1, 1], 15), ([5, 5], [1, 1], 9)]
    for kernels, strides, expected in cases:
        try:
            got = function(list(kernels), list(strides))
        except Exception as exc:  # the student's function crashed: say where, not the answer
            require(False, exercise, t("your function raised {error}: {detail} for kernel_sizes={kernels}.",
                                       error=type(exc).__name__, detail=exc, kernels=kernels))
        require(got == expected, exercise,
                t("for kernel_sizes={kernels}, strides={strides} your function gives {got!r}. Each layer adds "
                  "(k - 1) times the product of the strides of the layers BEFORE it.", kernels=kernels,
                  strides=strides, got=got))
    passed(exercise, t("Four conv+pool blocks see a 46x46-pixel window of the input."))


def check_augmentation_experiment(model: Any, val_f2: float | None, verdict: str | None, baseline: Any, x_val: Any,
                                  y_val: Any) -> None:
    """Exercise 4: a CNN trained without augmentation, judged against the lesson's CNN by per-chip validation F2."""
    name = t("Exercise 4 (augmentation experiment)")
    require_answer(model, name)
    require(model is not baseline, name, t("train a new model without augmentation; this is the lesson's own CNN."))

    def per_chip(m: Any) -> np.ndarray:
        """F2 of each validation chip for model m at threshold 0.5."""
        return fbeta_per_image(apply_thresholds(torch.sigmoid(predict(m, x_val)), 0.5), y_val).numpy()

    mine = per_chip(model)
    require_own_score(val_f2, mine.mean, name)
    require_verdict(verdict, paired_verdict(mine, per_chip(baseline)), name,
                    t("compare the two models chip by chip (fbeta_per_image at threshold 0.5) with compare_paired(...)"))
    passed(name)
