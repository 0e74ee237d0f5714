"""Honest evaluation: train-and-score runs, K-fold cross-validation, repeated random splits, capacity and size sweeps."""
from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from .batches import TensorBatches
from .models import FeedForwardNet, count_parameters
from .splits import kfold_indices, split_indices
from .train import History, evaluate, fit

OPTIMIZERS = ("adam", "sgd")
Split = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class TrainSettings:
    """How to train one model: epochs, minibatch size, optimiser, learning rate, weight decay, early stopping."""

    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"
    patience: int | None = None
    restore_best: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"TrainSettings.epochs must be a positive integer, got {self.epochs!r}.")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"TrainSettings.batch_size must be a positive integer, got {self.batch_size!r}.")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"TrainSettings.lr (learning rate) must be a positive number, got {self.lr!r}.")
        if not (isinstance(self.weight_decay, (int, float)) and self.weight_decay >= 0):
            raise ValueError(f"TrainSettings.weight_decay must be >= 0, got {self.weight_decay!r}.")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"TrainSettings.optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}.")


@dataclass
class RunResult:
    """A trained model with its history and final loss/accuracy on the training and validation data."""

    model: nn.Module
    history: History
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    parameters: int
    seconds: float

    def row(self) -> dict[str, float]:
        """Final numbers as a flat dict (errors are 1 - accuracy)."""
        return {"parameters": self.parameters, "train_loss": self.train_loss, "val_loss": self.val_loss,
                "train_error": 1 - self.train_accuracy, "val_error": 1 - self.val_accuracy,
                "best_epoch": self.history.best_epoch, "epochs_run": self.history.epochs, "seconds": self.seconds}


@dataclass
class ScoreSpread:
    """Validation scores of several runs (folds or random splits) with their mean and standard deviation."""

    scores: list[float]
    sizes: list[int] = field(default_factory=list)
    label: str = "folds"

    @property
    def mean(self) -> float:
        """Average score."""
        return statistics.fmean(self.scores)

    @property
    def std(self) -> float:
        """Sample standard deviation of the scores (0.0 for a single score)."""
        return statistics.stdev(self.scores) if len(self.scores) > 1 else 0.0

    def summary(self) -> str:
        """'mean ± std over N folds'."""
        return f"{self.mean:.4f} ± {self.std:.4f} over {len(self.scores)} {self.label}"


def check_split(split: Split, name: str) -> Split:
    """Refuse (inputs, targets) pairs of different lengths or empty ones, naming the split."""
    if not (isinstance(split, (tuple, list)) and len(split) == 2):
        raise TypeError(f"{name} must be an (inputs, targets) pair of tensors.")
    x, y = split
    if len(x) != len(y):
        raise ValueError(f"{name}: inputs has {len(x)} rows but targets has {len(y)}; they must match.")
    if len(x) == 0:
        raise ValueError(f"{name} is empty; use a larger subset.")
    return x, y


def make_optimizer(model: nn.Module, settings: TrainSettings) -> torch.optim.Optimizer:
    """Build the optimiser the settings ask for (fused Adam or plain SGD) with their learning rate and weight decay."""
    if settings.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    return torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay, fused=True)


def train_and_score(
    model: nn.Module,
    train: Split,
    val: Split,
    settings: TrainSettings = TrainSettings(),
    seed: int = 0,
    device: torch.device | str | None = None,
) -> RunResult:
    """Train the model with fit on `train` (watching `val`), then measure loss and accuracy on both splits."""
    x_train, y_train = check_split(train, "train")
    x_val, y_val = check_split(val, "validation")
    device = torch.device(device) if device is not None else torch.device("cpu")
    model = model.to(device)
    loss_fn = nn.CrossEntropyLoss()
    train_batches = TensorBatches(x_train, y_train, settings.batch_size, shuffle=True, seed=seed, device=device)
    val_batches = TensorBatches(x_val, y_val, 2048, device=device)
    start = time.perf_counter()
    history = fit(model, train_batches, val_batches, loss_fn, make_optimizer(model, settings), settings.epochs,
                  patience=settings.patience, restore_best=settings.restore_best, progress=False, verbose=False)
    seconds = time.perf_counter() - start
    train_loss, train_acc = evaluate(model, TensorBatches(x_train, y_train, 2048, device=device), loss_fn)
    val_loss, val_acc = evaluate(model, val_batches, loss_fn)
    return RunResult(model, history, train_loss, train_acc, val_loss, val_acc, count_parameters(model), seconds)


def cross_validate(
    make_model: Callable[[], nn.Module],
    inputs: torch.Tensor,
    targets: torch.Tensor,
    k: int = 5,
    settings: TrainSettings = TrainSettings(),
    seed: int = 0,
    device: torch.device | str | None = None,
) -> ScoreSpread:
    """K-fold cross-validation on training data only (keep the test set aside): every fold is the validation
    set once, a fresh model trains on the other K-1 folds, and the K validation accuracies are returned."""
    check_split((inputs, targets), "cross-validation data")
    # The validation fold must only score the model, so no early stopping and no best-epoch restore on it.
    fixed = replace(settings, patience=None, restore_best=False)
    scores, sizes = [], []
    for fold, (train_idx, val_idx) in enumerate(kfold_indices(len(inputs), k, seed)):
        torch.manual_seed(seed + fold)
        run = train_and_score(make_model(), (inputs[train_idx], targets[train_idx]),
                              (inputs[val_idx], targets[val_idx]), fixed, seed=seed + fold, device=device)
        scores.append(run.val_accuracy)
        sizes.append(len(val_idx))
    return ScoreSpread(scores, sizes, "folds")


