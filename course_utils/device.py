"""Choose where tensors live: CUDA, then Apple's MPS, then the CPU."""
from __future__ import annotations

import torch

CHOICES = ("auto", "cpu", "cuda", "mps")


def mps_available() -> bool:
    """Return True when Apple's Metal backend can be used."""
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def pick_device(preferred: str | torch.device | None = "auto") -> torch.device:
    """Return the requested device, or the best available one for 'auto'."""
    if isinstance(preferred, torch.device):
        preferred = str(preferred)
    name = (preferred or "auto").strip().lower()
    kind = name.split(":")[0]
    if kind not in CHOICES:
        raise ValueError(f"Unknown device {preferred!r}. Use one of {', '.join(CHOICES)} (e.g. 'cuda:0').")
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("DEVICE='cuda' was asked for, but PyTorch sees no CUDA GPU here. Use DEVICE='auto' or 'cpu'.")
    if kind == "mps" and not mps_available():
        raise RuntimeError("DEVICE='mps' was asked for, but this machine has no Apple GPU backend. Use 'auto' or 'cpu'.")
    return torch.device(name)
