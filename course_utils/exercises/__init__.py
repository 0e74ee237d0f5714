"""Exercise checkers: each says 'correct' or raises ExerciseFailed with a hint, never the solution."""
from __future__ import annotations

from typing import Any

from ..i18n import t

NOT_ANSWERED = "Not answered yet: replace the `pass` under '# YOUR CODE HERE' with your answer."


class ExerciseFailed(AssertionError):
    """The student's answer is missing or wrong; the message is a hint."""


def require_answer(value: Any, exercise: str) -> None:
    """Fail with a 'not answered' hint when the answer is still None."""
    if value is None:
        show_hints_without_traceback()
        raise ExerciseFailed(f"{exercise}: {t(NOT_ANSWERED)}")


def require(condition: bool, exercise: str, hint: str) -> None:
    """Fail with the hint unless the condition holds."""
    if not condition:
        show_hints_without_traceback()  # also when this module was imported before the kernel's shell existed
        raise ExerciseFailed(t("{exercise}: not quite. Hint: {hint}", exercise=exercise, hint=hint))


def passed(exercise: str, note: str = "") -> None:
    """Tell the student the exercise is solved."""
    print("✔ " + t("{exercise}: correct!", exercise=exercise) + (f" {note}" if note else ""))


STOPPED_HERE = ("↑ Run All stops here, at {exercise}: the cells below this one have not run. Fix your answer, then use "
                "Run → Run Selected Cell and All Below.")


def stop_note(message: str) -> str:
    """The line under a failed check that says a Run All stopped there, naming the exercise."""
    return t(STOPPED_HERE, exercise=message.split(": ", 1)[0])  # every checker message starts with "<exercise>: "


def hint_only(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> list[str]:
    """IPython handler: show a failed check as its hint alone, with no traceback into the checker's source, and say
    that a Run All stopped there (JupyterLab leaves the view at the bottom of the notebook)."""
    shown = [f"✘ {value}", stop_note(str(value))]
    shell._showtraceback(etype, value, shown)  # IPython ignores a custom handler's return value: show it here
    return shown


def show_hints_without_traceback() -> None:
    """Make the running IPython kernel display ExerciseFailed as its hint only (a no-op outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: the exception message is the hint already
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((ExerciseFailed,), hint_only)


show_hints_without_traceback()
