import pytest
import torch

from course_utils.splits import kfold_indices, split_indices, split_sizes


def test_course_split_is_60_20_20_disjoint_and_complete():
    parts = split_indices(1000, seed=3)
    assert [len(p) for p in parts] == [600, 200, 200]
    assert sorted(torch.cat(parts).tolist()) == list(range(1000))


def test_split_is_reproducible_and_seed_dependent():
    assert torch.equal(split_indices(100, seed=1)[0], split_indices(100, seed=1)[0])
    assert not torch.equal(split_indices(100, seed=1)[0], split_indices(100, seed=2)[0])


def test_sizes_add_up_for_awkward_numbers():
    assert sum(split_sizes(7, (0.6, 0.2, 0.2))) == 7
    assert split_sizes(60_000, (0.8, 0.2)) == [48_000, 12_000]


@pytest.mark.parametrize("ratios, message", [
    ((0.6, 0.3, 0.2), "add up to 1"),
    ((0.5, 0.6, -0.1), "positive"),
    ((1.0,), "Give 2 ratios"),
    ((0.25, 0.25, 0.25, 0.25), "Give 2 ratios"),
])
def test_wrong_ratios_are_rejected(ratios, message):
    with pytest.raises(ValueError, match=message):
        split_indices(100, ratios)


def test_too_few_samples_is_rejected():
    with pytest.raises(ValueError, match="too few"):
        split_indices(2, (0.6, 0.2, 0.2))


def test_kfold_each_sample_validates_exactly_once():
    folds = kfold_indices(23, k=5, seed=0)
    assert len(folds) == 5
    assert sorted(torch.cat([val for _, val in folds]).tolist()) == list(range(23))
    for train, val in folds:
        assert not set(train.tolist()) & set(val.tolist())
        assert len(train) + len(val) == 23


def test_kfold_rejects_bad_k():
    with pytest.raises(ValueError, match="at least 2"):
        kfold_indices(10, k=1)
    with pytest.raises(ValueError, match="Cannot make 20 folds"):
        kfold_indices(10, k=20)


def test_kfold_folds_are_balanced_shuffled_and_follow_the_seed():
    folds = kfold_indices(23, k=5, seed=0)
    assert [len(val) for _, val in folds] == [5, 5, 5, 4, 4]
    assert folds[0][1].tolist() != list(range(5)), "folds are drawn at random, not in file order"
    same = kfold_indices(23, k=5, seed=0)
    assert all(torch.equal(a[1], b[1]) for a, b in zip(folds, same))
    assert not torch.equal(kfold_indices(23, k=5, seed=1)[0][1], folds[0][1])
