"""Claims of lesson 01 checked against its committed full run: each test is named for the sentence it guards."""
from __future__ import annotations

import re

from committed import code, markdown, printed, results
from course_utils.compare import compare_runs
from course_utils.metrics import confused_pairs

NAME = "01_mnist_fnn"


def test_perceptron_uses_the_slides_ox_inputs_and_reaches_its_165():
    namespace: dict = {}
    exec(code(NAME, "THRESHOLD = 80").replace("print(", "(lambda *a, **k: None)("), namespace)
    assert [namespace["x"][r] for r in namespace["reasons"]] == [1, 0, 1, 0, 1, 1, 1]  # O X O X O O O on the slide
    assert namespace["total"] == 165
    assert "weighted sum = 165 -> join" in printed(NAME, "THRESHOLD = 80")


def test_lesson_no_longer_says_the_slide_is_wrong_about_165():
    text = markdown(NAME)
    assert "160" not in text and "slide prints" not in text
    assert "= 165" in text


def test_perceptron_widget_starts_from_the_slides_answers():
    assert "value=bool(x[reason])" in code(NAME, "widgets.Checkbox(")


def test_activation_is_chosen_on_validation_over_several_seeds_and_the_verdict_follows_the_rule():
    r = results(NAME)
    scores = r["activation_val_accuracy"]
    assert len(scores["relu"]) >= 3 and len(scores["leaky_relu"]) >= 3
    assert r["activation_comparison"]["verdict"] == compare_runs(scores["leaky_relu"], scores["relu"], "a", "b").verdict
    assert r["activation_chosen"] == ("leaky_relu" if r["activation_comparison"]["verdict"] == "ahead of" else "relu")
    source = code(NAME, "compare_runs(")
    assert "evaluate(candidate, val_batches" in source and "evaluate(candidate, test_batches" not in source


def test_named_confusions_are_the_largest_pairs_of_the_committed_matrix():
    r = results(NAME)
    assert [tuple(p) for p in r["top_confusions"]] == confused_pairs(r["confusion_matrix"], k=3)
    matrix = r["confusion_matrix"]
    assert abs(sum(matrix[i][i] for i in range(10)) / sum(map(sum, matrix)) - r["test_accuracy"]) < 1e-4
    assert not re.search(r"\b\d vs \d\b", markdown(NAME)), "confusion pairs must be printed from the matrix, not typed"


def test_title_and_summary_say_about_98_percent_when_trained_on_full_mnist():
    r = results(NAME)
    assert "print(mnist.scope_line(" in code(NAME, "split_indices(len(labels)"), "the run must say which digits it used"
    if r["full_data"] and r["data_source"] != "real subset":  # all of full MNIST's training digits, as the sentences say
        assert 0.975 <= r["test_accuracy"] < 0.99
