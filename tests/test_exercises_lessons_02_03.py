"""The checkers of lessons 02 and 03 accept right answers and give hints (never the answer) for wrong or missing ones."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils.exercises import NOT_ANSWERED, ExerciseFailed
from course_utils.exercises import backprop as bp
from course_utils.exercises import gradient_descent as gd
from course_utils.optim_demos import linear_gradients


def unanswered(*_args):
    pass  # what a student version's `pass` placeholder returns


def right_gradients(w, b, x, y):
    r = w * x + b - y
    return np.mean(np.sign(r) * x), np.mean(np.sign(r))


def right_momentum(w, v, g, lr, beta):
    v = beta * v + g
    return w - lr * v, v


@pytest.mark.parametrize("check, answer", [
    (gd.check_last_minibatch, (96, 468)),
    (gd.check_absolute_error_gradients, (right_gradients,)),
    (gd.check_momentum_step, (right_momentum,)),
    (bp.check_tanh_prime, (lambda z: 1 - np.tanh(z) ** 2,)),
    (bp.check_relu_prime, (lambda z: (z > 0).astype(float),)),
    (bp.check_finite_difference_cost, (23_860, 47_720)),
])
def test_right_answers_pass(check, answer, capsys):
    check(*answer)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("check, answer", [
    (gd.check_last_minibatch, (None, None)),
    (gd.check_absolute_error_gradients, (None,)),
    (gd.check_absolute_error_gradients, (unanswered,)),
    (gd.check_momentum_step, (unanswered,)),
    (bp.check_tanh_prime, (unanswered,)),
    (bp.check_relu_prime, (None,)),
    (bp.check_finite_difference_cost, (None, None)),
])
def test_missing_answers_get_the_not_answered_hint(check, answer):
    with pytest.raises(ExerciseFailed, match="Not answered yet"):
        check(*answer)
    assert NOT_ANSWERED


@pytest.mark.parametrize("check, answer, hint, solution", [
    (gd.check_last_minibatch, (128, 468), "left", "96"),
    (gd.check_last_minibatch, (96, 469), "full ones", "468"),
    (gd.check_absolute_error_gradients, (lambda w, b, x, y: (-right_gradients(w, b, x, y)[0], -right_gradients(w, b, x, y)[1]),),
     "sign", "np.sign"),
    (gd.check_absolute_error_gradients, (lambda w, b, x, y: (np.mean(w * x + b - y) * 0 + np.mean((w * x + b - y) * x),
                                                             np.mean(w * x + b - y)),), "squared error", "np.sign"),
    (gd.check_absolute_error_gradients, (lambda w, b, x, y: (np.mean(np.sign(w * x + b - y)), np.mean(np.sign(w * x + b - y))),),
     "da/dw", "np.sign"),
    (gd.check_absolute_error_gradients, (linear_gradients,), "squared error", "np.sign"),  # the lesson's own helper
    (gd.check_momentum_step, (lambda w, v, g, lr, beta: (w - lr * g, v),), "step 2", "beta * v"),
    (bp.check_tanh_prime, (lambda z: 1 - np.tanh(z),), "slope", "tanh(z) ** 2"),
    (bp.check_relu_prime, (lambda z: 1.0,), "shape", "z > 0"),
    (bp.check_finite_difference_cost, (784 * 30 + 30 * 10, 0), "biases", "23860"),
    (bp.check_finite_difference_cost, (23_860, 23_860), "twice", "47720"),
])
def test_wrong_answers_get_a_hint_without_the_solution(check, answer, hint, solution):
    with pytest.raises(ExerciseFailed) as info:
        check(*answer)
    assert hint in str(info.value) and solution not in str(info.value)


def test_exercise_checkers_ship_in_the_installed_package():
    """`pip install .` (Colab) must include every course_utils subpackage, or the check cells fail to import."""
    import tomllib
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    listed = set(tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(repo).parts) for p in (repo / "course_utils").rglob("__init__.py")}
    assert on_disk <= listed, f"pyproject.toml [tool.setuptools] packages misses {sorted(on_disk - listed)}"
