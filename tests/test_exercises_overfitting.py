"""Lesson 04 checkers accept right answers, reject wrong or missing ones with a hint, never reveal the answer."""
from __future__ import annotations

import pytest

from course_utils.exercises import NOT_ANSWERED, ExerciseFailed
from course_utils.exercises.overfitting import (
    check_inspection_measures, check_pick_by_validation, check_recall_threshold,
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


def test_pick_by_validation(capsys):
    check_pick_by_validation(lambda rows: min(rows, key=lambda r: r["val_loss"])["hidden"])
    assert "correct" in capsys.readouterr().out
    with pytest.raises(ExerciseFailed, match="test set is only for the final check"):
        check_pick_by_validation(lambda rows: min(rows, key=lambda r: r["test_loss"])["hidden"])
    with pytest.raises(ExerciseFailed, match="LOWEST"):
        check_pick_by_validation(lambda rows: max(rows, key=lambda r: r["val_loss"])["hidden"])
    with pytest.raises(ExerciseFailed, match="order of the rows"):
        check_pick_by_validation(lambda rows: rows[1]["hidden"] if rows[0]["hidden"] == "8" else "8")
    with pytest.raises(ExerciseFailed, match="raised KeyError"):
        check_pick_by_validation(lambda rows: rows[0]["loss"])
    with pytest.raises(ExerciseFailed, match="Not answered"):
        check_pick_by_validation(None)
