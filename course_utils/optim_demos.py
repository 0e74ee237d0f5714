"""Gradient descent and its optimisers (SGD, momentum, Adam) on small functions, written out in NumPy."""
from __future__ import annotations

import math
from typing import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .i18n import label, t

Gradient = Callable[[np.ndarray], np.ndarray]
Function = Callable[[np.ndarray], float]
METHODS = ("sgd", "momentum", "adam")


def quadratic_cost(predictions: Sequence[float] | np.ndarray, targets: Sequence[float] | np.ndarray) -> float:
    """Return C = 1/(2n) * sum_i (a_i - y_i)^2, the course's quadratic cost."""
    a = np.asarray(predictions, dtype=float).ravel()
    y = np.asarray(targets, dtype=float).ravel()
    if a.shape != y.shape or a.size == 0:
        raise ValueError(
            f"predictions ({a.size} values) and targets ({y.size} values) must be non-empty and the same length."
        )
    return float(np.sum((a - y) ** 2) / (2 * a.size))


def iterations_per_epoch(n_samples: int, batch_size: int) -> int:
    """Return how many minibatch updates one pass over n_samples takes (the last batch may be smaller)."""
    for name, value in (("n_samples", n_samples), ("batch_size", batch_size)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return math.ceil(n_samples / batch_size)


def check_learning_rate(learning_rate: float) -> float:
    """Return the learning rate as a float, refusing zero, negative or non-finite values."""
    rate = float(learning_rate)
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"The learning rate must be a positive number, got {learning_rate!r}. Try 0.1.")
    return rate


def gradient_descent(grad: Gradient, start: float | Sequence[float], learning_rate: float, steps: int) -> np.ndarray:
    """Apply w <- w - lr * grad(w) `steps` times; return the path (steps + 1 rows, start included)."""
    return optimize(grad, start, "sgd", learning_rate, steps)


