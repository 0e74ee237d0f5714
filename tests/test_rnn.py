"""course_utils.rnn: padding is ignored, embeddings load and freeze, the classifier learns a toy task with fit()."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from course_utils.batches import TensorBatches
from course_utils.rnn import RNNClassifier, count_parameters, make_optimizer
from course_utils.train import evaluate, fit


@pytest.mark.parametrize("padding", ["packed", "masked"])
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_extra_padding_does_not_change_the_output(cell, padding):
    torch.manual_seed(0)
    model = RNNClassifier(20, 8, 6, cell=cell, padding=padding, bidirectional=False).eval()
    short = torch.tensor([[3, 4, 5, 0]])
    longer = torch.tensor([[3, 4, 5, 0, 0, 0, 0, 0]])
    assert torch.allclose(model(short), model(longer), atol=1e-6)


def test_packed_bidirectional_ignores_padding_but_masked_backward_reads_it():
    torch.manual_seed(0)
    packed = RNNClassifier(20, 8, 6, padding="packed").eval()
    masked = RNNClassifier(20, 8, 6, padding="masked").eval()
    masked.load_state_dict(packed.state_dict())
    a, b = torch.tensor([[3, 4, 5, 0]]), torch.tensor([[3, 4, 5] + [0] * 20])
    assert torch.allclose(packed(a), packed(b), atol=1e-6)
    assert not torch.allclose(masked(a), masked(b), atol=1e-6)


def test_pretrained_embeddings_are_copied_and_frozen_or_fine_tuned():
    vectors = torch.randn(10, 4)
    frozen = RNNClassifier(10, embeddings=vectors, freeze_embeddings=True, hidden=3)
    tuned = RNNClassifier(10, embeddings=vectors, freeze_embeddings=False, hidden=3)
    assert torch.equal(frozen.embedding.weight.data, vectors)
    assert count_parameters(tuned) - count_parameters(frozen) == 40
    opt = make_optimizer(frozen)
    assert opt.defaults["fused"]
    assert all(p is not frozen.embedding.weight for group in opt.param_groups for p in group["params"])
    with pytest.raises(ValueError, match="rows but the vocabulary has"):
        RNNClassifier(11, embeddings=vectors)


def test_bad_cell_or_padding_is_refused():
    with pytest.raises(ValueError, match="cell"):
        RNNClassifier(10, cell="transformer")
    with pytest.raises(ValueError, match="padding"):
        RNNClassifier(10, padding="none")


def test_learns_whether_a_sequence_contains_the_good_token_with_fit():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(3, 20, (600, 12), generator=g)
    lengths = torch.randint(3, 13, (600,), generator=g)
    x[torch.arange(12)[None, :] >= lengths[:, None]] = 0
    y = (x == 3).any(1).long()
    torch.manual_seed(0)
    model = RNNClassifier(20, 16, 16, dropout=0.0)
    history = fit(model, TensorBatches(x[:500], y[:500], 32, shuffle=True), TensorBatches(x[500:], y[500:], 100),
                  nn.CrossEntropyLoss(), make_optimizer(model, 1e-2), epochs=8, progress=False, verbose=False)
    assert evaluate(model, TensorBatches(x[500:], y[500:], 100), nn.CrossEntropyLoss())[1] > 0.9
    assert history.best_epoch >= 1
