"""Word vectors: gensim word2vec runs with timings, a small skip-gram with negative sampling in PyTorch, comparisons."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .text_prep import Vocabulary


def train_gensim(
    sentences: Sequence[Sequence[str]], sg: bool, hs: bool = False, negative: int = 5, vector_size: int = 100,
    window: int = 5, min_count: int = 3, epochs: int = 5, seed: int = 0, workers: int = 1,
):
    """Train gensim Word2Vec (sg: skip-gram else CBOW; hs: hierarchical softmax else negative sampling); return (model, seconds).

    One worker thread (the default) gives the same vectors for the same seed in every process; with workers > 1
    the threads' updates interleave differently on every run (gensim's documentation), so the vectors differ.
    """
    from gensim.models import Word2Vec

    if not sentences:
        raise ValueError("word2vec needs at least one tokenized sentence.")
    start = time.perf_counter()
    model = Word2Vec(
        sentences=[list(s) for s in sentences], vector_size=vector_size, window=window, min_count=min_count,
        sg=int(sg), hs=int(hs), negative=0 if hs else negative, epochs=epochs, seed=seed, workers=workers,
    )
    return model, time.perf_counter() - start


def huffman_depths(counts: Sequence[int]) -> np.ndarray:
    """Depth of each leaf in a Huffman tree over the counts (the number of binary decisions hierarchical softmax makes)."""
    import heapq

    if len(counts) < 2:
        return np.zeros(len(counts), dtype=int)
    heap = [(int(c), i, [i]) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    depth = np.zeros(len(counts), dtype=int)
    tie = len(counts)
    while len(heap) > 1:
        c1, _, leaves1 = heapq.heappop(heap)
        c2, _, leaves2 = heapq.heappop(heap)
        depth[leaves1 + leaves2] += 1
        heapq.heappush(heap, (c1 + c2, tie, leaves1 + leaves2))
        tie += 1
    return depth


def skipgram_pairs(
    encoded: Sequence[Sequence[int]], window: int = 3, counts: np.ndarray | None = None, sample: float = 1e-4, seed: int = 0
) -> torch.Tensor:
    """All (center, context) id pairs within a random window of 1..window, frequent words subsampled; shape [n, 2]."""
    rng = np.random.default_rng(seed)
    keep_prob = None
    if counts is not None and sample > 0:
        freq = counts / max(counts.sum(), 1)
        keep_prob = np.minimum(1.0, np.sqrt(sample / np.maximum(freq, 1e-12)) + sample / np.maximum(freq, 1e-12))
    centers, contexts = [], []
    for sentence in encoded:
        ids = np.asarray([i for i in sentence if i > 1], dtype=np.int64)  # skip <pad> and <unk>
        if keep_prob is not None and len(ids):
            ids = ids[rng.random(len(ids)) < keep_prob[ids]]
        n = len(ids)
        if n < 2:
            continue
        spans = rng.integers(1, window + 1, size=n)
        for offset in range(1, window + 1):
            valid = np.arange(n - offset)
            left = valid[spans[valid] >= offset]  # center i sees i + offset
            centers.append(ids[left])
            contexts.append(ids[left + offset])
            right = valid[spans[valid + offset] >= offset]  # center i + offset sees i
            centers.append(ids[right + offset])
            contexts.append(ids[right])
    if not centers:
        raise ValueError("No (center, context) pairs: the sentences are too short or all tokens are unknown.")
    return torch.from_numpy(np.stack([np.concatenate(centers), np.concatenate(contexts)], axis=1))


class SkipGramNS(nn.Module):
    """Skip-gram with negative sampling: score(w, c) = v_w · u_c, trained as logistic regression on true vs noise pairs."""

    def __init__(self, vocab_size: int, dim: int = 100) -> None:
        super().__init__()
        self.center = nn.Embedding(vocab_size, dim, sparse=True)
        self.context = nn.Embedding(vocab_size, dim, sparse=True)
        nn.init.uniform_(self.center.weight, -0.5 / dim, 0.5 / dim)
        nn.init.zeros_(self.context.weight)

    def forward(self, centers: torch.Tensor, contexts: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        """Mean loss  -log σ(v·u_pos) - Σ_k log σ(-v·u_neg_k)  over the batch."""
        v = self.center(centers)  # [B, D]
        positive = (v * self.context(contexts)).sum(-1)
        negative = torch.bmm(self.context(negatives), v.unsqueeze(-1)).squeeze(-1)  # [B, K]
        return -(nn.functional.logsigmoid(positive) + nn.functional.logsigmoid(-negative).sum(-1)).mean()


@dataclass
class SkipGramResult:
    """Trained vectors (rows follow the vocabulary), the loss per epoch and the training time."""

    vectors: np.ndarray
    losses: list[float]
    seconds: float


def train_skipgram(
    pairs: torch.Tensor, counts: np.ndarray, dim: int = 100, negatives: int = 5, epochs: int = 2,
    batch_size: int = 4096, lr: float = 0.01, seed: int = 0,
) -> SkipGramResult:
    """Train SkipGramNS on (center, context) pairs with noise words drawn from counts^0.75 (SparseAdam)."""
    if len(pairs) == 0:
        raise ValueError("train_skipgram got no pairs.")
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = SkipGramNS(len(counts), dim)
    noise = torch.as_tensor(np.asarray(counts, dtype=np.float64) ** 0.75)
    noise[:2] = 0  # never draw <pad> or <unk> as noise
    optimizer = torch.optim.SparseAdam(model.parameters(), lr=lr)
    losses = []
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(pairs), generator=generator)
        total = 0.0
        for begin in range(0, len(pairs), batch_size):
            batch = pairs[order[begin : begin + batch_size]]
            neg = torch.multinomial(noise, len(batch) * negatives, replacement=True, generator=generator)
            optimizer.zero_grad()
            loss = model(batch[:, 0], batch[:, 1], neg.view(len(batch), negatives))
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(total / len(pairs))
    return SkipGramResult(model.center.weight.detach().numpy().copy(), losses, time.perf_counter() - start)


def nearest(vectors: np.ndarray, vocab: Vocabulary, word: str, k: int = 5) -> list[tuple[str, float]]:
    """The k words with the highest cosine similarity to word (excluding itself, <pad> and <unk>)."""
    if word not in vocab.stoi:
        raise KeyError(f"{word!r} is not in the vocabulary ({len(vocab):,} tokens); pick a more frequent word.")
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    sims = unit @ unit[vocab.stoi[word]]
    sims[[0, 1, vocab.stoi[word]]] = -np.inf
    best = np.argsort(-sims)[:k]
    return [(vocab.itos[i], float(sims[i])) for i in best]


def neighbour_overlap(vectors: np.ndarray, vocab: Vocabulary, keyed_vectors, words: Sequence[str], k: int = 10) -> float:
    """Mean fraction of the k nearest neighbours that our vectors and gensim's KeyedVectors share, over words."""
    shares = []
    for word in words:
        if word in vocab.stoi and word in keyed_vectors.key_to_index:
            ours = {w for w, _ in nearest(vectors, vocab, word, k)}
            theirs = {w for w, _ in keyed_vectors.most_similar(word, topn=k)}
            shares.append(len(ours & theirs) / k)
    if not shares:
        raise ValueError("None of the words is in both vocabularies.")
    return float(np.mean(shares))


