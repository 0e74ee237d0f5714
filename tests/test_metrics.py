"""Binary measures: counts, precision/recall/F1 at a threshold, the precision-recall curve."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.metrics import (
    BinaryCounts, average_precision, binary_counts, precision_recall_curve, threshold_table,
)

SCORES = [0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1]
TARGETS = [1, 1, 0, 1, 0, 1, 0, 0]


def test_counts_at_threshold_match_hand_count():
    counts = binary_counts(SCORES, TARGETS, 0.5)
    assert (counts.tp, counts.fp, counts.fn, counts.tn) == (3, 1, 1, 3)
    assert counts.precision == pytest.approx(0.75)
    assert counts.recall == pytest.approx(0.75)
    assert counts.f1 == pytest.approx(0.75)
    assert counts.accuracy == pytest.approx(0.75)
    assert counts.matrix().tolist() == [[3, 1], [1, 3]]


def test_score_equal_to_threshold_counts_as_positive():
    assert binary_counts([0.5], [1], 0.5).tp == 1


def test_lower_threshold_raises_recall_and_can_lower_precision():
    low, high = binary_counts(SCORES, TARGETS, 0.15), binary_counts(SCORES, TARGETS, 0.75)
    assert low.recall == 1.0 and high.recall == 0.5
    assert low.precision < high.precision == 1.0


def test_course_scenario_numbers_for_f1():
    counts = BinaryCounts(tp=40, fp=60, fn=10, tn=890)
    assert counts.precision == pytest.approx(0.4)
    assert counts.recall == pytest.approx(0.8)
    assert counts.f1 == pytest.approx(2 * 0.4 * 0.8 / 1.2)
    assert counts.total == 1000


def test_edge_cases_have_defined_values():
    nothing_flagged = binary_counts([0.1, 0.2], [1, 0], 0.9)
    assert nothing_flagged.precision == 1.0 and nothing_flagged.recall == 0.0 and nothing_flagged.f1 == 0.0
    no_positives = BinaryCounts(0, 0, 0, 5)
    assert no_positives.recall == 0.0 and no_positives.accuracy == 1.0


def test_tensors_and_bool_targets_are_accepted():
    counts = binary_counts(torch.tensor(SCORES), torch.tensor(TARGETS) == 1, 0.5)
    assert counts.tp == 3


def test_pr_curve_matches_thresholded_counts():
    precision, recall, thresholds = precision_recall_curve(SCORES, TARGETS)
    assert list(thresholds) == sorted(SCORES, reverse=True)
    for p, r, th in zip(precision, recall, thresholds):
        counts = binary_counts(SCORES, TARGETS, float(th))
        assert p == pytest.approx(counts.precision) and r == pytest.approx(counts.recall)
    assert recall[-1] == 1.0 and np.all(np.diff(recall) >= 0)


def test_pr_curve_merges_tied_scores():
    precision, recall, thresholds = precision_recall_curve([0.5, 0.5, 0.2], [1, 0, 1])
    assert thresholds.tolist() == [0.5, 0.2]
    assert precision.tolist() == [0.5, pytest.approx(2 / 3)]
    assert recall.tolist() == [0.5, 1.0]  # both tied scores count at 0.5: one of the two positives found


def test_average_precision_is_one_for_perfect_ranking_and_lower_otherwise():
    assert average_precision([0.9, 0.8, 0.1], [1, 1, 0]) == pytest.approx(1.0)
    assert 0.0 < average_precision(SCORES, TARGETS) < 1.0


def test_threshold_table_has_one_row_per_threshold():
    rows = threshold_table(SCORES, TARGETS, [0.25, 0.5, 0.75])
    assert [r["threshold"] for r in rows] == [0.25, 0.5, 0.75]
    assert rows[0]["recall"] >= rows[1]["recall"] >= rows[2]["recall"]


@pytest.mark.parametrize(
    ("scores", "targets", "threshold", "message"),
    [
        ([0.1, 0.2], [1], 0.5, "one score per target"),
        ([], [], 0.5, "empty"),
        ([0.1, float("nan")], [1, 0], 0.5, "NaN"),
        ([0.1, 0.2], [3, 0], 0.5, "labels == 9"),
        ([0.1, 0.2], [1, 0], float("nan"), "finite number"),
    ],
)
def test_bad_input_is_explained(scores, targets, threshold, message):
    with pytest.raises(ValueError, match=message):
        binary_counts(scores, targets, threshold)


def test_pr_curve_without_positives_is_refused():
    with pytest.raises(ValueError, match="no positive"):
        precision_recall_curve([0.3, 0.4], [0, 0])
