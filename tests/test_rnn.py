"""course_utils.rnn: padding is ignored, embeddings load and freeze, the classifier learns a toy task with fit()."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from course_utils.batches import TensorBatches
from course_utils import rnn
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


def padded_rows(lengths: list[int], seed: int = 0) -> torch.Tensor:
    """Rows of ids 2.. (never 0) of the given lengths, padded with 0 to the longest."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    for i, n in enumerate(lengths):
        ids[i, :n] = torch.randint(2, 50, (n,), generator=g)
    return ids


def test_length_buckets_visit_every_row_once_with_its_own_label_cut_to_the_batch_longest():
    lengths = [1 + (i * 7) % 40 for i in range(1000)]
    ids = padded_rows(lengths)
    labels = torch.arange(1000)  # a row's label is its index: batches must keep rows and labels together
    buckets = rnn.LengthBuckets(ids, labels, batch_size=32, seed=3, pool=5)
    seen = []
    spans = []
    for xb, yb in buckets:
        assert xb.shape[1] == max(lengths[i] for i in yb.tolist()), "cut to the longest row of the batch"
        for row, label in zip(xb, yb.tolist()):
            assert torch.equal(row[: lengths[label]], ids[label, : lengths[label]]), "the row is its label's row"
        seen += yb.tolist()
        spans.append(max(lengths[i] for i in yb.tolist()) - min(lengths[i] for i in yb.tolist()))
    assert sorted(seen) == list(range(1000)) and len(buckets) == len(spans) == 32
    assert sum(spans) / len(spans) < 10, "rows of similar length share a batch (random batches span ~39)"


def test_length_buckets_reshuffle_each_epoch_and_follow_the_seed():
    ids, labels = padded_rows([1 + i % 30 for i in range(600)]), torch.arange(600)
    order = lambda b: [yb.tolist() for _, yb in b]  # noqa: E731
    a, b, c = (rnn.LengthBuckets(ids, labels, 16, seed=s, pool=4) for s in (1, 1, 2))
    first = order(a)
    assert first == order(b), "same seed, same batches"
    assert first != order(c), "another seed, other batches"
    assert first != order(a), "a new epoch, a new order"


def test_length_buckets_refuse_bad_input():
    with pytest.raises(ValueError, match="must match"):
        rnn.LengthBuckets(padded_rows([3, 4]), torch.tensor([0]))
    with pytest.raises(ValueError, match="batch_size"):
        rnn.LengthBuckets(padded_rows([3, 4]), torch.tensor([0, 1]), batch_size=0)


def test_length_buckets_regroup_the_rows_each_epoch_not_only_reorder_the_batches():
    ids, labels = padded_rows([1 + i % 30 for i in range(600)]), torch.arange(600)
    groups = lambda b: {frozenset(yb.tolist()) for _, yb in b}  # noqa: E731  which rows share a batch
    a, b, c = (rnn.LengthBuckets(ids, labels, 16, seed=s, pool=4) for s in (5, 5, 6))
    first, second = groups(a), groups(a)
    assert first == groups(b), "same seed, same batches"
    assert first != second, "a new epoch puts other rows together"
    assert first != groups(c), "another seed puts other rows together"


def test_length_buckets_visit_short_and_long_batches_in_random_order():
    lengths = [1 + (i * 13) % 50 for i in range(640)]
    buckets = rnn.LengthBuckets(padded_rows(lengths), torch.arange(640), batch_size=16, seed=0, pool=1000)  # one pool
    epochs = [[max(lengths[i] for i in yb.tolist()) for _, yb in buckets] for _ in range(2)]
    for longest in epochs:
        assert len(longest) == 40 and longest != sorted(longest) and longest != sorted(longest, reverse=True)
        assert sorted(longest) == sorted(epochs[0]), "the same length-sorted batches, visited in another order"
    assert epochs[0] != epochs[1]


@pytest.mark.parametrize("padding", ["packed", "masked"])
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_an_all_padding_review_reaches_the_rnn_with_length_one_and_scores_as_nothing_read(cell, padding, monkeypatch):
    """A review of length 0 (every id padding) must not reach pack_padded_sequence as length 0 (it raises)."""
    seen = []
    real = rnn.pack_padded_sequence

    def spy(inputs, lengths, *args, **kwargs):
        seen.append(lengths.clone())
        return real(inputs, lengths, *args, **kwargs)

    monkeypatch.setattr(rnn, "pack_padded_sequence", spy)
    torch.manual_seed(0)
    model = RNNClassifier(20, 8, 6, cell=cell, padding=padding).eval()
    batch = torch.tensor([[3, 4, 5, 6], [0, 0, 0, 0], [7, 8, 0, 0]])
    out = model(batch)
    assert torch.isfinite(out).all()
    assert torch.allclose(out[1], model.head.bias), "nothing read: the pooled features are 0, the score is the bias"
    assert torch.allclose(out[0], model(batch[:1])[0], atol=1e-6) and torch.allclose(out[2], model(batch[2:])[0], atol=1e-6)
    only_padding = model(torch.zeros(2, 5, dtype=torch.long))
    assert torch.allclose(only_padding, model.head.bias.expand(2, -1))
    if padding == "packed":
        assert seen and all(int(lengths.min()) >= 1 for lengths in seen)
        assert seen[0].tolist() == [4, 1, 2]
    model.train()
    loss = nn.functional.cross_entropy(model(batch), torch.tensor([1, 0, 1]))
    loss.backward()
    assert torch.isfinite(loss) and all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_length_buckets_with_empty_reviews_give_batches_the_model_can_read():
    lengths = [0] * 40 + [1 + i % 9 for i in range(60)]
    ids = torch.zeros(100, 9, dtype=torch.long)
    ids[40:] = padded_rows(lengths[40:])
    buckets = rnn.LengthBuckets(ids, torch.arange(100), batch_size=8, seed=0, pool=20)
    torch.manual_seed(0)
    model = RNNClassifier(60, 8, 6).eval()
    widths = []
    for xb, yb in buckets:
        widths.append(xb.shape[1])
        assert xb.shape[1] == max(1, max(lengths[i] for i in yb.tolist())), "cut to the longest row, never to 0"
        assert torch.isfinite(model(xb)).all()
    assert min(widths) == 1 and sum(len(yb) for _, yb in buckets) == 100
