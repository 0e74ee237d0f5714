"""Save a trained model with everything needed to use it again: weights, architecture, preprocessing, metadata.

A bundle is a folder with two files:

* ``weights.pt``  - the model's ``state_dict`` (tensors only), written with ``torch.save`` and read back with
  ``torch.load(weights_only=True)``, so loading a bundle never unpickles code;
* ``bundle.json`` - architecture name + config, class names, input spec, preprocessing parameters, metrics,
  versions and the SHA-256 of ``weights.pt`` (a damaged or swapped weights file is refused).

Example (lesson 01: a FeedForwardNet trained on flattened MNIST inputs normalised by ``mnist.to_inputs``)::

    from course_utils.bundle import save_bundle, load_bundle, image_input_spec, pixel_preprocessing
    from course_utils.mnist import MNIST_MEAN, MNIST_STD

    save_bundle(
        "artifacts/mnist_fnn", model,                       # model = FeedForwardNet(784, (512, 256), 10)
        name="mnist_fnn",
        classes=[str(d) for d in range(10)],
        input_spec=image_input_spec(28, 28),                # raw uint8 pixels 0-255, flattened to 784
        preprocessing=pixel_preprocessing(MNIST_MEAN, MNIST_STD),  # x/255, then (x - 0.1307) / 0.3081
        metrics={"test_accuracy": 0.983},
    )
    bundle = load_bundle("artifacts/mnist_fnn")
    probs = bundle.predict_proba(test_images[:5])           # uint8 (5, 28, 28) -> (5, 10) probabilities

``bundle.preprocess(raw)`` applies exactly ``to_inputs`` for such a bundle, so
``bundle.model(to_inputs(images))`` and ``bundle.predict_proba(images)`` agree.
"""
from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from .hashing import file_digest
from .models import FeedForwardNet
from .paths import display_path
from .reproducibility import package_version

WEIGHTS_FILE = "weights.pt"
META_FILE = "bundle.json"
FORMAT_VERSION = 1
# Sane limits for what a bundle may claim about itself (every answer repeats the class names; the server builds
# the model that 'config' describes before it can compare it with the weights).
MAX_META_BYTES = 4 * 1024 * 1024   # bundle.json
MAX_NAME_CHARS = 200               # model name, each class name and each feature name
MAX_CLASSES = 1000
MAX_FEATURES = 100_000
MAX_PARAMETERS = 100_000_000       # 400 MB of float32 weights
MAX_CONFIG_CHARS = 16 * 1024       # the architecture config, as JSON

ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {"FeedForwardNet": FeedForwardNet}


class BundleError(ValueError):
    """A model bundle is incomplete, corrupt or inconsistent; the message says which file and what to do."""


def register_architecture(name: str, factory: Callable[..., nn.Module]) -> None:
    """Make a model class loadable from bundles by name (factory(**config) must rebuild it)."""
    ARCHITECTURES[name] = factory


def image_input_spec(height: int = 28, width: int = 28, flatten: bool = True) -> dict[str, Any]:
    """Input spec for grayscale images given as raw uint8 pixels 0-255 (flattened for a feed-forward net)."""
    return {"kind": "image", "shape": [int(height), int(width)], "channels": 1, "dtype": "uint8",
            "value_range": [0, 255], "flatten": bool(flatten)}


def tabular_input_spec(feature_names: Sequence[str]) -> dict[str, Any]:
    """Input spec for rows of named numeric features (raw, unscaled values)."""
    names = [str(n) for n in feature_names]
    if not names:
        raise ValueError("A tabular input spec needs at least one feature name.")
    return {"kind": "tabular", "features": names, "num_features": len(names), "dtype": "float32"}


def pixel_preprocessing(mean: float, std: float, divisor: float = 255.0) -> dict[str, Any]:
    """Preprocessing for pixels: x / 255, then (x - mean) / std with one mean/std for all pixels (as to_inputs)."""
    return standardize_preprocessing(mean, std, divisor)


