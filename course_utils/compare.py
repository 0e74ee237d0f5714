"""Compare two scores honestly: the difference, its standard error, and a verdict chosen by a stated rule."""
from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from scipy import stats

from .i18n import label, t

SE_RULE = 2.0
RULE = f"one result is ahead of another only when the difference exceeds {SE_RULE:g} standard errors"
VERDICTS = ("ahead of", "level with", "behind")
# The Korean words of the verdicts, as the Korean lessons gloss them: an answer may use either language.
KOREAN_VERDICTS = {"ahead of": "앞섬", "level with": "비슷함", "behind": "뒤처짐"}


def verdict(difference: float, standard_error: float, k: float = SE_RULE) -> str:
    """'ahead of', 'behind' or 'level with': ahead/behind only beyond k standard errors of the difference."""
    if not (math.isfinite(difference) and math.isfinite(standard_error)) or standard_error < 0:
        raise ValueError(f"difference and standard error must be finite (and the error >= 0), got "
                         f"{difference!r} and {standard_error!r}.")
    if difference > k * standard_error:
        return "ahead of"
    if difference < -k * standard_error:
        return "behind"
    return "level with"


def verdict_from_answer(answer: object) -> str | None:
    """The verdict an answer names, in English ("ahead of", any case) or Korean ("앞섬"); None if it names none."""
    if not isinstance(answer, str):
        return None
    text = " ".join(answer.strip().strip("\"'").split())
    if text.lower() in VERDICTS:
        return text.lower()
    return next((english for english, word in KOREAN_VERDICTS.items() if word == text), None)


@dataclass(frozen=True)
class Comparison:
    """Score a against score b: means, difference, standard error of the difference and the verdict."""

    name_a: str
    name_b: str
    mean_a: float
    mean_b: float
    difference: float
    standard_error: float
    verdict: str
    basis: str

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(map(repr, VERDICTS))}, got {self.verdict!r}.")

    @property
    def z(self) -> float:
        """The difference in standard errors (0 when the error is 0 and so is the difference)."""
        if self.standard_error == 0:
            return 0.0 if self.difference == 0 else math.copysign(math.inf, self.difference)
        return self.difference / self.standard_error

    def sentence(self, what: str = "score", digits: int = 4) -> str:
        """A sentence built from the numbers, e.g. 'A (0.865) is level with B (0.866) on test accuracy: ...', in the
        student's language (names, `what` and the basis shown through the label catalogue)."""
        name_a, name_b, shown = label(self.name_a), label(self.name_b), label(what)
        mean_a, mean_b = f"{self.mean_a:.{digits}f}", f"{self.mean_b:.{digits}f}"
        difference, se = f"{self.difference:+.{digits}f}", f"{self.standard_error:.{digits}f}"
        z, basis = "∞" if math.isinf(self.z) else f"{abs(self.z):.1f}", label(self.basis)
        if self.verdict == "ahead of":
            return t("{name_a} ({mean_a}) is ahead of {name_b} ({mean_b}) on {what}: a difference of {difference}, "
                     "{z} standard errors ({se}, {basis}).", name_a=name_a, mean_a=mean_a, name_b=name_b,
                     mean_b=mean_b, what=shown, difference=difference, z=z, se=se, basis=basis)
        if self.verdict == "behind":
            return t("{name_a} ({mean_a}) is behind {name_b} ({mean_b}) on {what}: a difference of {difference}, "
                     "{z} standard errors ({se}, {basis}).", name_a=name_a, mean_a=mean_a, name_b=name_b,
                     mean_b=mean_b, what=shown, difference=difference, z=z, se=se, basis=basis)
        return t("{name_a} ({mean_a}) is level with {name_b} ({mean_b}) on {what}: a difference of {difference}, "
                 "{z} standard errors ({se}, {basis}).", name_a=name_a, mean_a=mean_a, name_b=name_b, mean_b=mean_b,
                 what=shown, difference=difference, z=z, se=se, basis=basis)

    def as_dict(self) -> dict[str, float | str]:
        """Plain dict for `record` (numbers rounded to 5 digits)."""
        return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def compare_paired(scores_a: Sequence[float] | np.ndarray, scores_b: Sequence[float] | np.ndarray,
                   name_a: str, name_b: str, unit: str = "examples") -> Comparison:
    """Compare two models scored on the same examples (e.g. 0/1 correct per review): paired standard error."""
    a, b = np.asarray(scores_a, dtype=np.float64), np.asarray(scores_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError(f"paired scores need two 1-D arrays of the same length >= 2, got shapes {a.shape} and {b.shape}.")
    d = a - b
    se = float(d.std(ddof=1) / math.sqrt(len(d)))
    diff = float(d.mean())
    return Comparison(name_a, name_b, float(a.mean()), float(b.mean()), diff, se, verdict(diff, se),
                      f"paired over {len(d):,} {unit}")


def compare_runs(scores_a: Sequence[float], scores_b: Sequence[float], name_a: str, name_b: str) -> Comparison:
    """Compare two settings from independent runs (e.g. several seeds each): SE = sqrt(s_a²/n_a + s_b²/n_b)."""
    if len(scores_a) < 2 or len(scores_b) < 2:
        raise ValueError(f"a spread needs at least 2 runs per setting, got {len(scores_a)} and {len(scores_b)}; "
                         "use more seeds.")
    mean_a, mean_b = statistics.fmean(scores_a), statistics.fmean(scores_b)
    se = math.sqrt(statistics.variance(scores_a) / len(scores_a) + statistics.variance(scores_b) / len(scores_b))
    # Average the scores' distances from one common score: identical scores then differ by exactly 0, whereas the
    # two means of [0.7, 0.7] and [0.7, 0.7, 0.7] differ by a rounding error that, over a zero error, reads "ahead".
    ref = scores_a[0]
    diff = statistics.fmean([x - ref for x in scores_a]) - statistics.fmean([x - ref for x in scores_b])
    return Comparison(name_a, name_b, mean_a, mean_b, diff, se, verdict(diff, se),
                      f"from {len(scores_a)} and {len(scores_b)} runs")


def mean_and_se(scores: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Mean of per-example (or per-run) scores and its standard error."""
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim != 1 or len(x) < 2:
        raise ValueError(f"need a 1-D array of at least 2 scores, got shape {x.shape}.")
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))


def less_spread(scores_a: Sequence[float], scores_b: Sequence[float], alpha: float = 0.05) -> tuple[float, float, bool]:
    """One-sided F-test that a varies less than b: (std a, std b, significant at level alpha)."""
    if len(scores_a) < 2 or len(scores_b) < 2:
        raise ValueError("each spread needs at least 2 scores.")
    var_a, var_b = statistics.variance(scores_a), statistics.variance(scores_b)
    if var_a == 0:
        return 0.0, math.sqrt(var_b), var_b > 0
    p = float(stats.f.sf(var_b / var_a, len(scores_b) - 1, len(scores_a) - 1))
    return math.sqrt(var_a), math.sqrt(var_b), p < alpha
