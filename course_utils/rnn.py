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


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def make_optimizer(model: nn.Module, lr: float = 2e-3, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """Adam (fused step) over the trainable parameters only (frozen embeddings stay untouched)."""
    return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=weight_decay,
                            fused=True)
