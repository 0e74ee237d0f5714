"""course_utils.compare, the rule behind every verdict of the course, checked against independent oracles (scipy)."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy import stats

from course_utils.compare import (
    RULE, SE_RULE, VERDICTS, Comparison, compare_paired, compare_runs, less_spread, mean_and_se, verdict,
)

OPPOSITE = {"ahead of": "behind", "behind": "ahead of", "level with": "level with"}


def paired_scores(n: int, seed: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Two strongly correlated score vectors (same examples): the paired SE is far below the unpaired one."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0.0, 1.0, n)
    return base + shift + rng.normal(0.0, 0.3, n), base + rng.normal(0.0, 0.1, n)


# --- paired comparisons: the standard error of the mean difference is ttest_rel's denominator -------------------

@pytest.mark.parametrize("n, seed, shift", [(5, 0, 0.2), (8, 1, -0.1), (40, 2, 0.05), (400, 3, 0.0)])
def test_paired_standard_error_is_the_paired_t_tests_denominator(n, seed, shift):
    a, b = paired_scores(n, seed, shift)
    c = compare_paired(a, b, "a", "b")
    t = stats.ttest_rel(a, b).statistic
    assert c.difference == pytest.approx(np.mean(a) - np.mean(b), rel=1e-12, abs=1e-15)
    assert c.standard_error == pytest.approx(c.difference / t, rel=1e-9)
    assert c.z == pytest.approx(t, rel=1e-9)
    assert (c.mean_a, c.mean_b) == pytest.approx((np.mean(a), np.mean(b)), rel=1e-12)
    welch = c.difference / stats.ttest_ind(a, b, equal_var=False).statistic
    assert c.standard_error < 0.5 * welch, "same examples: pairing removes the examples' shared difficulty"


def test_paired_verdict_follows_the_rule_on_the_paired_t_statistic():
    for seed in range(30):
        a, b = paired_scores(12, seed, shift=0.1 * (seed % 5 - 2))
        t = stats.ttest_rel(a, b).statistic
        expected = "ahead of" if t > SE_RULE else "behind" if t < -SE_RULE else "level with"
        assert compare_paired(a, b, "a", "b").verdict == expected, seed


def test_paired_comparison_of_zero_one_correctness():
    """Per-review 0/1 correctness, the course's commonest use: 30 reviews right by a only, 10 by b only."""
    a = np.r_[np.ones(30), np.zeros(10), np.ones(60), np.zeros(100)]
    b = np.r_[np.zeros(30), np.ones(10), np.ones(60), np.zeros(100)]
    c = compare_paired(a.astype(bool), b.astype(bool), "a", "b", unit="reviews")
    d = a - b
    assert c.difference == pytest.approx(0.1)
    assert c.standard_error == pytest.approx(np.std(d, ddof=1) / math.sqrt(200), rel=1e-12)
    assert c.standard_error == pytest.approx(c.difference / stats.ttest_rel(a, b).statistic, rel=1e-9)
    assert c.verdict == "ahead of" and c.basis == "paired over 200 reviews"


# --- comparisons over runs: Welch's standard error --------------------------------------------------------------

@pytest.mark.parametrize("a, b", [
    ([0.81, 0.84, 0.80], [0.70, 0.79, 0.75, 0.90, 0.66, 0.72, 0.83]),  # unequal sizes and spreads
    ([0.5, 0.9, 0.1, 0.7, 0.3], [0.41, 0.42]),
    ([3.0, 1.0], [2.0, 2.5, 2.2, 1.9]),
])
def test_runs_standard_error_is_welchs(a, b):
    c = compare_runs(a, b, "a", "b")
    t = stats.ttest_ind(a, b, equal_var=False).statistic
    assert c.difference == pytest.approx(np.mean(a) - np.mean(b), rel=1e-12)
    assert c.standard_error == pytest.approx(c.difference / t, rel=1e-9)
    by_hand = math.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b))
    assert c.standard_error == pytest.approx(by_hand, rel=1e-12)
    pooled = c.difference / stats.ttest_ind(a, b, equal_var=True).statistic
    assert c.standard_error != pytest.approx(pooled, rel=1e-3), "not the pooled (equal-variance) error"
    assert c.basis == f"from {len(a)} and {len(b)} runs"


