"""Model bundles: round trip, exact predictions, and clear errors for missing or damaged bundles."""
from __future__ import annotations

import json
import re
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


def edit_meta(folder: Path, edit) -> None:
    """Apply edit(meta) to a saved bundle's bundle.json (the way a hand edit or a damaged file would)."""
    meta = json.loads((folder / META_FILE).read_text())
    edit(meta)
    (folder / META_FILE).write_text(json.dumps(meta))


def set_field(path: str, value):
    """An edit that sets meta[a][b]... = value for path 'a.b'."""
    def edit(meta: dict) -> None:
        *parents, last = path.split(".")
        target = meta
        for key in parents:
            target = target[key]
        target[last] = value
    return edit


def drop_field(path: str):
    """An edit that deletes meta[a][b] for path 'a.b'."""
    def edit(meta: dict) -> None:
        parent, last = path.split(".")
        del meta[parent][last]
    return edit


BAD_FIELDS = [
    ("format_version as a string", set_field("format_version", "1"), "'format_version'"),
    ("format_version zero", set_field("format_version", 0), "'format_version'"),
    ("input_spec as a string", set_field("input_spec", "image 28x28"), "'input_spec' must be an object"),
    ("unknown input kind", set_field("input_spec.kind", "audio"), "'input_spec.kind'"),
    ("input_spec without shape", drop_field("input_spec.shape"), "'input_spec.shape'"),
    ("shape with a string", set_field("input_spec.shape", [28, "28"]), "'input_spec.shape'"),
    ("colour channels", set_field("input_spec.channels", 3), "'input_spec.channels'"),
    ("tabular spec without features", set_field("input_spec", {"kind": "tabular", "num_features": 784}),
     "'input_spec.features'"),
    ("unknown preprocessing", set_field("preprocessing.type", "minmax"), "'preprocessing.type'"),
    ("std 0", set_field("preprocessing.std", 0.0), "'preprocessing.std'"),
    ("negative std in a list", set_field("preprocessing.std", [1.0] * 783 + [-1.0]), "'preprocessing.std'"),
    ("mean of the wrong length", set_field("preprocessing.mean", [0.1, 0.2]), "'preprocessing.mean' has 2 values"),
    ("divisor 0", set_field("preprocessing.divisor", 0), "'preprocessing.divisor'"),
    ("classes not a list", set_field("classes", "0123456789"), "'classes'"),
    ("weights_file outside the folder", set_field("weights_file", "../other/weights.pt"), "'weights_file'"),
    ("absolute weights_file", set_field("weights_file", "/etc/passwd"), "'weights_file'"),
    ("metrics not an object", set_field("metrics", [0.5]), "'metrics'"),
    ("bad checksum text", set_field("weights_sha256", 42), "'weights_sha256'"),
]


@pytest.mark.parametrize("case, edit, message", BAD_FIELDS, ids=[c[0] for c in BAD_FIELDS])
def test_every_bundle_field_is_validated_at_load(tmp_path: Path, case, edit, message) -> None:
    mnist_bundle(tmp_path / "b")
    edit_meta(tmp_path / "b", edit)
    with pytest.raises(BundleError, match=re.escape(message)):
        load_bundle(tmp_path / "b")


def test_wrong_class_count_and_input_size_are_refused(tmp_path: Path) -> None:
    mnist_bundle(tmp_path / "b")
    edit_meta(tmp_path / "b", set_field("classes", [str(d) for d in range(9)]))
    with pytest.raises(BundleError, match=r"'classes' .* lists 9 classes but the model outputs \[10\] scores"):
        load_bundle(tmp_path / "b")
    edit_meta(tmp_path / "b", set_field("classes", [str(d) for d in range(10)]))
    edit_meta(tmp_path / "b", set_field("input_spec.shape", [20, 20]))
    with pytest.raises(BundleError, match=r"does not accept the 400 input values that field 'input_spec'"):
        load_bundle(tmp_path / "b")


def test_wrong_size_state_dict_names_layer_and_shapes(tmp_path: Path) -> None:
    mnist_bundle(tmp_path / "b")  # hidden (16,)
    edit_meta(tmp_path / "b", set_field("config.hidden", [32]))
    with pytest.raises(BundleError) as info:
        load_bundle(tmp_path / "b")
    message = str(info.value)
    assert "layer '0.weight' has shape [16, 784]" in message and "needs [32, 784]" in message
    assert "layer '3.weight' has shape [10, 16]" in message and "needs [10, 32]" in message
    # A state_dict with a layer missing names it too.
    state = torch.load(tmp_path / "b" / WEIGHTS_FILE, weights_only=True)
    del state["3.bias"]
    torch.save(state, tmp_path / "b" / WEIGHTS_FILE)
    edit_meta(tmp_path / "b", set_field("config.hidden", [16]))
    edit_meta(tmp_path / "b", lambda meta: meta.pop("weights_sha256"))
    with pytest.raises(BundleError, match=r"lacks layers \['3.bias'\]"):
        load_bundle(tmp_path / "b")


def test_config_that_cannot_build_the_model_names_the_field(tmp_path: Path) -> None:
    mnist_bundle(tmp_path / "b")
    edit_meta(tmp_path / "b", set_field("config.colour", True))
    with pytest.raises(BundleError, match="field 'config' cannot build FeedForwardNet"):
        load_bundle(tmp_path / "b")


