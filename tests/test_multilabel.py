"""Unit tests for course_utils.multilabel: per-image F-beta, threshold tuning, tables and baselines."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import fbeta_score

from course_utils.multilabel import (
    all_positive_baseline, apply_thresholds, f2_from_logits, fbeta_per_image, frequent_tags_baseline, mean_fbeta,
    per_label_table, tune_global_threshold, tune_label_thresholds,
)


def random_case(seed=0, n=60, k=6):
    rng = np.random.default_rng(seed)
    true = (rng.random((n, k)) < 0.35).astype(int)
    true[np.arange(n), rng.integers(0, k, n)] = 1  # every image has a tag, as in Planet
    pred = (rng.random((n, k)) < 0.4).astype(int)
    return torch.tensor(pred), torch.tensor(true)


def test_f2_matches_hand_computation():
    true = torch.tensor([[1, 1, 1, 0, 0]])
    assert mean_fbeta(torch.tensor([[1, 1, 0, 0, 0]]), true) == pytest.approx(10 / 14)
    assert mean_fbeta(torch.tensor([[1, 1, 1, 1, 1]]), true) == pytest.approx(3 / 3.4)
    assert mean_fbeta(true, true) == 1.0
    assert mean_fbeta(torch.tensor([[0, 0, 0, 1, 1]]), true) == 0.0


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
def test_mean_fbeta_agrees_with_scikit_learn_samples_average(beta):
    pred, true = random_case()
    expected = fbeta_score(true.numpy(), pred.numpy(), beta=beta, average="samples", zero_division=1)
    assert mean_fbeta(pred, true, beta) == pytest.approx(expected)


def test_empty_truth_and_empty_prediction_scores_one():
    assert fbeta_per_image(torch.zeros(1, 3), torch.zeros(1, 3)).item() == 1.0


def test_shape_mismatch_and_bad_beta_are_refused():
    with pytest.raises(ValueError, match="same shape"):
        mean_fbeta(torch.ones(2, 3), torch.ones(2, 4))
    with pytest.raises(ValueError, match="2-D"):
        mean_fbeta(torch.ones(3), torch.ones(3))
    with pytest.raises(ValueError, match="beta"):
        mean_fbeta(torch.ones(2, 3), torch.ones(2, 3), beta=0)


def test_apply_thresholds_global_and_per_label():
    prob = torch.tensor([[0.2, 0.6], [0.9, 0.1]])
    assert apply_thresholds(prob, 0.5).tolist() == [[0, 1], [1, 0]]
    assert apply_thresholds(prob, [0.1, 0.7]).tolist() == [[1, 0], [1, 0]]
    with pytest.raises(ValueError, match="one per label"):
        apply_thresholds(prob, [0.1, 0.2, 0.3])


def test_f2_from_logits_uses_sigmoid_half_threshold():
    logits = torch.tensor([[3.0, -3.0], [-1.0, 2.0]])
    targets = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert f2_from_logits(logits, targets) == 1.0
    assert f2_from_logits(-logits, targets) == 0.0


def test_global_threshold_tuning_finds_the_separating_value():
    targets = torch.tensor([[1, 0], [0, 1], [1, 1], [1, 0]]).float()
    prob = torch.where(targets > 0, torch.tensor(0.33), torch.tensor(0.2))
    threshold, score = tune_global_threshold(prob, targets)
    assert 0.2 <= threshold < 0.33 and score == 1.0
    assert mean_fbeta(prob > 0.5, targets) < 1.0


def test_per_label_thresholds_beat_or_equal_global_on_tuning_data():
    gen = torch.Generator().manual_seed(0)
    targets = (torch.rand(80, 4, generator=gen) < 0.4).float()
    scale = torch.tensor([0.3, 0.6, 0.9, 0.5])  # each label calibrated differently
    prob = (targets * scale + torch.rand(80, 4, generator=gen) * 0.35).clamp(0, 1)
    t, g = tune_global_threshold(prob, targets)
    per_label, score = tune_label_thresholds(prob, targets, start=t)
    assert per_label.shape == (4,)
    assert score >= g
    assert score == pytest.approx(mean_fbeta(apply_thresholds(prob, per_label), targets))
    assert score > g + 0.01  # one threshold cannot serve labels calibrated this differently


def test_per_label_table_values():
    pred = torch.tensor([[1, 0], [1, 1], [0, 1]])
    true = torch.tensor([[1, 0], [0, 1], [1, 0]])
    table = per_label_table(pred, true, ["a", "b"])
    assert table.loc["a", "precision"] == pytest.approx(0.5) and table.loc["a", "recall"] == pytest.approx(0.5)
    assert table.loc["b", "precision"] == pytest.approx(0.5) and table.loc["b", "recall"] == pytest.approx(1.0)
    assert table.loc["b", "F2"] == pytest.approx(5 * 0.5 / (4 * 0.5 + 1))
    assert list(table["support"]) == [2, 1]
    with pytest.raises(ValueError, match="names"):
        per_label_table(pred, true, ["a"])


def test_baselines():
    train = torch.tensor([[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 1, 0]]).float()
    frequent = frequent_tags_baseline(train, 5)
    assert frequent.shape == (5, 3) and frequent[0].tolist() == [1, 1, 0]
    rare = torch.tensor([[0, 0, 1], [0, 0, 0], [0, 0, 0]]).float()
    assert frequent_tags_baseline(rare, 1)[0].tolist() == [0, 0, 1]  # never an empty prediction
    assert all_positive_baseline(2, 3).sum() == 6


def test_a_probability_exactly_on_the_threshold_is_predicted_like_in_metrics():
    from course_utils.metrics import binary_counts

    probs = torch.tensor([[0.3, 0.5], [0.5, 0.7]])
    assert apply_thresholds(probs, 0.5).tolist() == [[0.0, 1.0], [1.0, 1.0]]
    assert apply_thresholds(probs, torch.tensor([0.3, 0.71])).tolist() == [[1.0, 0.0], [1.0, 0.0]]
    # the binary metrics use the same rule: a score equal to the threshold is positive
    assert binary_counts([0.5], [1], 0.5).tp == 1


def test_f2_from_logits_thresholds_probabilities_not_raw_logits():
    # logit 0.2 -> sigmoid 0.55 (on); logit -0.3 -> 0.43 (off). Raw logits against 0.5 would give the opposite for 0.2.
    logits, targets = torch.tensor([[0.2, -0.3]]), torch.tensor([[1.0, 0.0]])
    assert f2_from_logits(logits, targets) == 1.0
    assert f2_from_logits(torch.tensor([[0.0, -0.3]]), targets) == 1.0  # sigmoid(0) = 0.5 is on the threshold: predicted


@pytest.mark.parametrize("seed", range(5))
def test_metrics_agree_with_scikit_learn_on_random_cases_with_ties(seed):
    from sklearn.metrics import fbeta_score, precision_score, recall_score

    from course_utils.metrics import binary_counts

    rng = np.random.default_rng(seed)
    probs = torch.tensor(rng.choice([0.1, 0.3, 0.5, 0.7], size=(40, 6)))  # many exact ties, some on the threshold
    targets = torch.tensor(rng.integers(0, 2, size=(40, 6)))
    predicted = apply_thresholds(probs, 0.5)
    assert mean_fbeta(predicted, targets) == pytest.approx(
        fbeta_score(targets.numpy(), predicted.numpy(), beta=2, average="samples", zero_division=1.0))
    scores, truth = probs[:, 0].numpy(), targets[:, 0].numpy()
    counts = binary_counts(scores, truth, 0.5)
    assert counts.precision == pytest.approx(precision_score(truth, scores >= 0.5, zero_division=0.0))
    assert counts.recall == pytest.approx(recall_score(truth, scores >= 0.5, zero_division=0.0))
