"""Checkers for the exercises of lesson 02 (gradient descent): they say 'correct' or give a hint."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from . import ExerciseFailed, passed, require, require_answer


def check_iterations_per_epoch(answer: int | float | None) -> None:
    """Exercise 1: updates per epoch for 60,000 samples in minibatches of 128."""
    name = "Exercise 1 (iterations per epoch)"
    require_answer(answer, name)
    require(isinstance(answer, (int, float, np.integer, np.floating)), name, "give a single number of updates.")
    require(float(answer) == int(answer), name,
            "an update uses a whole minibatch, so the count is a whole number; the last, smaller batch still counts.")
    require(int(answer) != 60_000 // 128, name, "the 96 samples left over after the full batches still make one more update.")
    require(int(answer) == math.ceil(60_000 / 128), name, "an epoch shows every one of the 60,000 samples once, 128 per update.")
    passed(name)


def check_linear_gradients(gradients: Callable | None) -> None:
    """Exercise 2: hand-derived dC/dw and dC/db of the quadratic cost of a line."""
    name = "Exercise 2 (gradients of the line's cost)"
    require_answer(gradients, name)
    rng = np.random.default_rng(7)
    x, y = rng.uniform(-2, 2, 40), rng.standard_normal(40)
    for w, b in ((0.5, -1.0), (-2.0, 0.3), (0.0, 0.0)):
        answer = gradients(w, b, x, y)
        require_answer(answer, name)
        try:
            dw, db = (float(v) for v in answer)
        except (TypeError, ValueError) as exc:
            raise ExerciseFailed(f"{name}: your function should return two numbers (dC/dw, dC/db); calling it failed: {exc}")
        tw, tb = torch.tensor(w, requires_grad=True, dtype=torch.float64), torch.tensor(b, requires_grad=True, dtype=torch.float64)
        cost = 0.5 * ((tw * torch.from_numpy(x) + tb - torch.from_numpy(y)) ** 2).mean()
        cost.backward()
        true_w, true_b = tw.grad.item(), tb.grad.item()
        require(not (math.isclose(dw, -true_w, rel_tol=1e-6) and abs(true_w) > 1e-9), name,
                "the sign is flipped: differentiate (a - y)^2 with respect to w, where a = w x + b.")
        require(not math.isclose(dw, len(x) * true_w, rel_tol=1e-6), name, "average over the samples (the 1/n in front of the sum).")
        require(math.isclose(db, true_b, rel_tol=1e-6, abs_tol=1e-9), name,
                "dC/db is the mean of the residuals a_i - y_i (the chain rule through a = w x + b gives a factor 1).")
        require(math.isclose(dw, true_w, rel_tol=1e-6, abs_tol=1e-9), name,
                "dC/dw needs the chain-rule factor da/dw = x_i inside the mean.")
    passed(name, "Your gradients agree with torch.autograd.")


def check_momentum_step(step: Callable | None) -> None:
    """Exercise 3: one update of SGD with momentum, compared with torch.optim.SGD(momentum=...)."""
    name = "Exercise 3 (momentum step)"
    require_answer(step, name)
    start = np.array([1.5, -0.8])
    condition, rate, beta = 20.0, 0.02, 0.9
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=rate, momentum=beta)
    w, velocity = start.copy(), np.zeros(2)
    for t in range(15):
        grad = np.array([w[0], condition * w[1]])
        answer = step(w, velocity, grad, rate, beta)
        require_answer(answer, name)
        try:
            w, velocity = (np.asarray(v, dtype=float) for v in answer)
        except (TypeError, ValueError) as exc:
            raise ExerciseFailed(f"{name}: momentum_step should return (new_w, new_velocity); calling it failed: {exc}")
        optimizer.zero_grad()
        (0.5 * (p[0] ** 2 + condition * p[1] ** 2)).backward()
        optimizer.step()
        if not np.allclose(w, p.detach().numpy(), rtol=1e-9, atol=1e-12):
            hint = ("first update the velocity (keep beta of the old one and add the new gradient), then move w "
                    "against the new velocity times the learning rate.")
            if t == 0:
                hint = "with zero velocity the first step must equal a plain gradient step: " + hint
            raise ExerciseFailed(f"{name}: not quite, your path leaves torch.optim.SGD(momentum=0.9) at step {t + 1}. Hint: {hint}")
    passed(name, "Your steps follow torch.optim.SGD(momentum=0.9) exactly.")
