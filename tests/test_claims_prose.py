"""Every comparison a lesson's prose makes is listed here with the claim test that guards it.

A new sentence with "beats", "ahead", "narrows", "steadier", "level with", "wrong" … in a lesson's markdown fails this
test until it is added below together with a test in tests/test_claims_NN.py that fails when a regenerated run
contradicts it (or until the sentence is printed by code from the results instead).
"""
from __future__ import annotations

import importlib
import re

import pytest

from committed import cells

COMPARISON = re.compile(r"\b(beats?|outperforms?|better than|worse than|level with|narrows|narrow (?:the|it)|widens?|ahead|far behind|"
                        r"steadier|pulls? ahead|is wrong|are wrong)\b", re.I)

# lesson -> {fragment of the sentence: the claim test that guards it; "rule" marks a definition or a question, not an
# outcome, and "published" a result quoted from a cited paper's table shown beside it}
GUARDED = {
    "01_mnist_fnn": {
        "one result is **ahead** of another only when": "rule",
        "Why is one run per setting not enough to say that LeakyReLU beats ReLU?": "rule",
    },
    "02_gradient_descent": {
        "Both beat plain SGD by orders of magnitude": "test_momentum_and_adam_beat_plain_sgd_by_orders_of_magnitude_in_the_valley",
        "momentum widens it": "test_momentum_widens_the_window_of_good_learning_rates_and_adam_widens_it_most",
        "many cheap steps beat few exact ones": "test_stochastic_and_minibatch_runs_get_closer_to_the_bottom_than_full_batch_in_the_same_epochs",
    },
    "03_backprop_from_scratch": {
        "agree to far better than": "test_gradient_checks_agree_far_better_than_one_in_a_million",
    },
    "04_overfitting_curves": {
        "the huge nets are confidently wrong": "test_validation_loss_against_capacity_is_u_shaped",
        "Early stopping need not narrow": "test_regularisation_findings_follow_the_rule_and_the_summary_does_not_claim_every_cure_narrows_the_gap",
        "a cure that lowers the loss need not narrow": "test_regularisation_findings_follow_the_rule_and_the_summary_does_not_claim_every_cure_narrows_the_gap",
        "Is the milder dropout enough to narrow the gap?": "rule",
        "why is its mean steadier than one split's score?": "test_kfold_mean_is_steadier_than_a_single_split",
    },
    "05_cnn_amazon_satellite": {
        "why convolutions beat fully-connected layers": "test_cnn_is_ahead_of_the_fully_connected_net_with_about_30_times_fewer_parameters",
        "is ahead of a fully-connected net": "test_cnn_is_ahead_of_the_fully_connected_net_with_about_30_times_fewer_parameters",
        "missing a mine is worse than a false alarm": "rule",
        "red a predicted tag that is wrong": "rule",
    },
    "06_word_vectors": {
        "The cheap log-linear models beat the neural language models": "published",
    },
    "07_rnn_sentiment": {
        "leave the bag-of-words model far behind, whatever the verdict": "test_summary_does_not_say_rnn_beats_bow_and_the_printed_verdict_follows_the_rule",
        "match or even beat an RNN on short movie reviews": "test_summary_does_not_say_rnn_beats_bow_and_the_printed_verdict_follows_the_rule",
        "Where does it go wrong": "rule",
        "A freshly initialised GRU does better than the plain RNN": "test_fresh_gru_does_better_than_the_plain_rnn_but_still_vanishes_and_a_keeping_gru_is_far_better",
    },
    "08_project_template": {
        "Does a network beat it": "rule",
        "If **nothing** beats chance": "rule",
        "If nothing beats chance": "rule",
        "often hard to beat on tabular data": "rule",
        "Both models beat the chance level by a wide margin": "test_both_models_beat_the_chance_level_by_a_wide_margin",
        "a network is only worth it if it beats both": "rule",
    },
}


def sentences(name: str) -> list[str]:
    """The markdown sentences of a lesson that make a comparison."""
    found = []
    for cell in cells(name):
        if cell["cell_type"] == "markdown":
            for sentence in re.split(r"(?<=[.!?:])\s+", "".join(cell["source"])):
                if COMPARISON.search(re.sub(r"`[^`]*`", "", sentence)):  # words inside `code` are not prose
                    found.append(" ".join(sentence.split()))
    return found


@pytest.mark.parametrize("name", sorted(GUARDED))
def test_every_comparison_in_the_prose_is_guarded_by_a_claim_test(name):
    unguarded = [s for s in sentences(name) if not any(fragment in s for fragment in GUARDED[name])]
    assert not unguarded, f"{name}: add a claim test and list these sentences in GUARDED: {unguarded}"


@pytest.mark.parametrize("name", sorted(GUARDED))
def test_every_listed_claim_test_exists(name):
    module = importlib.import_module(f"test_claims_{name[:2]}")
    for fragment, test in GUARDED[name].items():
        assert test in ("rule", "published") or hasattr(module, test), f"{name}: {test} (guarding {fragment!r}) does not exist"
