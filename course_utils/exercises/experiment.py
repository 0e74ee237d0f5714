"""Shared checks for experiment exercises: the result must come from the student's own run, the verdict from the rule."""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from ..compare import VERDICTS, Comparison, compare_paired, compare_runs
from ..i18n import t
from . import require, require_answer


def require_verdict(verdict: str | None, truth: Comparison, exercise: str, how: str) -> None:
    """Fail unless the student's verdict is the one the two-standard-error rule gives on their own numbers."""
    require_answer(verdict, exercise)
    require(verdict in VERDICTS, exercise, t('answer "ahead of", "level with" or "behind".'))
    require(verdict == truth.verdict, exercise,
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


def verdict_note(truth: Comparison, what: str, examples: int) -> str:
    """The sentence of paired_verdict's comparison over `examples` examples, in the student's language."""
    z = "∞" if math.isinf(truth.z) else f"{abs(truth.z):.1f}"
    return t("yours ({mine:.4f}) is {verdict} baseline ({base:.4f}) on {what}: a difference of {difference:+.4f}, "
             "{z} standard errors ({se:.4f}, {basis}).", mine=truth.mean_a, verdict=truth.verdict, base=truth.mean_b,
             what=what, difference=truth.difference, z=z, se=truth.standard_error,
             basis=t("paired over {n:,} examples", n=examples))
