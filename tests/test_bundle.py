"""Model bundles: round trip, exact predictions, and clear errors for missing or damaged bundles."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from course_utils.bundle import (
    META_FILE, WEIGHTS_FILE, BundleError, image_input_spec, load_bundle, pixel_preprocessing, read_bundle_meta,
    save_bundle, standardize_preprocessing, tabular_input_spec,
)
from course_utils.mnist import MNIST_MEAN, MNIST_STD, to_inputs
from course_utils.models import FeedForwardNet


def mnist_bundle(folder: Path) -> FeedForwardNet:
    """Save a small untrained MNIST-shaped net as a bundle and return it."""
    torch.manual_seed(0)
    model = FeedForwardNet(784, (16,), 10).eval()
    save_bundle(folder, model, name="mnist_fnn", classes=[str(d) for d in range(10)], input_spec=image_input_spec(),
                preprocessing=pixel_preprocessing(MNIST_MEAN, MNIST_STD), metrics={"test_accuracy": 0.5})
    return model


def test_round_trip_gives_identical_predictions(tmp_path: Path) -> None:
    model = mnist_bundle(tmp_path / "b")
    bundle = load_bundle(tmp_path / "b")
    images = torch.randint(0, 256, (7, 28, 28), dtype=torch.uint8)
    with torch.no_grad():
        expected = torch.softmax(model(to_inputs(images)), dim=1)
    assert torch.equal(bundle.predict_proba(images), expected)
    assert bundle.classes == [str(d) for d in range(10)]
    assert bundle.metrics == {"test_accuracy": 0.5}
    assert bundle.describe()["config"]["hidden"] == [16]
    assert not bundle.model.training
    # One image without a batch dimension and a flat list of 784 values give the same answer.
    assert torch.allclose(bundle.predict_proba(images[0]), expected[:1], atol=1e-6)  # batch of 1: other BLAS path
    assert torch.allclose(bundle.predict_proba(images[0].flatten().tolist()), expected[:1])
    assert torch.equal(bundle.predict_proba(images.reshape(7, 784)), expected)  # a batch of flat images


def test_tabular_bundle_standardizes_per_feature(tmp_path: Path) -> None:
    model = FeedForwardNet(3, (4,), 2, dropout=0.0).eval()
    mean, std = np.array([1.0, 2.0, 3.0]), np.array([0.5, 1.0, 2.0])
    save_bundle(tmp_path / "t", model, name="tab", classes=["no", "yes"], input_spec=tabular_input_spec(["a", "b", "c"]),
                preprocessing=standardize_preprocessing(mean, std))
    bundle = load_bundle(tmp_path / "t")
    rows = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 7.0]])
    assert torch.allclose(bundle.preprocess(rows), torch.tensor([[0.0, 0.0, 0.0], [2.0, 2.0, 2.0]]))
    # float64 rows are scaled in float64, exactly like a NumPy scaler, before the model sees float32.
    rng = np.random.default_rng(0)
    raw = rng.normal(5.0, 3.0, size=(6, 3))
    with torch.no_grad():
        expected = torch.softmax(model(torch.as_tensor((raw - mean) / std, dtype=torch.float32)), dim=1)
    assert torch.equal(bundle.predict_proba(raw), expected)
    with pytest.raises(ValueError, match="Expected 3 values"):
        bundle.preprocess([[1.0, 2.0]])


def test_weights_file_holds_only_tensors(tmp_path: Path) -> None:
    mnist_bundle(tmp_path / "b")
    state = torch.load(tmp_path / "b" / WEIGHTS_FILE, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    meta = json.loads((tmp_path / "b" / META_FILE).read_text())
    assert meta["architecture"] == "FeedForwardNet" and len(meta["weights_sha256"]) == 64


def test_missing_bundle_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="No model bundle .*save_bundle"):
        load_bundle(tmp_path / "nowhere")


def test_missing_weights_file(tmp_path: Path) -> None:
    mnist_bundle(tmp_path / "b")
    (tmp_path / "b" / WEIGHTS_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="has no weights.pt"):
        load_bundle(tmp_path / "b")


def test_corrupt_weights_are_refused(tmp_path: Path) -> None:
    mnist_bundle(tmp_path / "b")
    weights = tmp_path / "b" / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(BundleError, match="checksum"):
        load_bundle(tmp_path / "b")
    # Without a checksum to compare against, torch itself fails to read it: still a clear BundleError.
    meta = json.loads((tmp_path / "b" / META_FILE).read_text())
    del meta["weights_sha256"]
    (tmp_path / "b" / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="not a readable weights file"):
        load_bundle(tmp_path / "b")


def test_corrupt_or_incomplete_json(tmp_path: Path) -> None:
    mnist_bundle(tmp_path / "b")
    (tmp_path / "b" / META_FILE).write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        read_bundle_meta(tmp_path / "b")
    (tmp_path / "b" / META_FILE).write_text(json.dumps({"name": "x"}))
    with pytest.raises(BundleError, match="lacks architecture"):
        load_bundle(tmp_path / "b")


def test_config_that_does_not_fit_weights(tmp_path: Path) -> None:
    mnist_bundle(tmp_path / "b")
    meta = json.loads((tmp_path / "b" / META_FILE).read_text())
    meta["config"]["hidden"] = [32]
    (tmp_path / "b" / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="do not fit the architecture"):
        load_bundle(tmp_path / "b")


def test_bundle_path_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "f.pt").write_bytes(b"x")
    with pytest.raises(BundleError, match="is a file"):
        load_bundle(tmp_path / "f.pt")


def test_save_rejects_bad_metadata(tmp_path: Path) -> None:
    model = FeedForwardNet(784, (8,), 10)
    kwargs = dict(name="m", input_spec=image_input_spec(), preprocessing=pixel_preprocessing(0.1, 0.3))
    with pytest.raises(ValueError, match="distinct class names"):
        save_bundle(tmp_path / "a", model, classes=["1", "1"], **kwargs)
    with pytest.raises(TypeError, match="plain JSON"):
        save_bundle(tmp_path / "a", model, classes=list("0123456789"), metrics={"acc": object()}, **kwargs)
    with pytest.raises(ValueError, match="not known to bundles"):
        save_bundle(tmp_path / "a", torch.nn.Linear(2, 2), classes=["a", "b"], **kwargs)
    with pytest.raises(ValueError, match="positive"):
        standardize_preprocessing([0.0, 1.0], [1.0, 0.0])
    assert not (tmp_path / "a").exists()
