#!/usr/bin/env python3
"""Benchmark 1: one MNIST training epoch through TensorBatches vs the usual DataLoader(MNIST(ToTensor())) pipeline.

Run: COURSE_DATA_DIR=/path/to/data .venv/bin/python benchmarks/pipeline.py [--repeats 5]
Prints a markdown table (median seconds per epoch of each path, and the ratios).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets
from torchvision.transforms import ToTensor

from course_utils.batches import TensorBatches
from course_utils.mnist import MNIST_MEAN, MNIST_STD, load_mnist, to_inputs
from course_utils.models import FeedForwardNet
from course_utils.paths import data_root

BATCH = 128


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, batches) -> float:
    """Forward + backward + step over all batches; return seconds."""
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    start = time.perf_counter()
    for x, y in batches:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x.reshape(len(x), -1)), y).backward()
        optimizer.step()
    return time.perf_counter() - start


def torchvision_dataset(workdir: Path) -> datasets.MNIST:
    """torchvision's MNIST on a writable copy of the data root's archives (extracted offline, MD5-checked)."""
    raw = workdir / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for archive in (data_root() / "MNIST" / "raw").glob("*.gz"):
        shutil.copy(archive, raw / archive.name)
    return datasets.MNIST(str(workdir), train=True, download=True, transform=ToTensor())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers for the usual pipeline")
    parser.add_argument("--hidden", type=int, nargs="+", default=[512, 256], help="hidden widths (lesson 01: 512 256)")
    args = parser.parse_args()
    mnist = load_mnist(verbose=False)
    if not mnist.is_full:
        raise SystemExit("Set COURSE_DATA_DIR to a folder holding the real MNIST/raw files first.")
    x, y = to_inputs(mnist.train_images), mnist.train_labels
    times: dict[str, list[float]] = {"course_utils TensorBatches": [], "DataLoader(MNIST(ToTensor()))": [], "compute only": []}
    with tempfile.TemporaryDirectory() as tmp:
        dataset = torchvision_dataset(Path(tmp))
        loader = DataLoader(dataset, batch_size=BATCH, shuffle=True, num_workers=args.workers)
        precomputed = list(TensorBatches(x, y, BATCH, shuffle=True, seed=1))
        for repeat in range(args.repeats):
            for name, batches in (("course_utils TensorBatches", TensorBatches(x, y, BATCH, shuffle=True, seed=repeat)),
                                  ("DataLoader(MNIST(ToTensor()))", loader), ("compute only", precomputed)):
                torch.manual_seed(0)
                model = FeedForwardNet(784, args.hidden, 10, dropout=0.2)
                times[name].append(train_epoch(model, torch.optim.Adam(model.parameters(), 1e-3), batches))
    median = {k: statistics.median(v) for k, v in times.items()}
    widths = "-".join(map(str, args.hidden))
    print(f"MNIST, 60,000 training digits, 784-{widths}-10 FNN, batch {BATCH}, Adam; median of {args.repeats} epochs; "
          f"torch threads {torch.get_num_threads()}; DataLoader workers {args.workers}\n")
    print("| pipeline | seconds per epoch (median) | runs |")
    print("|---|---|---|")
    for name, value in median.items():
        print(f"| {name} | {value:.2f} | {', '.join(f'{t:.2f}' for t in times[name])} |")
    ours, usual, compute = median["course_utils TensorBatches"], median["DataLoader(MNIST(ToTensor()))"], median["compute only"]
    print(f"\nDataLoader / TensorBatches = **{usual / ours:.1f}×** (target ≥ 8×); "
          f"TensorBatches / compute only = **{ours / compute:.2f}×** (target ≤ 2×); "
          f"data overhead per epoch (time minus compute only): DataLoader {usual - compute:.2f} s, "
          f"TensorBatches {max(ours - compute, 0):.2f} s")
    print(f"(Normalisation used by the notebooks: mean {MNIST_MEAN}, std {MNIST_STD}; ToTensor only scales to [0, 1].)")


if __name__ == "__main__":
    main()
