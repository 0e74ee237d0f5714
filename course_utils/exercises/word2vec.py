"""Checkers for the exercises of lesson 06 (word vectors)."""
from __future__ import annotations

import math
from typing import Callable, Sequence

from ..i18n import t
from ..word2vec import keyed_overlap
from . import passed, require, require_answer


def check_skipgram_cost(answer: float | None) -> None:
    """Exercise 1: per-example cost of skip-gram with C=5, D=300, V=10^6 and hierarchical softmax."""
    name = t("Exercise 1 (skip-gram cost)")
    require_answer(answer, name)
    expected = 5 * (300 + 300 * math.log2(1e6))
    require(isinstance(answer, (int, float)), name, t("give one number, e.g. computed with math.log2."))
    require(not math.isclose(answer, 5 * (300 + 300 * math.log(1e6)), rel_tol=1e-3), name,
            t("hierarchical softmax walks a binary tree: which logarithm counts binary decisions?"))
    require(math.isclose(answer, expected, rel_tol=1e-3), name,
            t("Q = C × (D + D × log2 V): each of the C context words costs one projection plus one tree walk."))
    passed(name, t("about {tree:,.0f} operations per training word, instead of {full:,.0f} with a full softmax.",
                   tree=expected, full=5 * 300 * 1e6))


def check_unknown_rate(function: Callable[[list[list[str]], set[str]], float] | None) -> None:
    """Exercise 2: the fraction of tokens (not of texts) that are missing from the vocabulary."""
    name = t("Exercise 2 (unknown-token rate)")
    require_answer(function, name)
    require(callable(function), name, t("define a function unknown_rate_of(token_lists, vocab) that returns a float."))
    vocab = {"영화", "재밌다", "▁영화"}
    got = function([["영화", "진짜", "재밌다"], ["노잼"]], vocab)
    require(got is not None and isinstance(got, (int, float)), name, t("return a number between 0 and 1."))
    require(not math.isclose(got, 2 / 3) and not math.isclose(got, 1.0), name,
            t("count tokens, not texts: divide all unknown tokens by all tokens."))
    require(math.isclose(got, 0.5), name,
            t("a token is unknown when it is not in vocab; divide their number by all tokens."))
    require(math.isclose(function([["영화"]], vocab), 0.0), name, t("a text whose tokens are all known has rate 0."))
    passed(name)


def check_window_experiment(model, answer: str | None, reference, words: Sequence[str], window: int = 2) -> None:
    """Exercise 3: the student retrained skip-gram with a smaller window and judged how many neighbours stayed."""
    name = t("Exercise 3 (window experiment)")
    require_answer(model, name)
    require(hasattr(model, "wv") and hasattr(model, "window"), name,
            t("keep the gensim model itself: model, seconds = word2vec.train_gensim(...)."))
    require(model.window == window, name, t("train the experiment's model with window={window}.", window=window))
    require(bool(model.sg), name, t("the experiment changes only the window: keep sg=True (skip-gram)."))
    require_answer(answer, name)
    require(answer in ("more", "less"), name, t('answer "more" or "less" (than half of the neighbours shared).'))
    overlap = keyed_overlap(model.wv, reference, words)
    require(answer == ("more" if overlap > 0.5 else "less"), name,
            t("compute the shared share with word2vec.keyed_overlap(your_model.wv, kv, words) and compare it with 0.5."))
    passed(name, t("{overlap:.0%} of the top-10 neighbours are shared.", overlap=overlap))
