"""The model server, run for real in a subprocess on 127.0.0.1: answers, bad requests, startup errors."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import httpx
import numpy as np
import pytest
import torch
from PIL import Image

from course_utils.bundle import (
    image_input_spec, load_bundle, pixel_preprocessing, save_bundle, standardize_preprocessing, tabular_input_spec,
)
from course_utils.mnist import MNIST_MEAN, MNIST_STD, load_fallback_subset, to_inputs
from course_utils.models import FeedForwardNet
from course_utils.serve import MAX_BATCH, ServerProcess, is_loopback

LIMIT = 64 * 1024
FEATURES = ["radius", "texture", "area"]


@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """A few real MNIST test digits (the bundled subset, available offline)."""
    _, _, images, labels = load_fallback_subset()
    return images[:8], labels[:8]


@pytest.fixture(scope="module")
def mnist_model(tmp_path_factory: pytest.TempPathFactory, digits) -> tuple[Path, FeedForwardNet]:
    """A small MNIST net fitted for a few steps on real digits, saved as a bundle."""
    train_x, train_y, _, _ = load_fallback_subset()
    torch.manual_seed(0)
    model = FeedForwardNet(784, (32,), 10, dropout=0.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = to_inputs(train_x[:1000]), train_y[:1000]
    for _ in range(30):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    model.eval()
    folder = tmp_path_factory.mktemp("bundles") / "mnist"
    save_bundle(folder, model, name="mnist_fnn", classes=[str(d) for d in range(10)], input_spec=image_input_spec(),
                preprocessing=pixel_preprocessing(MNIST_MEAN, MNIST_STD), metrics={"test_accuracy": 0.9})
    return folder, model


@pytest.fixture(scope="module")
def server(mnist_model) -> Iterator[ServerProcess]:
    with ServerProcess(mnist_model[0], extra_args=["--max-body-bytes", str(LIMIT)]) as running:
        yield running


@pytest.fixture(scope="module")
def tabular_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, FeedForwardNet]]:
    torch.manual_seed(1)
    model = FeedForwardNet(3, (4,), 2, dropout=0.0).eval()
    folder = tmp_path_factory.mktemp("bundles") / "tab"
    save_bundle(folder, model, name="tab", classes=["benign", "malignant"], input_spec=tabular_input_spec(FEATURES),
                preprocessing=standardize_preprocessing([10.0, 20.0, 500.0], [2.0, 4.0, 300.0]))
    with ServerProcess(folder) as running:
        yield running, model


def png_bytes(image: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt)
    return buffer.getvalue()


def expected_probs(model: FeedForwardNet, images: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.softmax(model(to_inputs(images)), dim=1)


def assert_matches(answer: dict, probs: torch.Tensor) -> None:
    """Server predictions equal the in-process model's (labels exactly, probabilities to float32 rounding)."""
    assert len(answer["predictions"]) == len(probs)
    for prediction, row in zip(answer["predictions"], probs):
        served = torch.tensor(list(prediction["probabilities"].values()))
        assert torch.allclose(served, row, atol=1e-6), (served, row)
        assert prediction["class_index"] == int(row.argmax())
        assert prediction["label"] == str(int(row.argmax()))


def test_health_and_model_info(server: ServerProcess) -> None:
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok", "model": "mnist_fnn"}
    info = httpx.get(f"{server.url}/model").json()
    assert info["classes"] == [str(d) for d in range(10)]
    assert info["input_spec"]["shape"] == [28, 28] and info["input_spec"]["value_range"] == [0, 255]
    assert info["metrics"] == {"test_accuracy": 0.9}
    assert info["max_body_bytes"] == LIMIT


def test_png_jpeg_upload_and_json_match_in_process_model(server: ServerProcess, mnist_model, digits) -> None:
    _, model = mnist_model
    images, labels = digits
    for i in range(4):
        image = images[i].numpy()
        probs = expected_probs(model, images[i : i + 1])
        raw = httpx.post(f"{server.url}/predict", content=png_bytes(image), headers={"content-type": "image/png"})
        assert raw.status_code == 200, raw.text
        assert_matches(raw.json(), probs)
        form = httpx.post(f"{server.url}/predict", files={"file": ("digit.png", png_bytes(image), "image/png")})
        assert form.status_code == 200, (form.status_code, form.text, server.output()[-2000:])
        assert_matches(form.json(), probs)
        as_json = httpx.post(f"{server.url}/predict", json={"pixels": image.tolist()})
        assert_matches(as_json.json(), probs)
        flat_01 = httpx.post(f"{server.url}/predict", json={"pixels": (image.reshape(-1) / 255).tolist(),
                                                             "value_range": "0-1"})
        assert_matches(flat_01.json(), probs)
    # A batch of images gives the same answers as the model on the same batch.
    batch = httpx.post(f"{server.url}/predict", json={"images": images.numpy().tolist()}).json()
    assert_matches(batch, expected_probs(model, images))
    # JPEG is lossy: decode it the same way in-process and compare.
    jpeg = png_bytes(images[0].numpy(), "JPEG")
    decoded = torch.from_numpy(np.asarray(Image.open(io.BytesIO(jpeg)).convert("L")).copy())
    answer = httpx.post(f"{server.url}/predict", content=jpeg, headers={"content-type": "image/jpeg"}).json()
    assert_matches(answer, expected_probs(model, decoded[None]))


