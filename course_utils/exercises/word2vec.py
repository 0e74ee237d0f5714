"""Checkers for the exercises of notebook 06 (word2vec and RNN sentiment analysis)."""
from __future__ import annotations

import math
from typing import Callable

from . import passed, require, require_answer


def check_skipgram_cost(answer: float | None) -> None:
    """Exercise 1: per-example cost of skip-gram with C=5, D=300, V=10^6 and hierarchical softmax."""
    name = "Exercise 1 (skip-gram cost)"
    require_answer(answer, name)
    expected = 5 * (300 + 300 * math.log2(1e6))
    require(isinstance(answer, (int, float)), name, "give one number, e.g. computed with math.log2.")
    require(not math.isclose(answer, 5 * (300 + 300 * math.log(1e6)), rel_tol=1e-3), name,
            "hierarchical softmax walks a binary tree: which logarithm counts binary decisions?")
    require(math.isclose(answer, expected, rel_tol=1e-3), name,
            "Q = C × (D + D × log2 V): each of the C context words costs one projection plus one tree walk.")
    passed(name, f"about {expected:,.0f} operations per training word, instead of {5 * 300 * 1e6:,.0f} with a full softmax.")


def check_pad_or_cut(function: Callable[[list[int], int], list[int]] | None) -> None:
    """Exercise 2: pad an id list with 0 at the end or cut it to max_len, keeping the start."""
    name = "Exercise 2 (pad or cut)"
    require_answer(function, name)
    require(callable(function), name, "define a function pad_or_cut(ids, max_len) that returns a list.")
    cases = [([5, 6, 7], 5, [5, 6, 7, 0, 0]), ([5, 6, 7], 2, [5, 6]), ([], 3, [0, 0, 0]), ([9, 8], 2, [9, 8])]
    for ids, max_len, expected in cases:
        got = list(function(list(ids), max_len))
        require(len(got) == max_len, name, f"the result must always have max_len items (ids={ids}, max_len={max_len}).")
        require(got == expected, name, f"for ids={ids}, max_len={max_len}: pad with 0 at the end, cut from the end.")
    passed(name)


def check_unknown_rate(function: Callable[[list[list[str]], set[str]], float] | None) -> None:
    """Exercise 3: the fraction of tokens (not of texts) that are missing from the vocabulary."""
    name = "Exercise 3 (unknown-token rate)"
    require_answer(function, name)
    require(callable(function), name, "define a function unknown_rate_of(token_lists, vocab) that returns a float.")
    vocab = {"영화", "재밌다", "▁영화"}
    got = function([["영화", "진짜", "재밌다"], ["노잼"]], vocab)
    require(got is not None and isinstance(got, (int, float)), name, "return a number between 0 and 1.")
    require(not math.isclose(got, 2 / 3) and not math.isclose(got, 1.0), name,
            "count tokens, not texts: divide all unknown tokens by all tokens.")
    require(math.isclose(got, 0.5), name, "a token is unknown when it is not in vocab; divide their number by all tokens.")
    require(math.isclose(function([["영화"]], vocab), 0.0), name, "a text whose tokens are all known has rate 0.")
    passed(name)
