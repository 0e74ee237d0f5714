"""Claims of lesson 07 (RNN sentiment) checked against its committed full run, each test named for its sentence."""
from __future__ import annotations

import re

import numpy as np

from committed import printed, printed_line, results

NAME = "07_rnn_sentiment"


def rule(comparison: dict) -> str:
    """The verdict the two-standard-error rule gives on recorded numbers."""
    z = comparison["difference"] / comparison["standard_error"]
    return "ahead of" if z > 2 else "behind" if z < -2 else "level with"


def test_the_rnn_is_compared_with_bow_on_their_test_accuracies_and_the_verdict_follows_the_rule():
    r = results(NAME)
    comparison = r["rnn_vs_bow"]
    assert abs(comparison["mean_a"] - r["test_accuracy_rnn"]) < 1e-4
    assert abs(comparison["mean_b"] - r["test_accuracy_bow_logreg"]) < 1e-4
    assert comparison["verdict"] == rule(comparison)


def test_negation_and_tokenization_verdicts_follow_the_rule():
    r = results(NAME)
    for key in ("negation_rnn_vs_bow", "subword_vs_whitespace"):
        assert r[key]["verdict"] == rule(r[key]), key


def test_plain_rnn_gradient_vanished_by_orders_of_magnitude_and_exploded_with_larger_weights():
    norms = {k: np.array(v) for k, v in results(NAME)["gradient_norms"].items()}
    assert norms["plain RNN"][0] < norms["plain RNN"][-1] / 1e3
    assert norms["plain RNN, W_hh × 3"][0] > norms["plain RNN, W_hh × 3"][-1]


def test_fresh_gru_does_better_than_the_plain_rnn_but_still_vanishes_and_a_keeping_gru_is_far_better():
    norms = {k: np.array(v) for k, v in results(NAME)["gradient_norms"].items()}
    ratio = {k: v[0] / v[-1] for k, v in norms.items()}
    assert ratio["plain RNN"] < ratio["GRU"] < 1e-4
    assert ratio["GRU, update gate keeping 90%"] > 1e3 * ratio["GRU"]


def test_no_training_review_occurs_verbatim_in_the_test_split():
    r = results(NAME)
    assert r["train_test_overlap_after"] == 0
    assert r["train_reviews"] + r["train_test_overlap"]["training_rows_in_test"] < 150_000


def test_the_rnn_does_not_leave_the_bag_of_words_model_far_behind():
    r = results(NAME)
    assert r["test_accuracy_rnn"] - r["test_accuracy_bow_logreg"] < 0.02


def test_the_subword_vocabulary_is_several_times_smaller_and_leaves_almost_no_unknown_tokens():
    table = printed(NAME, 'train_rnn("whitespace", COMPARE_EPOCHS)')
    rows = {name: (int(vocabulary), float(unk)) for name, vocabulary, unk in
            re.findall(r"^(whitespace|SentencePiece)\s+(\d+)\s+([\d.]+)", table, re.M)}
    assert rows["whitespace"][0] > 3 * rows["SentencePiece"][0] and rows["SentencePiece"][1] < 0.01


def test_the_run_names_the_test_split_its_scores_come_from():
    line = printed_line(NAME, "corpus = load_sentiment_corpus(", "Test split: ")
    assert f"{results(NAME)['test_reviews']:,}" in line, "the line names as many test reviews as the scores use"
