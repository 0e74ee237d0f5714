"""Lesson 06's window experiment: the check scores the student's own model and accepts only the consistent answer."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import word2vec
from course_utils.exercises import ExerciseFailed
from course_utils.exercises.word2vec import check_window_experiment


@pytest.fixture(scope="module")
def models():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(60)]
    sentences = [list(rng.choice(words, 12)) for _ in range(400)]
    reference, _ = word2vec.train_gensim(sentences, sg=True, window=5, min_count=1, epochs=3, vector_size=16, workers=1)
    small, _ = word2vec.train_gensim(sentences, sg=True, window=2, min_count=1, epochs=3, vector_size=16, workers=1)
    cbow, _ = word2vec.train_gensim(sentences, sg=False, window=2, min_count=1, epochs=1, vector_size=16, workers=1)
    return reference, small, cbow, words[:20]


def test_the_answer_that_matches_the_measured_overlap_passes_and_the_other_gets_a_hint(models, capsys):
    reference, small, _, probes = models
    truth = "more" if word2vec.keyed_overlap(small.wv, reference.wv, probes) > 0.5 else "less"
    check_window_experiment(small, truth, reference.wv, probes)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(ExerciseFailed, match="keyed_overlap"):
        check_window_experiment(small, {"more": "less", "less": "more"}[truth], reference.wv, probes)


def test_the_wrong_experiment_is_caught(models):
    reference, _, cbow, probes = models
    with pytest.raises(ExerciseFailed, match="window=2"):
        check_window_experiment(reference, "less", reference.wv, probes)
    with pytest.raises(ExerciseFailed, match="skip-gram"):
        check_window_experiment(cbow, "less", reference.wv, probes)
    with pytest.raises(ExerciseFailed, match="Not answered"):
        check_window_experiment(None, None, reference.wv, probes)


def test_keyed_overlap_is_one_for_the_same_vectors_and_needs_shared_words(models):
    reference, _, _, probes = models
    assert word2vec.keyed_overlap(reference.wv, reference.wv, probes) == 1.0
    with pytest.raises(ValueError, match="None of the words"):
        word2vec.keyed_overlap(reference.wv, reference.wv, ["not-a-word"])
