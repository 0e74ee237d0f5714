"""Choose where tensors live: CUDA, then Apple's MPS, then the CPU."""
from __future__ import annotations

import torch

from .i18n import t

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
        raise ValueError(t("Unknown device {device!r}. Use one of {choices} (e.g. 'cuda:0').", device=preferred,
                           choices=", ".join(CHOICES)))
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(t("DEVICE='cuda' was asked for, but PyTorch sees no CUDA GPU here. "
                             "Use DEVICE='auto' or 'cpu'."))
    if kind == "mps" and not mps_available():
        raise RuntimeError(t("DEVICE='mps' was asked for, but this machine has no Apple GPU backend. "
                             "Use 'auto' or 'cpu'."))
    return torch.device(name)