def standardize_preprocessing(mean: float | Sequence[float], std: float | Sequence[float],
                              divisor: float = 1.0) -> dict[str, Any]:
    """Preprocessing x / divisor, then (x - mean) / std; mean/std are numbers or one value per feature."""
    def as_list(v: Any) -> float | list[float]:
        arr = np.asarray(v.detach().cpu() if isinstance(v, torch.Tensor) else v, dtype=np.float64)
        return float(arr) if arr.ndim == 0 else [float(a) for a in arr.ravel()]

    mean_, std_ = as_list(mean), as_list(std)
    stds = std_ if isinstance(std_, list) else [std_]
    if any(not math.isfinite(s) or s <= 0 for s in stds):
        raise ValueError("Every standard deviation must be a positive number (a constant feature has std 0: "
                         "replace its 0 by 1 before saving).")
    if not math.isfinite(divisor) or divisor <= 0:
        raise ValueError(f"divisor must be a positive number, got {divisor!r}.")
    return {"type": "standardize", "divisor": float(divisor), "mean": mean_, "std": std_}


def _json_ready(value: Any, what: str) -> Any:
    """Round-trip a value through JSON, with a clear error for things JSON cannot hold."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"The bundle's {what} must be plain JSON data (numbers, strings, lists, dicts): {exc}") from exc


def _is_number(value: Any) -> bool:
    """True for a finite int/float (not a bool) that fits a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _type_name(value: Any) -> str:
    """JSON name of a value's type, for error messages."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def _spec_width(spec: dict[str, Any]) -> int:
    """Number of flat input values an already-checked input_spec describes."""
    if spec["kind"] == "image":
        return int(np.prod(spec["shape"])) * int(spec.get("channels", 1))
    return len(spec["features"])


def _check_numbers(value: Any, width: int, field_name: str, fail: Callable[[str, str], BundleError],
                   positive: bool = False) -> None:
    """Check a preprocessing mean/std: one finite number, or a list of `width` of them (positive for std)."""
    values = value if isinstance(value, list) else [value]
    if isinstance(value, list) and len(value) not in (1, width):
        raise fail(field_name, f"has {len(value)} values but the input has {width} features; give one number "
                               f"or one per feature")
    bad = [v for v in values if not _is_number(v) or (positive and float(v) <= 0)]
    if bad:
        need = "positive finite numbers (a constant feature has std 0: use 1 instead)" if positive else "finite numbers"
        raise fail(field_name, f"must hold {need}, but it holds {bad[0]!r}")


LOAD_HINT = "The bundle is damaged or was edited by hand: fix that field or save the model again with save_bundle."


def validate_meta(meta: dict[str, Any], meta_path: Path, hint: str = LOAD_HINT) -> None:
    """Check every field of bundle.json (types, ranges, consistency); raise BundleError naming the field."""
    def fail(field_name: str, problem: str) -> BundleError:
        return BundleError(f"{display_path(meta_path)}: field '{field_name}' {problem}. {hint}")

    version = meta.get("format_version", FORMAT_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise fail("format_version", f"must be a whole number such as {FORMAT_VERSION}, got {version!r}")
    if version > FORMAT_VERSION:
        raise BundleError(f"{display_path(meta_path)} has format version {version}, newer than this "
                          f"course_utils understands ({FORMAT_VERSION}). Update course_utils.")
    for key in ("name", "architecture"):
        if not isinstance(meta[key], str) or not meta[key].strip():
            raise fail(key, f"must be a non-empty string, got {_type_name(meta[key])}")
        if len(meta[key]) > MAX_NAME_CHARS:
            raise fail(key, f"is {len(meta[key]):,} characters long; at most {MAX_NAME_CHARS} are allowed")
    for key in ("config", "metrics", "extra"):
        if key in meta and not isinstance(meta[key], dict):
            raise fail(key, f"must be an object, got {_type_name(meta[key])}")
    if "config" in meta and len(json.dumps(meta["config"])) > MAX_CONFIG_CHARS:
        raise fail("config", f"is {len(json.dumps(meta['config'])):,} characters of JSON; an architecture config "
                             f"holds a few numbers (at most {MAX_CONFIG_CHARS:,} characters)")
    classes = meta["classes"]
    if (not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) for c in classes)
            or len(set(classes)) != len(classes)):
        raise fail("classes", f"must list at least two distinct class names (strings), got {classes!r:.200}")
    if len(classes) > MAX_CLASSES:
        raise fail("classes", f"lists {len(classes):,} classes; at most {MAX_CLASSES:,} are allowed (every answer "
                              "lists every class)")
    long_names = [i for i, c in enumerate(classes) if not c.strip() or len(c) > MAX_NAME_CHARS]
    if long_names:
        bad = classes[long_names[0]]
        problem = "blank" if not bad.strip() else f"{len(bad):,} characters long"
        raise fail("classes", f"entry {long_names[0]} is {problem}; class names must be 1-{MAX_NAME_CHARS} "
                              "characters (every answer repeats them)")

    spec = meta["input_spec"]
    if not isinstance(spec, dict):
        raise fail("input_spec", f"must be an object like image_input_spec() writes, got {_type_name(spec)}")
    if spec.get("kind") not in ("image", "tabular"):
        raise fail("input_spec.kind", f"must be \"image\" or \"tabular\", got {spec.get('kind')!r}")
    if spec["kind"] == "image":
        shape = spec.get("shape")
        if (not isinstance(shape, list) or len(shape) != 2
                or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape)):
            raise fail("input_spec.shape", f"must be [height, width] in pixels (two positive whole numbers), "
                                           f"got {shape!r}")
        if spec.get("channels", 1) != 1 or isinstance(spec.get("channels"), bool):
            raise fail("input_spec.channels", f"must be 1 (grayscale is all bundles support), got "
                                              f"{spec.get('channels')!r}")
        if spec.get("value_range", [0, 255]) != [0, 255]:
            raise fail("input_spec.value_range", f"must be [0, 255] (raw uint8 pixels), got "
                                                 f"{spec.get('value_range')!r}")
        if not isinstance(spec.get("flatten", True), bool):
            raise fail("input_spec.flatten", f"must be true or false, got {spec.get('flatten')!r}")
        if shape[0] * shape[1] > 100_000_000:
            raise fail("input_spec.shape", f"claims {shape[0]}x{shape[1]} pixels, far more than any course model takes")
    else:
        features = spec.get("features")
        if (not isinstance(features, list) or not features or not all(isinstance(f, str) for f in features)
                or len(set(features)) != len(features)):
            raise fail("input_spec.features", f"must list the distinct feature names (strings) of a tabular model, "
                                              f"got {features!r:.200}")
        if len(features) > MAX_FEATURES or any(len(f) > MAX_NAME_CHARS for f in features):
            raise fail("input_spec.features", f"must list at most {MAX_FEATURES:,} feature names of at most "
                                              f"{MAX_NAME_CHARS} characters each")
        count = spec.get("num_features", len(features))
        if isinstance(count, bool) or count != len(features):
            raise fail("input_spec.num_features", f"is {count!r} but input_spec.features names {len(features)} "
                                                  "features")

    prep = meta["preprocessing"]
    if not isinstance(prep, dict):
        raise fail("preprocessing", f"must be an object like pixel_preprocessing() writes, got {_type_name(prep)}")
    kind = prep.get("type")
    if kind not in (None, "none", "standardize"):
        raise fail("preprocessing.type", f"is {kind!r}, which course_utils does not know; use \"standardize\" "
                                         "(standardize_preprocessing / pixel_preprocessing) or \"none\"")
    if kind == "standardize":
        divisor = prep.get("divisor", 1.0)
        if not _is_number(divisor) or float(divisor) <= 0:
            raise fail("preprocessing.divisor", f"must be a positive number, got {divisor!r}")
        for key in ("mean", "std"):
            if key not in prep:
                raise fail(f"preprocessing.{key}", "is missing; standardize needs both mean and std")
            _check_numbers(prep[key], _spec_width(spec), f"preprocessing.{key}", fail, positive=key == "std")

    weights_file = meta.get("weights_file", WEIGHTS_FILE)
    if not isinstance(weights_file, str) or not weights_file or Path(weights_file).is_absolute() \
            or ".." in Path(weights_file).parts:
        raise fail("weights_file", f"must be a file name inside the bundle folder (like {WEIGHTS_FILE!r}), "
                                   f"got {weights_file!r}")
    folder = meta_path.parent.resolve()
    if folder not in (folder / weights_file).resolve().parents:
        raise fail("weights_file", f"{weights_file!r} leads outside the bundle folder (through a link); the "
                                   "weights must live inside the bundle folder")
    checksum = meta.get("weights_sha256")
    if checksum is not None and not (isinstance(checksum, str) and re.fullmatch(r"[0-9a-f]{64}", checksum)):
        raise fail("weights_sha256", f"must be the 64-character hex SHA-256 of the weights file, got {checksum!r:.80}")


def check_model(model: nn.Module, meta: dict[str, Any], where: str) -> None:
    """Check the model's weights are finite and that it maps input_spec-sized rows to one score per class."""
    for key, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise BundleError(f"Layer {key!r} of the model in {where} holds NaN or infinite weights; the training "
                              "diverged. Retrain (e.g. with a smaller learning rate) and save again.")
    width, classes = _spec_width(meta["input_spec"]), meta["classes"]
    try:
        with torch.no_grad():
            out = model.eval()(torch.zeros(1, width))
    except (RuntimeError, ValueError, TypeError) as exc:
        raise BundleError(f"The model in {where} does not accept the {width} input values that field 'input_spec' "
                          f"describes ({str(exc).splitlines()[0]}): input_spec and config disagree.") from exc
    if out.ndim != 2 or out.shape[1] != len(classes):
        raise BundleError(f"Field 'classes' in {where} lists {len(classes)} classes but the model outputs "
                          f"{list(out.shape[1:])} scores per input: the class list and config disagree.")
    spec = meta["input_spec"]
    if spec["kind"] == "image" and spec["shape"][0] != spec["shape"][1]:
        # A flat input layer (width values) records no image geometry: [56, 14] and [28, 28] both have 784 pixels,
        # and a wrong shape would refuse every real image while answering images of the wrong geometry.
        side = math.isqrt(width)
        hint = f"; set it to [{side}, {side}]" if side * side == width else ""
        raise BundleError(f"Field 'input_spec.shape' in {where} is {spec['shape']}, but the model's input layer takes "
                          f"{width} flat values, which records no image geometry, and course image models take "
                          f"square images{hint}.")
    check_scaling(model, meta, where)


