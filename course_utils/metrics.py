"""Binary classification measures: confusion counts, precision, recall, F1 at a threshold, and the PR curve."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

ArrayLike = torch.Tensor | np.ndarray | Sequence[float]


@dataclass(frozen=True)
class BinaryCounts:
    """The four cells of a binary confusion matrix, with the measures computed from them."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def total(self) -> int:
        """Number of samples counted."""
        return self.tp + self.fp + self.fn + self.tn

    @property
    def accuracy(self) -> float:
        """(TP + TN) / all."""
        return (self.tp + self.tn) / self.total if self.total else 0.0

    @property
    def precision(self) -> float:
        """TP / (TP + FP): of everything flagged, the fraction really positive (1.0 when nothing is flagged)."""
        flagged = self.tp + self.fp
        return self.tp / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        """TP / (TP + FN): of all real positives, the fraction flagged (0.0 when there are no positives)."""
        positives = self.tp + self.fn
        return self.tp / positives if positives else 0.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def matrix(self) -> np.ndarray:
        """Return [[TN, FP], [FN, TP]] (rows = true class 0/1, columns = predicted 0/1)."""
        return np.array([[self.tn, self.fp], [self.fn, self.tp]], dtype=np.int64)

    def as_dict(self) -> dict[str, float]:
        """Counts and measures as a flat dict (handy for a pandas table)."""
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn, "accuracy": self.accuracy,
                "precision": self.precision, "recall": self.recall, "f1": self.f1}


def as_arrays(scores: ArrayLike, targets: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Check and convert scores (floats) and 0/1 targets into flat NumPy arrays of equal length."""
    s = np.asarray(scores.detach().cpu() if isinstance(scores, torch.Tensor) else scores, dtype=np.float64).ravel()
    t_raw = np.asarray(targets.detach().cpu() if isinstance(targets, torch.Tensor) else targets).ravel()
    if len(s) != len(t_raw):
        raise ValueError(f"scores has {len(s)} values but targets has {len(t_raw)}; give one score per target.")
    if len(s) == 0:
        raise ValueError("scores and targets are empty; there is nothing to measure.")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contain NaN or infinite values; check the model's outputs (e.g. softmax probabilities).")
    if not np.all(np.isin(t_raw, (0, 1, False, True))):
        found = sorted(set(np.unique(t_raw).tolist()) - {0, 1})[:5]
        raise ValueError(
            f"targets must be 0 (negative) or 1 (positive) but contain {found}. "
            "Turn class labels into binary ones first, e.g. targets = (labels == 9)."
        )
    return s, t_raw.astype(np.int64)


def binary_counts(scores: ArrayLike, targets: ArrayLike, threshold: float = 0.5) -> BinaryCounts:
    """Count TP/FP/FN/TN when every score >= threshold is predicted positive."""
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}.")
    s, t = as_arrays(scores, targets)
    predicted = s >= threshold
    tp = int(np.sum(predicted & (t == 1)))
    fp = int(np.sum(predicted & (t == 0)))
    fn = int(np.sum(~predicted & (t == 1)))
    return BinaryCounts(tp=tp, fp=fp, fn=fn, tn=len(t) - tp - fp - fn)


def precision_recall_curve(scores: ArrayLike, targets: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (precision, recall, thresholds) for every distinct score used as threshold, highest first."""
    s, t = as_arrays(scores, targets)
    if t.sum() == 0:
        raise ValueError("targets contain no positive (1) sample, so recall is undefined; use a sample with positives.")
    order = np.argsort(-s, kind="stable")
    s_sorted, t_sorted = s[order], t[order]
    true_pos = np.cumsum(t_sorted)
    flagged = np.arange(1, len(s) + 1)
    last_of_each = np.r_[np.nonzero(np.diff(s_sorted))[0], len(s) - 1]  # ties share one threshold
    tp = true_pos[last_of_each]
    return tp / flagged[last_of_each], tp / t.sum(), s_sorted[last_of_each]


def average_precision(scores: ArrayLike, targets: ArrayLike) -> float:
    """Area under the precision-recall curve as the step sum of precision times recall increments."""
    precision, recall, _ = precision_recall_curve(scores, targets)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def threshold_table(scores: ArrayLike, targets: ArrayLike, thresholds: Sequence[float]) -> list[dict[str, float]]:
    """Return one row of counts and measures per threshold (for a table or a plot)."""
    return [{"threshold": float(th), **binary_counts(scores, targets, float(th)).as_dict()} for th in thresholds]


def confused_pairs(matrix: ArrayLike, k: int = 3) -> list[tuple[int, int, int]]:
    """The k class pairs most often confused in either direction, as (class a, class b, count), largest first."""
    m = np.asarray(matrix.detach().cpu() if isinstance(matrix, torch.Tensor) else matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"a confusion matrix is square (true x predicted), got shape {m.shape}.")
    pairs = [(a, b, int(m[a, b] + m[b, a])) for a in range(len(m)) for b in range(a + 1, len(m))]
    return sorted(pairs, key=lambda p: (-p[2], p[0], p[1]))[:k]
