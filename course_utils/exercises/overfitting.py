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
# Exercise 3: a capacity sweep in which validation loss, validation error and test loss each favour another network.
SWEEP_ROWS: list[dict[str, str | float]] = [
    {"hidden": "32", "val_loss": 0.47, "val_error": 0.139, "test_loss": 0.48},
    {"hidden": "128", "val_loss": 0.45, "val_error": 0.128, "test_loss": 0.46},
    {"hidden": "512", "val_loss": 0.48, "val_error": 0.124, "test_loss": 0.44},
    {"hidden": "512-512", "val_loss": 0.52, "val_error": 0.121, "test_loss": 0.50},
]


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
              "that reach the recall target, take the one with the highest precision (precision_recall_curve gives "
              "both).",
              precision=counts.precision))
    passed(name, t("recall {recall:.3f} with precision {precision:.3f}.", recall=counts.recall,
                   precision=counts.precision))


def best_row_by(measure: str) -> str:
    """The 'hidden' label of the row of SWEEP_ROWS with the lowest value of a measure."""
    return str(min(SWEEP_ROWS, key=lambda row: float(row[measure]))["hidden"])


def check_capacity_choice(choice: str | None) -> None:
    """Exercise 3: the network of SWEEP_ROWS chosen by validation loss, not by validation error or test loss."""
    name = t("Exercise 3 (loss or error)")
    require_answer(choice, name)
    labels = [str(row["hidden"]) for row in SWEEP_ROWS]
    require(isinstance(choice, str) and choice in labels, name,
            t("choice_3 must be one of the 'hidden' labels, written as a string: {labels}.", labels=", ".join(labels)))
    require(choice != best_row_by("test_loss"), name,
            t("you chose by the test loss. The test set only checks the final choice; it must not make it."))
    require(choice != best_row_by("val_error"), name,
            t("that network has the lowest validation error, and the error only counts mistakes. Section 2 says which "
              "validation measure this lesson chooses capacity by, and why."))
    require(choice == best_row_by("val_loss"), name,
            t("compare the validation columns again, by the measure section 2 chooses capacity with."))
    passed(name, t("Now write down why the validation error would choose another network."))


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
