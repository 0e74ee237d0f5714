"""A fast minibatch iterator over tensors already in memory (no per-sample Python work)."""
from __future__ import annotations

from typing import Iterator

import torch


class TensorBatches:
    """Iterate over (x, y) minibatches of in-memory tensors, reshuffled each epoch by a seeded generator."""

    def __init__(
        self,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        batch_size: int = 128,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        device: torch.device | str | None = None,
    ) -> None:
        if len(inputs) != len(targets):
            raise ValueError(f"inputs has {len(inputs)} rows but targets has {len(targets)}; they must match.")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        if len(inputs) == 0:
            raise ValueError("Cannot make batches from an empty data set; check the split sizes.")
        self.inputs = inputs.to(device) if device is not None else inputs
        self.targets = targets.to(self.inputs.device)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        full, rest = divmod(len(self.inputs), self.batch_size)
        return full if self.drop_last or rest == 0 else full + 1

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.inputs)
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator).to(self.inputs.device)
            for start in range(0, len(self) * self.batch_size, self.batch_size):
                index = order[start : start + self.batch_size]
                yield self.inputs.index_select(0, index), self.targets.index_select(0, index)
        else:
            for start in range(0, len(self) * self.batch_size, self.batch_size):
                yield self.inputs[start : start + self.batch_size], self.targets[start : start + self.batch_size]

    @property
    def num_samples(self) -> int:
        """Number of samples seen per epoch (fewer than the data set when drop_last cuts a batch)."""
        return min(len(self) * self.batch_size, len(self.inputs))
