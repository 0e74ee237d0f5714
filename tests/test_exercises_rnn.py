"""Lesson 07's checkers: pad_or_cut, and the hidden-size experiment that must be run, not typed."""
from __future__ import annotations

import pytest
import torch

from course_utils.compare import compare_paired
from course_utils.exercises import ExerciseFailed
from course_utils.exercises.rnn import check_hidden_size_experiment, check_pad_or_cut
from course_utils.rnn import RNNClassifier
from course_utils.train import predict


def test_pad_or_cut_right_wrong_and_missing(capsys):
    check_pad_or_cut(lambda ids, n: (list(ids) + [0] * n)[:n])
    assert "correct" in capsys.readouterr().out
    with pytest.raises(ExerciseFailed, match="pad with 0 at the end"):
        check_pad_or_cut(lambda ids, n: ([0] * n + list(ids))[-n:])
    with pytest.raises(ExerciseFailed, match="Not answered"):
        check_pad_or_cut(None)


@pytest.fixture
def experiment():
    torch.manual_seed(0)
    ids, labels = torch.randint(1, 50, (300, 12)), torch.randint(0, 2, (300,))
    small, baseline = RNNClassifier(50, 8, 16), RNNClassifier(50, 8, 32)

    def correct(m):
        return (predict(m, ids).argmax(1) == labels).numpy()

    truth = compare_paired(correct(small), correct(baseline), "small", "baseline").verdict
    return ids, labels, small, baseline, float(correct(small).mean()), truth


def test_the_experiment_passes_with_its_own_model_and_the_rule_s_verdict(experiment, capsys):
    ids, labels, small, baseline, accuracy, truth = experiment
    check_hidden_size_experiment((small, None, accuracy), truth, baseline, ids, labels)
    assert "correct" in capsys.readouterr().out


def test_a_verdict_that_contradicts_the_experiment_gets_a_hint(experiment):
    ids, labels, small, baseline, accuracy, truth = experiment
    wrong = next(v for v in ("ahead of", "level with", "behind") if v != truth)
    with pytest.raises(ExerciseFailed, match="compare_paired") as info:
        check_hidden_size_experiment((small, None, accuracy), wrong, baseline, ids, labels)
    assert truth not in str(info.value).replace("compare_paired", "")


def test_a_typed_accuracy_or_the_wrong_model_is_caught(experiment):
    ids, labels, small, baseline, accuracy, truth = experiment
    with pytest.raises(ExerciseFailed, match="not what your model scores"):
        check_hidden_size_experiment((small, None, accuracy + 0.01), truth, baseline, ids, labels)
    with pytest.raises(ExerciseFailed, match="hidden=16"):
        check_hidden_size_experiment((baseline, None, accuracy), truth, baseline, ids, labels)
    with pytest.raises(ExerciseFailed, match="Not answered"):
        check_hidden_size_experiment(None, None, baseline, ids, labels)
