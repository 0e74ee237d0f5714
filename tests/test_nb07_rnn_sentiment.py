"""Lesson 07 (RNN sentiment) runs its quick profile cleanly; the NSMC target is checked on the committed full run.

The quick profile trains on 2,000 reviews for one or two epochs: the RNNs there are barely above chance, so only the
bag-of-words baseline and the gradient measurement are asserted on it.
"""
from __future__ import annotations

import numpy as np
import pytest

from course_utils.results import read_results
from notebook_runner import NOTEBOOK_DIR, error_outputs, run_quick

NAME = "07_rnn_sentiment"


@pytest.fixture(scope="module")
def results():
    path, recorded = run_quick(NAME)
    assert error_outputs(path) == []
    return recorded


def test_quick_run_records_every_model_and_the_verdicts(results):
    for key in ("test_accuracy_rnn", "test_accuracy_rnn_random_init", "test_accuracy_rnn_frozen_w2v",
                "test_accuracy_rnn_whitespace", "test_accuracy_bow_logreg", "test_accuracy_chance"):
        assert key in results
    compared = ("rnn_vs_bow", "subword_vs_whitespace") + (() if results["is_fallback"] else ("negation_rnn_vs_bow",))
    assert {results[k]["verdict"] for k in compared} <= {"ahead of", "level with", "behind"}


def test_plain_rnn_gradient_vanishes_and_the_keeping_gru_keeps_it(results):
    norms = {k: np.array(v) for k, v in results["gradient_norms"].items()}
    plain, keeping, exploding = norms["plain RNN"], norms["GRU, update gate keeping 90%"], norms["plain RNN, W_hh × 3"]
    assert plain[0] < plain[-1] / 1e3, "the plain RNN's gradient must shrink by orders of magnitude towards step 1"
    assert keeping[0] / keeping[-1] > 100 * plain[0] / plain[-1]
    assert exploding[0] > exploding[-1], "with W_hh x 3 the gradient grows on its way back"


def test_bag_of_words_beats_chance_or_the_fallback_says_its_scores_mean_nothing(results):
    if results["is_fallback"]:  # 40 English test sentences: no margin is meaningful, and the lesson must say so
        assert "not comparable to NSMC" in results["score_note"]
    else:
        assert results["test_accuracy_bow_logreg"] > results["test_accuracy_chance"] + 0.1


def test_committed_full_run_meets_the_nsmc_target_and_labels_the_data():
    results = read_results(NOTEBOOK_DIR / f"{NAME}.ipynb")
    assert results["is_fallback"] is False and results["test_reviews"] == 50_000
    assert results["test_accuracy_rnn"] >= 0.86
    assert results["score_note"] in ("trained on an NSMC-style 150k set, tested on the official NSMC test split",
                                     "trained on the official NSMC train split, tested on the official NSMC test split")
