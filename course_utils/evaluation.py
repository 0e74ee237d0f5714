"""Honest evaluation: train-and-score runs, fold-safe scaling, K-fold cross-validation, repeated random splits,
capacity and size sweeps."""
from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from .batches import TensorBatches
from .bundle import standardize_preprocessing
from .i18n import label, t
from .models import FeedForwardNet, count_parameters
from .splits import kfold_indices, split_indices
from .train import History, evaluate, fit, predict

OPTIMIZERS = ("adam", "sgd")
Split = tuple[torch.Tensor, torch.Tensor]
ArrayLike = torch.Tensor | np.ndarray
FitPredict = Callable[[ArrayLike, ArrayLike, ArrayLike], ArrayLike]


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
        """'mean ± std over N folds', in the student's language."""
        return t("{mean:.4f} ± {std:.4f} over {count} {label}", mean=self.mean, std=self.std, count=len(self.scores),
                 label=label(self.label))


@dataclass
class Standardizer:
    """Feature-wise (x - mean) / std with mean and std learned from training rows only."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, rows: np.ndarray) -> "Standardizer":
        """Learn mean and std of each column (a constant column gets std 1, so it maps to 0)."""
        rows = np.asarray(rows, dtype=np.float64)
        if rows.ndim != 2 or len(rows) < 2:
            raise ValueError(f"Standardizer.fit needs a 2-D array with at least 2 rows, got shape {rows.shape}.")
        if not np.isfinite(rows).all():
            raise ValueError("Standardizer.fit got NaN or infinite values; fill or drop missing values first.")
        std = rows.std(axis=0)
        return cls(rows.mean(axis=0), np.where(std > 0, std, 1.0))

    def transform(self, rows: np.ndarray) -> np.ndarray:
        """Scale rows with the learned mean and std."""
        rows = np.asarray(rows, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != len(self.mean):
            raise ValueError(f"Expected rows with {len(self.mean)} features, got shape {rows.shape}.")
        return (rows - self.mean) / self.std

    def to_preprocessing(self) -> dict[str, Any]:
        """The same scaling as a model-bundle preprocessing entry."""
        return standardize_preprocessing(self.mean, self.std)


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


def network_fit_predict(
    make_model: Callable[[], nn.Module],
    settings: TrainSettings = TrainSettings(),
    device: torch.device | str | None = None,
) -> FitPredict:
    """A fit_predict for cross_validate: train a fresh network on the training part, predict the held-out classes."""
    fixed = replace(settings, patience=None, restore_best=False)  # nothing may be decided on the held-out part
    device = torch.device(device) if device is not None else torch.device("cpu")

    def fit_predict(train_x: torch.Tensor, train_y: torch.Tensor, val_x: torch.Tensor) -> torch.Tensor:
        model = make_model().to(device)
        seed = torch.initial_seed()  # cross_validate seeds each fold; the minibatch order follows the same seed
        train_batches = TensorBatches(train_x, train_y, fixed.batch_size, shuffle=True, seed=seed, device=device)
        monitor = TensorBatches(train_x[:2048], train_y[:2048], 2048, device=device)  # the held-out part stays unseen
        fit(model, train_batches, monitor, nn.CrossEntropyLoss(), make_optimizer(model, fixed), fixed.epochs,
            patience=None, restore_best=False, progress=False, verbose=False)
        return predict(model, val_x.to(device)).argmax(dim=1).cpu()

    return fit_predict


def _rows(data: ArrayLike, index: torch.Tensor) -> ArrayLike:
    """Select rows of a tensor or an array with a tensor of indices."""
    return data[index] if isinstance(data, torch.Tensor) else np.asarray(data)[index.numpy()]


def _held_out_score(fit_predict: FitPredict, inputs: ArrayLike, labels: ArrayLike, train_idx: torch.Tensor,
                    val_idx: torch.Tensor, scale: bool, seed: int) -> float:
    """Fit on the training rows (scaled with their own statistics if asked), return accuracy on the held-out rows."""
    train_x, val_x = _rows(inputs, train_idx), _rows(inputs, val_idx)
    if scale:
        scaler = Standardizer.fit(train_x)
        train_x, val_x = scaler.transform(train_x), scaler.transform(val_x)
    expected = np.asarray(_rows(labels, val_idx))
    torch.manual_seed(seed)
    predicted = fit_predict(train_x, _rows(labels, train_idx), val_x)
    predicted = np.asarray(predicted.cpu() if isinstance(predicted, torch.Tensor) else predicted)
    if predicted.shape != expected.shape:
        raise ValueError(f"fit_predict returned shape {predicted.shape} for {len(val_idx)} held-out rows; "
                         "return one predicted label per row.")
    return float((predicted == expected).mean())


def cross_validate(fit_predict: FitPredict, inputs: ArrayLike, labels: ArrayLike, k: int = 5, seed: int = 0,
                   scale: bool = False, label: str = "folds") -> ScoreSpread:
    """K-fold cross-validation on development data (never the test set): each fold is scored once by a model that
    fit_predict(train_x, train_y, val_x) fits on the other K-1 folds (seeded seed + fold; scaled inside the fold
    with scale=True)."""
    check_split((inputs, labels), "cross-validation data")
    scores, sizes = [], []
    for fold, (train_idx, val_idx) in enumerate(kfold_indices(len(inputs), k, seed)):
        scores.append(_held_out_score(fit_predict, inputs, labels, train_idx, val_idx, scale, seed + fold))
        sizes.append(len(val_idx))
    return ScoreSpread(scores, sizes, label)


def random_split_scores(fit_predict: FitPredict, inputs: ArrayLike, labels: ArrayLike, repeats: int = 5,
                        val_fraction: float = 0.2, seed: int = 0, scale: bool = False) -> ScoreSpread:
    """Held-out accuracy of `repeats` independent single random train/validation splits (to compare with K-fold)."""
    check_split((inputs, labels), "random-split data")
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}.")
    scores, sizes = [], []
    for i in range(repeats):
        train_idx, val_idx = split_indices(len(inputs), (1 - val_fraction, val_fraction), seed=seed + 1000 + i)
        scores.append(_held_out_score(fit_predict, inputs, labels, train_idx, val_idx, scale, seed + 1000 + i))
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


def selection_optimism(correct: np.ndarray, set_size: int, repeats: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Repeat 'pick the best of many candidates on a small set' and return each pick's reported and fresh accuracy.

    `correct` is a (candidates, pool digits) 0/1 matrix. Each repeat shuffles the pool and draws two disjoint sets of
    `set_size` digits, a small test set and a small validation set; the rest of the pool is that repeat's fresh data,
    which no choice has seen. The test-picked candidate is the best on the test set and reports that score; the
    validation-picked one is the best on the validation set and reports its test-set score. Each pick's fresh accuracy
    is its accuracy on the fresh rest, so an honest report is centred on it whatever the pool's order.
    """
    correct = np.asarray(correct, dtype=np.float64)
    if correct.ndim != 2 or len(correct) < 1:
        raise ValueError(f"correct must be a (candidates, digits) matrix of 0/1 scores, got shape {correct.shape}.")
    if not isinstance(set_size, (int, np.integer)) or not 1 <= set_size <= correct.shape[1] // 3:
        raise ValueError(f"set_size {set_size} needs a pool of at least {3 * set_size} digits (test, validation and "
                         f"fresh data), got {correct.shape[1]}; use a smaller SMALL_TEST.")
    if not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}.")
    rng = np.random.default_rng(seed)
    totals = correct.sum(1)
    fresh_size = correct.shape[1] - 2 * set_size
    out = {key: np.empty(repeats) for key in ("test_reported", "test_fresh", "val_reported", "val_fresh")}
    for r in range(repeats):
        draw = rng.permutation(correct.shape[1])[: 2 * set_size]
        test_hits, val_hits = correct[:, draw[:set_size]].sum(1), correct[:, draw[set_size:]].sum(1)
        fresh_acc = (totals - test_hits - val_hits) / fresh_size
        by_test, by_val = int(np.argmax(test_hits)), int(np.argmax(val_hits))
        out["test_reported"][r], out["test_fresh"][r] = test_hits[by_test] / set_size, fresh_acc[by_test]
        out["val_reported"][r], out["val_fresh"][r] = test_hits[by_val] / set_size, fresh_acc[by_val]
    return out
