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


def resumable_run(seed: int = 0) -> tuple[nn.Module, TensorBatches, TensorBatches, torch.optim.Optimizer,
                                          torch.optim.lr_scheduler.LRScheduler]:
    """A model, unshuffled batches (so an interrupted run can replay the same updates), Adam and a scheduler."""
    torch.manual_seed(seed)
    x, y = blobs()
    model = FeedForwardNet(2, [16], 3, dropout=0.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)  # counts epochs
    return model, TensorBatches(x[:300], y[:300], 32), TensorBatches(x[300:], y[300:], 100), optimizer, scheduler


def assert_same_tensors(a: dict, b: dict) -> None:
    """Assert two state dicts hold the same keys and bit-identical tensors."""
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def without_times(history: History) -> dict:
    """History fields that do not depend on the wall clock."""
    return {k: v for k, v in history.as_dict().items() if k != "epoch_seconds"}


def test_resumed_training_continues_exactly_like_an_uninterrupted_run(tmp_path):
    # Reference: 4 epochs in one go. Resumed: 2 epochs with a checkpoint, then a fresh process (other initial
    # weights, fresh Adam moments, fresh scheduler) resumes to 4. Skipping the weights, the optimiser state or
    # the scheduler state on resume changes the weights after epochs 3-4.
    model, train, val, opt, sched = resumable_run()
    reference = fit(model, train, val, nn.CrossEntropyLoss(), opt, 4, scheduler=sched, restore_best=False, verbose=False)
    path = tmp_path / "ckpt.pt"
    model1, train1, val1, opt1, sched1 = resumable_run()
    fit(model1, train1, val1, nn.CrossEntropyLoss(), opt1, 2, scheduler=sched1, checkpoint_path=path,
        restore_best=False, verbose=False)
    model2, train2, val2, opt2, sched2 = resumable_run(seed=5)
    assert not torch.equal(model2[0].weight, model1[0].weight)
    resumed = fit(model2, train2, val2, nn.CrossEntropyLoss(), opt2, 4, scheduler=sched2, checkpoint_path=path,
                  resume=True, restore_best=False, verbose=False)
    assert without_times(resumed) == without_times(reference)
    assert_same_tensors(model2.state_dict(), model.state_dict())
    state2, state = opt2.state_dict(), opt.state_dict()
    assert state2["param_groups"] == state["param_groups"]  # includes the scheduled learning rate
    for index, moments in state["state"].items():
        assert_same_tensors(state2["state"][index], moments)


def test_resume_keeps_the_best_parameters_saved_before_the_interruption(tmp_path):
    # lr=0.5 SGD makes the validation loss best early; a resume that forgets the checkpoint's best model
    # would restore epoch-2 (or later) parameters instead.
    model, train, _, opt = setup(lr=0.5)
    x, y = blobs()
    flipped = TensorBatches(x[300:], (y[300:] + 1) % 3, 100)  # validation labels the model learns to get wrong
    reference = fit(model, train, flipped, nn.CrossEntropyLoss(), opt, 4, verbose=False)
    assert reference.best_epoch == 1
    path = tmp_path / "ckpt.pt"
    model1, train1, _, opt1 = setup(lr=0.5)
    fit(model1, train1, flipped, nn.CrossEntropyLoss(), opt1, 2, checkpoint_path=path, verbose=False)
    model2, train2, _, opt2 = setup(seed=5, lr=0.5)
    resumed = fit(model2, train2, flipped, nn.CrossEntropyLoss(), opt2, 4, checkpoint_path=path, resume=True,
                  verbose=False)
    assert resumed.best_epoch == 1 and resumed.val_loss[:2] == reference.val_loss[:2]
    assert_same_tensors(model2.state_dict(), model.state_dict())


def uneven_problem() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A fixed linear classifier and 7 samples whose per-sample losses and hits differ a lot between rows."""
    model = nn.Linear(1, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0], [-1.0]]))
        model.bias.zero_()
    x = torch.tensor([[3.0], [2.0], [1.0], [0.5], [-2.0], [4.0], [3.0]])
    y = torch.tensor([0, 0, 0, 1, 0, 1, 1])  # batches of 5 and 2: first batch 3/5 right, second 0/2 right
    return model, x, y


def test_evaluate_averages_over_samples_when_the_last_batch_is_smaller():
    model, x, y = uneven_problem()
    loss_fn = nn.CrossEntropyLoss()
    with torch.no_grad():
        outputs = model(x)
        batch_means = [loss_fn(model(x[:5]), y[:5]).item(), loss_fn(model(x[5:]), y[5:]).item()]
    per_sample = loss_fn(outputs, y).item()
    assert abs(sum(batch_means) / 2 - per_sample) > 0.5, "the data must separate the two averages"
    loss, acc = evaluate(model, TensorBatches(x, y, 5), loss_fn)
    assert loss == pytest.approx(per_sample, rel=1e-6)
    assert acc == pytest.approx(3 / 7)  # a mean of the batch accuracies would give (3/5 + 0/2) / 2 = 0.3


def test_fit_history_holds_per_sample_means_on_both_splits():
    model, x, y = uneven_problem()
    loss_fn = nn.CrossEntropyLoss()
    with torch.no_grad():
        per_sample = loss_fn(model(x), y).item()
    history = fit(model, TensorBatches(x, y, 5), TensorBatches(x, y, 5), loss_fn,
                  torch.optim.SGD(model.parameters(), lr=0.0), 1, verbose=False)  # lr 0: the model never changes
    assert history.train_loss[0] == pytest.approx(per_sample, rel=1e-6)
    assert history.val_loss[0] == pytest.approx(per_sample, rel=1e-6)
    assert history.train_metric == pytest.approx([3 / 7]) and history.val_metric == pytest.approx([3 / 7])


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


@pytest.mark.parametrize("clip", [None, 0.1])
def test_gradient_clipping_bounds_every_step_to_max_grad_norm(clip):
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    x, y = torch.randn(8, 4) * 100, torch.randint(0, 2, (8,))  # large inputs: a gradient norm far above 0.1
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    fit(model, TensorBatches(x, y, 8), TensorBatches(x, y, 8), nn.CrossEntropyLoss(),
        torch.optim.SGD(model.parameters(), lr=1.0), 1, progress=False, verbose=False, restore_best=False, max_grad_norm=clip)
    step = (torch.cat([p.detach().flatten() for p in model.parameters()]) - before).norm().item()
    if clip is None:
        assert step > 1.0
    else:
        assert step == pytest.approx(clip, rel=1e-4)


def test_bad_max_grad_norm_is_refused_with_its_name():
    model = nn.Linear(2, 2)
    batches = TensorBatches(torch.randn(4, 2), torch.tensor([0, 1, 0, 1]), 4)
    with pytest.raises(ValueError, match="max_grad_norm"):
        fit(model, batches, batches, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), 1,
            progress=False, verbose=False, max_grad_norm=0)