def optimize(
    grad: Gradient,
    start: float | Sequence[float],
    method: str,
    learning_rate: float,
    steps: int,
    momentum: float = 0.9,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> np.ndarray:
    """Run plain SGD, SGD with momentum or Adam (torch.optim's update rules); return the path of points."""
    if method not in METHODS:
        raise ValueError(f"Unknown optimiser {method!r}; choose one of {', '.join(METHODS)}.")
    rate = check_learning_rate(learning_rate)
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}.")
    w = np.atleast_1d(np.asarray(start, dtype=float)).copy()
    velocity, m, v = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    path = [w.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            g = np.asarray(grad(w), dtype=float)
            if method == "sgd":
                w = w - rate * g
            elif method == "momentum":
                velocity = momentum * velocity + g if t > 1 else g
                w = w - rate * velocity
            else:
                m = betas[0] * m + (1 - betas[0]) * g
                v = betas[1] * v + (1 - betas[1]) * g**2
                m_hat, v_hat = m / (1 - betas[0] ** t), v / (1 - betas[1] ** t)
                w = w - rate * m_hat / (np.sqrt(v_hat) + eps)
            path.append(w.copy())
    return np.array(path)


def elongated_bowl(condition: float = 50.0) -> tuple[Function, Gradient]:
    """Return f(x, y) = (x^2 + condition * y^2) / 2 and its gradient: a badly conditioned valley when condition >> 1."""
    if condition < 1:
        raise ValueError(f"condition must be at least 1 (the ratio of the steepest to the flattest curvature), got {condition}.")

    def f(p: np.ndarray) -> float:
        p = np.asarray(p, dtype=float)
        return 0.5 * (p[..., 0] ** 2 + condition * p[..., 1] ** 2)

    def grad(p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        return np.array([p[0], condition * p[1]])

    return f, grad


def bumpy_function(x: np.ndarray | float) -> np.ndarray | float:
    """A non-convex 1-D cost x^4 - 4x^2 + x: a global minimum near -1.47 and a local one near 1.35."""
    x = np.asarray(x, dtype=float)
    return x**4 - 4 * x**2 + x


def bumpy_gradient(x: np.ndarray | float) -> np.ndarray:
    """Derivative of bumpy_function: 4x^3 - 8x + 1."""
    x = np.asarray(x, dtype=float)
    return 4 * x**3 - 8 * x + 1


def make_linear_data(
    n: int = 200, weight: float = 2.0, bias: float = 1.0, noise: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Return n points (x, y) with y = weight * x + bias + Gaussian noise, x uniform in [-2, 2]."""
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an integer of at least 2, got {n!r}.")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=n)
    return x, weight * x + bias + noise * rng.standard_normal(n)


def linear_cost(w: float | np.ndarray, b: float | np.ndarray, x: np.ndarray, y: np.ndarray) -> float | np.ndarray:
    """Quadratic cost of the line a = w x + b on (x, y); w and b may be grids (for contour plots)."""
    w, b = np.asarray(w, dtype=float), np.asarray(b, dtype=float)
    residual = w[..., None] * x + b[..., None] - y
    return 0.5 * np.mean(residual**2, axis=-1)


def linear_gradients(w: float, b: float, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return [dC/dw, dC/db] of the quadratic cost of a = w x + b, derived by hand."""
    residual = w * x + b - y
    return np.array([np.mean(residual * x), np.mean(residual)])


def minibatch_descent(
    x: np.ndarray,
    y: np.ndarray,
    learning_rate: float,
    epochs: int,
    batch_size: int,
    seed: int = 0,
    start: tuple[float, float] = (0.0, 0.0),
) -> dict[str, np.ndarray]:
    """Fit a = w x + b by minibatch gradient descent (batch_size = n: full batch, 1: stochastic).

    Returns the full-data cost after every update ('loss'), the update count at each epoch end ('epoch_ends')
    and the parameter path ('path')."""
    rate = check_learning_rate(learning_rate)
    n = len(x)
    updates_per_epoch = iterations_per_epoch(n, batch_size)
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}.")
    rng = np.random.default_rng(seed)
    params = np.array(start, dtype=float)
    path, losses = [params.copy()], [linear_cost(*params, x, y)]
    for _ in range(epochs):
        order = rng.permutation(n)
        for i in range(updates_per_epoch):
            index = order[i * batch_size : (i + 1) * batch_size]
            params = params - rate * linear_gradients(*params, x[index], y[index])
            path.append(params.copy())
            losses.append(linear_cost(*params, x, y))
    return {
        "loss": np.array(losses, dtype=float),
        "epoch_ends": np.arange(1, epochs + 1) * updates_per_epoch,
        "path": np.array(path),
    }


def final_value(f: Function, path: np.ndarray) -> float:
    """Return f at the last point of a path (inf when the run diverged)."""
    with np.errstate(over="ignore", invalid="ignore"):
        value = float(f(path[-1]))
    return value if math.isfinite(value) else math.inf


def learning_rate_sweep(
    f: Function, grad: Gradient, start: Sequence[float], rates: Sequence[float], steps: int, methods: Sequence[str] = METHODS
) -> dict[str, np.ndarray]:
    """Return {method: final cost for each learning rate} after `steps` updates from `start`."""
    return {m: np.array([final_value(f, optimize(grad, start, m, r, steps)) for r in rates]) for m in methods}


def plot_contour_paths(
    f: Function,
    paths: dict[str, np.ndarray],
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    labels: tuple[str, str] = ("w", "b"),
    ax: plt.Axes | None = None,
    levels: int = 25,
) -> plt.Axes:
    """Draw the contour lines of f(p) over a box and each named path of points on top (names shown as labels)."""
    ax = ax or plt.subplots(figsize=(6, 4.5))[1]
    gx, gy = np.meshgrid(np.linspace(*xlim, 200), np.linspace(*ylim, 200))
    values = f(np.stack([gx, gy], axis=-1))
    ax.contour(gx, gy, values, levels=np.quantile(values, np.linspace(0, 1, levels) ** 2), cmap="viridis", linewidths=0.8)
    for name, path in paths.items():
        shown = path[np.all(np.isfinite(path), axis=1)]
        ax.plot(shown[:, 0], shown[:, 1], "o-", ms=2.5, lw=1.2, label=label(name))
    ax.set(xlim=xlim, ylim=ylim, xlabel=label(labels[0]), ylabel=label(labels[1]))
    ax.legend(loc="upper right", fontsize=9)
    return ax


def plot_path_1d(
    f: Callable[[np.ndarray], np.ndarray], path: np.ndarray, xlim: tuple[float, float], ax: plt.Axes | None = None, title: str = ""
) -> plt.Axes:
    """Draw a 1-D cost curve and the gradient-descent steps on it (clipped to the plotted range)."""
    ax = ax or plt.subplots(figsize=(5, 3.5))[1]
    grid = np.linspace(*xlim, 400)
    ax.plot(grid, f(grid), color="0.3", lw=1.5)
    steps = np.asarray(path, dtype=float).ravel()
    steps = steps[np.isfinite(steps)]
    inside = steps[(steps >= xlim[0]) & (steps <= xlim[1])]
    ax.plot(inside, f(inside), "o-", color="crimson", ms=4, lw=0.8, alpha=0.8)
    if len(inside):
        ax.plot(inside[:1], f(inside[:1]), "s", color="black", ms=6, label=t("start"))
    ax.set(xlim=xlim, xlabel="w", ylabel="C(w)", title=label(title))
    return ax
