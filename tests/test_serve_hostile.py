"""The model server against hostile clients and lying bundles (issue 29): bodies dribbled in tiny chunks must not
stall the event loop, a bundle's metadata must agree with its model, odd bodies never get a 5xx or hang."""
from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest
import torch

from course_utils import serve
from course_utils.bundle import image_input_spec, pixel_preprocessing, save_bundle
from course_utils.mnist import MNIST_MEAN, MNIST_STD
from course_utils.models import FeedForwardNet
from course_utils.serve import ServerProcess, is_loopback


@pytest.fixture(scope="module")
def bundle_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("hostile") / "mnist"
    save_bundle(folder, FeedForwardNet(784, (16,), 10, dropout=0.0), name="mnist_fnn",
                classes=[str(d) for d in range(10)], input_spec=image_input_spec(),
                preprocessing=pixel_preprocessing(MNIST_MEAN, MNIST_STD))
    return folder


@pytest.fixture(scope="module")
def server(bundle_folder: Path) -> Iterator[ServerProcess]:
    """The server with its default limits (2 MiB bodies, 20 s read timeout), on 127.0.0.1."""
    with ServerProcess(bundle_folder) as running:
        yield running


def dribble(server: ServerProcess, path: str, result: list, chunks: int = 6 * 1024 * 1024,
            limit: float = 15.0, stop_on_reply: bool = True) -> None:
    """Send a chunked body of `chunks` 1-byte chunks (a 6 MB body by default), stopping as soon as the server
    answers (or, without stop_on_reply, when it stops reading); append (status line, seconds until the answer and
    the close, closed?, reply) to result."""
    start = time.monotonic()
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    piece = b"1\r\n0\r\n" * 1024  # 1,024 one-byte chunks
    reply, closed = b"", False
    with socket.create_connection((server.host, server.port), timeout=limit) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.sendall(head)
            for _ in range(chunks // 1024):
                if (stop_on_reply and select.select([sock], [], [], 0)[0]) or time.monotonic() - start > limit:
                    break  # the server answered (or closed): stop sending, read it
                sock.sendall(piece)
            else:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            closed = not stop_on_reply  # the server closed the connection while the body was still arriving
        while not closed and time.monotonic() - start < limit:
            try:
                data = sock.recv(65536)
            except socket.timeout:
                break
            except OSError:
                closed = True
                break
            if not data:
                closed = True
                break
            reply += data
    result.append((reply.split(b"\r\n", 1)[0], time.monotonic() - start, closed, reply))


@pytest.mark.parametrize("clients", [1, 2])
def test_body_in_one_byte_chunks_does_not_stall_health_and_gets_413(server: ServerProcess, clients: int) -> None:
    results: list = []
    threads = [threading.Thread(target=dribble, args=(server, "/predict", results), daemon=True)
               for _ in range(clients)]
    for thread in threads:
        thread.start()
    worst, checks = 0.0, 0
    try:
        while any(t.is_alive() for t in threads) or checks < 3:
            start = time.monotonic()
            assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200
            worst = max(worst, time.monotonic() - start)
            checks += 1
            time.sleep(0.05)
    finally:
        for thread in threads:
            thread.join(timeout=20)
    assert worst < 2.0, f"/health took {worst:.2f} s while {clients} client(s) dribbled 1-byte chunks"
    assert len(results) == clients
    for status, seconds, closed, reply in results:
        assert status.startswith(b"HTTP/1.1 413"), reply[:300]
        assert b"pieces" in reply and closed
        assert seconds < 5, f"the dribbler got its answer only after {seconds:.1f} s"


def test_body_in_one_byte_chunks_to_a_route_that_ignores_it_is_cut_off(server: ServerProcess) -> None:
    """POST /health answers 405 without reading the body; uvicorn would then parse (and discard) the rest of it,
    chunk by chunk, for tens of seconds: the server must close the connection instead."""
    results: list = []
    dribble(server, "/health", results, stop_on_reply=False)
    status, seconds, closed, reply = results[0]
    assert closed and seconds < 5, (seconds, closed, reply[:300])
    assert status in (b"", b"HTTP/1.1 405 Method Not Allowed"), reply[:300]  # the 405 may be lost to the reset
    assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200


def test_a_body_in_1_kib_chunks_is_still_accepted(server: ServerProcess) -> None:
    body = json.dumps({"images": [[0] * 784] * 200}).encode()  # about 310 KB in 1 KiB pieces

    def pieces() -> Iterator[bytes]:
        for i in range(0, len(body), 1024):
            yield body[i:i + 1024]
    answer = httpx.post(f"{server.url}/predict", content=pieces(), headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["predictions"]) == 200


def test_read_body_counts_pieces_without_the_protocol() -> None:
    """Under plain uvicorn (no header_timeout_protocol) the app itself refuses a body in too many pieces."""
    import asyncio

    from starlette.requests import Request

    async def run() -> int:
        messages = [{"type": "http.request", "body": b"0", "more_body": True}] * 2000

        async def receive() -> dict:
            return messages.pop() if messages else {"type": "http.request", "body": b"", "more_body": False}
        request = Request({"type": "http", "method": "POST", "headers": [], "path": "/predict"}, receive)
        try:
            await serve.read_body(request, max_bytes=64 * 1024, max_pieces=1024)
        except serve.InputError as exc:
            assert "1,024 pieces" in exc.message
            return exc.status
        return 200
    assert asyncio.run(run()) == 413


def test_flat_list_as_images_gets_a_shape_error_not_413(server: ServerProcess) -> None:
    answer = httpx.post(f"{server.url}/predict", json={"images": [0] * 784})
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert "images[0] is not a list" in detail and "28x28" in detail and "\"pixels\"" in detail


@pytest.mark.parametrize("host", ["LOCALHOST", "Localhost", "127.1", "127.0.0.2", "::ffff:127.0.0.1", "[::1]",
                                  "localhost."])
def test_loopback_spellings_are_loopback(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.168.1.5", "::ffff:10.0.0.1", "10.1"])
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def edited_copy(source: Path, folder: Path, edit) -> Path:
    folder.mkdir()
    for name in ("bundle.json", "weights.pt"):
        (folder / name).write_bytes((source / name).read_bytes())
    meta = json.loads((folder / "bundle.json").read_text())
    edit(meta)
    (folder / "bundle.json").write_text(json.dumps(meta))
    return folder


def set_in(path: str, value):
    def edit(meta: dict) -> None:
        *parents, last = path.split(".")
        target = meta
        for key in parents:
            target = target[key]
        target[last] = value
    return edit


LYING_BUNDLES = [
    ("shape 56x14 for 784 inputs", set_in("input_spec.shape", [56, 14]), "'input_spec.shape'"),
    ("1,000-character class names", set_in("classes", [f"{d}" * 1000 for d in range(10)]), "'classes'"),
    ("1 MB class names", set_in("classes", [f"{d}" * 1_000_000 for d in range(10)]), "bundle.json is"),
    ("2,000 classes", set_in("classes", [str(d) for d in range(2000)]), "lists 2,000 classes"),
    ("config of 10 billion parameters", set_in("config.hidden", [100_000, 100_000]), "field 'config' describes"),
    ("std 1e-300", set_in("preprocessing.std", 1e-300), "'preprocessing.std'"),
    ("divisor 1e-320", set_in("preprocessing.divisor", 1e-320), "'preprocessing.divisor'"),
    ("mean 1e300", set_in("preprocessing.mean", 1e300), "'preprocessing.mean'"),
]


@pytest.mark.parametrize("case, edit, message", LYING_BUNDLES, ids=[c[0] for c in LYING_BUNDLES])
def test_lying_bundle_stops_startup_naming_the_field(tmp_path: Path, bundle_folder: Path, capsys, monkeypatch,
                                                      case, edit, message) -> None:
    import uvicorn

    folder = edited_copy(bundle_folder, tmp_path / "lying", edit)
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)  # a bundle that gets this far would be served
    start = time.monotonic()
    assert serve.main(["--model", str(folder)]) == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("error: cannot serve") and message in stderr, stderr[:500]
    assert len(stderr) < 2000  # the error does not echo megabytes of class names
    assert time.monotonic() - start < 10


def test_lying_config_is_refused_before_the_model_is_built(tmp_path: Path, bundle_folder: Path) -> None:
    """A config for ~116 million parameters (465 MB) must be refused without allocating them."""
    folder = edited_copy(bundle_folder, tmp_path / "big", set_in("config.hidden", [20_000, 5_000]))
    script = ("import resource, sys\nfrom course_utils.bundle import load_bundle, BundleError\n"
              "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
              "try:\n    load_bundle(sys.argv[1])\nexcept BundleError as exc:\n    print(exc)\n"
              "print('grew', (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n")
    result = subprocess.run([sys.executable, "-c", script, str(folder)], capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).resolve().parents[1])
    assert "field 'config' describes a FeedForwardNet with" in result.stdout, result.stdout + result.stderr
    grew_mb = int(result.stdout.rsplit("grew", 1)[1])
    assert grew_mb < 150, f"loading the lying bundle took {grew_mb} MB"