def test_runs_verdict_follows_the_rule_on_welchs_t_statistic():
    rng = np.random.default_rng(0)
    seen = set()
    for i in range(60):
        a, b = rng.normal(0.02 * (i % 7 - 3), 0.01, 4), rng.normal(0.0, 0.03, 6)
        t = stats.ttest_ind(a, b, equal_var=False).statistic
        expected = "ahead of" if t > SE_RULE else "behind" if t < -SE_RULE else "level with"
        assert compare_runs(list(a), list(b), "a", "b").verdict == expected, i
        seen.add(expected)
    assert seen == set(VERDICTS), "the cases cover all three verdicts"


# --- mean ± standard error ----------------------------------------------------------------------------------------

def test_mean_and_se_is_the_standard_error_not_the_standard_deviation():
    scores = [2, 4, 4, 4, 5, 5, 7, 9]  # population sd 2, sample sd sqrt(32/7)
    mean, se = mean_and_se(scores)
    assert mean == 5.0
    assert se == pytest.approx(math.sqrt(32 / 7) / math.sqrt(8), rel=1e-12)  # 0.756
    assert se == pytest.approx(stats.sem(scores), rel=1e-12)  # scipy: ddof=1
    assert se != pytest.approx(np.std(scores, ddof=1), rel=1e-3), "the standard deviation is not the error"
    assert se != pytest.approx(2 / math.sqrt(8), rel=1e-3), "ddof=0 understates the error"


@pytest.mark.parametrize("n", [2, 3, 10, 1000])
def test_mean_and_se_matches_scipy_for_any_size(n):
    x = np.random.default_rng(n).random(n)
    mean, se = mean_and_se(x)
    assert mean == pytest.approx(x.mean(), rel=1e-12) and se == pytest.approx(stats.sem(x), rel=1e-10)


def test_mean_and_se_refuses_fewer_than_two_scores():
    for bad in ([], [0.5], [[0.1, 0.2], [0.3, 0.4]]):
        with pytest.raises(ValueError, match="at least 2"):
            mean_and_se(bad)


# --- the verdict at the 2-SE threshold, at zero, and when a and b swap ------------------------------------------

def test_verdict_exactly_at_two_standard_errors_is_level_and_just_beyond_is_not():
    se = 0.5  # 2 * 0.5 == 1.0 exactly in floating point
    assert verdict(1.0, se) == "level with", "the difference must exceed 2 SE, not reach it"
    assert verdict(-1.0, se) == "level with"
    assert verdict(np.nextafter(1.0, 2.0), se) == "ahead of"
    assert verdict(np.nextafter(-1.0, -2.0), se) == "behind"
    assert verdict(np.nextafter(1.0, 0.0), se) == "level with"
    assert verdict(np.nextafter(-1.0, 0.0), se) == "level with"
    assert verdict(3.0, 1.0, k=3) == "level with" and verdict(3.0001, 1.0, k=3) == "ahead of"
    assert SE_RULE == 2.0 and "exceeds 2 standard errors" in RULE


def test_runs_exactly_at_the_threshold_end_to_end():
    """a = [1, 1 + h], b = [0, 0]: difference 1 + h/2, error h/2, so h = 2 is exactly 2 SE."""
    at = compare_runs([1.0, 3.0], [0.0, 0.0], "a", "b")
    assert (at.difference, at.standard_error, at.verdict) == (2.0, 1.0, "level with")
    assert compare_runs([0.0, 0.0], [1.0, 3.0], "b", "a").verdict == "level with"
    assert compare_runs([1.0, 2.9], [0.0, 0.0], "a", "b").verdict == "ahead of"  # 1.95 / 0.95 = 2.05 SE
    assert compare_runs([0.0, 0.0], [1.0, 2.9], "b", "a").verdict == "behind"
    assert compare_runs([1.0, 3.1], [0.0, 0.0], "a", "b").verdict == "level with"  # 2.05 / 1.05 = 1.95 SE


def test_identical_scores_are_level_with_a_zero_z():
    """No difference and no spread: nothing puts one ahead, so the rule says 'level with' (z = 0, not NaN)."""
    for c in (compare_paired(np.ones(5), np.ones(5), "a", "b"), compare_runs([0.7, 0.7], [0.7, 0.7, 0.7], "a", "b"),
              compare_paired([0.2, 0.9, 0.4], [0.2, 0.9, 0.4], "a", "b")):
        assert (c.difference, c.standard_error, c.verdict, c.z) == (0.0, 0.0, "level with", 0.0)
        assert ", 0.0 standard errors (0.0000," in c.sentence()
    assert verdict(0.0, 0.0) == "level with"


