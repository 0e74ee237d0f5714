"""Lesson 04 checkers accept right answers, reject wrong or missing ones with a hint, never reveal the answer."""
from __future__ import annotations

import pytest

from course_utils.exercises import NOT_ANSWERED, ExerciseFailed
from course_utils.exercises.overfitting import (
    SWEEP_ROWS, check_capacity_choice, check_inspection_measures, check_recall_threshold,
)

SCORES = [0.95, 0.9, 0.8, 0.6, 0.55, 0.4, 0.3, 0.2, 0.1, 0.05]
TARGETS = [1, 1, 0, 1, 0, 1, 0, 0, 0, 0]


def test_inspection_measures(capsys):
    check_inspection_measures(0.4, 0.8, 2 * 0.4 * 0.8 / 1.2)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(ExerciseFailed, match=NOT_ANSWERED[:20]):
        check_inspection_measures(None, None, None)
    with pytest.raises(ExerciseFailed, match="false positives") as info:
        check_inspection_measures(0.8, 0.4, 0.53)
    assert "0.4" not in str(info.value) and "0.8" not in str(info.value)
    with pytest.raises(ExerciseFailed, match="harmonic"):
        check_inspection_measures(0.4, 0.8, 0.6)


def test_recall_threshold(capsys):
    check_recall_threshold(0.4, SCORES, TARGETS, min_recall=0.95)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(ExerciseFailed, match="Lower the threshold"):
        check_recall_threshold(0.5, SCORES, TARGETS, min_recall=0.95)
    with pytest.raises(ExerciseFailed, match="could be higher"):
        check_recall_threshold(0.1, SCORES, TARGETS, min_recall=0.95)
    with pytest.raises(ExerciseFailed, match="Not answered"):
        check_recall_threshold(None, SCORES, TARGETS)
    with pytest.raises(ExerciseFailed, match="single number"):
        check_recall_threshold("high", SCORES, TARGETS)


def by(measure):
    return min(SWEEP_ROWS, key=lambda row: row[measure])["hidden"]


def test_the_sweep_rows_make_loss_error_and_test_loss_choose_three_different_networks():
    assert by("val_loss") == "128"
    assert len({by("val_loss"), by("val_error"), by("test_loss")}) == 3, "else a wrong measure would pass the check"


def test_capacity_choice_by_validation_loss(capsys):
    check_capacity_choice("128")
    assert "correct" in capsys.readouterr().out
    with pytest.raises(ExerciseFailed, match="test set only checks") as info:
        check_capacity_choice(by("test_loss"))
    assert "128" not in str(info.value)
    with pytest.raises(ExerciseFailed, match="lowest validation error") as info:
        check_capacity_choice(by("val_error"))
    assert "128" not in str(info.value) and "validation loss" not in str(info.value), "the hint must not give it away"
    with pytest.raises(ExerciseFailed, match="compare the validation columns again"):
        check_capacity_choice("32")
    for wrong_kind in (128, "64", ["128"]):
        with pytest.raises(ExerciseFailed, match="one of the 'hidden' labels, written as a string"):
            check_capacity_choice(wrong_kind)
    with pytest.raises(ExerciseFailed, match="Not answered"):
        check_capacity_choice(None)
