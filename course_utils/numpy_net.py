"""A sigmoid multilayer perceptron in NumPy with backpropagation, gradient checks and a minibatch SGD trainer.

Inside the network activations are columns (one column per sample), so the code reads like the four
equations: delta_L = grad_a C * s'(z_L); delta_l = (W_{l+1}^T delta_{l+1}) * s'(z_l); dC/db_l = delta_l;
dC/dW_l = delta_l a_{l-1}^T. The public methods take samples as rows, like torch.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from .i18n import t
from .train import History

Array = np.ndarray


def sigmoid(z: Array) -> Array:
    """The logistic function 1 / (1 + e^-z), computed without overflow warnings."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def sigmoid_prime(z: Array) -> Array:
    """Derivative of the sigmoid: s(z) (1 - s(z))."""
    s = sigmoid(z)
    return s * (1.0 - s)


@dataclass(frozen=True)
class Activation:
    """A hidden-layer activation: its function, its derivative and the torch function used for checks."""

    name: str
    fn: Callable[[Array], Array]
    prime: Callable[[Array], Array]
    torch_fn: Callable[[torch.Tensor], torch.Tensor]


SIGMOID = Activation("sigmoid", sigmoid, sigmoid_prime, torch.sigmoid)


class QuadraticCost:
    """C = 1/(2m) sum_x ||a^L(x) - y(x)||^2, averaged over the minibatch."""

    name = "quadratic"

    @staticmethod
    def value(a: Array, y: Array) -> float:
        """Cost of output columns a against target columns y."""
        return float(0.5 * np.sum((a - y) ** 2) / a.shape[1])

    @staticmethod
    def delta(z: Array, a: Array, y: Array) -> Array:
        """Output error delta^L = (a - y) * s'(z^L), for one sample per column (not yet divided by m)."""
        return (a - y) * sigmoid_prime(z)

    @staticmethod
    def torch_value(a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The same cost in torch, for autograd checks (rows are samples)."""
        return 0.5 * ((a - y) ** 2).sum() / a.shape[0]


class CrossEntropyCost:
    """C = -1/m sum_x sum_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)] for sigmoid outputs."""

    name = "cross_entropy"

    @staticmethod
    def value(a: Array, y: Array) -> float:
        """Cost of output columns a against target columns y (log(0) guarded)."""
        a = np.clip(a, 1e-12, 1 - 1e-12)
        return float(-np.sum(y * np.log(a) + (1 - y) * np.log(1 - a)) / a.shape[1])

    @staticmethod
    def delta(z: Array, a: Array, y: Array) -> Array:
        """Output error delta^L = a - y: the sigmoid's s'(z) cancels against the cost's 1/(a(1-a))."""
        return a - y

    @staticmethod
    def torch_value(a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The same cost in torch, for autograd checks (rows are samples)."""
        return -(y * torch.log(a) + (1 - y) * torch.log(1 - a)).sum() / a.shape[0]


COSTS = {"quadratic": QuadraticCost, "cross_entropy": CrossEntropyCost}


def one_hot(labels: Sequence[int] | Array, num_classes: int = 10, dtype: type = np.float64) -> Array:
    """Turn integer labels into rows of length num_classes with a single 1."""
    labels = np.asarray(labels).astype(int).ravel()
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"Labels must lie in 0..{num_classes - 1}; found {labels.min()}..{labels.max()}.")
    out = np.zeros((labels.size, num_classes), dtype=dtype)
    out[np.arange(labels.size), labels] = 1
    return out


class NumpyMLP:
    """Fully connected net: hidden layers use `activation`, the output layer is sigmoid; any depth."""

    def __init__(
        self,
        sizes: Sequence[int],
        cost: str = "cross_entropy",
        activation: Activation = SIGMOID,
        seed: int = 0,
        dtype: type = np.float64,
    ) -> None:
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list at least an input and an output layer, all positive, got {list(sizes)}.")
        if cost not in COSTS:
            raise ValueError(f"Unknown cost {cost!r}; choose one of {', '.join(COSTS)}.")
        rng = np.random.default_rng(seed)
        self.sizes, self.cost, self.activation, self.dtype = sizes, COSTS[cost], activation, dtype
        self.weights = [(rng.standard_normal((n_out, n_in)) / math.sqrt(n_in)).astype(dtype)
                        for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        self.biases = [rng.standard_normal((n_out, 1)).astype(dtype) for n_out in sizes[1:]]

    def __repr__(self) -> str:
        return f"NumpyMLP(sizes={self.sizes}, cost={self.cost.name!r}, activation={self.activation.name!r})"

    @property
    def num_parameters(self) -> int:
        """Number of weights and biases."""
        return sum(w.size + b.size for w, b in zip(self.weights, self.biases))

    def _columns(self, x: Array, what: str, width: int) -> Array:
        """Check a (samples, features) array and return it as (features, samples) columns."""
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 2 or x.shape[1] != width:
            raise ValueError(
                f"{what} must have shape (samples, {width}) for this {self.sizes} network, got {x.shape}. "
                "Flatten images to rows (e.g. x.reshape(len(x), -1)) and one-hot the labels."
            )
        return x.T

    def forward_pass(self, x: Array) -> tuple[list[Array], list[Array]]:
        """Return (z of every layer, activation of every layer incl. the input), as columns."""
        a = self._columns(x, "x", self.sizes[0])
        zs, activations = [], [a]
        for index, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = w @ a + b
            a = sigmoid(z) if index == len(self.weights) - 1 else self.activation.fn(z)
            zs.append(z)
            activations.append(a)
        return zs, activations

    def forward(self, x: Array) -> Array:
        """Return the output activations, one row per sample."""
        return self.forward_pass(x)[1][-1].T

    def loss(self, x: Array, y: Array) -> float:
        """Cost averaged over the samples (rows) of x and one-hot targets y."""
        y_cols = self._columns(y, "y", self.sizes[-1])
        return self.cost.value(self.forward_pass(x)[1][-1], y_cols)

    def backprop(self, x: Array, y: Array) -> tuple[list[Array], list[Array]]:
        """Return (dC/dW, dC/db) per layer, averaged over the minibatch, by the four backprop equations."""
        y_cols = self._columns(y, "y", self.sizes[-1])
        zs, activations = self.forward_pass(x)
        m = y_cols.shape[1]
        delta = self.cost.delta(zs[-1], activations[-1], y_cols)  # (BP1), one column per sample
        grad_w, grad_b = [None] * len(self.weights), [None] * len(self.biases)
        for layer in range(len(self.weights) - 1, -1, -1):
            if layer < len(self.weights) - 1:
                delta = (self.weights[layer + 1].T @ delta) * self.activation.prime(zs[layer])  # (BP2)
            grad_b[layer] = delta.sum(axis=1, keepdims=True) / m  # (BP3)
            grad_w[layer] = delta @ activations[layer].T / m  # (BP4)
        return grad_w, grad_b

    def predict(self, x: Array, batch_size: int = 10_000) -> Array:
        """Return the predicted class (index of the largest output) for each row of x."""
        return np.concatenate([self.forward(x[i : i + batch_size]).argmax(axis=1) for i in range(0, len(x), batch_size)])

    def accuracy(self, x: Array, labels: Array) -> float:
        """Fraction of rows whose predicted class equals the integer label."""
        return float(np.mean(self.predict(x) == np.asarray(labels).ravel()))

    def sgd_step(self, x: Array, y: Array, learning_rate: float) -> None:
        """One gradient-descent update on the minibatch (x, y)."""
        grad_w, grad_b = self.backprop(x, y)
        for w, b, gw, gb in zip(self.weights, self.biases, grad_w, grad_b):
            w -= learning_rate * gw
            b -= learning_rate * gb

    def state(self) -> dict[str, list[Array]]:
        """Return a copy of the parameters."""
        return {"weights": copy.deepcopy(self.weights), "biases": copy.deepcopy(self.biases)}

    def load_state(self, state: dict[str, list[Array]]) -> None:
        """Restore parameters saved by state()."""
        self.weights = copy.deepcopy(state["weights"])
        self.biases = copy.deepcopy(state["biases"])


def numerical_gradients(net: NumpyMLP, x: Array, y: Array, eps: float = 1e-4) -> tuple[list[Array], list[Array]]:
    """Return (dC/dW, dC/db) by central differences (C(p + eps) - C(p - eps)) / (2 eps), one parameter at a time.

    eps = 1e-4 balances truncation error (~eps^2) against float64 rounding in C (~1e-16 / eps)."""
    result = []
    for group in (net.weights, net.biases):
        grads = []
        for param in group:
            grad = np.zeros_like(param)
            for index in np.ndindex(param.shape):
                saved = param[index]
                param[index] = saved + eps
                plus = net.loss(x, y)
                param[index] = saved - eps
                minus = net.loss(x, y)
                param[index] = saved
                grad[index] = (plus - minus) / (2 * eps)
            grads.append(grad)
        result.append(grads)
    return result[0], result[1]


def gradient_table(net: NumpyMLP, x: Array, y: Array) -> list[dict[str, float | str]]:
    """One row per weight and bias: its value, its backprop gradient and the central-difference estimate."""
    grad_w, grad_b = net.backprop(x, y)
    num_w, num_b = numerical_gradients(net, x, y)
    rows = []
    for layer, (w, b) in enumerate(zip(net.weights, net.biases), start=1):
        for (j, k), value in np.ndenumerate(w):
            rows.append({"parameter": f"w{layer}[{j + 1},{k + 1}]", "value": float(value),
                         "backprop": float(grad_w[layer - 1][j, k]), "finite difference": float(num_w[layer - 1][j, k])})
        for j, value in enumerate(b[:, 0]):
            rows.append({"parameter": f"b{layer}[{j + 1}]", "value": float(value),
                         "backprop": float(grad_b[layer - 1][j, 0]), "finite difference": float(num_b[layer - 1][j, 0])})
    return rows


def torch_mlp_loss(net: NumpyMLP, x: Array, y: Array) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """Build the same network in torch float64 from the NumPy parameters; return (cost, weights, biases) tensors."""
    weights = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in net.weights]
    biases = [torch.tensor(b[:, 0], dtype=torch.float64, requires_grad=True) for b in net.biases]
    a = torch.tensor(np.asarray(x), dtype=torch.float64)
    for index, (w, b) in enumerate(zip(weights, biases)):
        z = a @ w.T + b
        a = torch.sigmoid(z) if index == len(weights) - 1 else net.activation.torch_fn(z)
    return net.cost.torch_value(a, torch.tensor(np.asarray(y), dtype=torch.float64)), weights, biases


def torch_gradients(net: NumpyMLP, x: Array, y: Array) -> tuple[list[Array], list[Array]]:
    """Return (dC/dW, dC/db) computed by torch.autograd in float64 on the same parameters."""
    cost, weights, biases = torch_mlp_loss(net, x, y)
    cost.backward()
    return [w.grad.numpy() for w in weights], [b.grad.numpy()[:, None] for b in biases]


def relative_error(first: tuple[list[Array], list[Array]], second: tuple[list[Array], list[Array]]) -> float:
    """||g1 - g2|| / (||g1|| + ||g2||) with every weight and bias gradient joined into one vector (0 if both are 0).

    The standard gradient-check measure: unlike an entry-by-entry relative error it is not thrown off by tiny
    entries (a deep sigmoid net's first-layer gradients), whose finite-difference rounding is not small next to them."""
    for group_a, group_b in zip(first, second):
        if len(group_a) != len(group_b):
            raise ValueError(f"The gradients describe {len(group_a)} and {len(group_b)} layers; they must match.")
    flat = [[np.asarray(g, dtype=float) for group in pair for g in group] for pair in (first, second)]
    for a, b in zip(*flat):
        if a.shape != b.shape:
            raise ValueError(f"Gradient shapes differ: {a.shape} vs {b.shape}.")
    g1 = np.concatenate([a.ravel() for a in flat[0]])
    g2 = np.concatenate([b.ravel() for b in flat[1]])
    scale = float(np.linalg.norm(g1) + np.linalg.norm(g2))
    return float(np.linalg.norm(g1 - g2)) / scale if scale > 0 else 0.0


def gradient_timings(sizes: Sequence[int], batch: int = 10, seed: int = 0, repeats: int = 3) -> dict[str, float]:
    """Time one gradient by backprop and by central differences (best of several runs); return seconds and counts."""
    rng = np.random.default_rng(seed)
    net = NumpyMLP(sizes, seed=seed)
    x = rng.standard_normal((batch, sizes[0]))
    y = one_hot(rng.integers(0, sizes[-1], batch), sizes[-1])
    backprop_s = min(_timed(lambda: net.backprop(x, y)) for _ in range(10 * repeats))
    numeric_s = min(_timed(lambda: numerical_gradients(net, x, y)) for _ in range(repeats))
    return {"parameters": net.num_parameters, "backprop_s": backprop_s, "finite_diff_s": numeric_s,
            "ratio": numeric_s / backprop_s}


def _timed(fn: Callable[[], object]) -> float:
    """Seconds one call of fn takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def train_sgd(
    net: NumpyMLP,
    x_train: Array,
    labels_train: Array,
    x_val: Array,
    labels_val: Array,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int = 0,
    verbose: bool = True,
) -> History:
    """Minibatch SGD on the NumPy net; per-epoch cost and accuracy on both splits; keeps the lowest-validation-cost epoch."""
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(t("EPOCHS must be a positive integer, got {epochs!r}.", epochs=epochs))
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(t("BATCH_SIZE must be a positive integer, got {batch_size!r}.", batch_size=batch_size))
    if not (isinstance(learning_rate, (int, float)) and math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(t("LEARNING_RATE must be a positive number, got {learning_rate!r}.",
                           learning_rate=learning_rate))
    num_classes = net.sizes[-1]
    y_train, y_val = one_hot(labels_train, num_classes, net.dtype), one_hot(labels_val, num_classes, net.dtype)
    x_train, x_val = np.asarray(x_train, dtype=net.dtype), np.asarray(x_val, dtype=net.dtype)
    rng = np.random.default_rng(seed)
    history, best = History(metric_name="accuracy"), net.state()
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(len(x_train))
        for i in range(0, len(order), batch_size):
            index = order[i : i + batch_size]
            net.sgd_step(x_train[index], y_train[index], learning_rate)
        history.epoch_seconds.append(time.perf_counter() - start)
        train_loss, val_loss = net.loss(x_train, y_train), net.loss(x_val, y_val)
        if not math.isfinite(train_loss):
            raise FloatingPointError(t("The training cost became {cost} in epoch {epoch}: lower LEARNING_RATE "
                                       "(e.g. by 10x).", cost=train_loss, epoch=epoch))
        history.train_loss.append(train_loss)
        history.val_loss.append(val_loss)
        history.train_metric.append(net.accuracy(x_train, labels_train))
        history.val_metric.append(net.accuracy(x_val, labels_val))
        improved = val_loss < history.best_val_loss
        if improved:
            history.best_epoch, best = epoch, net.state()
        if verbose:
            print(t("epoch {epoch:>2}/{epochs}  train cost {train_cost:.4f} acc {train_accuracy:.4f}  |  "
                    "val cost {val_cost:.4f} acc {val_accuracy:.4f}  |  {seconds:.1f}s", epoch=epoch, epochs=epochs,
                    train_cost=train_loss, train_accuracy=history.train_metric[-1], val_cost=val_loss,
                    val_accuracy=history.val_metric[-1], seconds=history.epoch_seconds[-1])
                  + (t("  * best") if improved else ""))
    net.load_state(best)
    return history
