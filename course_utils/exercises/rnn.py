"""Checkers for the exercises of lesson 07 (RNN sentiment analysis)."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..i18n import t
from ..train import predict
from . import passed, require, require_answer
from .experiment import paired_verdict, require_own_score, require_verdict


def check_pad_or_cut(function: Callable[[list[int], int], list[int]] | None) -> None:
    """Exercise 1: pad an id list with 0 at the end or cut it to max_len, keeping the start."""
    name = t("Exercise 1 (pad or cut)")
    require_answer(function, name)
    require(callable(function), name, t("define a function pad_or_cut(ids, max_len) that returns a list."))
    cases = [([5, 6, 7], 5, [5, 6, 7, 0, 0]), ([5, 6, 7], 2, [5, 6]), ([], 3, [0, 0, 0]), ([9, 8], 2, [9, 8])]
    for ids, max_len, expected in cases:
        got = list(function(list(ids), max_len))
        require(len(got) == max_len, name,
                t("the result must always have max_len items (ids={ids}, max_len={max_len}).", ids=ids, max_len=max_len))
        require(got == expected, name,
                t("for ids={ids}, max_len={max_len}: pad with 0 at the end, cut from the end.", ids=ids, max_len=max_len))
    passed(name)


def check_hidden_size_experiment(small: tuple | None, verdict: str | None, baseline: nn.Module, test_ids: torch.Tensor,
                                 test_labels: torch.Tensor, hidden: int = 16) -> None:
    """Exercise 2: the student trained a GRU with `hidden` units and judged it against the baseline by the 2-SE rule."""
    name = t("Exercise 2 (hidden-size experiment)")
    require_answer(small, name)
    require(isinstance(small, tuple) and len(small) == 3 and isinstance(small[0], nn.Module), name,
            t("keep the whole result of train_rnn(...): small = train_rnn(\"SentencePiece\", COMPARE_EPOCHS, hidden=16)."))
    model, _, reported = small
    rnn_layer = getattr(model, "rnn", None)
    require(rnn_layer is not None and rnn_layer.hidden_size == hidden, name,
            t("train the experiment's model with hidden={hidden}; this one has a different number of hidden units.",
              hidden=hidden))
    small_correct = (predict(model, test_ids).argmax(1) == test_labels).numpy()
    require_own_score(reported, small_correct.mean, name)
    truth = paired_verdict(small_correct, (predict(baseline, test_ids).argmax(1) == test_labels).numpy())
    require_verdict(verdict, truth, name, t("compare the two models review by review with compare_paired(small_correct, "
                                            "base_correct, ...)"))
    passed(name, truth.sentence("test accuracy"))
