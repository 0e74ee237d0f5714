import pytest
import torch
from torch import nn

from course_utils.batches import TensorBatches
from course_utils.models import FeedForwardNet, count_parameters
from course_utils.train import History, accuracy, evaluate, fit, load_weights, predict, save_weights


def blobs(n=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    centres = torch.tensor([[0.0, 4.0], [4.0, 0.0], [-4.0, -4.0]])
    return centres[y] + torch.randn(n, 2, generator=g), y


def setup(seed=0, lr=0.05):
    torch.manual_seed(seed)
    x, y = blobs()
    model = FeedForwardNet(2, [16], 3, dropout=0.0)
    return (model, TensorBatches(x[:300], y[:300], 32, shuffle=True, seed=seed), TensorBatches(x[300:], y[300:], 100),
            torch.optim.SGD(model.parameters(), lr=lr))


def test_fit_learns_a_separable_problem_and_records_history():
    model, train, val, opt = setup()
    history = fit(model, train, val, nn.CrossEntropyLoss(), opt, 5, verbose=False)
    assert history.epochs == 5 and len(history.val_metric) == 5
    assert history.val_metric[-1] > 0.95
    assert history.train_loss[-1] < history.train_loss[0]


def test_fit_restores_the_lowest_validation_loss_parameters():
    model, train, val, opt = setup(lr=0.5)
    history = fit(model, train, val, nn.CrossEntropyLoss(), opt, 6, verbose=False)
    final_loss, _ = evaluate(model, val, nn.CrossEntropyLoss())
    assert final_loss == pytest.approx(min(history.val_loss), rel=1e-5)
    assert history.best_val_loss == min(history.val_loss)


def test_early_stopping_stops_after_patience_epochs():
    model, train, val, opt = setup()
    opt = torch.optim.SGD(model.parameters(), lr=0.0)  # nothing improves after epoch 1
    history = fit(model, train, val, nn.CrossEntropyLoss(), opt, 20, patience=2, verbose=False)
    assert history.epochs == 3 and history.best_epoch == 1


def test_checkpoint_allows_resuming_where_training_stopped(tmp_path):
    model, train, val, opt = setup()
    path = tmp_path / "ckpt.pt"
    first = fit(model, train, val, nn.CrossEntropyLoss(), opt, 2, checkpoint_path=path, verbose=False)
    assert path.is_file() and first.epochs == 2
    model2, train2, val2, opt2 = setup(seed=5)
    resumed = fit(model2, train2, val2, nn.CrossEntropyLoss(), opt2, 4, checkpoint_path=path, resume=True, verbose=False)
    assert resumed.epochs == 4
    assert resumed.train_loss[:2] == first.train_loss


def test_diverging_training_stops_with_advice():
    model, train, val, _ = setup()
    with torch.no_grad():
        model[0].weight.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="learning rate"):
        fit(model, train, val, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), 2, verbose=False)


def test_bad_epochs_rejected():
    model, train, val, opt = setup()
    with pytest.raises(ValueError, match="EPOCHS"):
        fit(model, train, val, nn.CrossEntropyLoss(), opt, 0)


def test_scheduler_is_stepped_once_per_epoch():
    model, train, val, opt = setup()
    scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    fit(model, train, val, nn.CrossEntropyLoss(), opt, 3, scheduler=scheduler, verbose=False)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05 / 8)


def test_predict_matches_model_in_eval_mode():
    model, *_ = setup()
    x = torch.randn(10, 2)
    model.eval()
    assert torch.allclose(predict(model, x, batch_size=3), model(x))


def test_accuracy():
    assert accuracy(torch.tensor([[2.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 0])) == 0.5


def test_weights_round_trip(tmp_path):
    model, *_ = setup()
    save_weights(model, tmp_path / "w.pt")
    other = FeedForwardNet(2, [16], 3, dropout=0.0)
    load_weights(other, tmp_path / "w.pt")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values()))


def test_loading_into_a_different_architecture_explains(tmp_path):
    model, *_ = setup()
    save_weights(model, tmp_path / "w.pt")
    with pytest.raises(ValueError, match="same layer sizes"):
        load_weights(FeedForwardNet(2, [8], 3), tmp_path / "w.pt")


def test_missing_or_corrupt_weights_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="Train the model first"):
        load_weights(FeedForwardNet(2, [4], 3), tmp_path / "absent.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not a readable weights file"):
        load_weights(FeedForwardNet(2, [4], 3), tmp_path / "bad.pt")


def test_feed_forward_net_shape_and_count():
    net = FeedForwardNet(784, [512, 256], 10)
    assert count_parameters(net) == 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10
    with pytest.raises(ValueError, match="activation"):
        FeedForwardNet(4, [2], 2, activation="swishy")


def test_history_as_dict_round_trips():
    h = History(train_loss=[1.0], val_loss=[0.5], train_metric=[0.1], val_metric=[0.2], epoch_seconds=[1.0], best_epoch=1)
    assert History(**h.as_dict()) == h


def test_progress_bars_follow_the_environment_by_default(monkeypatch, capsys):
    model, train, val, opt = setup()
    monkeypatch.setenv("COURSE_PROGRESS", "1")
    fit(model, train, val, nn.CrossEntropyLoss(), opt, 1, verbose=False)
    assert "epoch 1/1" in capsys.readouterr().err
    monkeypatch.setenv("COURSE_PROGRESS", "0")
    fit(model, train, val, nn.CrossEntropyLoss(), opt, 1, verbose=False)
    assert "epoch 1/1" not in capsys.readouterr().err
