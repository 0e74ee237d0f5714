#!/usr/bin/env python3
"""Benchmark 5: word2vec training throughput — gensim CBOW vs skip-gram, hierarchical softmax vs negative sampling,
and the lesson's from-scratch PyTorch skip-gram — on the same NSMC reviews (whitespace tokens).

Run: COURSE_DATA_DIR=/path/to/data .venv/bin/python benchmarks/word2vec.py [--reviews 50000] [--repeats 3]
Throughput is corpus words processed per second: tokens × epochs / seconds (median of the repeats).
"""
from __future__ import annotations

import argparse
import statistics

import numpy as np

from course_utils.text_data import load_sentiment_corpus
from course_utils.text_prep import build_vocabulary, prepare_frame, whitespace_tokenize
from course_utils.word2vec import skipgram_pairs, train_gensim, train_skipgram

EPOCHS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reviews", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    corpus = load_sentiment_corpus("nsmc")
    if corpus.is_fallback:
        raise SystemExit("Set COURSE_DATA_DIR to a folder holding nsmc/ first.")
    frame, _ = prepare_frame(corpus.train.head(args.reviews))
    sentences = [whitespace_tokenize(t) for t in frame["text"]]
    tokens = sum(len(s) for s in sentences)
    rows = []
    for sg in (False, True):
        for hs in (True, False):
            seconds = [train_gensim(sentences, sg=sg, hs=hs, epochs=EPOCHS, seed=r, workers=2)[1] for r in range(args.repeats)]
            rows.append((f"gensim {'skip-gram' if sg else 'CBOW'}, {'hierarchical softmax' if hs else 'negative sampling (5)'}",
                         statistics.median(seconds), tokens * EPOCHS))
    vocab = build_vocabulary(sentences, min_count=3)
    counts = np.array([vocab.counts.get(t, 0) for t in vocab.itos], dtype=np.float64)
    pairs = skipgram_pairs([vocab.encode(s) for s in sentences], window=3, counts=counts, seed=0)
    seconds = [train_skipgram(pairs, counts, dim=100, epochs=1, seed=r).seconds for r in range(args.repeats)]
    rows.append(("from-scratch PyTorch skip-gram, negative sampling (5), 1 epoch", statistics.median(seconds), tokens))
    print(f"{len(sentences):,} NSMC reviews, {tokens:,} whitespace tokens, vocabulary (min count 3) {len(vocab):,}; "
          f"vectors of 100 dims, window 5 (gensim) / 3 (PyTorch), 2 threads; median of {args.repeats} runs; "
          f"{len(pairs):,} skip-gram pairs per PyTorch epoch after subsampling\n")
    print("| model | seconds (median) | words / second |")
    print("|---|---|---|")
    for name, secs, words in rows:
        print(f"| {name} | {secs:.1f} | {words / secs:,.0f} |")


if __name__ == "__main__":
    main()
