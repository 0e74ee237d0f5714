"""The model server, run for real in a subprocess on 127.0.0.1: answers, bad requests, startup errors."""
from __future__ import annotations

import io
import json
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Iterator

import httpx
import numpy as np
import pytest
import torch
from PIL import Image

from course_utils.bundle import (
    Bundle, image_input_spec, load_bundle, pixel_preprocessing, save_bundle, standardize_preprocessing,
    tabular_input_spec,
)
from course_utils.mnist import MNIST_MEAN, MNIST_STD, load_fallback_subset, to_inputs
from course_utils.models import FeedForwardNet
from course_utils.serve import MAX_BATCH, ServerProcess, create_app, free_port, is_loopback
from course_utils import serve

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


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb() -> bytes:
    """A tiny PNG whose header claims 50,000 x 50,000 pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", 50_000, 50_000, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(bytes(6251 * 64)))
            + png_chunk(b"IEND", b""))


def jpeg_bomb() -> bytes:
    """A real 28x28 JPEG whose frame header (SOF0) is patched to claim 65,000 x 65,000 pixels."""
    jpeg = png_bytes(np.zeros((28, 28), np.uint8), "JPEG")
    sof = jpeg.index(b"\xff\xc0")
    return jpeg[: sof + 5] + struct.pack(">HH", 65_000, 65_000) + jpeg[sof + 9 :]


def apng_bytes() -> bytes:
    """A two-frame animated PNG of 28x28 frames."""
    buffer = io.BytesIO()
    first, second = np.zeros((28, 28), np.uint8), np.full((28, 28), 255, np.uint8)
    Image.fromarray(first).save(buffer, format="PNG", save_all=True, append_images=[Image.fromarray(second)])
    return buffer.getvalue()


def nested(depth: int) -> list:
    value: list = [0]
    for _ in range(depth - 1):
        value = [value]
    return value


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
    images, _ = digits
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
    # Issue 17: each of these answered 500, a wrong reason, or 200 for an ambiguous request.
    ("json nested 1000 deep", dict(content=b'{"pixels": ' + b"[" * 1000 + b"]" * 1000 + b"}",
                                   headers={"content-type": "application/json"}), 400, "nested too deeply"),
    ("pixels nested 100 deep", dict(json={"pixels": nested(100)}), 422, "pixels is nested too deeply: pixels[0][0] is a list"),
    ("value_range as a list", dict(json={"pixels": [0] * 784, "value_range": [0, 1]}), 422, "value_range must be the string"),
    ("value_range as an object", dict(json={"pixels": [0] * 784, "value_range": {}}), 422, "value_range must be the string"),
    ("integer beyond float range", dict(json={"pixels": [0] * 783 + [10**400]}), 422, "pixels[783] is an integer with 401 digits"),
    ("integer with 5000 digits", dict(content=b'{"pixels": [' + b"7" * 5000 + b"]}",
                                      headers={"content-type": "application/json"}), 422, "more than 4300 digits"),
    ("NaN literal", dict(content=b'{"pixels": [NaN]}', headers={"content-type": "application/json"}), 422,
     "holds NaN, which is not a number"),
    ("huge but finite integers", dict(json={"pixels": [10**30] * 784}), 422, "values from 1e+30"),
    ("string deep inside", dict(json={"pixels": [[0] * 28] * 27 + [[0] * 27 + ["x"]]}), 422, "pixels[27][27] is a string"),
    ("pixels and images", dict(json={"pixels": [0] * 784, "images": [[0] * 784]}), 422, "not both"),
    ("misspelt key", dict(json={"pixels": [0] * 784, "value_rnage": "0-1"}), 422, "Unknown key ['value_rnage']"),
    ("png decompression bomb", "png bomb", 422, "claims 2,500,000,000 pixels"),
    ("jpeg decompression bomb", "jpeg bomb", 422, "claims 4,225,000,000 pixels"),
    ("png magic then garbage", dict(content=b"\x89PNG\r\n\x1a\n" + bytes(30), headers={"content-type": "image/png"}),
     400, "cannot be read as one"),
    ("animated png", "apng", 422, "animated (2 frames)"),
    ("two file parts", "two files", 422, "holds 2 files"),
    ("file and another file field", "file and other", 422, "holds 2 files"),
]


@pytest.mark.parametrize("case, request_kwargs, status, message", BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS])
def test_bad_requests_get_clear_4xx_and_server_keeps_serving(server: ServerProcess, digits, case, request_kwargs,
                                                             status, message) -> None:
    if request_kwargs == "truncated":
        request_kwargs = dict(content=png_bytes(digits[0][0].numpy())[:50], headers={"content-type": "image/png"})
    elif request_kwargs == "big":
        request_kwargs = dict(content=png_bytes(np.zeros((32, 32), np.uint8)), headers={"content-type": "image/png"})
    elif request_kwargs in ("png bomb", "jpeg bomb", "apng"):
        data = {"png bomb": png_bomb, "jpeg bomb": jpeg_bomb, "apng": apng_bytes}[request_kwargs]()
        request_kwargs = dict(content=data, headers={"content-type": "image/jpeg" if b"JFIF" in data else "image/png"})
    elif request_kwargs in ("two files", "file and other"):
        digit = png_bytes(digits[0][0].numpy())
        second = "file" if request_kwargs == "two files" else "other"
        request_kwargs = dict(files=[("file", ("a.png", digit, "image/png")), (second, ("b.png", digit, "image/png"))])
    elif request_kwargs == "chunked":
        def chunks() -> Iterator[bytes]:
            yield b"\x89PNG\r\n\x1a\n"
            for _ in range(LIMIT // 1024 + 2):
                yield b"0" * 1024
        request_kwargs = dict(content=chunks(), headers={"content-type": "image/png"})
    response = httpx.post(f"{server.url}/predict", **request_kwargs)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    assert " object at 0x" not in response.json()["detail"]
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


def test_converted_images_say_so_and_match_grayscale(server: ServerProcess, digits) -> None:
    digit = digits[0][0].numpy()
    gray = httpx.post(f"{server.url}/predict", content=png_bytes(digit), headers={"content-type": "image/png"}).json()
    assert "converted" not in gray
    sixteen = io.BytesIO()
    Image.fromarray(digit.astype(np.uint16) * 257).save(sixteen, format="PNG")  # mode I;16, 0-65535
    cases = {"RGB colour": png_bytes(np.stack([digit] * 3, axis=-1)),
             "RGBA colour": png_bytes(np.dstack([digit] * 3 + [np.full_like(digit, 255)])),
             "16-bit grayscale": sixteen.getvalue()}
    for note, data in cases.items():
        answer = httpx.post(f"{server.url}/predict", content=data, headers={"content-type": "image/png"})
        assert answer.status_code == 200, answer.text
        assert note in answer.json()["converted"], answer.json()
        # Gray RGB and 16-bit = 257 x 8-bit decode to exactly the same pixels as the 8-bit grayscale PNG.
        assert answer.json()["predictions"] == gray["predictions"], note
    assert "transparency ignored" in httpx.post(f"{server.url}/predict", content=cases["RGBA colour"],
                                                headers={"content-type": "image/png"}).json()["converted"]


@pytest.mark.parametrize("value", [1e39, 1e308, -1e308])
def test_tabular_rows_with_non_finite_results_are_refused(tabular_server, value) -> None:
    server, _ = tabular_server
    response = httpx.post(f"{server.url}/predict", json={"rows": [[10.0, 20.0, 500.0], [10.0, 20.0, value]]})
    assert response.status_code == 422, response.text
    assert "Input 1, feature 'area'" in response.json()["detail"] and "too large" in response.json()["detail"]


class GatedModel(torch.nn.Module):
    """A deliberately slow model: forward waits until the test opens its gate (at most 60 s)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(784, 10)
        self.entered, self.gate = threading.Event(), threading.Event()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.entered.set()
        self.gate.wait(timeout=60)
        return self.linear(x)


