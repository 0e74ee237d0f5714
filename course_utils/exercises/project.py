"""Checkers for the exercises of lesson 08 (project template, reproducibility and the REST API)."""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ..i18n import t
from . import ExerciseFailed, passed, require, require_answer
from .experiment import paired_verdict, require_verdict

SKIN_LESION_LABELS = [0] * 1_340 + [1] * 160  # 1,500 skin images, 160 of them melanoma


def check_chance_level(chance: float | None) -> None:
    """Exercise 1: chance level of a data set with 1,340 benign and 160 malignant skin images."""
    name = t("Exercise {n}", n=1)
    require_answer(chance, name)
    require(isinstance(chance, (int, float)) and not isinstance(chance, bool), name, t("the answer is one number."))
    require(not math.isclose(chance, 0.5), name, t("0.5 is the chance level of a *balanced* binary problem; "
                                                   "these classes are far from balanced."))
    require(not math.isclose(chance, 160 / 1_500, rel_tol=1e-3), name,
            t("that is the rate of the rarer class; a lazy model predicts the most frequent class every time."))
    require(not math.isclose(chance, 1_340 / 160, rel_tol=1e-3), name, t("divide by the total number of images."))
    require(math.isclose(chance, 1_340 / 1_500, rel_tol=1e-3), name,
            t("which accuracy does a model reach that always answers the most frequent class?"))
    passed(name, t("A model must beat {chance:.1%} accuracy before it is worth anything here.", chance=chance))


def check_minmax_scaler(minmax_scale: Callable | None) -> None:
    """Exercise 2: minmax_scale(train, other) scales `other` to [0, 1] with the min and max of `train` only."""
    name = t("Exercise {n}", n=2)
    require_answer(minmax_scale, name)
    train = np.array([[0.0, 10.0], [2.0, 20.0], [4.0, 30.0]])
    other = np.array([[1.0, 40.0], [6.0, 10.0]])
    try:
        got = minmax_scale(train, other)
    except NotImplementedError:
        raise ExerciseFailed(t("{exercise}: not answered yet: write the body of {function}().", exercise=name,
                               function="minmax_scale")) from None
    except Exception as exc:  # the student's function may fail in many ways
        raise ExerciseFailed(t("{exercise}: minmax_scale(train, other) raised {error}: {detail}. "
                               "Hint: work column by column with numpy (axis=0).", exercise=name,
                               error=type(exc).__name__, detail=exc)) from None
    require_answer(got, name)
    got = np.asarray(got, dtype=float)
    require(got.shape == other.shape, name,
            t("return an array shaped like `other` {expected}, got {got}.", expected=other.shape, got=got.shape))
    leaked = (other - other.min(axis=0)) / (other.max(axis=0) - other.min(axis=0))
    require(not np.allclose(got, leaked), name, t("you learned min and max from `other`: that leaks information "
                                                  "from the validation/test rows. Learn them from `train` only."))
    expected = (other - train.min(axis=0)) / (train.max(axis=0) - train.min(axis=0))
    require(np.allclose(got, expected), name, t("per column: (x - min of train) / (max of train - min of train). "
                                                "New rows may fall outside [0, 1]; that is expected, do not clip them."))
    passed(name)


def check_pixel_body(body: dict[str, Any] | None, image: np.ndarray) -> None:
    """Exercise 3: a JSON body for POST /predict sending `image` (uint8 28x28) as 0-1 values."""
    name = t("Exercise {n}", n=3)
    require_answer(body, name)
    require(isinstance(body, dict), name, t("the body is a dict that httpx sends as JSON: {\"pixels\": ..., ...}."))
    require("pixels" in body, name, t("put the pixel values under the key \"pixels\"."))
    require(body.get("value_range") == "0-1", name,
            t("the server reads pixels as 0-255 unless told otherwise; add \"value_range\": \"0-1\"."))
    try:
        pixels = np.asarray(body["pixels"], dtype=float)
    except (TypeError, ValueError):
        raise ExerciseFailed(t("{exercise}: \"pixels\" must be a list of numbers (use .tolist()).",
                               exercise=name)) from None
    require(isinstance(body["pixels"], list), name,
            t("JSON cannot hold numpy arrays or tensors: convert with .tolist()."))
    require(pixels.size == 784, name, t("send 784 values (28x28 or flat); you sent {size}.", size=pixels.size))
    reference = np.asarray(image, dtype=float).reshape(-1) / 255.0
    require(not np.allclose(pixels.reshape(-1), reference * 255.0), name,
            t("these are still 0-255 values: divide by 255."))
    require(np.allclose(pixels.reshape(-1), reference, atol=1e-6), name,
            t("the values should be the image's pixels divided by 255, in the same order."))
    passed(name)


def check_feature_experiment(result: Any, verdict: str | None, baseline: Any, rerun: Callable[[], Any]) -> None:
    """Exercise 4: 5-fold CV of logistic regression on the first 10 features, judged fold by fold against all 30."""
    name = t("Exercise 4 (feature experiment)")
    require_answer(result, name)
    scores = list(getattr(result, "scores", []))
    require(len(scores) == len(baseline.scores), name,
            t("keep what cross_validate(...) returns, with the same k and seed as the lesson's logistic regression."))
    require(np.allclose(scores, rerun().scores), name,
            t("these fold scores are not what cross_validate(logreg_fit_predict, dev_rows[:, :10], dev_labels, 5, "
              "SEED, scale=True) gives: keep your own result."))
    require_verdict(verdict, paired_verdict(scores, baseline.scores), name,
                    t("the folds are the same for both (same seed): compare them fold by fold with compare_paired(...)"))
    passed(name)