def test_weights_file_symlinked_outside_the_folder_is_refused(tmp_path: Path) -> None:
    mnist_bundle(tmp_path / "b")
    outside = tmp_path / "elsewhere.pt"
    outside.write_bytes((tmp_path / "b" / WEIGHTS_FILE).read_bytes())
    (tmp_path / "b" / "linked.pt").symlink_to(outside)
    edit_meta(tmp_path / "b", set_field("weights_file", "linked.pt"))
    with pytest.raises(BundleError, match="'weights_file' 'linked.pt' leads outside the bundle folder"):
        load_bundle(tmp_path / "b")


def test_non_finite_weights_are_refused(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = FeedForwardNet(3, (4,), 2, dropout=0.0)
    with torch.no_grad():
        model[0].weight[0, 0] = float("nan")
    with pytest.raises(BundleError, match="Layer '0.weight' .* NaN or infinite"):
        save_bundle(tmp_path / "t", model, name="tab", classes=["no", "yes"], input_spec=tabular_input_spec("abc"),
                    preprocessing=standardize_preprocessing([0.0] * 3, [1.0] * 3))
    assert not (tmp_path / "t").exists()


def test_save_refuses_a_class_list_that_does_not_match_the_model(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="lists 3 classes but the model outputs"):
        save_bundle(tmp_path / "t", FeedForwardNet(3, (4,), 2), name="tab", classes=["a", "b", "c"],
                    input_spec=tabular_input_spec("xyz"), preprocessing=standardize_preprocessing(0.0, 1.0))
    assert not (tmp_path / "t").exists()


def test_valid_bundles_still_load_after_validation(tmp_path: Path) -> None:
    mnist_bundle(tmp_path / "b")
    edit_meta(tmp_path / "b", lambda meta: meta.pop("format_version"))  # bundles from before format_version
    assert load_bundle(tmp_path / "b").num_features == 784
    model = FeedForwardNet(3, (4,), 2, dropout=0.0).eval()
    save_bundle(tmp_path / "t", model, name="tab", classes=["no", "yes"], input_spec=tabular_input_spec("abc"),
                preprocessing={"type": "none"})
    edit_meta(tmp_path / "t", drop_field("input_spec.num_features"))
    assert load_bundle(tmp_path / "t").num_features == 3


LYING_FIELDS = [  # issue 29: metadata that passed field-by-field checks but lied about the model
    ("shape 56x14 for a 784-input model", set_field("input_spec.shape", [56, 14]),
     "'input_spec.shape' .* is \\[56, 14\\].*set it to \\[28, 28\\]"),
    ("a 1,000-character class name", set_field("classes", ["x" * 1000] + [str(d) for d in range(1, 10)]),
     "'classes' entry 0 is 1,000 characters long"),
    ("a blank class name", set_field("classes", [" "] + [str(d) for d in range(1, 10)]), "'classes' entry 0 is blank"),
    ("5,000 classes", set_field("classes", [str(d) for d in range(5000)]), "'classes' lists 5,000 classes"),
    ("a 300-character model name", set_field("name", "n" * 300), "'name' is 300 characters long"),
    ("a config of 10 billion parameters", set_field("config.hidden", [100_000, 100_000]),
     "'config' describes a FeedForwardNet with 10,079,600,010 parameters"),
    ("a config of 100,000 layers", set_field("config.hidden", [1] * 100_000), "'config' is 300,089 characters of JSON"),
    ("std 1e-300", set_field("preprocessing.std", 1e-300), "'preprocessing.std' .* beyond float32"),
    ("divisor 1e-320", set_field("preprocessing.divisor", 1e-320), "'preprocessing.divisor' .* beyond float32"),
    ("mean 1e300", set_field("preprocessing.mean", 1e300), "'preprocessing.mean' .* beyond float32"),
]


@pytest.mark.parametrize("case, edit, message", LYING_FIELDS, ids=[c[0] for c in LYING_FIELDS])
def test_metadata_that_lies_about_the_model_is_refused(tmp_path: Path, case, edit, message) -> None:
    mnist_bundle(tmp_path / "b")
    edit_meta(tmp_path / "b", edit)
    with pytest.raises(BundleError, match=message):
        load_bundle(tmp_path / "b")


def test_oversized_bundle_json_is_refused_before_parsing(tmp_path: Path) -> None:
    mnist_bundle(tmp_path / "b")
    edit_meta(tmp_path / "b", set_field("classes", [str(d) * 1_000_000 for d in range(10)]))  # 10 MB of names
    with pytest.raises(BundleError, match=r"bundle.json is 10,000,\d{3} bytes; .* \(at most 4,194,304 bytes\)"):
        load_bundle(tmp_path / "b")


def test_save_refuses_a_non_square_shape_for_a_flat_model(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"'input_spec.shape' .* is \[56, 14\]"):
        save_bundle(tmp_path / "s", FeedForwardNet(784, (8,), 10), name="m", classes=list("0123456789"),
                    input_spec=image_input_spec(56, 14), preprocessing=pixel_preprocessing(0.1, 0.3))
    assert not (tmp_path / "s").exists()