def keyed_overlap(keyed_a, keyed_b, words: Sequence[str], k: int = 10) -> float:
    """Mean fraction of the k nearest neighbours two gensim KeyedVectors share, over the words both know."""
    shares = [len({w for w, _ in keyed_a.most_similar(word, topn=k)} & {w for w, _ in keyed_b.most_similar(word, topn=k)}) / k
              for word in words if word in keyed_a.key_to_index and word in keyed_b.key_to_index]
    if not shares:
        raise ValueError("None of the words is in both vocabularies.")
    return float(np.mean(shares))


def similarity_correlation(
    vectors: np.ndarray, vocab: Vocabulary, keyed_vectors, words: Sequence[str], pairs: int = 2000, seed: int = 0
) -> float:
    """Spearman correlation between the cosine similarities that two embeddings give to random pairs of words."""
    from scipy.stats import spearmanr

    shared = [w for w in words if w in vocab.stoi and w in keyed_vectors.key_to_index]
    if len(shared) < 3:
        raise ValueError("Fewer than 3 words are in both vocabularies; use more frequent words.")
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(shared), size=(2, pairs))
    a, b = a[a != b], b[a != b]
    ours = vectors[[vocab.stoi[shared[i]] for i in range(len(shared))]]
    ours = ours / np.maximum(np.linalg.norm(ours, axis=1, keepdims=True), 1e-12)
    theirs = np.stack([keyed_vectors.get_vector(w, norm=True) for w in shared])
    return float(spearmanr((ours[a] * ours[b]).sum(1), (theirs[a] * theirs[b]).sum(1)).statistic)


def embedding_matrix(keyed_vectors, vocab: Vocabulary, seed: int = 0) -> tuple[torch.Tensor, float]:
    """An embedding matrix for vocab: word2vec rows where known, small random rows elsewhere, zeros for <pad>; and coverage."""
    dim = keyed_vectors.vector_size
    generator = torch.Generator().manual_seed(seed)
    matrix = torch.randn(len(vocab), dim, generator=generator) * 0.1
    matrix[0] = 0
    found = 0
    for token, index in vocab.stoi.items():
        if token in keyed_vectors.key_to_index:
            matrix[index] = torch.from_numpy(keyed_vectors.get_vector(token).copy())
            found += 1
    return matrix, found / max(len(vocab) - 2, 1)


def complexity_table(n: int = 10, d: int = 500, h: int = 500, v: float = 1e8, c: int = 10) -> dict[str, float]:
    """Per-training-example cost Q of each model (Mikolov et al. 2013), with hierarchical softmax log2(V) outputs."""
    log_v = math.log2(v)
    return {
        "NNLM (softmax)": n * d + n * d * h + h * v,
        "NNLM (hier. softmax)": n * d + n * d * h + h * log_v,
        "RNNLM (softmax)": h * h + h * v,
        "RNNLM (hier. softmax)": h * h + h * log_v,
        "CBOW": n * d + d * log_v,
        "skip-gram": c * (d + d * log_v),
    }
