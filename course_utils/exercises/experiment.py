"""Shared checks for experiment exercises: the result must come from the student's own run, the verdict from the rule."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..compare import Comparison, compare_paired, compare_runs, verdict_from_answer
from ..i18n import t
from . import require, require_answer


def require_verdict(verdict: str | None, truth: Comparison, exercise: str, how: str) -> None:
    """Fail unless the student's verdict, in English or Korean, is the one the two-standard-error rule gives on their
    own numbers."""
    require_answer(verdict, exercise)
    given = verdict_from_answer(verdict)
    require(given is not None, exercise, t('answer "ahead of", "level with" or "behind".'))
    require(given == truth.verdict, exercise,
            t("{how} and read its verdict; comparing the two means alone is not enough.", how=how))


def paired_verdict(correct_a: np.ndarray, correct_b: np.ndarray) -> Comparison:
    """The rule's comparison of two models scored on the same examples."""
    return compare_paired(np.asarray(correct_a, dtype=float), np.asarray(correct_b, dtype=float), "yours", "baseline")


def runs_verdict(scores_a: Sequence[float], scores_b: Sequence[float]) -> Comparison:
    """The rule's comparison of two settings from several runs each."""
    return compare_runs(list(scores_a), list(scores_b), "yours", "baseline")


def require_own_score(reported: float | None, measure: Callable[[], float], exercise: str) -> float:
    """Fail unless the reported score is what the checker measures on the student's own model; return it."""
    require_answer(reported, exercise)
    measured = float(measure())
    require(abs(float(reported) - measured) < 1e-6, exercise,
            t("the score you stored is not what your model scores: store the number your own run printed, not a typed "
              "one."))
    return measured
