"""Project-template helpers: chance level, fold-safe scaling, CV, grid search, tiny MLP, requirement checks."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from course_utils import project
from course_utils.bundle import load_bundle
from course_utils.evaluation import Standardizer
from course_utils.project import (
    chance_level, grid_search, load_or_train_mnist_bundle, mlp_predictions, read_pins, train_mlp, verify_requirements,
)


def blobs(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    rows = rng.normal(0, 1, (n, 4)) + labels[:, None] * 3.0
    rows[:, 3] *= 1000  # a feature on a large scale
    return rows, labels


def test_chance_level() -> None:
    assert chance_level([0, 1] * 5) == 0.5
    assert chance_level(list(range(10)) * 3) == pytest.approx(0.1)
    assert chance_level(np.array([1, 1, 1, 0])) == 0.75
    assert chance_level(torch.tensor([2, 2, 0])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="no labels"):
        chance_level([])


def test_standardizer_learns_from_training_rows_only() -> None:
    train = np.array([[1.0, 5.0], [3.0, 5.0]])
    scaler = Standardizer.fit(train)
    assert np.allclose(scaler.transform(train), [[-1.0, 0.0], [1.0, 0.0]])  # a constant column maps to 0
    assert np.allclose(scaler.transform(np.array([[5.0, 6.0]])), [[3.0, 1.0]])
    assert scaler.to_preprocessing()["mean"] == [2.0, 5.0]
    with pytest.raises(ValueError, match="NaN"):
        Standardizer.fit(np.array([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match="2 features"):
        scaler.transform(np.zeros((1, 3)))


def test_grid_search_picks_the_best_mean() -> None:
    rows, labels = blobs()

    def make(threshold):
        return lambda train_x, train_y, val_x: (val_x[:, 0] > threshold).astype(int)

    search = grid_search(make, {"threshold": [5.0, 0.0, -5.0]}, rows, labels, k=4)
    assert search.best_params == {"threshold": 0.0}
    assert [row["threshold"] for row in search.table()] == [5.0, 0.0, -5.0]
    with pytest.raises(ValueError, match="at least one value"):
        grid_search(make, {"threshold": []}, rows, labels)


def test_train_mlp_learns_and_is_reproducible() -> None:
    rows, labels = blobs(200)
    scaled = Standardizer.fit(rows).transform(rows)
    threads = torch.get_num_threads()
    model, history = train_mlp(scaled, labels, (8,), epochs=15, lr=1e-2, seed=3)
    assert torch.get_num_threads() == threads
    assert (mlp_predictions(model, scaled) == labels).mean() > 0.9
    assert history.epochs == 15
    again, _ = train_mlp(scaled, labels, (8,), epochs=15, lr=1e-2, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    _, val_history = train_mlp(scaled[:150], labels[:150], (8,), epochs=5, seed=0,
                                      val=(scaled[150:], labels[150:]))
    assert 1 <= val_history.best_epoch <= 5


def test_requirement_pins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("# pins\ntorch==2.14.1\nScikit_Learn==0.0.1  # old\nrequests>=2\n")
    assert read_pins(req) == {"torch": "2.14.1", "scikit-learn": "0.0.1"}
    installed = {"torch": "2.14.1+cpu", "scikit-learn": "1.9.1", "httpx": "0.28.1"}  # a CPU wheel's local +cpu tag
    monkeypatch.setattr(project, "package_version", installed.__getitem__)
    rows = {r["package"]: r for r in verify_requirements(req, ["torch", "scikit-learn", "httpx"])}
    assert rows["torch"] == {"package": "torch", "pinned": "2.14.1", "installed": "2.14.1+cpu", "ok": True}
    assert rows["scikit-learn"]["ok"] is False
    assert rows["httpx"]["pinned"] == "not pinned" and rows["httpx"]["ok"] is False
    with pytest.raises(FileNotFoundError, match="requirements"):
        read_pins(tmp_path / "missing.txt")


def test_mnist_bundle_is_reused_or_trained(tmp_path: Path) -> None:
    from course_utils.mnist import load_fallback_subset

    images, labels, test_images, test_labels = load_fallback_subset()
    folder, trained = load_or_train_mnist_bundle(tmp_path / "missing", tmp_path / "fallback", images[:2000],
                                                 labels[:2000], epochs=2, hidden=(32,))
    assert trained and folder == tmp_path / "fallback"
    bundle = load_bundle(folder)
    accuracy = (bundle.predict_proba(test_images).argmax(1) == test_labels).float().mean().item()
    assert accuracy > 0.6
    reused, trained_again = load_or_train_mnist_bundle(folder, tmp_path / "other", images[:10], labels[:10])
    assert reused == folder and not trained_again and not (tmp_path / "other").exists()
