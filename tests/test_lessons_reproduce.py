"""Every lesson's quick profile, run twice in two separate kernels, records exactly the same results (issue 24 §1).

The runs are the session's two quick runs (notebook_runner.run_quick, which the lesson tests read, and
run_quick_again, whose marked cells test_notebooks_nbval.py also checks), so this test costs no execution of its own.
Values must be equal, floats to the last bit. Timing results are left out by one rule, `is_timing`: a result whose
name has the word `seconds` or `timing` (train_seconds, w2v_seconds, timing_ratio_...) measures the clock.
"""
from __future__ import annotations

import pytest

from notebook_runner import NOTEBOOK_DIR, run_quick, run_quick_again

NOTEBOOKS = sorted(p.stem for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
TIMING_WORDS = {"seconds", "timing"}
MISSING = "<not recorded>"


def is_timing(result: str) -> bool:
    """Whether a recorded result measures time (its name has a word of TIMING_WORDS), so may differ between runs."""
    return not TIMING_WORDS.isdisjoint(result.split("_"))


def result_differences(lesson: str, first: dict, second: dict) -> list[str]:
    """One line per result (timings aside) whose value differs between two runs, or that only one run recorded."""
    return [f"{lesson}: {name}: first run {first.get(name, MISSING)!r}, second run {second.get(name, MISSING)!r}"
            for name in sorted(first.keys() | second.keys())
            if not is_timing(name) and first.get(name, MISSING) != second.get(name, MISSING)]


@pytest.mark.parametrize("name, timing", [("train_seconds", True), ("w2v_seconds", True), ("rnn_epoch_seconds", True),
                                          ("timing_ratio_finite_differences_over_backprop", True),
                                          ("test_accuracy", False), ("secondsworth", False), ("best_epoch", False)])
def test_timing_results_are_told_by_name(name, timing):
    assert is_timing(name) is timing


def test_a_differing_or_missing_result_is_named_with_both_values():
    first = {"acc": 0.8625, "train_seconds": 1.0, "vocab": 8327, "only_first": True}
    second = {"acc": 0.8634, "train_seconds": 2.0, "vocab": 8327, "only_second": [1]}
    assert result_differences("07_rnn", first, second) == [
        "07_rnn: acc: first run 0.8625, second run 0.8634",
        "07_rnn: only_first: first run True, second run '<not recorded>'",
        "07_rnn: only_second: first run '<not recorded>', second run [1]",
    ]
    assert result_differences("07_rnn", first, {**first, "train_seconds": 9.0}) == []  # timings aside
    assert result_differences("07_rnn", first, {**first, "acc": 0.8625000000000001}) != []  # one bit apart


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_quick_profile_records_the_same_results_in_a_second_kernel(name):
    _, first = run_quick(name)
    _, second = run_quick_again(name)
    assert [r for r in first if not is_timing(r)], f"{name} recorded no results to compare"
    differences = result_differences(name, first, second)
    assert not differences, f"{name} does not reproduce its quick profile in a second kernel:\n" + "\n".join(differences)
