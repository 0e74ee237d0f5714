"""Seed every random number generator at once and report the software environment."""
from __future__ import annotations

import os
import platform
import random
import sys
from importlib import metadata

import numpy as np
import torch

from .i18n import t

REPORTED_PACKAGES = ("torch", "torchvision", "numpy", "pandas", "scikit-learn", "matplotlib")


def seed_everything(seed: int, deterministic: bool = False) -> torch.Generator:
    """Seed Python's random, NumPy and torch (CPU and CUDA); return a torch.Generator for shuffling.

    String hashing (the iteration order of a set of strings) is not seeded here: Python fixes it at start-up,
    so set the environment variable PYTHONHASHSEED before starting it (e.g. the kernel) to make that order repeat."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(t("SEED must be a non-negative integer, got {seed!r}.", seed=seed))
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    return torch.Generator().manual_seed(seed)


def seed_worker(worker_id: int) -> None:
    """Seed NumPy and random inside a DataLoader worker from torch's per-worker seed."""
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def package_version(name: str) -> str:
    """Return an installed package's version, or 'not installed'."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment_report(device: torch.device | str | None = None) -> str:
    """Describe Python, key package versions, the device and the CPU threads in a few lines (student's language)."""
    lines = [t("Python {version} on {system} {machine}", version=platform.python_version(), system=platform.system(),
               machine=platform.machine())]
    lines.append(", ".join(f"{name} {package_version(name)}" for name in REPORTED_PACKAGES))
    if device is not None:
        device = torch.device(device)
        where = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "CPU"
        lines.append(t("device: {device} ({where})", device=device, where=where))
    lines.append(t("torch threads: {threads} of {cpus} logical CPUs", threads=torch.get_num_threads(),
                   cpus=os.cpu_count()))
    if "google.colab" in sys.modules:
        lines.append(t("running inside Google Colab"))
    return "\n".join(lines)
