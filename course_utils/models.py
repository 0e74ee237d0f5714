"""Small models shared between lessons (the MNIST feed-forward net is trained in 01 and served in 07)."""
from __future__ import annotations

from typing import Sequence

from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


def activation_layer(name: str) -> nn.Module:
    """Return a fresh activation module by name (relu, leaky_relu, sigmoid, tanh)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}.")
    return ACTIVATIONS[name]()


class FeedForwardNet(nn.Sequential):
    """A fully connected net: inputs -> hidden layers (activation + dropout) -> classes logits."""

    def __init__(
        self,
        in_features: int = 784,
        hidden: Sequence[int] = (512, 256),
        num_classes: int = 10,
        activation: str = "relu",
        dropout: float = 0.2,
    ) -> None:
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}.")
        if any(int(h) < 1 for h in hidden):
            raise ValueError(f"Hidden layer sizes must be positive integers, got {list(hidden)}.")
        layers: list[nn.Module] = []
        width = in_features
        for size in hidden:
            layers += [nn.Linear(width, int(size)), activation_layer(activation)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = int(size)
        layers.append(nn.Linear(width, num_classes))
        super().__init__(*layers)
        self.config = {"in_features": in_features, "hidden": [int(h) for h in hidden], "num_classes": num_classes,
                       "activation": activation, "dropout": dropout}


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