def test_trained_model_is_right_on_most_real_digits(server: ServerProcess, digits) -> None:
    images, labels = digits
    answer = httpx.post(f"{server.url}/predict", json={"images": images.numpy().tolist()}).json()
    predicted = [p["class_index"] for p in answer["predictions"]]
    assert sum(int(p == t) for p, t in zip(predicted, labels.tolist())) >= 6


BAD_REQUESTS = [
    ("non-image bytes", dict(content=b"hello, not an image", headers={"content-type": "image/png"}), 415, "not a PNG or JPEG"),
    ("empty body", dict(content=b"", headers={"content-type": "image/png"}), 400, "empty"),
    ("truncated png", "truncated", 400, "could not be decoded"),
    ("wrong image size", "big", 422, "expects 28x28"),
    ("oversized declared body", dict(content=b"\x89PNG\r\n\x1a\n" + b"0" * (LIMIT + 1), headers={"content-type": "image/png"}), 413, "limit"),
    ("oversized chunked body", "chunked", 413, "limit"),
    ("wrong pixel count", dict(json={"pixels": [0] * 100}), 422, "shape [100]"),
    ("strings as pixels", dict(json={"pixels": ["a"] * 784}), 422, "numbers only"),
    ("booleans as pixels", dict(json={"pixels": [True] * 784}), 422, "true/false"),
    ("nulls in pixels", dict(json={"pixels": [None] * 784}), 422, "numbers only"),
    ("ragged rows", dict(json={"pixels": [[0] * 28] * 27 + [[0] * 27]}), 422, "ragged"),
    ("out of range", dict(json={"pixels": [256] * 784}), 422, "[0, 255]"),
    ("0-1 range exceeded", dict(json={"pixels": [2] * 784, "value_range": "0-1"}), 422, "[0, 1]"),
    ("unknown range", dict(json={"pixels": [0] * 784, "value_range": "percent"}), 422, "value_range"),
    ("no pixels key", dict(json={"data": [0] * 784}), 422, "needs \"pixels\""),
    ("json not an object", dict(json=[0] * 784), 422, "must be an object"),
    ("invalid json", dict(content=b"{oops", headers={"content-type": "application/json"}), 400, "not valid JSON"),
    ("unsupported type", dict(content=b"abc", headers={"content-type": "text/plain"}), 415, "Unsupported Content-Type"),
    ("form without file", dict(files={"picture": ("d.png", b"\x89PNG", "image/png")}), 422, "field named 'file'"),
]