def check_scaling(model: nn.Module, meta: dict[str, Any], where: str) -> None:
    """Check preprocessing maps the extremes of the input range (0 and 255 for pixels, 0 and 1 for features) to
    finite float32 values and the model to finite scores; else every request would be refused as 'too large'."""
    spec, prep = meta["input_spec"], meta["preprocessing"]
    width = _spec_width(spec)
    high, what = (255.0, "pixel values 0 and 255") if spec["kind"] == "image" else (1.0, "feature values 0 and 1")
    x = torch.tensor([[0.0] * width, [high] * width], dtype=torch.float32)
    if prep.get("type") == "standardize":
        steps = [("divisor", lambda v: v.div(float(prep.get("divisor", 1.0)))),
                 ("mean", lambda v: v.sub(torch.as_tensor(prep["mean"], dtype=v.dtype))),
                 ("std", lambda v: v.div(torch.as_tensor(prep["std"], dtype=v.dtype)))]
        for key, step in steps:
            x = step(x)
            if not torch.isfinite(x).all():
                raise BundleError(f"Field 'preprocessing.{key}' in {where} turns {what} into numbers beyond float32 "
                                  f"(about 3.4e38), so every request would be refused: the scaling is broken. Save "
                                  "the bundle again with the mean/std of the training data.")
    with torch.no_grad():
        out = model.eval()(x)
    if not torch.isfinite(out).all():
        raise BundleError(f"The model in {where} gives non-finite scores for {what}: its weights or field "
                          "'preprocessing' are broken. Retrain or save the bundle again.")