@pytest.mark.parametrize("value", [0.7, 0.2449, 0.4525, 0.9774, 1 / 3, 0.0, 1.0])
def test_the_same_constant_score_over_different_numbers_of_runs_is_level(value):
    """Means of [v, v] and [v, v, v] may differ by a rounding error; over a zero error it must not read as 'ahead'."""
    for n_a, n_b in [(2, 3), (3, 5), (7, 3), (4, 4)]:
        c = compare_runs([value] * n_a, [value] * n_b, "a", "b")
        assert (c.difference, c.standard_error, c.verdict, c.z) == (0.0, 0.0, "level with", 0.0), (n_a, n_b)
    above = compare_runs([value] * 2, [value - 1e-6] * 3, "a", "b")
    assert above.verdict == "ahead of" and above.difference == pytest.approx(1e-6, rel=1e-6)
    assert compare_runs([value - 1e-6] * 3, [value] * 2, "a", "b").verdict == "behind"


def test_a_constant_nonzero_difference_has_no_error_and_decides():
    """a beats b by the same amount on every example: error 0, infinitely many standard errors."""
    ahead = compare_paired([0.9, 0.5, 0.7], [0.8, 0.4, 0.6], "a", "b")
    assert ahead.standard_error == pytest.approx(0.0, abs=1e-15) and ahead.verdict == "ahead of"
    ahead = compare_paired(np.ones(4), np.zeros(4), "a", "b")
    assert (ahead.verdict, ahead.z) == ("ahead of", math.inf) and "∞ standard errors" in ahead.sentence()
    behind = compare_runs([0.0, 0.0], [1.0, 1.0], "a", "b")
    assert (behind.verdict, behind.z) == ("behind", -math.inf) and "∞ standard errors" in behind.sentence()


@pytest.mark.parametrize("compare", ["paired", "runs"])
@pytest.mark.parametrize("shift", [0.5, -0.5, 0.01, 0.0])
def test_swapping_a_and_b_mirrors_the_comparison(compare, shift):
    rng = np.random.default_rng(7)
    a, b = rng.normal(shift, 0.1, 20), rng.normal(0.0, 0.1, 20)
    fn = compare_paired if compare == "paired" else lambda x, y, p, q: compare_runs(list(x), list(y), p, q)
    ab, ba = fn(a, b, "A", "B"), fn(b, a, "B", "A")
    assert ba.difference == pytest.approx(-ab.difference, rel=1e-12)
    assert ba.standard_error == pytest.approx(ab.standard_error, rel=1e-12)
    assert ba.verdict == OPPOSITE[ab.verdict]
    assert (ab.mean_a, ab.mean_b) == (ba.mean_b, ba.mean_a)
    assert (ab.difference > 0) == (np.mean(a) > np.mean(b))
    t = (stats.ttest_rel(a, b) if compare == "paired" else stats.ttest_ind(a, b, equal_var=False)).statistic
    expected = "ahead of" if t > SE_RULE else "behind" if t < -SE_RULE else "level with"
    assert expected == {0.5: "ahead of", -0.5: "behind"}.get(shift, expected)
    assert ab.verdict == expected and ab.sentence().startswith(f"A ({np.mean(a):.4f}) is {expected} B (")


def test_the_better_model_is_ahead_not_behind():
    better, worse = np.r_[np.ones(90), np.zeros(10)], np.r_[np.ones(60), np.zeros(40)]
    assert compare_paired(better, worse, "better", "worse").verdict == "ahead of"
    assert compare_paired(worse, better, "worse", "better").verdict == "behind"
    assert compare_runs([0.9, 0.91, 0.92], [0.5, 0.52, 0.51], "b", "w").verdict == "ahead of"
    assert compare_runs([0.5, 0.52, 0.51], [0.9, 0.91, 0.92], "w", "b").verdict == "behind"


# --- the sentence built from the numbers ------------------------------------------------------------------------

def test_sentence_places_every_number_where_it_belongs():
    c = Comparison("A", "B", 0.9, 0.8, 0.1, 0.02, "ahead of", "paired over 500 reviews")
    assert c.sentence("accuracy") == ("A (0.9000) is ahead of B (0.8000) on accuracy: a difference of +0.1000, "
                                      "5.0 standard errors (0.0200, paired over 500 reviews).")
    d = Comparison("small", "big", 0.61, 0.7, -0.09, 0.06, "level with", "from 3 and 4 runs")
    assert d.sentence("F2", digits=2) == ("small (0.61) is level with big (0.70) on F2: a difference of -0.09, "
                                         "1.5 standard errors (0.06, from 3 and 4 runs).")
    assert Comparison("x", "y", 1.0, 0.0, 1.0, 0.0, "ahead of", "b").sentence().count("∞ standard errors") == 1


