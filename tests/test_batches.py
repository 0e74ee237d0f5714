import pytest
import torch

from course_utils.batches import TensorBatches


def test_each_epoch_covers_every_sample_once_in_a_new_order():
    x = torch.arange(10).float().unsqueeze(1)
    batches = TensorBatches(x, torch.arange(10), batch_size=3, shuffle=True, seed=1)
    epochs = [torch.cat([yb for _, yb in batches]).tolist() for _ in range(2)]
    assert all(sorted(e) == list(range(10)) for e in epochs)
    assert epochs[0] != epochs[1]
    assert len(batches) == 4


def epoch_order(seed: int, epochs: int = 2) -> list[list[int]]:
    """Targets in the order a fresh shuffled TensorBatches yields them, for each of several epochs."""
    batches = TensorBatches(torch.zeros(20, 1), torch.arange(20), 4, shuffle=True, seed=seed)
    return [torch.cat([yb for _, yb in batches]).tolist() for _ in range(epochs)]


def test_the_shuffle_order_follows_the_seed():
    assert epoch_order(7) == epoch_order(7)
    assert epoch_order(7)[0] != epoch_order(8)[0], "a different seed must give a different order"
    assert epoch_order(7)[0] != list(range(20))


def test_inputs_stay_paired_with_targets():
    x = torch.arange(50).float().unsqueeze(1) * 2
    for xb, yb in TensorBatches(x, torch.arange(50), 8, shuffle=True):
        assert torch.equal(xb.squeeze(1), yb.float() * 2)


def test_drop_last_and_unshuffled_order():
    batches = TensorBatches(torch.zeros(10, 1), torch.arange(10), 4, drop_last=True)
    assert len(batches) == 2 and batches.num_samples == 8
    assert [yb.tolist() for _, yb in batches] == [[0, 1, 2, 3], [4, 5, 6, 7]]


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_bad_batch_size_is_rejected(bad):
    with pytest.raises(ValueError, match="batch_size"):
        TensorBatches(torch.zeros(4, 1), torch.zeros(4), bad)


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError, match="3 rows but targets has 4"):
        TensorBatches(torch.zeros(3, 1), torch.zeros(4))


def test_empty_data_is_rejected():
    with pytest.raises(ValueError, match="empty"):
        TensorBatches(torch.zeros(0, 1), torch.zeros(0))


def test_shuffled_drop_last_yields_only_full_batches_of_distinct_samples():
    batches = TensorBatches(torch.zeros(10, 1), torch.arange(10), 4, shuffle=True, drop_last=True)
    seen = [yb.tolist() for _, yb in batches]
    assert [len(b) for b in seen] == [4, 4] and len(set(seen[0] + seen[1])) == 8
