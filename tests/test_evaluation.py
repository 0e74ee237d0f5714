"""Train-and-score, K-fold cross-validation, random splits and sweeps on small synthetic problems."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.evaluation import (
    ScoreSpread, TrainSettings, capacity_sweep, cross_validate, make_optimizer, network_fit_predict, random_split_scores,
    selection_optimism, train_and_score, training_size_sweep,
)
from course_utils.models import FeedForwardNet
from course_utils.batches import TensorBatches
from course_utils.train import fit

FAST = TrainSettings(epochs=15, batch_size=32, lr=0.01)


def blobs(n: int = 200, seed: int = 0, features: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Two well separated Gaussian classes."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, features, generator=g) + 3.0 * y[:, None].float()
    return x, y


def make_model() -> nn.Module:
    return FeedForwardNet(8, (16,), num_classes=2, dropout=0.0)


def test_train_and_score_learns_a_separable_problem():
    x, y = blobs()
    run = train_and_score(make_model(), (x[:150], y[:150]), (x[150:], y[150:]), FAST)
    assert run.val_accuracy > 0.9 and run.train_accuracy > 0.9
    assert run.history.epochs == 15 and run.parameters == 8 * 16 + 16 + 16 * 2 + 2
    assert run.row()["val_error"] == pytest.approx(1 - run.val_accuracy)


def test_cross_validate_scores_every_fold_once_on_data_it_did_not_train_on():
    x, y = blobs(100)
    row_id = {tuple(row.tolist()): i for i, row in enumerate(x)}
    folds = []

    def always_one(train_x, train_y, val_x):
        ids = lambda rows: {row_id[tuple(row.tolist())] for row in rows}  # noqa: E731
        folds.append((ids(train_x), ids(val_x), torch.initial_seed()))
        return torch.ones(len(val_x), dtype=torch.long)

    result = cross_validate(always_one, x, y, k=5, seed=7)
    for train_ids, val_ids, _ in folds:
        assert not train_ids & val_ids and len(train_ids | val_ids) == 100, "trains on all the other folds only"
    assert sorted(i for _, val_ids, _ in folds for i in val_ids) == list(range(100)), "each sample validates once"
    expected = [float((y[sorted(val_ids)] == 1).float().mean()) for _, val_ids, _ in folds]
    assert result.scores == pytest.approx(expected) and result.sizes == [20] * 5
    assert [seed for *_, seed in folds] == [7, 8, 9, 10, 11], "fold f is seeded seed + f"
    assert result.summary().endswith("over 5 folds")


def test_network_cross_validation_matches_training_each_fold_by_hand():
    """The K-fold score of a network is the held-out accuracy of a fresh model trained on the other folds."""
    from course_utils.splits import kfold_indices

    x, y = blobs(90)
    x = x + 2.0 * torch.randn(x.shape, generator=torch.Generator().manual_seed(5))  # hard enough for errors
    settings = TrainSettings(epochs=3, batch_size=16, lr=0.01, patience=1)
    result = cross_validate(network_fit_predict(make_model, settings), x, y, k=3, seed=4)
    by_hand = []
    for fold, (train_idx, val_idx) in enumerate(kfold_indices(90, 3, 4)):
        torch.manual_seed(4 + fold)
        run = train_and_score(make_model(), (x[train_idx], y[train_idx]), (x[val_idx], y[val_idx]),
                              replace(settings, patience=None, restore_best=False), seed=4 + fold)
        by_hand.append(run.val_accuracy)
    assert result.scores == pytest.approx(by_hand)
    assert min(result.scores) < 1.0, "the noisy problem leaves errors to compare"


def test_cross_validate_is_reproducible_and_the_seed_matters():
    x, y = blobs(60)
    x = x + 2.0 * torch.randn(x.shape, generator=torch.Generator().manual_seed(2))
    fit_predict = network_fit_predict(make_model, TrainSettings(epochs=2, batch_size=16))
    a = cross_validate(fit_predict, x, y, k=3, seed=3)
    assert a.scores == cross_validate(fit_predict, x, y, k=3, seed=3).scores
    assert a.scores != cross_validate(fit_predict, x, y, k=3, seed=4).scores


def test_network_fit_predict_never_looks_at_the_held_out_rows(monkeypatch):
    import course_utils.evaluation as evaluation

    seen = {}
    real_fit = evaluation.fit

    def spy(model, train_batches, monitor, *args, **kwargs):
        seen.update(patience=kwargs["patience"], restore_best=kwargs["restore_best"],
                    monitored={tuple(row.tolist()) for xb, _ in monitor for row in xb})
        return real_fit(model, train_batches, monitor, *args, **kwargs)

    monkeypatch.setattr(evaluation, "fit", spy)
    x, y = blobs(40)
    fit_predict = network_fit_predict(make_model, TrainSettings(epochs=1, patience=1, restore_best=True))
    predicted = fit_predict(x[:30], y[:30], x[30:])
    assert seen["patience"] is None and seen["restore_best"] is False
    assert not seen["monitored"] & {tuple(row.tolist()) for row in x[30:]}
    assert predicted.shape == (10,) and predicted.dtype == torch.long


def test_cross_validate_scales_inside_folds_only_when_asked():
    rows = np.random.default_rng(0).normal(5.0, 3.0, (50, 2))
    labels = (rows[:, 0] > 5.0).astype(int)
    means = []

    def spy(train_x, train_y, val_x):
        means.append(train_x.mean(axis=0))
        return (val_x[:, 0] > (0.0 if len(means) > 5 else 5.0)).astype(int)

    plain = cross_validate(spy, rows, labels, k=5)
    scaled = cross_validate(spy, rows, labels, k=5, scale=True)
    assert all(abs(m[0] - 5.0) < 1.5 for m in means[:5]), "unscaled folds keep their units"
    assert all(np.allclose(m, 0.0) for m in means[5:]), "each training part is standardised with its own statistics"
    assert plain.mean > 0.9 and scaled.mean > 0.8
    with pytest.raises(ValueError, match="one predicted label per row"):
        cross_validate(lambda a, b, c: np.zeros(3), rows, labels, k=5)
    with pytest.raises(ValueError, match="must match"):
        cross_validate(spy, rows, labels[:-1])


def test_random_split_scores_differ_between_splits():
    x, y = blobs(60, features=8)
    x = x + 2.5 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))  # make it hard enough to vary
    fit_predict = network_fit_predict(make_model, TrainSettings(epochs=3, batch_size=16))
    result = random_split_scores(fit_predict, x, y, repeats=4)
    assert len(result.scores) == 4 and result.sizes == [12] * 4
    assert result.std > 0.0 and "random splits" in result.summary()


def test_random_split_scores_draws_a_new_split_for_every_repeat():
    x, y = blobs(50)
    row_id = {tuple(row.tolist()): i for i, row in enumerate(x)}
    ids = lambda rows: frozenset(row_id[tuple(row.tolist())] for row in rows)  # noqa: E731

    def splits(seed: int) -> list[tuple[frozenset, frozenset, int]]:
        seen = []

        def spy(train_x, train_y, val_x):
            seen.append((ids(train_x), ids(val_x), torch.initial_seed()))
            return torch.ones(len(val_x), dtype=torch.long)

        result = random_split_scores(spy, x, y, repeats=6, seed=seed)
        expected = [float((y[sorted(val)] == 1).float().mean()) for _, val, _ in seen]
        assert result.scores == pytest.approx(expected) and result.sizes == [10] * 6
        return seen

    seen = splits(0)
    for train, val, _ in seen:
        assert not train & val and len(train | val) == 50 and len(val) == 10
    assert len({val for _, val, _ in seen}) == 6, "every repeat holds out other rows"
    assert len({seed for *_, seed in seen}) == 6, "every repeat trains with its own seed"
    assert seen == splits(0), "the same seed, the same splits"
    other = splits(7)
    assert [val for _, val, _ in other] != [val for _, val, _ in seen], "another seed, other splits"
    assert other[0][1] != seen[0][1]


def test_score_spread_statistics():
    spread = ScoreSpread([0.8, 0.9, 1.0])
    assert spread.mean == pytest.approx(0.9)
    assert spread.std == pytest.approx(0.1)
    assert ScoreSpread([0.7]).std == 0.0


def test_capacity_sweep_rows_grow_in_parameters_and_bigger_net_fits_training_data_better():
    x, y = blobs(120)
    x = x + 2.0 * torch.randn(x.shape, generator=torch.Generator().manual_seed(2))
    rows = capacity_sweep([(1,), (64, 64)], (x[:80], y[:80]), (x[80:], y[80:]),
                          TrainSettings(epochs=12, batch_size=16, lr=0.01))
    assert [r["hidden"] for r in rows] == ["1", "64-64"]
    assert rows[0]["parameters"] < rows[1]["parameters"]
    assert rows[1]["train_error"] <= rows[0]["train_error"]


def test_training_size_sweep_uses_the_first_n_samples(monkeypatch):
    import course_utils.evaluation as evaluation

    x, y = blobs(100)
    seen = []
    real = evaluation.train_and_score

    def spy(model, train, val, *args, **kwargs):
        seen.append((train, val))
        return real(model, train, val, *args, **kwargs)

    monkeypatch.setattr(evaluation, "train_and_score", spy)
    rows = training_size_sweep(make_model, (x[:80], y[:80]), (x[80:], y[80:]), [10, 80], TrainSettings(epochs=2))
    assert [r["train_size"] for r in rows] == [10, 80]
    for n, (train, val) in zip([10, 80], seen):
        assert torch.equal(train[0], x[:n]) and torch.equal(train[1], y[:n]), "the first n samples, in order"
        assert torch.equal(val[0], x[80:]), "always the same validation set"


def test_fit_can_keep_last_epoch_parameters():
    x, y = blobs(80)
    torch.manual_seed(0)
    model = make_model()
    batches = TensorBatches(x, y, 16, shuffle=True)
    history = fit(model, batches, TensorBatches(x, y, 80), nn.CrossEntropyLoss(),
                  torch.optim.SGD(model.parameters(), lr=0.5), 6, progress=False, verbose=False, restore_best=False)
    from course_utils.train import evaluate
    last_loss, _ = evaluate(model, TensorBatches(x, y, 80), nn.CrossEntropyLoss())
    assert last_loss == pytest.approx(history.val_loss[-1], rel=1e-5)


def test_make_optimizer_gives_fused_adam_or_plain_sgd_with_the_settings():
    adam = make_optimizer(make_model(), TrainSettings(lr=0.02, weight_decay=1e-4))
    assert isinstance(adam, torch.optim.Adam) and adam.defaults["fused"]
    assert (adam.defaults["lr"], adam.defaults["weight_decay"]) == (0.02, 1e-4)
    sgd = make_optimizer(make_model(), TrainSettings(lr=0.5, optimizer="sgd"))
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["lr"] == 0.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"epochs": 0}, "epochs"), ({"batch_size": 0}, "batch_size"), ({"lr": -1.0}, "learning rate"),
     ({"weight_decay": -0.1}, "weight_decay"), ({"optimizer": "rmsprop"}, "optimizer")],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainSettings(**kwargs)


def test_mismatched_or_empty_data_is_named():
    x, y = blobs(20)
    with pytest.raises(ValueError, match="train: inputs has 20 rows but targets has 19"):
        train_and_score(make_model(), (x, y[:19]), (x, y), FAST)
    with pytest.raises(ValueError, match="validation is empty"):
        train_and_score(make_model(), (x, y), (x[:0], y[:0]), FAST)
    with pytest.raises(ValueError, match="Cannot make 5 folds from 3"):
        cross_validate(network_fit_predict(make_model), x[:3], y[:3], k=5)
    with pytest.raises(ValueError, match="sizes must be integers"):
        training_size_sweep(make_model, (x, y), (x, y), [0, 50])
    with pytest.raises(ValueError, match="at least one hidden-layer"):
        capacity_sweep([], (x, y), (x, y))


def test_selection_optimism_flatters_the_test_pick_and_leaves_the_validation_pick_honest():
    # 20 candidates of equal quality on a pool in an unlucky order: every candidate is right on 90 % of the first half
    # and 80 % of the second, so fresh data taken from one fixed part of the pool would not be like the drawn sets
    rng = np.random.default_rng(0)
    correct = np.concatenate([rng.random((20, 3000)) < 0.9, rng.random((20, 3000)) < 0.8], axis=1)
    games = selection_optimism(correct, 100, 3000, seed=1)
    on_test = games["test_reported"] - games["test_fresh"]
    on_val = games["val_reported"] - games["val_fresh"]
    se = on_val.std() / np.sqrt(len(on_val))
    assert on_test.mean() > 0.02, "the best of 20 noisy 100-digit scores is lucky"
    assert abs(on_val.mean()) < 3 * se, "a pick scored once on a set it was not chosen on is centred on its fresh score"
    assert np.all(games["val_reported"] <= games["test_reported"]), "no pick beats the best on the test set"


def test_selection_optimism_scores_each_pick_on_the_digits_its_game_did_not_draw():
    correct = np.zeros((1, 30))
    correct[0, :10] = 1  # one candidate, right on 10 of 30 digits: test, validation and fresh sets of 10 share them
    games = selection_optimism(correct, 10, 300, seed=0)
    assert np.all(games["test_reported"] + games["test_fresh"] <= 1 + 1e-12)
    assert games["test_fresh"].std() > 0, "the fresh digits change from game to game"
    assert games["test_fresh"].mean() == pytest.approx(1 / 3, abs=0.03)


def test_selection_optimism_refuses_a_pool_too_small_for_three_sets():
    with pytest.raises(ValueError, match="at least 30 digits.*smaller SMALL_TEST"):
        selection_optimism(np.ones((3, 29)), 10, 5)
    with pytest.raises(ValueError, match="candidates, digits"):
        selection_optimism(np.ones(29), 10, 5)
    with pytest.raises(ValueError, match="repeats must be a positive integer"):
        selection_optimism(np.ones((3, 30)), 10, 0)