HOSTILE = [
    ("deep json", b'{"pixels": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json"),
    ("deep objects", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "application/json"),
    ("huge flat json", b'{"pixels": [' + b"1," * 900_000 + b"1]}", "application/json"),
    ("NaN", b'{"pixels": [NaN]}', "application/json"),
    ("Infinity", b'{"images": [[Infinity]]}', "application/json"),
    ("-Infinity rows", b'{"rows": [[-Infinity]]}', "application/json"),
    ("1e999", b'{"pixels": [' + b"1e999," * 783 + b"0]}", "application/json"),
    ("empty json body", b"", "application/json"),
    ("null", b"null", "application/json"),
    ("string", b'"pixels"', "application/json"),
    ("BOM", b'\xef\xbb\xbf{"pixels": [0]}', "application/json"),
    ("utf-16", '{"pixels": [0]}'.encode("utf-16"), "application/json; charset=utf-16"),
    ("invalid utf-8", b'{"pixels": "\xff\xfe"}', "application/json"),
    ("lone surrogate", b'{"pixels": ["\\ud800"]}', "application/json"),
    ("unicode keys", json.dumps({"пиксели": [0] * 784, "😀": 1}).encode(), "application/json"),
    ("unicode value_range", json.dumps({"pixels": [0] * 784, "value_range": "０-１"}).encode(), "application/json"),
    ("long key", json.dumps({"k" * 500_000: 1}).encode(), "application/json"),
    ("duplicate keys", b'{"pixels": [0], "pixels": "x"}', "application/json"),
    ("text/plain", b"hello", "text/plain"),
    ("xml", b"<pixels/>", "application/xml"),
    ("gif", b"GIF89a" + bytes(100), "image/gif"),
    ("png type, json body", b'{"pixels": [0]}', "image/png"),
    ("multipart without boundary", b"--x\r\n\r\n", "multipart/form-data"),
    ("multipart garbage", b"--x\r\nContent-Disposition: form-data\r\n\r\n" + bytes(1000),
     "multipart/form-data; boundary=x"),
    ("no content type", b'{"pixels": [0]}', ""),
    ("content type of 8 KB", b'{"pixels": [0]}', "application/json" + ";a=b" * 2000),
]


@pytest.mark.parametrize("case, body, content_type", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_bodies_get_a_4xx_quickly(server: ServerProcess, case: str, body: bytes, content_type: str) -> None:
    headers = {"content-type": content_type} if content_type else {}
    start = time.monotonic()
    try:
        answer = httpx.post(f"{server.url}/predict", content=body, headers=headers, timeout=15)
    except httpx.RemoteProtocolError:
        answer = None  # h11 refused the request head itself (e.g. an oversized header): a closed connection is fine
    assert time.monotonic() - start < 10
    if answer is not None:
        assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
        assert answer.json()["detail"]
    assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200
