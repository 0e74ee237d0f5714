#!/usr/bin/env python3
"""Benchmark 1: one MNIST training epoch through TensorBatches vs the usual DataLoader(MNIST(ToTensor())) pipeline.

Run: COURSE_DATA_DIR=/path/to/data .venv/bin/python benchmarks/pipeline.py [--repeats 5] [--adam for-loop] [--profile]
Prints a markdown table (median seconds per epoch of each path, and the ratios); with --profile, also where the time
of one in-memory epoch goes (torch.profiler, operators by self CPU time).
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
from torch.profiler import ProfilerActivity, profile
from torch.utils.data import DataLoader
from torchvision import datasets
from torchvision.transforms import ToTensor

from course_utils.batches import TensorBatches
from course_utils.mnist import MNIST_MEAN, MNIST_STD, load_mnist, to_inputs
from course_utils.models import FeedForwardNet
from course_utils.paths import data_root

BATCH = 128
ADAM_IMPLEMENTATIONS = {"fused": {"fused": True}, "for-loop": {"foreach": False}}


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


def new_model_and_optimizer(hidden: list[int], adam: str) -> tuple[nn.Module, torch.optim.Optimizer]:
    """The benchmarked FNN (dropout 0.2) from a fixed seed, with Adam (lr 1e-3) in the given implementation."""
    torch.manual_seed(0)
    model = FeedForwardNet(784, hidden, 10, dropout=0.2)
    return model, torch.optim.Adam(model.parameters(), 1e-3, **ADAM_IMPLEMENTATIONS[adam])


def print_profile(hidden: list[int], adam: str, x: torch.Tensor, y: torch.Tensor, rows: int = 10) -> None:
    """Profile one TensorBatches epoch and print the operators taking the most self CPU time, with their shares."""
    model, optimizer = new_model_and_optimizer(hidden, adam)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        train_epoch(model, optimizer, TensorBatches(x, y, BATCH, shuffle=True, seed=0))
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events)
    print(f"\nWhere one TensorBatches epoch goes (torch.profiler, self CPU time, total {total / 1e6:.2f} s):\n")
    print("| operator | calls | seconds | share |")
    print("|---|---|---|---|")
    for event in events[:rows]:
        print(f"| `{event.key}` | {event.count} | {event.self_cpu_time_total / 1e6:.3f} | "
              f"{event.self_cpu_time_total / total:.0%} |")
    self_time = {e.key: e.self_cpu_time_total for e in events}
    groups = {
        "matrix products (`aten::mm`, `aten::addmm`)": self_time.get("aten::mm", 0) + self_time.get("aten::addmm", 0),
        "dropout masks (`aten::bernoulli_`)": self_time.get("aten::bernoulli_", 0),
        "Adam's step, with every operator it calls": sum(e.cpu_time_total for e in events
                                                         if e.key.startswith("Optimizer.step")),
        "batch gather of the in-memory iterator (`aten::index_select`)": self_time.get("aten::index_select", 0),
    }
    groups["everything else (autograd, activations, loss, ...)"] = total - sum(groups.values())
    print("\n| where the time goes | seconds | share |")
    print("|---|---|---|")
    for name, micros in groups.items():
        print(f"| {name} | {micros / 1e6:.2f} | {micros / total:.0%} |")


def epoch_gflop(hidden: list[int], samples: int = 60_000) -> float:
    """Floating-point operations (in 10^9) of one epoch's matrix products: forward, weight gradients, and input
    gradients of every layer but the first (the images need none)."""
    widths = [784, *hidden, 10]
    per_sample = sum(2 * n_in * n_out * (2 if layer == 0 else 3)
                     for layer, (n_in, n_out) in enumerate(zip(widths, widths[1:])))
    return per_sample * samples / 1e9


def matmul_gflops(size: int = 2048, repeats: int = 10) -> float:
    """This machine's best float32 matrix-product speed in GFLOP/s (large square matrices, all torch threads)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(3):
        a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


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
    parser.add_argument("--adam", choices=sorted(ADAM_IMPLEMENTATIONS), default="fused",
                        help="Adam's step: fused (the kit's choice) or the for-loop implementation (torch's CPU default)")
    parser.add_argument("--profile", action="store_true", help="also profile one in-memory epoch")
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
                times[name].append(train_epoch(*new_model_and_optimizer(args.hidden, args.adam), batches))
    median = {k: statistics.median(v) for k, v in times.items()}
    widths = "-".join(map(str, args.hidden))
    print(f"MNIST, 60,000 training digits, 784-{widths}-10 FNN, batch {BATCH}, Adam ({args.adam}); median of {args.repeats} epochs; "
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
    gflop, peak = epoch_gflop(args.hidden), matmul_gflops()
    floor = gflop / peak
    print(f"\nArithmetic bound: one epoch is {gflop:.0f} GFLOP of matrix products; at this machine's best "
          f"{peak:.0f} GFLOP/s (2048×2048 float32 product) no epoch can take less than {floor:.2f} s, so with the "
          f"measured DataLoader overhead the ratio cannot exceed ({floor:.2f} + {usual - compute:.2f}) / {floor:.2f} "
          f"= **{(floor + usual - compute) / floor:.1f}×** for this network, whatever the pipeline.")
    if args.profile:
        print_profile(args.hidden, args.adam, x, y)


if __name__ == "__main__":
    main()
