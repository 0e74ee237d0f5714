"""Lesson 06 (word vectors) runs its quick profile cleanly and records what the lesson's claims rest on."""
from __future__ import annotations

import pytest

from notebook_runner import error_outputs, run_quick

NAME = "06_word_vectors"


@pytest.fixture(scope="module")
def results():
    path, recorded = run_quick(NAME)
    assert error_outputs(path) == []
    return recorded


def test_quick_run_times_every_word2vec_model(results):
    assert set(results["w2v_seconds"]) == {"CBOW", "skip-gram", "skip-gram (hier. softmax)", "from scratch (PyTorch)"}
    assert results["score_note"]


def test_subwords_leave_fewer_unknown_tokens_than_whitespace(results):
    assert results["unk_rate_sentencepiece"] < results["unk_rate_whitespace"] / 3
    assert results["vocab_whitespace"] > 0 and results["vocab_sentencepiece"] > 0


def test_no_training_review_is_left_in_the_test_split(results):
    assert results["train_test_overlap_after"] == 0
