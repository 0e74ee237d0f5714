"""Claims of lesson 01 checked against its committed full run: each test is named for the sentence it guards."""
from __future__ import annotations

import re

import numpy as np
import torch

from committed import cells, code, markdown, printed, printed_line, results, widget_states
from course_utils.compare import compare_runs
from course_utils.metrics import confused_pairs

NAME = "01_mnist_fnn"


def perceptron() -> dict:
    """The names the slide's perceptron cell defines (reasons, x, THRESHOLD, total), its prints silenced."""
    namespace: dict = {"print": lambda *args, **kwargs: None}
    exec(code(NAME, "THRESHOLD = 80"), namespace)
    return namespace


def test_perceptron_uses_the_slides_ox_inputs_and_reaches_its_165():
    namespace = perceptron()
    assert [namespace["x"][r] for r in namespace["reasons"]] == [1, 0, 1, 0, 1, 1, 1]  # O X O X O O O on the slide
    assert namespace["total"] == 165
    assert "weighted sum = 165 -> join" in printed(NAME, "THRESHOLD = 80")


def test_the_weighted_sum_written_out_in_the_prose_is_the_cells_sum_with_the_slides_weights_and_answers():
    namespace = perceptron()
    prose = next("".join(c["source"]) for c in cells(NAME)
                 if c["cell_type"] == "markdown" and "The weighted sum is $" in "".join(c["source"]))
    formula = prose.split("$")[1]  # $30\cdot1 - 20\cdot0 + ... = 165 \ge 80$
    terms = [(int(sign.replace(" ", "") + weight), int(answer))
             for sign, weight, answer in re.findall(r"(-?\s*)(\d+)\\cdot\s*(\d)", formula)]
    assert terms == [(w, namespace["x"][r]) for r, (w, _) in namespace["reasons"].items()]
    assert re.search(rf"= {namespace['total']} \\ge {namespace['THRESHOLD']}\b", formula)


def test_perceptron_widget_starts_from_the_slides_answers():
    namespace = perceptron()
    boxes = {state["description"]: state["value"] for state in widget_states(NAME, "CheckboxModel")}
    assert boxes == {f"{r} ({w:+d})": bool(namespace["x"][r]) for r, (w, _) in namespace["reasons"].items()}
    [verdict] = [state["value"] for state in widget_states(NAME, "HTMLModel")]
    assert verdict.startswith(f"<b>weighted sum {namespace['total']}</b> → join")


def test_activation_is_chosen_on_validation_over_several_seeds_and_the_verdict_follows_the_rule():
    r = results(NAME)
    scores = r["activation_val_accuracy"]
    assert len(scores["relu"]) >= 3 and len(scores["leaky_relu"]) >= 3
    assert r["activation_comparison"]["verdict"] == compare_runs(scores["leaky_relu"], scores["relu"], "a", "b").verdict
    assert r["activation_chosen"] == ("leaky_relu" if r["activation_comparison"]["verdict"] == "ahead of" else "relu")


def test_the_activations_are_scored_on_validation_and_only_the_chosen_model_once_on_test():
    """Run the comparison cell with training and evaluation replaced by recorders: which batches score what."""
    val_batches, test_batches, evaluated = object(), object(), []

    def evaluate(model, batches, loss_fn):
        evaluated.append((model, batches))
        return 0.0, 0.9 + 0.001 * len(evaluated)

    namespace = {"print": lambda *args, **kwargs: None, "np": np, "torch": torch, "compare_runs": compare_runs,
                 "SEED": 0, "COMPARE_SEEDS": 3, "COMPARE_EPOCHS": 1, "HIDDEN": (4,), "DROPOUT": 0.0,
                 "LEARNING_RATE": 0.1, "BATCH_SIZE": 2, "RULE": "the rule", "device": "cpu", "loss_fn": None,
                 "x_all": torch.zeros(4, 1), "labels": torch.zeros(4), "train_idx": [0, 1],
                 "seed_everything": lambda seed: None, "FeedForwardNet": lambda *args, **kwargs: torch.nn.Linear(1, 1),
                 "TensorBatches": lambda *args, **kwargs: None, "fit": lambda *args, **kwargs: None,
                 "evaluate": evaluate, "val_batches": val_batches, "test_batches": test_batches}
    exec(code(NAME, "compare_runs("), namespace)
    assert [batches for _, batches in evaluated] == [val_batches] * 6 + [test_batches]
    assert evaluated[-1][0] is namespace["candidates"][namespace["chosen"]]


def test_named_confusions_are_the_largest_pairs_of_the_committed_matrix():
    r = results(NAME)
    assert [tuple(p) for p in r["top_confusions"]] == confused_pairs(r["confusion_matrix"], k=3)
    matrix = r["confusion_matrix"]
    assert abs(sum(matrix[i][i] for i in range(10)) / sum(map(sum, matrix)) - r["test_accuracy"]) < 1e-4
    assert not re.search(r"\b\d vs \d\b", markdown(NAME)), "confusion pairs must be printed from the matrix, not typed"


def test_title_and_summary_say_about_98_percent_when_trained_on_full_mnist():
    r = results(NAME)
    scope = printed_line(NAME, "split_indices(len(labels)", "Data: .* training")  # which digits the run used
    if not r["full_data"]:
        assert "not full MNIST" in scope
    else:
        assert scope.startswith("Data: a subset of MNIST" if r["data_source"] == "real subset" else "Data: full MNIST —")
    if r["full_data"] and r["data_source"] != "real subset":  # all of full MNIST's training digits, as the sentences say
        assert 0.975 <= r["test_accuracy"] < 0.99