def test_sentence_from_a_comparison_states_its_own_numbers():
    a, b = paired_scores(50, 11, shift=-0.3)
    c = compare_paired(a, b, "model A", "model B", unit="reviews")
    pattern = (r"model A \((-?[\d.]+)\) is (ahead of|level with|behind) model B \((-?[\d.]+)\) on accuracy: "
               r"a difference of ([+-][\d.]+), ([\d.]+) standard errors \(([\d.]+), paired over 50 reviews\)\.")
    m = re.fullmatch(pattern, c.sentence("accuracy"))
    assert m, c.sentence("accuracy")
    mean_a, word, mean_b, diff, z, se = m.groups()
    t = stats.ttest_rel(a, b).statistic
    assert float(mean_a) == pytest.approx(np.mean(a), abs=5e-5) and float(mean_b) == pytest.approx(np.mean(b), abs=5e-5)
    assert float(diff) == pytest.approx(np.mean(a) - np.mean(b), abs=5e-5) and float(diff) < 0
    assert float(se) == pytest.approx(c.difference / t, abs=5e-5)
    assert float(z) == pytest.approx(abs(t), abs=0.05) and word == "behind"


def test_as_dict_keeps_every_field_rounded():
    c = compare_runs([0.123456789, 0.2], [0.1, 0.11, 0.13], "a", "b")
    d = c.as_dict()
    assert d["name_a"] == "a" and d["name_b"] == "b" and d["verdict"] == c.verdict and d["basis"] == c.basis
    for key in ("mean_a", "mean_b", "difference", "standard_error"):
        assert d[key] == round(getattr(c, key), 5)


# --- spread: a one-sided F-test that a varies less than b -------------------------------------------------------

def scaled(values: list[float], variance: float) -> list[float]:
    """The values rescaled to an exact sample variance."""
    x = np.asarray(values, dtype=float)
    return list((x - x.mean()) * math.sqrt(variance / np.var(x, ddof=1)))


@pytest.mark.parametrize("n_a, n_b, ratio", [(3, 10, 10.0), (10, 3, 5.0), (3, 10, 30.0), (10, 3, 25.0), (6, 6, 4.0),
                                             (6, 6, 6.0), (5, 8, 1.0), (5, 8, 0.2)])
def test_less_spread_is_the_one_sided_f_test(n_a, n_b, ratio):
    a = scaled(list(np.random.default_rng(n_a).random(n_a)), 1.0)
    b = scaled(list(np.random.default_rng(n_b + 100).random(n_b)), ratio)
    std_a, std_b, steadier = less_spread(a, b)
    assert std_a == pytest.approx(np.std(a, ddof=1), rel=1e-9) and std_b == pytest.approx(np.std(b, ddof=1), rel=1e-9)
    p = stats.f.cdf(np.var(a, ddof=1) / np.var(b, ddof=1), n_a - 1, n_b - 1)  # P(F <= s_a²/s_b²) under equal spread
    assert steadier == (p < 0.05), p
    assert less_spread(a, b, alpha=p * 1.01)[2] and not less_spread(a, b, alpha=p * 0.99)[2]


def test_less_spread_with_a_constant_a():
    assert less_spread([0.5, 0.5, 0.5], [0.1, 0.9]) == (0.0, pytest.approx(math.sqrt(0.32)), True)
    assert less_spread([0.5, 0.5], [0.2, 0.2]) == (0.0, 0.0, False)
    assert less_spread([0.2, 0.9], [0.5, 0.5, 0.5])[2] is False


# --- refusals ---------------------------------------------------------------------------------------------------

def test_bad_inputs_are_refused():
    for bad in [(math.nan, 1.0), (1.0, math.inf), (1.0, -0.1)]:
        with pytest.raises(ValueError, match="finite"):
            verdict(*bad)
    with pytest.raises(ValueError, match="same length"):
        compare_paired([1, 0, 1], [1, 0], "a", "b")
    with pytest.raises(ValueError, match="same length"):
        compare_paired([1], [0], "a", "b")
    with pytest.raises(ValueError, match="at least 2 runs"):
        compare_runs([0.9], [0.8, 0.7], "a", "b")
    with pytest.raises(ValueError, match="at least 2"):
        less_spread([0.9, 0.8], [0.7])
