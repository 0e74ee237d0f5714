"""Checkers for the exercises of lesson 02 (gradient descent): they say 'correct' or give a hint."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from ..i18n import t
from . import ExerciseFailed, passed, require, require_answer
from ..optim_demos import linear_cost, linear_gradients


def check_last_minibatch(last_batch: int | float | None, full_updates: int | float | None) -> None:
    """Exercise 1: 60,000 samples in minibatches of 128: the last minibatch's size, and the updates of full ones only."""
    name = t("Exercise 1 (minibatches of an epoch)")
    require_answer(last_batch, name)
    require_answer(full_updates, name)
    for value in (last_batch, full_updates):
        require(isinstance(value, (int, float, np.integer, np.floating)) and float(value) == int(value), name,
                t("both answers are whole numbers: samples, and updates."))
    require(int(last_batch) != 128, name,
            t("60,000 is not a multiple of 128: the last minibatch gets only what is left."))
    require(0 < int(last_batch) < 128, name,
            t("the last minibatch holds the samples left after all the full minibatches."))
    require(int(last_batch) == 60_000 % 128, name, t("take away as many full minibatches of 128 as fit into 60,000."))
    require(int(full_updates) != math.ceil(60_000 / 128), name,
            t("that count includes the last, smaller minibatch; count only the full ones (as drop_last=True would)."))
    require(int(full_updates) * 128 + int(last_batch) == 60_000, name,
            t("full minibatches × 128 + the last minibatch must give back all 60,000 samples."))
    passed(name, t("A DataLoader with drop_last=True would skip those last samples every epoch."))


def check_absolute_error_gradients(gradients: Callable | None) -> None:
    """Exercise 2: hand-derived dC/dw and dC/db of the mean absolute error of a line."""
    name = t("Exercise 2 (gradients of the absolute error)")
    require_answer(gradients, name)
    rng = np.random.default_rng(7)
    x, y = rng.uniform(-2, 2, 41), rng.standard_normal(41)
    for w, b in ((0.5, -1.0), (-2.0, 0.3), (1.3, 0.7)):
        answer = gradients(w, b, x, y)
        require_answer(answer, name)
        try:
            dw, db = (float(v) for v in answer)
        except (TypeError, ValueError) as exc:
            raise ExerciseFailed(t("{exercise}: your function should return two numbers (dC/dw, dC/db); calling it "
                                   "failed: {error}", exercise=name, error=exc)) from None
        tw, tb = torch.tensor(w, requires_grad=True, dtype=torch.float64), torch.tensor(b, requires_grad=True, dtype=torch.float64)
        (tw * torch.from_numpy(x) + tb - torch.from_numpy(y)).abs().mean().backward()
        true_w, true_b = tw.grad.item(), tb.grad.item()
        residual = w * x + b - y
        require(not math.isclose(dw, float(np.mean(residual * x)), rel_tol=1e-6), name,
                t("that is the gradient of the squared error; the derivative of |r| is not r."))
        require(not (math.isclose(dw, -true_w, rel_tol=1e-6) and abs(true_w) > 1e-9), name,
                t("the sign is flipped: |r| grows with r when r > 0."))
        require(math.isclose(db, true_b, rel_tol=1e-6, abs_tol=1e-9), name,
                t("d|r|/dr is +1 for r > 0 and -1 for r < 0; dC/db averages that over the samples."))
        require(math.isclose(dw, true_w, rel_tol=1e-6, abs_tol=1e-9), name,
                t("dC/dw needs the chain-rule factor da/dw = x_i inside the mean."))
    passed(name, t("Your gradients agree with torch.autograd."))


def check_momentum_step(step: Callable | None) -> None:
    """Exercise 3: one update of SGD with momentum, compared with torch.optim.SGD(momentum=...)."""
    name = t("Exercise 3 (momentum step)")
    require_answer(step, name)
    start = np.array([1.5, -0.8])
    condition, rate, beta = 20.0, 0.02, 0.9
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=rate, momentum=beta)
    w, velocity = start.copy(), np.zeros(2)
    for step_index in range(15):
        grad = np.array([w[0], condition * w[1]])
        answer = step(w, velocity, grad, rate, beta)
        require_answer(answer, name)
        try:
            w, velocity = (np.asarray(v, dtype=float) for v in answer)
        except (TypeError, ValueError) as exc:
            raise ExerciseFailed(t("{exercise}: momentum_step should return (new_w, new_velocity); calling it failed: "
                                   "{error}", exercise=name, error=exc)) from None
        optimizer.zero_grad()
        (0.5 * (p[0] ** 2 + condition * p[1] ** 2)).backward()
        optimizer.step()
        if not np.allclose(w, p.detach().numpy(), rtol=1e-9, atol=1e-12):
            hint = t("first update the velocity (keep beta of the old one and add the new gradient), then move w "
                     "against the new velocity times the learning rate.")
            if step_index == 0:
                hint = t("with zero velocity the first step must equal a plain gradient step: {hint}", hint=hint)
            raise ExerciseFailed(t("{exercise}: not quite, your path leaves torch.optim.SGD(momentum=0.9) at step {step}. "
                                   "Hint: {hint}", exercise=name, step=step_index + 1, hint=hint))
    passed(name, t("Your steps follow torch.optim.SGD(momentum=0.9) exactly."))


def check_learning_rate_experiment(paths: dict | None, largest_stable: float | None, x: np.ndarray, y: np.ndarray,
                                   rates: tuple[float, ...] = (0.5, 1.0, 1.4, 1.6, 2.0)) -> None:
    """Exercise 4: plain gradient descent on the line fit for several rates; the largest rate that did not blow up."""
    name = t("Exercise 4 (learning-rate experiment)")
    require_answer(paths, name)
    require(isinstance(paths, dict) and sorted(paths) == sorted(rates), name,
            t("store one path per learning rate in a dict {{rate: path}} for the rates {rates}.", rates=list(rates)))
    for rate, path in paths.items():
        path = np.asarray(path, dtype=float)
        require(path.ndim == 2 and path.shape[1] == 2 and len(path) > 1, name,
                t("a path is what optimize(...) returns: one (w, b) row per step, starting point included."))
        step = path[0] - rate * np.asarray(linear_gradients(path[0][0], path[0][1], x, y))
        require(np.allclose(path[1], step), name,
                t("the path of rate {rate} does not start with a gradient-descent step of that rate: run "
                  "optimize(..., \"sgd\", rate, STEPS).", rate=rate))
    stable = [rate for rate, path in paths.items()
              if np.isfinite(np.asarray(path, dtype=float)[-1]).all()
              and linear_cost(*np.asarray(path, dtype=float)[-1], x, y) < linear_cost(*np.asarray(path, dtype=float)[0], x, y)]
    require_answer(largest_stable, name)
    require(stable and math.isclose(float(largest_stable), max(stable)), name,
            t("for each rate compare the cost at the end of its path with the cost at its start; the answer is the "
              "largest rate whose cost went down."))
    passed(name, t("Now write your explanation: what does a step that is too large do on a bowl (lesson 02, section 3)?"))
