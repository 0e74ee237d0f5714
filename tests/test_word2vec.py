"""course_utils.word2vec: gensim runs, Huffman depths, skip-gram pairs and training, neighbours, complexity table."""
from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from course_utils.text_prep import build_vocabulary
from course_utils.word2vec import (
    SkipGramNS, complexity_table, embedding_matrix, huffman_depths, nearest, neighbour_overlap, similarity_correlation,
    skipgram_pairs, train_gensim, train_skipgram,
)

TESTS = Path(__file__).resolve().parent


def vectors_digest(seed: int) -> str:
    """Digest of the vocabulary and vectors of skip-gram (default workers) trained on 40,000 random tokens: several
    of gensim's 10,000-word jobs per epoch, so that threads could interleave them."""
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    sentences = [list(rng.choice(words, 10)) for _ in range(4000)]
    model, _ = train_gensim(sentences, sg=True, vector_size=16, window=3, min_count=1, epochs=2, seed=seed)
    return hashlib.sha256(" ".join(model.wv.index_to_key).encode() + model.wv.vectors.tobytes()).hexdigest()


def digest_in_a_new_process(seed: int) -> str:
    """vectors_digest(seed) computed by a fresh Python process (with its own string-hash seed)."""
    code = (f"import sys; sys.path.insert(0, {str(TESTS)!r});"
            f" from test_word2vec import vectors_digest; print(vectors_digest({seed}))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PYTHONHASHSEED="random"))
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


# Two topics that never share a sentence: word2vec must put each topic's words together.
FOOD = ["apple", "banana", "cherry", "grape", "mango"]
SPACE = ["rocket", "planet", "orbit", "comet", "star"]


def corpus(n=400, seed=0):
    rng = np.random.default_rng(seed)
    return [list(rng.choice(FOOD if i % 2 else SPACE, size=6)) for i in range(n)]


def test_huffman_depths_follow_frequency_and_average_about_log2_v():
    depths = huffman_depths([1] * 8)
    assert depths.tolist() == [3] * 8
    skewed = huffman_depths([100, 1, 1, 1])
    assert skewed[0] == 1 and skewed[1:].max() == 3
    counts = np.random.default_rng(0).zipf(1.5, size=1000)
    assert np.average(huffman_depths(counts), weights=counts) < math.log2(1000)  # per token, frequent words are shallow


def test_skipgram_pairs_stay_inside_the_window_and_skip_unknowns():
    pairs = skipgram_pairs([[2, 3, 4, 1, 5]], window=1, sample=0)
    as_set = {tuple(p) for p in pairs.tolist()}
    assert as_set == {(2, 3), (3, 2), (3, 4), (4, 3), (4, 5), (5, 4)}  # <unk>=1 removed, 4 and 5 become neighbours
    with pytest.raises(ValueError, match="No \\(center, context\\) pairs"):
        skipgram_pairs([[1, 1], [7]], window=2)


def test_skipgram_ns_loss_is_log2_times_k_plus_one_at_zero_init():
    model = SkipGramNS(10, 4)
    loss = model(torch.tensor([2, 3]), torch.tensor([4, 5]), torch.tensor([[6, 7], [8, 9]]))
    assert loss.item() == pytest.approx(3 * math.log(2), rel=1e-5)  # context vectors start at zero


def test_from_scratch_skipgram_separates_topics_and_agrees_with_gensim():
    sentences = corpus()
    vocab = build_vocabulary(sentences)
    counts = np.array([0, 0] + [vocab.counts[t] for t in vocab.itos[2:]], dtype=float)
    pairs = skipgram_pairs([vocab.encode(s) for s in sentences], window=2, counts=counts, sample=0)
    result = train_skipgram(pairs, counts, dim=16, negatives=3, epochs=3, batch_size=256, lr=0.02)
    assert result.losses[-1] < result.losses[0]
    neighbours = [w for w, _ in nearest(result.vectors, vocab, "apple", k=4)]
    assert set(neighbours) == set(FOOD) - {"apple"}
    model, seconds = train_gensim(sentences, sg=True, vector_size=16, window=2, min_count=1, epochs=20, workers=1)
    assert seconds > 0
    assert neighbour_overlap(result.vectors, vocab, model.wv, FOOD + SPACE, k=4) > 0.9
    assert similarity_correlation(result.vectors, vocab, model.wv, FOOD + SPACE, pairs=300) > 0.5


def test_gensim_hierarchical_softmax_and_cbow_run():
    model, _ = train_gensim(corpus(100), sg=False, hs=True, vector_size=8, min_count=1, epochs=2, workers=1)
    assert model.hs == 1 and model.negative == 0 and model.sg == 0
    with pytest.raises(ValueError, match="at least one tokenized sentence"):
        train_gensim([], sg=True)


def test_gensim_gives_the_same_vectors_in_separate_processes_and_uses_the_seed():
    # gensim's docs also ask for a fixed PYTHONHASHSEED; each process draws its own, so this shows it is not needed
    here = vectors_digest(0)
    assert digest_in_a_new_process(0) == here, "two processes with the same seed trained different word2vec vectors"
    assert vectors_digest(1) != here, "a different seed gave the same word2vec vectors: the seed is not used"


def test_nearest_refuses_unknown_word():
    vocab = build_vocabulary([["a", "b"]])
    with pytest.raises(KeyError, match="not in the vocabulary"):
        nearest(np.eye(4), vocab, "zzz")


def test_embedding_matrix_copies_known_vectors_and_zeroes_padding():
    model, _ = train_gensim(corpus(50), sg=True, vector_size=8, min_count=1, epochs=1, workers=1)
    vocab = build_vocabulary([["apple", "rocket", "unseen_word"]])
    matrix, coverage = embedding_matrix(model.wv, vocab)
    assert matrix.shape == (5, 8) and coverage == pytest.approx(2 / 3)
    assert torch.all(matrix[0] == 0)
    assert np.allclose(matrix[vocab.stoi["apple"]].numpy(), model.wv["apple"])


def test_complexity_table_from_the_formulas():
    table = complexity_table()
    assert table["NNLM (softmax)"] == pytest.approx(10 * 500 + 10 * 500 * 500 + 500 * 1e8)
    assert table["RNNLM (softmax)"] == pytest.approx(500 * 500 + 500 * 1e8)
    assert table["CBOW"] == pytest.approx(5000 + 500 * math.log2(1e8))
    assert table["skip-gram"] == pytest.approx(10 * (500 + 500 * math.log2(1e8)))
    # the slide's CBOW / skip-gram numbers come out with the natural log instead of log2
    assert 5000 + 500 * math.log(1e8) == pytest.approx(14_210, abs=1)
    assert 10 * (500 + 500 * math.log(1e8)) == pytest.approx(97_103, abs=1)