def check_state_dict(model: nn.Module, state: Any, weights: Path) -> None:
    """Compare a loaded state_dict with the model's layers: name every missing, extra or wrong-shaped tensor."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise BundleError(f"{display_path(weights)} does not hold a state_dict (a mapping of layer names to "
                          "tensors). Save the model again with save_bundle.")
    expected = model.state_dict()
    problems = [f"layer {k!r} has shape {list(state[k].shape)} in {weights.name} but the architecture in "
                f"{META_FILE} (field 'config') needs {list(v.shape)}"
                for k, v in expected.items() if k in state and state[k].shape != v.shape]
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing:
        problems.append(f"{weights.name} lacks layers {missing[:5]}")
    if unexpected:
        problems.append(f"{weights.name} has layers the architecture does not: {unexpected[:5]}")
    if problems:
        raise BundleError(f"The weights in {display_path(weights)} do not fit the architecture described in "
                          f"{META_FILE}: " + "; ".join(problems[:4]) + ". Save the model again with save_bundle.")


@dataclass
class Bundle:
    """A loaded model with its metadata; predict_proba takes raw inputs as described by input_spec."""

    model: nn.Module
    name: str
    classes: list[str]
    input_spec: dict[str, Any]
    preprocessing: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_features(self) -> int:
        """Number of model input features after flattening."""
        if self.input_spec.get("kind") == "image":
            return int(np.prod(self.input_spec["shape"])) * int(self.input_spec.get("channels", 1))
        return int(self.input_spec.get("num_features", len(self.input_spec["features"])))

    def preprocess(self, raw: torch.Tensor | np.ndarray | Sequence) -> torch.Tensor:
        """Turn raw inputs (pixels 0-255 or raw feature values) into float32 model inputs of shape (N, features).

        Scaling runs in float64 for float64 inputs (matching NumPy scalers exactly), else in float32 (matching
        mnist.to_inputs exactly); the result is always float32."""
        x = torch.as_tensor(np.array(raw) if not isinstance(raw, torch.Tensor) else raw)  # a copy: raw may be read-only
        x = x.double() if x.dtype == torch.float64 else x.float()
        if x.ndim == 1 or (self.input_spec.get("kind") == "image" and list(x.shape) == list(self.input_spec["shape"])):
            x = x.unsqueeze(0)
        x = x.reshape(len(x), -1)
        if x.shape[1] != self.num_features:
            raise ValueError(f"Expected {self.num_features} values per input for model {self.name!r}, "
                             f"got {x.shape[1]}.")
        p = self.preprocessing
        if p.get("type") == "standardize":
            mean, std = p["mean"], p["std"]
            mean = mean if isinstance(mean, float) else torch.as_tensor(mean, dtype=x.dtype)
            std = std if isinstance(std, float) else torch.as_tensor(std, dtype=x.dtype)
            x = x.div(float(p.get("divisor", 1.0))).sub(mean).div(std)
        elif p.get("type") not in (None, "none"):
            raise BundleError(f"Unknown preprocessing type {p.get('type')!r} in bundle {self.name!r}.")
        return x.float()

    @torch.no_grad()
    def predict_proba(self, raw: torch.Tensor | np.ndarray | Sequence) -> torch.Tensor:
        """Class probabilities (N, classes) for raw inputs."""
        self.model.eval()
        return torch.softmax(self.model(self.preprocess(raw)).float(), dim=1)

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary: name, classes, input spec, preprocessing, metrics, architecture."""
        return {"name": self.name, "classes": self.classes, "input_spec": self.input_spec,
                "preprocessing": self.preprocessing, "metrics": self.metrics,
                "architecture": self.meta.get("architecture"), "config": self.meta.get("config"),
                "num_parameters": sum(p.numel() for p in self.model.parameters())}