def random_split_scores(
    make_model: Callable[[], nn.Module],
    inputs: torch.Tensor,
    targets: torch.Tensor,
    repeats: int = 5,
    val_fraction: float = 0.2,
    settings: TrainSettings = TrainSettings(),
    seed: int = 0,
    device: torch.device | str | None = None,
) -> ScoreSpread:
    """Validation accuracy of `repeats` independent single random train/validation splits (to compare with K-fold)."""
    check_split((inputs, targets), "random-split data")
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}.")
    fixed = replace(settings, patience=None, restore_best=False)
    scores, sizes = [], []
    for i in range(repeats):
        train_idx, val_idx = split_indices(len(inputs), (1 - val_fraction, val_fraction), seed=seed + 1000 + i)
        torch.manual_seed(seed + 1000 + i)
        run = train_and_score(make_model(), (inputs[train_idx], targets[train_idx]),
                              (inputs[val_idx], targets[val_idx]), fixed, seed=seed + i, device=device)
        scores.append(run.val_accuracy)
        sizes.append(len(val_idx))
    return ScoreSpread(scores, sizes, "random splits")


def hidden_label(hidden: Sequence[int]) -> str:
    """Name a stack of hidden layers, e.g. (256, 256) -> '256-256' and () -> 'linear'."""
    return "-".join(str(int(h)) for h in hidden) or "linear"


def capacity_sweep(
    hidden_sizes: Sequence[Sequence[int]],
    train: Split,
    val: Split,
    settings: TrainSettings = TrainSettings(),
    seed: int = 0,
    device: torch.device | str | None = None,
    dropout: float = 0.0,
) -> list[dict[str, float | str]]:
    """Train one FeedForwardNet per hidden-layer stack (small to large) and return its final train/val errors."""
    if not hidden_sizes:
        raise ValueError("capacity_sweep needs at least one hidden-layer configuration, e.g. [(8,), (64,), (512,)].")
    x_train, _ = check_split(train, "train")
    rows = []
    for hidden in hidden_sizes:
        torch.manual_seed(seed)
        model = FeedForwardNet(x_train.shape[1], hidden, dropout=dropout)
        run = train_and_score(model, train, val, settings, seed=seed, device=device)
        rows.append({"hidden": hidden_label(hidden), "depth": len(hidden), **run.row()})
    return rows


def training_size_sweep(
    make_model: Callable[[], nn.Module],
    train: Split,
    val: Split,
    sizes: Sequence[int],
    settings: TrainSettings = TrainSettings(),
    seed: int = 0,
    device: torch.device | str | None = None,
) -> list[dict[str, float]]:
    """Train a fresh model on the first n training samples for each n in sizes; return final train/val errors."""
    x_train, y_train = check_split(train, "train")
    bad = [n for n in sizes if not isinstance(n, int) or n < 1 or n > len(x_train)]
    if not sizes or bad:
        raise ValueError(f"Training-set sizes must be integers in 1..{len(x_train)}, got {list(sizes)}.")
    rows = []
    for n in sizes:
        torch.manual_seed(seed)
        run = train_and_score(make_model(), (x_train[:n], y_train[:n]), val, settings, seed=seed, device=device)
        rows.append({"train_size": n, **run.row()})
    return rows


def selection_optimism(correct: np.ndarray, fresh_accuracy: np.ndarray, set_size: int, repeats: int,
                       seed: int = 0) -> dict[str, np.ndarray]:
    """Repeat 'pick the best of many candidates on a small set' and return each pick's reported and fresh accuracy.

    `correct` is a (candidates, pool digits) 0/1 matrix. Each repeat draws two disjoint sets of `set_size` pool
    digits, a small test set and a small validation set. The test-picked candidate is the best on the test set and
    reports that score; the validation-picked one is the best on the validation set and reports its test-set score.
    """
    correct = np.asarray(correct, dtype=np.float64)
    fresh_accuracy = np.asarray(fresh_accuracy, dtype=np.float64)
    if correct.ndim != 2 or len(fresh_accuracy) != len(correct):
        raise ValueError(f"correct must be (candidates, digits) with one fresh accuracy per candidate, got shapes "
                         f"{correct.shape} and {fresh_accuracy.shape}.")
    if not 1 <= set_size <= correct.shape[1] // 2:
        raise ValueError(f"set_size {set_size} needs a pool of at least {2 * set_size} digits, got {correct.shape[1]}; "
                         "use a smaller SMALL_TEST.")
    rng = np.random.default_rng(seed)
    out = {key: np.empty(repeats) for key in ("test_reported", "test_fresh", "val_reported", "val_fresh")}
    for r in range(repeats):
        draw = rng.permutation(correct.shape[1])[: 2 * set_size]
        test_acc, val_acc = correct[:, draw[:set_size]].mean(1), correct[:, draw[set_size:]].mean(1)
        by_test, by_val = int(np.argmax(test_acc)), int(np.argmax(val_acc))
        out["test_reported"][r], out["test_fresh"][r] = test_acc[by_test], fresh_accuracy[by_test]
        out["val_reported"][r], out["val_fresh"][r] = test_acc[by_val], fresh_accuracy[by_val]
    return out