def test_health_answers_while_a_large_batch_is_being_predicted() -> None:
    import uvicorn

    model = GatedModel()
    bundle = Bundle(model=model, name="slow", classes=[str(d) for d in range(10)], input_spec=image_input_spec(),
                    preprocessing=pixel_preprocessing(MNIST_MEAN, MNIST_STD))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(bundle), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    batch_answer: list[httpx.Response] = []
    batch = threading.Thread(target=lambda: batch_answer.append(httpx.post(
        f"{url}/predict", json={"images": [[0] * 784] * MAX_BATCH}, timeout=90)), daemon=True)
    try:
        for _ in range(300):  # bounded wait for startup
            if server.started:
                break
            time.sleep(0.1)
        assert server.started
        batch.start()
        assert model.entered.wait(timeout=60), "the batch never reached the model"
        health = httpx.get(f"{url}/health", timeout=20)  # the model is still blocked inside forward()
        assert health.status_code == 200 and health.json()["model"] == "slow"
        assert batch.is_alive() and not batch_answer, "the batch finished before /health was asked"
    finally:
        model.gate.set()
        batch.join(timeout=60)
        server.should_exit = True
        thread.join(timeout=30)
    assert batch_answer and batch_answer[0].status_code == 200
    assert len(batch_answer[0].json()["predictions"]) == MAX_BATCH


@pytest.fixture(scope="module")
def impatient_server(mnist_model) -> Iterator[ServerProcess]:
    """The MNIST server with a 1-second limit for sending headers and body."""
    with ServerProcess(mnist_model[0], extra_args=["--read-timeout", "1"]) as running:
        yield running


