"""Claims of lesson 05 checked against its committed full run: each test is named for the sentence it guards."""
from __future__ import annotations

import re

from committed import printed, results
from course_utils.planet import FULL_ROWS

NAME = "05_cnn_amazon_satellite"


def test_scope_line_names_the_chips_the_scores_come_from():
    r = results(NAME)
    line = printed(NAME, "scope = data.scope_line()")
    assert r["data_description"] in line
    assert r["chips_share_of_competition"] == round(r["n_chips"] / FULL_ROWS if r["data_source"] != "synthetic" else 0, 4)
    if r["data_source"] == "synthetic":
        assert f"{r['n_chips']:,} synthetic tiles" in line and "%" not in line
    elif r["data_source"] == "real subset":
        assert f"{r['n_chips']:,} real chips" in line and f"{FULL_ROWS:,}" in line
    assert f"{r['image_size']}×{r['image_size']}" in line


def test_almost_every_chip_is_primary_and_the_rare_tags_appear_in_about_one_chip_in_a_hundred_or_fewer():
    counts = {tag: int(n) for tag, n in re.findall(r"([a-z_]+) +(\d+)$", printed(NAME, "frequency = pd.Series"), re.M)}
    chips = results(NAME)["n_chips"]
    assert counts["primary"] / chips > 0.85
    assert all(counts.get(tag, 0) / chips <= 0.015 for tag in ("artisinal_mine", "conventional_mine", "slash_burn"))


def test_test_f2_has_a_standard_error_of_about_one_point():
    assert 0.005 < results(NAME)["test_f2_standard_error"] < 0.02


def test_cnn_is_ahead_of_the_fully_connected_net_with_about_30_times_fewer_parameters():
    r = results(NAME)
    assert r["val_cnn_vs_dense"]["verdict"] == "ahead of" and r["test_cnn_vs_dense"]["verdict"] == "ahead of"
    assert 25 < r["dense_parameters"] / r["cnn_parameters"] < 40


def test_cnn_is_ahead_of_the_most_frequent_tags_baseline_which_is_ahead_of_all_tags():
    r = results(NAME)
    assert r["test_cnn_vs_frequent"]["verdict"] == "ahead of"
    assert r["test_f2_most_frequent_baseline"] > r["test_f2_all_positive_baseline"] + 0.1


def test_tuning_the_threshold_lifts_f2_well_above_threshold_one_half():
    r = results(NAME)
    assert r["test_f2_global_threshold"] > r["test_f2_threshold_05"] + 0.03
