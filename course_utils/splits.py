"""Seeded splits of a data set: train/validation/test and K folds."""
from __future__ import annotations

import math
from typing import Sequence

import torch

COURSE_RATIOS = (0.6, 0.2, 0.2)


def split_sizes(n: int, ratios: Sequence[float] = COURSE_RATIOS) -> list[int]:
    """Turn ratios that sum to 1 into part sizes that sum to n (largest remainders get the extra items)."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"The data set size must be a positive integer, got {n!r}.")
    ratios = [float(r) for r in ratios]
    if len(ratios) not in (2, 3):
        raise ValueError(f"Give 2 ratios (train, validation) or 3 (train, validation, test); got {len(ratios)}.")
    if any(not math.isfinite(r) or r <= 0 for r in ratios):
        raise ValueError(f"Every split ratio must be a positive number, got {ratios}.")
    if not math.isclose(sum(ratios), 1.0, abs_tol=1e-6):
        raise ValueError(f"Split ratios must add up to 1, but {ratios} add up to {sum(ratios):g}. Try (0.6, 0.2, 0.2).")
    exact = [r * n for r in ratios]
    sizes = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(ratios)), key=lambda i: exact[i] - sizes[i], reverse=True)
    for i in by_remainder[: n - sum(sizes)]:
        sizes[i] += 1
    if min(sizes) == 0:
        raise ValueError(f"{n} samples are too few to split by {ratios}: a part would be empty. Use more data.")
    return sizes


def split_indices(n: int, ratios: Sequence[float] = COURSE_RATIOS, seed: int = 0) -> list[torch.Tensor]:
    """Shuffle range(n) with a seed and cut it into parts of the given ratios (default 0.6/0.2/0.2)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return list(torch.split(order, split_sizes(n, ratios)))


def kfold_indices(n: int, k: int = 5, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Return K (train, validation) index pairs; each sample is in exactly one validation fold."""
    if not isinstance(k, int) or k < 2:
        raise ValueError(f"K must be an integer of at least 2, got {k!r}.")
    if n < k:
        raise ValueError(f"Cannot make {k} folds from {n} samples; use K <= {n}.")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    folds = list(torch.tensor_split(order, k))
    return [(torch.cat(folds[:i] + folds[i + 1 :]), folds[i]) for i in range(k)]