def save_bundle(
    path: str | os.PathLike[str],
    model: nn.Module,
    *,
    name: str,
    classes: Sequence[str],
    input_spec: dict[str, Any],
    preprocessing: dict[str, Any],
    metrics: dict[str, Any] | None = None,
    architecture: str | None = None,
    config: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write model weights + bundle.json into the folder `path` (created); return the folder.

    architecture/config default to the model's class name and its `.config` (FeedForwardNet has both)."""
    folder = Path(path)
    architecture = architecture or type(model).__name__
    if architecture not in ARCHITECTURES:
        raise ValueError(f"Architecture {architecture!r} is not known to bundles; use one of {sorted(ARCHITECTURES)} "
                         "or call course_utils.bundle.register_architecture(name, factory) first.")
    config = dict(config if config is not None else getattr(model, "config", None) or {})
    if not config:
        raise ValueError(f"No architecture config given and {architecture} has no .config; pass config=dict(...) "
                         "with the arguments that rebuild the model.")
    classes = [str(c) for c in classes]
    if len(classes) < 2 or len(set(classes)) != len(classes):
        raise ValueError(f"classes must list at least two distinct class names, got {classes}.")
    if input_spec.get("kind") not in ("image", "tabular"):
        raise ValueError("input_spec must come from image_input_spec(...) or tabular_input_spec(...).")
    meta = {
        "format_version": FORMAT_VERSION,
        "name": str(name),
        "architecture": architecture,
        "config": _json_ready(config, "config"),
        "classes": classes,
        "input_spec": _json_ready(input_spec, "input_spec"),
        "preprocessing": _json_ready(preprocessing, "preprocessing"),
        "metrics": _json_ready(metrics or {}, "metrics"),
        "extra": _json_ready(extra or {}, "extra"),
        "versions": {"torch": torch.__version__, "course_utils": package_version("course-kit")},
        "weights_file": WEIGHTS_FILE,
    }
    # Check the bundle is self-consistent before writing anything.
    validate_meta(meta, folder / META_FILE, hint="Fix the save_bundle argument that sets it.")
    rebuilt = ARCHITECTURES[architecture](**meta["config"])
    rebuilt.load_state_dict(model.state_dict())
    check_model(rebuilt, meta, f"save_bundle({display_path(folder)!r})")
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / WEIGHTS_FILE
    tmp = weights.with_suffix(".pt.tmp")
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp)
    os.replace(tmp, weights)
    meta["weights_sha256"] = file_digest(weights)
    tmp_meta = folder / (META_FILE + ".tmp")
    tmp_meta.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp_meta, folder / META_FILE)
    return folder


