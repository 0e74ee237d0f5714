"""Image models for lesson 05: a small CNN, a fully-connected comparison net, a VGG16 option, augmentation, feature maps."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import torch
from torch import nn

from .i18n import label, t
from .models import FeedForwardNet
from .paths import display_path

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def channel_stats(images: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and std (on the 0..1 scale) of uint8 images (N, C, H, W): use training images only."""
    if images.ndim != 4:
        raise ValueError(f"Expected images shaped (N, C, H, W), got {tuple(images.shape)}.")
    x = images.float().div_(255) if images.dtype == torch.uint8 else images.float()
    return x.mean(dim=(0, 2, 3)).tolist(), x.std(dim=(0, 2, 3)).clamp(min=1e-6).tolist()


class Normalize(nn.Module):
    """First layer of every model here: uint8 or 0..1 images -> (x - mean) / std per channel."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float().div(255) if x.dtype == torch.uint8 else x.float()
        return (x - self.mean) / self.std


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    """3x3 convolution -> batch norm -> ReLU -> 2x2 max pooling (halves height and width)."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class SmallCNN(nn.Module):
    """Four conv blocks (e.g. 32-64-128-256 channels), global average pooling, dropout, one linear layer of logits."""

    def __init__(
        self, num_labels: int, mean: Sequence[float], std: Sequence[float],
        channels: Sequence[int] = (32, 64, 128, 256), dropout: float = 0.3,
    ) -> None:
        super().__init__()
        if len(channels) < 1 or any(int(c) < 1 for c in channels):
            raise ValueError(f"channels must be positive integers, got {list(channels)}.")
        self.normalize = Normalize(mean, std)
        widths = [len(mean), *map(int, channels)]
        self.blocks = nn.Sequential(*[conv_block(a, b) for a, b in zip(widths[:-1], widths[1:])])
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(widths[-1], num_labels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.normalize(x)))


def dense_net(num_labels: int, image_shape: Sequence[int], mean: Sequence[float], std: Sequence[float],
              hidden: Sequence[int] = (256, 128), dropout: float = 0.3) -> nn.Sequential:
    """The 'why convolution' comparison: normalise, flatten every pixel, then a FeedForwardNet."""
    c, h, w = image_shape
    return nn.Sequential(Normalize(mean, std), nn.Flatten(), FeedForwardNet(c * h * w, hidden, num_labels, "relu", dropout))


def vgg16_multilabel(
    num_labels: int, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD,
    weights_path: str | os.PathLike[str] | None = None, try_download: bool = True, verbose: bool = True,
) -> tuple[nn.Module, str]:
    """torchvision's VGG16 convolutional layers with a small multi-label head; ImageNet weights when they can be had.

    Returns (model, how it was initialised). Weights come from weights_path, else torch's cache or a download
    (try_download), else the network starts from random weights and says so."""
    from torchvision.models import VGG16_Weights, vgg16

    vgg = vgg16(weights=None)
    origin = "random initialisation (training from scratch)"
    state = None
    if weights_path:
        path = Path(weights_path)
        if not path.is_file():
            raise FileNotFoundError(t(
                "VGG16_WEIGHTS points to {path}, which does not exist. Download {url} there, or leave VGG16_WEIGHTS "
                "empty.", path=display_path(path), url=VGG16_Weights.IMAGENET1K_V1.url,
            ))
        state, origin = torch.load(path, map_location="cpu", weights_only=True), f"ImageNet weights from {display_path(path)}"
    elif try_download:
        try:
            state = VGG16_Weights.IMAGENET1K_V1.get_state_dict(progress=False)
            origin = "ImageNet weights (torchvision, cached or downloaded)"
        except Exception as exc:  # offline, proxy, disk full... fall back loudly
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}"
            origin = f"random initialisation (training from scratch): ImageNet weights unavailable ({reason})"
    if state is not None:
        vgg.load_state_dict(state)
    model = nn.Sequential(
        Normalize(mean, std), vgg.features, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3),
        nn.Linear(512, num_labels),
    )
    if verbose:
        print(f"VGG16: {label(origin)}.")
    return model, origin


def random_dihedral(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Augment a batch (N, C, H, W) with the 8 flips/90-degree rotations, one drawn per image (satellite chips have no 'up')."""
    if x.ndim != 4 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"Expected square images (N, C, H, W), got {tuple(x.shape)}.")
    choice = torch.randint(0, 8, (len(x),), generator=generator)
    out = x.clone()
    for k in range(8):
        rows = (choice == k).nonzero(as_tuple=True)[0]
        if len(rows) == 0:
            continue
        part = torch.rot90(x[rows], k % 4, dims=(2, 3))
        out[rows] = part.flip(3) if k >= 4 else part
    return out


class Augmented:
    """Wrap (x, y) minibatches so that every training batch gets random flips and 90-degree rotations."""

    def __init__(self, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], seed: int = 0) -> None:
        self.batches = batches
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.batches)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for x, y in self.batches:
            yield random_dihedral(x, self.generator), y


@torch.no_grad()
def feature_maps(model: nn.Module, layer: nn.Module, image: torch.Tensor) -> torch.Tensor:
    """Run one image (C, H, W) through the model and return what `layer` outputs for it (channels, h, w)."""
    captured: list[torch.Tensor] = []
    handle = layer.register_forward_hook(lambda _m, _i, out: captured.append(out.detach().cpu()))
    try:
        model.eval()
        model(image.unsqueeze(0).to(next(model.parameters()).device))
    finally:
        handle.remove()
    return captured[0][0]


def receptive_field(kernel_sizes: Sequence[int], strides: Sequence[int]) -> int:
    """Receptive field (pixels per side) of stacked layers with these kernel sizes and strides."""
    if len(kernel_sizes) != len(strides):
        raise ValueError("Give one stride per kernel size.")
    field, jump = 1, 1
    for k, s in zip(kernel_sizes, strides):
        field += (k - 1) * jump
        jump *= s
    return field
