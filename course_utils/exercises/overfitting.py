"""Checkers for lesson 04 (overfitting, capacity and honest evaluation)."""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

from ..i18n import t
from ..metrics import binary_counts, precision_recall_curve
from . import ExerciseFailed, passed, require, require_answer
from .experiment import require_verdict, runs_verdict

# The inspection line of exercise 1: 1,000 parts, 50 of them defective.
INSPECTION = {"tp": 40, "fp": 60, "fn": 10, "tn": 890}


def close(value: Any, expected: float, tol: float = 1e-3) -> bool:
    """True when value is a number within tol of expected."""
    try:
        return math.isclose(float(value), expected, abs_tol=tol)
    except (TypeError, ValueError):
        return False


def check_inspection_measures(precision: float | None, recall: float | None, f1: float | None) -> None:
    """Exercise 1: precision, recall and F1 of the inspection line, computed by hand."""
    name = t("Exercise 1 (precision, recall, F1)")
    for value in (precision, recall, f1):
        require_answer(value, name)
    tp, fp, fn = INSPECTION["tp"], INSPECTION["fp"], INSPECTION["fn"]
    p, r = tp / (tp + fp), tp / (tp + fn)
    require(close(precision, p), name, t("precision divides the true defects found by everything the line flagged "
                                         "(true positives + false positives)."))
    require(close(recall, r), name, t("recall divides the true defects found by all defective parts "
                                      "(true positives + false negatives)."))
    require(close(f1, 2 * p * r / (p + r)), name, t("F1 is the harmonic mean 2PR/(P+R), not the ordinary average."))
    passed(name, t("Precision is low here: most flagged parts are fine, so re-inspection costs a lot of work."))


def check_recall_threshold(threshold: float | None, scores: Sequence[float], targets: Sequence[int],
                           min_recall: float = 0.95) -> None:
    """Exercise 2: the threshold with the best precision among those reaching min_recall on validation data."""
    name = t("Exercise 2 (threshold for a costly miss)")
    require_answer(threshold, name)
    try:
        counts = binary_counts(scores, targets, float(threshold))
    except (TypeError, ValueError) as exc:
        raise ExerciseFailed(t("{exercise}: the threshold must be a single number between 0 and 1 ({error}).",
                               exercise=name, error=exc)) from exc
    require(counts.recall >= min_recall, name,
            t("at this threshold the recall is {recall:.3f}, below the required {min_recall}. "
              "Lower the threshold so that more parts are flagged.", recall=counts.recall, min_recall=min_recall))
    precision, recall, _ = precision_recall_curve(scores, targets)
    best = max(p for p, r in zip(precision, recall) if r >= min_recall)
    require(counts.precision >= best - 1e-9, name,
            t("the recall target is met, but precision {precision:.3f} could be higher. Among the thresholds "
              "that reach the recall target, take the highest one (use precision_recall_curve).",
              precision=counts.precision))
    passed(name, t("recall {recall:.3f} with precision {precision:.3f}.", recall=counts.recall,
                   precision=counts.precision))


def check_pick_by_validation(pick: Callable[[list[dict]], str] | None) -> None:
    """Exercise 3: a function that chooses a model by validation loss only, never by test loss."""
    name = t("Exercise 3 (choose on validation)")
    require_answer(pick, name)
    require(callable(pick), name, t("define a function that takes the list of rows and returns a 'hidden' label."))
    rows = [
        {"hidden": "8", "val_loss": 0.90, "test_loss": 0.70},
        {"hidden": "64", "val_loss": 0.60, "test_loss": 0.80},
        {"hidden": "512", "val_loss": 0.75, "test_loss": 0.50},
    ]
    try:
        choice = pick([dict(r) for r in rows])
    except Exception as exc:  # show the student what their function raised
        raise ExerciseFailed(t("{exercise}: your function raised {error}: {detail}", exercise=name,
                               error=type(exc).__name__, detail=exc)) from exc
    require(choice != "512", name, t("you chose by the test loss. The test set is only for the final check; "
                                     "compare the 'val_loss' values."))
    require(choice == "64", name, t("return the 'hidden' label of the row with the LOWEST 'val_loss'."))
    shuffled = [rows[2], rows[0], rows[1]]
    require(pick([dict(r) for r in shuffled]) == "64", name, t("the answer must not depend on the order of the rows."))
    passed(name)


def check_dropout_experiment(gaps: Sequence[float] | None, verdict: str | None, baseline_gaps: Sequence[float],
                             rerun_first: Callable[[], float], seeds: int) -> None:
    """Exercise 4: train-validation gaps of dropout 0.2 over the seeds, judged against no regularisation by the rule."""
    name = t("Exercise 4 (dropout experiment)")
    require_answer(gaps, name)
    require(isinstance(gaps, (list, tuple)) and len(gaps) == seeds, name,
            t("run reg_run once per seed (REG_SEEDS = {seeds}) and keep each run's 'gap (train - val)' in a list.",
              seeds=seeds))
    require(math.isclose(float(gaps[0]), float(rerun_first()), abs_tol=1e-6), name,
            t("the first gap is not what reg_run(SEED, dropout=0.2) gives: store the gaps your runs returned, in seed "
              "order."))
    require_verdict(verdict, runs_verdict(gaps, baseline_gaps), name,
                    t("compare your gaps with the gaps of 'none (last epoch)' using compare_runs(...)"))
    passed(name)
