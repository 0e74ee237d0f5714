"""Exercise checkers: each says 'correct' or raises ExerciseFailed with a hint, never the solution."""
from __future__ import annotations

from typing import Any

NOT_ANSWERED = "Not answered yet: replace the `pass` under '# YOUR CODE HERE' with your answer."


class ExerciseFailed(AssertionError):
    """The student's answer is missing or wrong; the message is a hint."""


def require_answer(value: Any, exercise: str) -> None:
    """Fail with a 'not answered' hint when the answer is still None."""
    if value is None:
        raise ExerciseFailed(f"{exercise}: {NOT_ANSWERED}")


def require(condition: bool, exercise: str, hint: str) -> None:
    """Fail with the hint unless the condition holds."""
    if not condition:
        raise ExerciseFailed(f"{exercise}: not quite. Hint: {hint}")


def passed(exercise: str, note: str = "") -> None:
    """Tell the student the exercise is solved."""
    print(f"✔ {exercise}: correct!" + (f" {note}" if note else ""))