@pytest.mark.parametrize("case, request_kwargs, status, message", BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS])
def test_bad_requests_get_clear_4xx_and_server_keeps_serving(server: ServerProcess, digits, case, request_kwargs,
                                                             status, message) -> None:
    if request_kwargs == "truncated":
        request_kwargs = dict(content=png_bytes(digits[0][0].numpy())[:50], headers={"content-type": "image/png"})
    elif request_kwargs == "big":
        request_kwargs = dict(content=png_bytes(np.zeros((32, 32), np.uint8)), headers={"content-type": "image/png"})
    elif request_kwargs == "chunked":
        def chunks() -> Iterator[bytes]:
            yield b"\x89PNG\r\n\x1a\n"
            for _ in range(LIMIT // 1024 + 2):
                yield b"0" * 1024
        request_kwargs = dict(content=chunks(), headers={"content-type": "image/png"})
    response = httpx.post(f"{server.url}/predict", **request_kwargs)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    assert httpx.get(f"{server.url}/health").status_code == 200
    ok = httpx.post(f"{server.url}/predict", json={"pixels": digits[0][0].numpy().tolist()})
    assert ok.status_code == 200


def test_unknown_route_and_method(server: ServerProcess) -> None:
    assert httpx.get(f"{server.url}/nothing").status_code == 404
    assert httpx.get(f"{server.url}/predict").status_code == 405


def test_tabular_rows(tabular_server) -> None:
    server, model = tabular_server
    rows = [[10.0, 20.0, 500.0], [14.0, 12.0, 1400.0]]
    answer = httpx.post(f"{server.url}/predict", json={"rows": rows})
    assert answer.status_code == 200, answer.text
    x = (torch.tensor(rows) - torch.tensor([10.0, 20.0, 500.0])) / torch.tensor([2.0, 4.0, 300.0])
    with torch.no_grad():
        probs = torch.softmax(model(x), dim=1)
    served = torch.tensor([list(p["probabilities"].values()) for p in answer.json()["predictions"]])
    assert torch.allclose(served, probs, atol=1e-6)
    assert [p["label"] for p in answer.json()["predictions"]] == [["benign", "malignant"][int(i)] for i in probs.argmax(1)]
    named = httpx.post(f"{server.url}/predict", json={"rows": [dict(zip(FEATURES, r)) for r in rows]}).json()
    assert named["predictions"] == answer.json()["predictions"]


@pytest.mark.parametrize("body, status, message", [
    ({"rows": [[1.0, 2.0]]}, 422, "each row needs 3 numbers"),
    ({"rows": [{"radius": 1.0, "texture": 2.0}]}, 422, "missing features ['area']"),
    ({"rows": [{"radius": 1, "texture": 2, "area": 3, "colour": 4}]}, 422, "unknown features ['colour']"),
    ({"rows": []}, 422, "non-empty list"),
    ({"rows": [[1.0, "x", 3.0]]}, 422, "numbers only"),
    ({"rows": [[1.0, 2.0, 3.0]] * (MAX_BATCH + 1)}, 413, f"at most {MAX_BATCH}"),
])
def test_tabular_bad_rows(tabular_server, body, status, message) -> None:
    server, _ = tabular_server
    response = httpx.post(f"{server.url}/predict", json=body)
    assert response.status_code == status and message in response.json()["detail"], response.text


def test_tabular_model_refuses_images(tabular_server) -> None:
    server, _ = tabular_server
    response = httpx.post(f"{server.url}/predict", content=png_bytes(np.zeros((28, 28), np.uint8)),
                          headers={"content-type": "image/png"})
    assert response.status_code == 415 and "takes JSON feature rows" in response.json()["detail"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "course_utils.serve", *args], capture_output=True, text=True,
                          timeout=60)


def test_missing_model_is_a_startup_error(tmp_path: Path) -> None:
    result = run_cli("--model", str(tmp_path / "missing"), "--port", "8765")
    assert result.returncode == 2
    assert "No model bundle" in result.stderr and "save_bundle" in result.stderr
    with pytest.raises(RuntimeError, match="exited with code 2"):
        ServerProcess(tmp_path / "missing").start()


def test_damaged_model_is_a_startup_error(tmp_path: Path, mnist_model) -> None:
    folder = tmp_path / "damaged"
    folder.mkdir()
    for name in ("bundle.json", "weights.pt"):
        (folder / name).write_bytes((mnist_model[0] / name).read_bytes())
    (folder / "weights.pt").write_bytes(b"garbage")
    result = run_cli("--model", str(folder))
    assert result.returncode == 2 and "checksum" in result.stderr


def test_loopback_default_and_bad_port(tmp_path: Path) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    result = run_cli("--model", str(tmp_path), "--port", "70000")
    assert result.returncode == 2 and "--port" in result.stderr
    help_text = run_cli("--help").stdout
    assert "default 127.0.0.1" in help_text


def test_bundle_and_server_agree_on_real_digits(server: ServerProcess, mnist_model, digits) -> None:
    bundle = load_bundle(mnist_model[0])
    images = digits[0]
    answer = httpx.post(f"{server.url}/predict", json={"images": images.numpy().tolist()}).json()
    assert_matches(answer, bundle.predict_proba(images))


def test_load_check_script_is_bounded(server: ServerProcess, digits) -> None:
    import asyncio
    import importlib.util

    spec = importlib.util.spec_from_file_location("api_load", Path(__file__).resolve().parents[1] / "benchmarks" / "api_load.py")
    api_load = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(api_load)
    bodies = api_load.request_bodies("png", digits[0].numpy())
    result = asyncio.run(api_load.load_run(server.url, bodies, clients=3, total=12, max_seconds=30))
    assert result["requests"] == 12 and result["errors"] == 0
    assert 0 < result["p50"] <= result["p99"] and result["rps"] > 0