def raw_exchange(server: ServerProcess, data: bytes, limit: float = 15.0) -> tuple[bytes, float]:
    """Send data on a raw loopback socket, then read until the server closes it; return (reply, seconds)."""
    start = time.monotonic()
    with socket.create_connection((server.host, server.port), timeout=limit) as sock:
        if data:
            sock.sendall(data)
        reply = b""
        while time.monotonic() - start < limit:
            try:
                chunk = sock.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                return reply, time.monotonic() - start
            reply += chunk
    raise AssertionError(f"the server kept the connection open for {limit:g} s; got {reply[:200]!r}")


def test_stalled_body_gets_408_and_is_closed(impatient_server: ServerProcess) -> None:
    head = (b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n")
    reply, seconds = raw_exchange(impatient_server, head + b'{"pixels": [0, 0, ')
    assert reply.startswith(b"HTTP/1.1 408"), reply
    assert b"did not arrive within 1 s" in reply and b"of the 1,000 announced" in reply
    assert seconds < 10
    assert httpx.get(f"{impatient_server.url}/health").status_code == 200


def test_stalled_headers_get_408_and_are_closed(impatient_server: ServerProcess) -> None:
    reply, seconds = raw_exchange(impatient_server, b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")
    assert reply.startswith(b"HTTP/1.1 408"), reply
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["detail"].startswith("The request headers did not arrive")
    assert seconds < 10
    # A connection that never sends anything is closed too, without a reply.
    reply, seconds = raw_exchange(impatient_server, b"")
    assert reply == b"" and seconds < 10
    assert httpx.get(f"{impatient_server.url}/health").status_code == 200


def test_stalled_headers_on_a_kept_alive_connection_get_408(impatient_server: ServerProcess) -> None:
    start = time.monotonic()
    with socket.create_connection((impatient_server.host, impatient_server.port), timeout=15) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = b""
        while b'"model"' not in first and time.monotonic() - start < 15:
            first += sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200"), first
        time.sleep(1.5)  # idle past the 1 s deadline (but within uvicorn's 5 s keep-alive), then start a request
        sock.sendall(b"POST /predict HTTP/1.1\r\nHo")
        reply = b""
        while time.monotonic() - start < 15:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 408"), reply
    assert time.monotonic() - start < 12


def test_a_normal_keep_alive_client_is_not_cut_off(impatient_server: ServerProcess, digits) -> None:
    with httpx.Client(base_url=impatient_server.url) as client:  # one connection, several requests
        for _ in range(3):
            answer = client.post("/predict", json={"pixels": digits[0][0].numpy().tolist()})
            assert answer.status_code == 200, answer.text


def edited_bundle(source: Path, folder: Path, field: str, value) -> Path:
    """Copy a bundle and set one (dotted) bundle.json field, or delete it when value is DELETE."""
    folder.mkdir()
    for name in ("bundle.json", "weights.pt"):
        (folder / name).write_bytes((source / name).read_bytes())
    meta = json.loads((folder / "bundle.json").read_text())
    *parents, last = field.split(".")
    target = meta
    for key in parents:
        target = target[key]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    (folder / "bundle.json").write_text(json.dumps(meta))
    return folder


DELETE = object()
BAD_BUNDLES = [
    ("format_version", "1", "'format_version'"),
    ("input_spec", "28x28 image", "'input_spec' must be an object"),
    ("classes", [str(d) for d in range(9)], "lists 9 classes but the model outputs [10] scores"),
    ("input_spec.shape", DELETE, "'input_spec.shape'"),
    ("preprocessing.type", "minmax", "'preprocessing.type'"),
    ("input_spec", {"kind": "tabular"}, "'input_spec.features'"),
    ("preprocessing.std", 0, "'preprocessing.std'"),
    ("weights_file", "../weights.pt", "'weights_file'"),
    ("config.hidden", [64], "layer '0.weight' has shape [32, 784]"),
]


@pytest.mark.parametrize("field, value, message", BAD_BUNDLES, ids=[c[0] + ":" + c[2][:20] for c in BAD_BUNDLES])
def test_invalid_bundle_stops_startup_with_exit_2_naming_the_field(tmp_path: Path, mnist_model, capsys, monkeypatch,
                                                                   field, value, message) -> None:
    import uvicorn

    folder = edited_bundle(mnist_model[0], tmp_path / "edited", field, value)
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)  # a bundle that gets this far would be served
    assert serve.main(["--model", str(folder)]) == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("error: cannot serve") and message in stderr, stderr


def test_bundle_with_string_format_version_exits_2_without_traceback(tmp_path: Path, mnist_model) -> None:
    folder = edited_bundle(mnist_model[0], tmp_path / "edited", "format_version", "1")
    result = run_cli("--model", str(folder))
    assert result.returncode == 2 and "field 'format_version'" in result.stderr
    assert "Traceback" not in result.stderr
