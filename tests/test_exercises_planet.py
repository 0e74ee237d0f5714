"""Checkers of lesson 05: right answers pass, missing or wrong answers get hints without the solution."""
from __future__ import annotations

import pytest

from course_utils.exercises import NOT_ANSWERED, ExerciseFailed
from course_utils.exercises.planet import check_f2_by_hand, check_parameter_counts, check_receptive_field
from course_utils.vision import receptive_field


def test_right_answers_pass(capsys):
    check_f2_by_hand(5 / 9, 20 / 23)
    check_parameter_counts(896, 3 * 64 * 64 * 256 + 256)
    check_receptive_field(receptive_field)
    assert capsys.readouterr().out.count("correct") == 3


@pytest.mark.parametrize("call", [
    lambda: check_f2_by_hand(None, None), lambda: check_parameter_counts(None, None),
    lambda: check_receptive_field(None),
])
def test_unanswered_gets_the_not_answered_hint(call):
    with pytest.raises(ExerciseFailed, match="Not answered yet"):
        call()
    assert "YOUR CODE HERE" in NOT_ANSWERED


def test_wrong_answers_get_hints_not_solutions():
    with pytest.raises(ExerciseFailed, match="Hint") as info:
        check_f2_by_hand(2 / 3, 20 / 23)  # F1-style answer for A
    assert "0.556" not in str(info.value) and "5/9" not in str(info.value)
    with pytest.raises(ExerciseFailed, match="B"):
        check_f2_by_hand(5 / 9, 8 / 11)  # F1-style answer for B
    with pytest.raises(ExerciseFailed, match="Hint"):  # the worked example's sets in section 7 are not the exercise's
        check_f2_by_hand(10 / 14, 3 / 3.4)
    with pytest.raises(ExerciseFailed, match="bias"):
        check_parameter_counts(864, 3 * 64 * 64 * 256 + 256)
    with pytest.raises(ExerciseFailed, match="should be a single finite number"):
        check_parameter_counts("896", 1)
    with pytest.raises(ExerciseFailed, match="raised ZeroDivisionError"):
        check_receptive_field(lambda k, s: 1 / 0)
    with pytest.raises(ExerciseFailed, match="strides of the layers BEFORE"):
        check_receptive_field(lambda k, s: 1 + sum(x - 1 for x in k))
