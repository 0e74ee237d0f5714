"""Project-template helpers: chance level, a grid search over K-fold cross-validation, a small tabular MLP, and a
check that installed packages match requirements.txt."""
from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .batches import TensorBatches
from .evaluation import FitPredict, ScoreSpread, cross_validate
from .models import FeedForwardNet
from .reproducibility import package_version
from .train import fit, predict


def chance_level(labels: Sequence[int] | np.ndarray | torch.Tensor) -> float:
    """Accuracy of always predicting the most frequent class (0.5 for balanced binary, 0.1 for ten classes)."""
    values = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels).ravel()
    if values.size == 0:
        raise ValueError("chance_level() got no labels.")
    _, counts = np.unique(values, return_counts=True)
    return float(counts.max() / values.size)


@dataclass
class GridSearchResult:
    """Every tried combination with its CV result, and the best one (highest mean validation accuracy)."""

    results: list[tuple[dict[str, Any], ScoreSpread]] = field(default_factory=list)

    @property
    def best_params(self) -> dict[str, Any]:
        """Combination with the highest mean fold accuracy (the first one on ties)."""
        return max(self.results, key=lambda item: item[1].mean)[0]

    def table(self) -> list[dict[str, Any]]:
        """Rows {param..., mean, std} for a DataFrame."""
        return [{**params, "mean": cv.mean, "std": cv.std} for params, cv in self.results]


def grid_search(make_fit_predict: Callable[..., FitPredict], grid: dict[str, Sequence[Any]], rows: np.ndarray,
                labels: np.ndarray, k: int = 5, seed: int = 0) -> GridSearchResult:
    """Try every combination of grid values with K-fold CV on (rows, labels) only: pass development data, never
    the test set. make_fit_predict(**params) returns a fit_predict function."""
    if not grid or any(len(values) == 0 for values in grid.values()):
        raise ValueError(f"The grid needs at least one value per hyperparameter, got {grid}.")
    names = list(grid)
    search = GridSearchResult()
    for values in itertools.product(*(grid[n] for n in names)):
        params = dict(zip(names, values))
        search.results.append((params, cross_validate(make_fit_predict(**params), rows, labels, k, seed, scale=True)))
    return search


def train_mlp(rows: np.ndarray, labels: np.ndarray, hidden: Sequence[int] = (32,), epochs: int = 60,
              lr: float = 1e-3, weight_decay: float = 0.0, dropout: float = 0.0, batch_size: int = 32,
              seed: int = 0, val: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[FeedForwardNet, Any]:
    """Train a FeedForwardNet on scaled rows with Adam; with `val`, keep the lowest-validation-loss parameters,
    without it train for exactly `epochs` (validation data is then never looked at). Returns (model, history)."""
    torch.manual_seed(seed)
    x = torch.as_tensor(np.asarray(rows), dtype=torch.float32)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    num_classes = int(y.max()) + 1
    model = FeedForwardNet(x.shape[1], tuple(hidden), max(num_classes, 2), dropout=dropout)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay, fused=True)
    train_batches = TensorBatches(x, y, batch_size=batch_size, shuffle=True, seed=seed)
    if val is not None:
        monitor = TensorBatches(torch.as_tensor(np.asarray(val[0]), dtype=torch.float32),
                                torch.as_tensor(np.asarray(val[1]), dtype=torch.long), batch_size=1024)
    else:
        monitor = TensorBatches(x, y, batch_size=1024)  # training loss only: the validation fold stays unseen
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a net this small trains fastest (and identically on every machine) on one thread
    try:
        history = fit(model, train_batches, monitor, torch.nn.functional.cross_entropy, optimizer, epochs,
                      restore_best=val is not None, progress=False, verbose=False)
    finally:
        torch.set_num_threads(threads)
    return model.eval(), history


def mlp_predictions(model: torch.nn.Module, rows: np.ndarray) -> np.ndarray:
    """Predicted class of each scaled row."""
    return predict(model, torch.as_tensor(np.asarray(rows), dtype=torch.float32)).argmax(dim=1).numpy()


def read_pins(path: str | os.PathLike[str]) -> dict[str, str]:
    """{normalised package name: pinned version} from `name==version` lines of a requirements file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No requirements file at {path}. Pass the path of the project's requirements.txt.")
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[normalise_name(name.split("[")[0])] = version.split(";")[0].strip()
    return pins


def normalise_name(name: str) -> str:
    """PEP 503 name: lower case, runs of - _ . become -."""
    return "-".join(part for part in name.strip().lower().replace("_", "-").replace(".", "-").split("-") if part)


def verify_requirements(path: str | os.PathLike[str], packages: Sequence[str]) -> list[dict[str, Any]]:
    """For each package: pinned version, installed version and whether they agree (local +cpu tags ignored)."""
    pins = read_pins(path)
    rows = []
    for package in packages:
        pinned = pins.get(normalise_name(package), "not pinned")
        installed = package_version(package)
        rows.append({"package": package, "pinned": pinned, "installed": installed,
                     "ok": installed.split("+")[0] == pinned.split("+")[0]})
    return rows



def load_or_train_mnist_bundle(bundle_dir: str | os.PathLike[str], fallback_dir: str | os.PathLike[str],
                               images: torch.Tensor, labels: torch.Tensor, epochs: int = 2,
                               hidden: Sequence[int] = (128,), seed: int = 0) -> tuple[Path, bool]:
    """Return (bundle folder, trained_here): lesson 01's bundle when it exists, else a small FeedForwardNet
    trained now on (images, labels) and saved to fallback_dir."""
    from .bundle import image_input_spec, pixel_preprocessing, read_bundle_meta, save_bundle
    from .mnist import MNIST_MEAN, MNIST_STD, to_inputs

    try:
        read_bundle_meta(bundle_dir)
        return Path(bundle_dir), False
    except FileNotFoundError:
        pass
    torch.manual_seed(seed)
    model = FeedForwardNet(784, tuple(hidden), 10, dropout=0.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    batches = TensorBatches(to_inputs(images), labels, batch_size=128, shuffle=True, seed=seed)
    history = fit(model, batches, batches, torch.nn.functional.cross_entropy, optimizer, epochs,
                  restore_best=False, progress=False, verbose=False)
    folder = save_bundle(fallback_dir, model, name="mnist_fnn_quick", classes=[str(d) for d in range(10)],
                         input_spec=image_input_spec(), preprocessing=pixel_preprocessing(MNIST_MEAN, MNIST_STD),
                         metrics={"train_accuracy": history.train_metric[-1]},
                         extra={"note": "trained quickly by lesson 08 because lesson 01's bundle was missing"})
    return folder, True
