"""Multi-label evaluation: per-image F-beta (the Planet metric, beta = 2), threshold tuning, baselines."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch

DEFAULT_GRID = tuple(np.round(np.arange(0.02, 0.99, 0.02), 2))


def _as_bool(x: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Return a 2-D bool tensor (rows = images, columns = labels)."""
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.ndim != 2:
        raise ValueError(f"Expected a 2-D (images, labels) array, got shape {tuple(t.shape)}.")
    return t.bool()


def fbeta_per_image(predicted: torch.Tensor | np.ndarray, targets: torch.Tensor | np.ndarray, beta: float = 2.0) -> torch.Tensor:
    """F-beta of each image's predicted tag set against its true set (1.0 when both are empty)."""
    pred, true = _as_bool(predicted), _as_bool(targets)
    if pred.shape != true.shape:
        raise ValueError(f"Predictions {tuple(pred.shape)} and targets {tuple(true.shape)} must have the same shape.")
    if beta <= 0:
        raise ValueError(f"beta must be positive, got {beta}.")
    tp = (pred & true).sum(1).double()
    fp = (pred & ~true).sum(1).double()
    fn = (~pred & true).sum(1).double()
    b2 = beta * beta
    denominator = (1 + b2) * tp + b2 * fn + fp
    return torch.where(denominator > 0, (1 + b2) * tp / denominator.clamp(min=1e-12), torch.ones_like(tp))


def mean_fbeta(predicted: torch.Tensor | np.ndarray, targets: torch.Tensor | np.ndarray, beta: float = 2.0) -> float:
    """The competition score: F-beta per image, averaged over images."""
    return fbeta_per_image(predicted, targets, beta).mean().item()


def apply_thresholds(probabilities: torch.Tensor, thresholds: float | Sequence[float] | torch.Tensor) -> torch.Tensor:
    """0/1 predictions: a label is on when its probability >= its threshold (one global threshold or one per label)."""
    probabilities = torch.as_tensor(probabilities)
    t = torch.as_tensor(thresholds, dtype=probabilities.dtype)
    if t.ndim == 1 and len(t) != probabilities.shape[1]:
        raise ValueError(f"Got {len(t)} thresholds for {probabilities.shape[1]} labels; give one per label or one in all.")
    return (probabilities >= t).float()


def f2_from_logits(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean F2 of sigmoid(logits) >= 0.5 (the same rule as apply_thresholds): a training-time metric for fit."""
    return mean_fbeta(apply_thresholds(torch.sigmoid(logits), 0.5), targets >= 0.5)


def tune_global_threshold(
    probabilities: torch.Tensor, targets: torch.Tensor, grid: Sequence[float] = DEFAULT_GRID, beta: float = 2.0
) -> tuple[float, float]:
    """Return (threshold, score): the one threshold for all labels that maximises mean F-beta on these (validation) rows."""
    scores = [mean_fbeta(apply_thresholds(probabilities, t), targets, beta) for t in grid]
    best = int(np.argmax(scores))
    return float(grid[best]), float(scores[best])


def tune_label_thresholds(
    probabilities: torch.Tensor,
    targets: torch.Tensor,
    start: float = 0.5,
    grid: Sequence[float] = DEFAULT_GRID,
    rounds: int = 2,
    beta: float = 2.0,
) -> tuple[torch.Tensor, float]:
    """Coordinate ascent: improve one label's threshold at a time (others fixed) for mean F-beta; return (thresholds, score)."""
    probabilities, targets = torch.as_tensor(probabilities), torch.as_tensor(targets)
    thresholds = torch.full((probabilities.shape[1],), float(start), dtype=probabilities.dtype)
    best = mean_fbeta(apply_thresholds(probabilities, thresholds), targets, beta)
    for _ in range(rounds):
        for label in range(probabilities.shape[1]):
            for t in grid:
                trial = thresholds.clone()
                trial[label] = float(t)
                score = mean_fbeta(apply_thresholds(probabilities, trial), targets, beta)
                if score > best + 1e-12:
                    best, thresholds = score, trial
    return thresholds, best


def per_label_table(
    predicted: torch.Tensor | np.ndarray, targets: torch.Tensor | np.ndarray, names: Sequence[str], beta: float = 2.0
) -> pd.DataFrame:
    """Per label: support, predicted count, precision, recall and F-beta over images (rows sorted by support)."""
    pred, true = _as_bool(predicted), _as_bool(targets)
    if pred.shape[1] != len(names):
        raise ValueError(f"{len(names)} names for {pred.shape[1]} label columns.")
    tp = (pred & true).sum(0).double()
    fp = (pred & ~true).sum(0).double()
    fn = (~pred & true).sum(0).double()
    precision = torch.where(tp + fp > 0, tp / (tp + fp).clamp(min=1), torch.zeros_like(tp))
    recall = torch.where(tp + fn > 0, tp / (tp + fn).clamp(min=1), torch.zeros_like(tp))
    b2 = beta * beta
    f = torch.where(precision + recall > 0, (1 + b2) * precision * recall / (b2 * precision + recall).clamp(min=1e-12),
                    torch.zeros_like(tp))
    table = pd.DataFrame({
        "support": true.sum(0).numpy(), "predicted": pred.sum(0).numpy(),
        "precision": precision.numpy(), "recall": recall.numpy(), f"F{beta:g}": f.numpy(),
    }, index=pd.Index(list(names), name="tag"))
    return table.sort_values("support", ascending=False)


def frequent_tags_baseline(train_targets: torch.Tensor, n_rows: int, min_frequency: float = 0.5) -> torch.Tensor:
    """Predict, for every image, the tags present in at least min_frequency of the training images."""
    frequency = torch.as_tensor(train_targets).float().mean(0)
    chosen = (frequency >= min_frequency).float()
    if chosen.sum() == 0:
        chosen[frequency.argmax()] = 1.0
    return chosen.expand(n_rows, -1).clone()


def all_positive_baseline(n_rows: int, n_labels: int) -> torch.Tensor:
    """Predict every tag for every image (perfect recall, poor precision)."""
    return torch.ones(n_rows, n_labels)
