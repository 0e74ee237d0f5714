"""A recurrent text classifier (GRU or LSTM) that ignores padding, with embeddings initialised from word vectors."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CELLS = {"gru": nn.GRU, "lstm": nn.LSTM}
PADDING_MODES = ("packed", "masked")


class RNNClassifier(nn.Module):
    """Embedding -> (bi)GRU/LSTM -> max-pool over real time steps -> dropout -> linear; id 0 is padding."""

    def __init__(
        self, vocab_size: int, embed_dim: int = 100, hidden: int = 128, num_classes: int = 2, cell: str = "gru",
        bidirectional: bool = True, padding: str = "packed", dropout: float = 0.3,
        embeddings: torch.Tensor | None = None, freeze_embeddings: bool = False,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}.")
        if padding not in PADDING_MODES:
            raise ValueError(f"padding must be one of {PADDING_MODES}, got {padding!r}.")
        if embeddings is not None:
            if embeddings.shape[0] != vocab_size:
                raise ValueError(
                    f"The embedding matrix has {embeddings.shape[0]} rows but the vocabulary has {vocab_size} tokens; "
                    "build it from the same vocabulary (course_utils.word2vec.embedding_matrix)."
                )
            embed_dim = embeddings.shape[1]
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        if embeddings is not None:
            self.embedding.weight.data.copy_(embeddings)
        self.embedding.weight.requires_grad_(not freeze_embeddings)
        self.rnn = CELLS[cell](embed_dim, hidden, batch_first=True, bidirectional=bidirectional)
        self.padding = padding
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), num_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Class scores for a [batch, time] LongTensor of token ids padded with 0 at the end."""
        mask = ids != 0
        lengths = mask.sum(1).clamp(min=1)
        embedded = self.dropout(self.embedding(ids))
        if self.padding == "packed":
            # Cut the batch to its longest real text, pack: the RNN never steps over padding.
            longest = int(lengths.max())
            packed = pack_padded_sequence(embedded[:, :longest], lengths.cpu(), batch_first=True, enforce_sorted=False)
            outputs, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=longest)
            mask = mask[:, :longest]
        else:
            # Run over every step, then hide the padded ones from the pooling (a backward RNN still reads them).
            outputs, _ = self.rnn(embedded)
        outputs = outputs.masked_fill(~mask.unsqueeze(-1), float("-inf"))
        pooled = outputs.max(dim=1).values
        pooled = torch.where(torch.isfinite(pooled), pooled, torch.zeros_like(pooled))
        return self.head(self.dropout(pooled))


class LengthBuckets:
    """Training minibatches of padded id rows grouped by length and cut to their longest row, reshuffled each epoch."""

    def __init__(self, ids: torch.Tensor, labels: torch.Tensor, batch_size: int = 256, seed: int = 0,
                 pool: int = 50, device: torch.device | str | None = None) -> None:
        if len(ids) != len(labels):
            raise ValueError(f"ids has {len(ids)} rows but labels has {len(labels)}; they must match.")
        if len(ids) == 0 or not isinstance(batch_size, int) or batch_size < 1 or not isinstance(pool, int) or pool < 1:
            raise ValueError(f"LengthBuckets needs rows and positive integer batch_size and pool, got {len(ids)} rows, "
                             f"batch_size={batch_size!r}, pool={pool!r}.")
        self.ids = ids.to(device) if device is not None else ids
        self.labels = labels.to(self.ids.device)
        self.lengths = (ids != 0).sum(1).clamp(min=1)
        self.batch_size, self.pool = batch_size, pool
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        pools, rest = divmod(len(self.ids), self.batch_size * self.pool)
        return pools * self.pool + -(-rest // self.batch_size)

    def __iter__(self):
        """Shuffle, sort each pool of `pool` batches by length, cut into batches, and visit them in random order."""
        order = torch.randperm(len(self.ids), generator=self.generator)
        batches = []
        for chunk in order.split(self.batch_size * self.pool):
            chunk = chunk[torch.argsort(self.lengths[chunk], stable=True)]
            batches.extend(chunk.split(self.batch_size))
        for i in torch.randperm(len(batches), generator=self.generator).tolist():
            index = batches[i]
            longest = int(self.lengths[index].max())
            yield self.ids[index.to(self.ids.device), :longest], self.labels[index.to(self.ids.device)]

    @property
    def num_samples(self) -> int:
        """Rows per epoch (every row, once)."""
        return len(self.ids)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def make_optimizer(model: nn.Module, lr: float = 2e-3, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """Adam (fused step) over the trainable parameters only (frozen embeddings stay untouched)."""
    return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=weight_decay,
                            fused=True)


STEP_CELLS = {"rnn": nn.RNNCell, "gru": nn.GRUCell}


def hidden_gradient_norms(cell: str, inputs: torch.Tensor, labels: torch.Tensor, hidden: int = 64,
                          recurrent_scale: float = 1.0, update_bias: float = 0.0, seed: int = 0) -> torch.Tensor:
    """Backpropagate a classifier's loss through time and return the mean norm of dLoss/dh_t for every step t.

    A one-layer `cell` ("rnn": tanh RNN, or "gru") with a fresh seeded initialisation reads `inputs`
    [batch, time, features] step by step; a linear layer classifies the last hidden state. `recurrent_scale`
    multiplies the recurrent weights W_hh, to show what large recurrent weights do to the gradients; `update_bias`
    is added to a GRU's update-gate bias (sigmoid(2.2) = 0.9: the gate starts by keeping 90 % of the old state).
    """
    if cell not in STEP_CELLS:
        raise ValueError(f"cell must be one of {sorted(STEP_CELLS)}, got {cell!r}.")
    if inputs.ndim != 3 or len(inputs) != len(labels):
        raise ValueError(f"inputs must be [batch, time, features] with one label per row, got {tuple(inputs.shape)} "
                         f"and {len(labels)} labels.")
    torch.manual_seed(seed)
    step = STEP_CELLS[cell](inputs.shape[2], hidden)
    head = nn.Linear(hidden, int(labels.max()) + 1)
    if update_bias and cell != "gru":
        raise ValueError("update_bias only applies to a GRU (a plain RNN has no gates).")
    with torch.no_grad():
        step.weight_hh.mul_(recurrent_scale)
        if update_bias:
            step.bias_hh[hidden: 2 * hidden] += update_bias  # PyTorch orders a GRU's gates as reset, update, new
    h = torch.zeros(len(inputs), hidden)
    states = []
    for t in range(inputs.shape[1]):
        h = step(inputs[:, t], h)
        h.retain_grad()
        states.append(h)
    nn.functional.cross_entropy(head(h), labels).backward()
    return torch.stack([s.grad.norm(dim=1).mean() for s in states]).detach()


def prefix_probabilities(model: nn.Module, ids: torch.Tensor) -> torch.Tensor:
    """Probability of class 1 after reading only the first 1, 2, ..., T tokens of one review (ids: [T], no padding)."""
    if ids.ndim != 1 or len(ids) == 0 or bool((ids == 0).any()):
        raise ValueError("give the token ids of one review as a 1-D tensor without padding (id 0).")
    prefixes = torch.zeros(len(ids), len(ids), dtype=ids.dtype)
    for t in range(len(ids)):
        prefixes[t, : t + 1] = ids[: t + 1]
    model.eval()
    with torch.no_grad():
        return model(prefixes).softmax(dim=1)[:, 1]