def read_bundle_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check bundle.json of a bundle folder (no weights loaded)."""
    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"No model bundle at {display_path(folder)}. Train and save one first "
                                "(course_utils.bundle.save_bundle, e.g. by running notebook 01), or fix the path.")
    if not folder.is_dir():
        raise BundleError(f"{display_path(folder)} is a file; a model bundle is a folder holding {META_FILE} and "
                          f"{WEIGHTS_FILE}. Pass the folder that save_bundle wrote.")
    meta_path = folder / META_FILE
    if not meta_path.is_file():
        raise FileNotFoundError(f"The bundle folder {display_path(folder)} has no {META_FILE}; it is incomplete. "
                                "Save the model again with save_bundle.")
    if meta_path.stat().st_size > MAX_META_BYTES:
        raise BundleError(f"{display_path(meta_path)} is {meta_path.stat().st_size:,} bytes; bundle metadata takes a "
                          f"few kilobytes (at most {MAX_META_BYTES:,} bytes). The bundle is damaged or was edited by "
                          "hand: save the model again with save_bundle.")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{display_path(meta_path)} is not valid JSON ({exc}); the bundle is damaged. "
                          "Save the model again with save_bundle.") from exc
    required = ("name", "architecture", "config", "classes", "input_spec", "preprocessing")
    missing = [k for k in required if k not in meta] if isinstance(meta, dict) else list(required)
    if missing:
        raise BundleError(f"{display_path(meta_path)} lacks {', '.join(missing)}; it was not written by save_bundle "
                          "or is damaged. Save the model again.")
    validate_meta(meta, meta_path)
    return meta


def build_model(meta: dict[str, Any], state: Any, weights: Path, meta_name: str) -> nn.Module:
    """Build the architecture `config` describes, after checking on PyTorch's "meta" device (no memory) that it is
    of a sane size and that the loaded state_dict fits it layer by layer, so a lying config costs no memory."""
    architecture, factory = meta["architecture"], ARCHITECTURES[meta["architecture"]]

    def cannot_build(exc: BaseException) -> BundleError:
        return BundleError(f"{meta_name}: field 'config' cannot build {architecture} ({exc}). {LOAD_HINT}")

    try:
        with torch.device("meta"):
            skeleton = factory(**meta["config"])
    except (TypeError, ValueError, RuntimeError, OverflowError) as exc:
        raise cannot_build(exc) from exc
    tensors = list(skeleton.state_dict().values())
    count = sum(t.numel() for t in tensors)
    size = sum(t.numel() * t.element_size() for t in tensors)
    if count > MAX_PARAMETERS:
        raise BundleError(f"{meta_name}: field 'config' describes a {architecture} with {count:,} parameters "
                          f"({size:,} bytes), more than the {MAX_PARAMETERS:,} bundles allow. {LOAD_HINT}")
    check_state_dict(skeleton, state, weights)  # every layer's shape, before any memory is spent on them
    del skeleton, tensors
    try:
        return factory(**meta["config"])
    except (TypeError, ValueError, RuntimeError, OverflowError) as exc:
        raise cannot_build(exc) from exc


def load_bundle(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> Bundle:
    """Load a bundle folder written by save_bundle: rebuild the model, load its weights safely, return a Bundle."""
    folder = Path(path)
    meta = read_bundle_meta(folder)
    weights = folder / meta.get("weights_file", WEIGHTS_FILE)
    if not weights.is_file():
        raise FileNotFoundError(f"The bundle folder {display_path(folder)} has no {weights.name}; it is incomplete. "
                                "Save the model again with save_bundle.")
    expected = meta.get("weights_sha256")
    if expected and file_digest(weights) != expected:
        time.sleep(0.5)  # save_bundle may be rewriting this bundle right now (weights first, then the JSON)
        meta = read_bundle_meta(folder)
        expected = meta.get("weights_sha256")
    if expected and file_digest(weights) != expected:
        raise BundleError(f"{display_path(weights)} does not match the checksum in {META_FILE}: the file is damaged "
                          "or was replaced. Save the model again with save_bundle.")
    meta_name = display_path(folder / META_FILE)
    if meta["architecture"] not in ARCHITECTURES:
        raise BundleError(f"{meta_name}: field 'architecture' names {meta['architecture']!r}, which course_utils "
                          f"cannot build (known: {sorted(ARCHITECTURES)}; register_architecture adds one).")
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for damaged files
        raise BundleError(f"{display_path(weights)} is not a readable weights file ({exc}). "
                          "Save the model again with save_bundle.") from exc
    model = build_model(meta, state, weights, meta_name)
    try:
        model.load_state_dict(state)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise BundleError(f"The weights in {display_path(weights)} do not fit the architecture described in "
                          f"{META_FILE}: {str(exc).splitlines()[0]}") from exc
    check_model(model, meta, meta_name)
    model.to(map_location).eval()
    return Bundle(model=model, name=meta["name"], classes=list(meta["classes"]), input_spec=meta["input_spec"],
                  preprocessing=meta["preprocessing"], metrics=meta.get("metrics", {}), meta=meta)
