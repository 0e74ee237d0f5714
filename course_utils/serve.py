"""Serve a saved model bundle over HTTP (FastAPI + uvicorn): /health, /model and /predict.

Start it with ``python -m course_utils.serve --model notebooks/artifacts/mnist_fnn --port 8000``
(it listens on 127.0.0.1 only unless you pass ``--host``).

``POST /predict`` accepts, for an image model (MNIST: 28x28 grayscale, white digit on black):

* a PNG or JPEG file: the raw bytes with ``Content-Type: image/png`` / ``image/jpeg``, or a multipart form
  upload in the field ``file`` (``curl -F file=@digit.png``); the image must already be 28x28 pixels;
* JSON ``{"pixels": <28x28 nested list or 784 flat values>}`` for one image, or ``{"images": [...]}`` for
  several. Values are **0-255** (like the uint8 pixels of a PNG) unless you add ``"value_range": "0-1"``.

and for a tabular model: JSON ``{"rows": [[v1, ..., vN], ...]}`` or rows as ``{"feature name": value}`` objects,
in raw (unscaled) units; the server applies the bundle's preprocessing.

The answer is ``{"model": name, "predictions": [{"label", "class_index", "probabilities": {class: p}}]}``.
Bad requests get a 4xx status with ``{"detail": "<what is wrong and what to send instead>"}``.
"""
from __future__ import annotations

import argparse
import io
import ipaddress
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .bundle import Bundle, BundleError, load_bundle
from .paths import display_path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_BATCH = 512
IMAGE_TYPES = {"image/png", "image/jpeg", "image/jpg", "application/octet-stream"}
PNG_MAGIC, JPEG_MAGIC = b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"
VALUE_RANGES = {"0-255": 1.0, "0-1": 255.0}


class InputError(Exception):
    """A request the model cannot answer; status is the HTTP code to send, message says what to fix."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def number_array(value: Any, what: str) -> np.ndarray:
    """Turn nested JSON lists into a float64 array, rejecting ragged lists, non-numbers and NaN/inf."""
    if not isinstance(value, list):
        raise InputError(422, f"{what} must be a JSON list of numbers, got {type(value).__name__}.")
    try:
        arr = np.asarray(value)
    except ValueError:
        raise InputError(422, f"{what} is ragged: every row must have the same number of values.") from None
    if arr.dtype.kind not in "iuf":
        kind = {"b": "true/false values", "U": "strings", "O": "nulls, objects or rows of different lengths"}.get(
            arr.dtype.kind, f"values of type {arr.dtype}")
        raise InputError(422, f"{what} must contain numbers only, but it contains {kind}.")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise InputError(422, f"{what} contains NaN or infinite values; send finite numbers.")
    return arr


def image_shape(bundle: Bundle) -> tuple[int, int]:
    """(height, width) the image model expects."""
    height, width = bundle.input_spec["shape"]
    return int(height), int(width)


def pixels_from_json(bundle: Bundle, payload: dict[str, Any]) -> np.ndarray:
    """Return raw 0-255 pixels (N, H*W) from a JSON body {"pixels": ...} or {"images": [...]}."""
    height, width = image_shape(bundle)
    size = f"{height}x{width} nested lists or {height * width} flat values"
    value_range = payload.get("value_range", "0-255")
    if value_range not in VALUE_RANGES:
        raise InputError(422, f"value_range must be \"0-255\" (default) or \"0-1\", got {value_range!r}.")
    if "pixels" in payload:
        arr = number_array(payload["pixels"], "pixels")
        if arr.shape not in ((height, width), (height * width,)):
            raise InputError(422, f"pixels has shape {list(arr.shape)}; send one image as {size}.")
        arr = arr.reshape(1, -1)
    elif "images" in payload:
        arr = number_array(payload["images"], "images")
        if arr.ndim < 2 or arr.shape[1:] not in ((height, width), (height * width,)):
            raise InputError(422, f"images has shape {list(arr.shape)}; send a list of images, each {size}.")
        arr = arr.reshape(len(arr), -1)
    else:
        raise InputError(422, "The JSON body needs \"pixels\" (one image) or \"images\" (a list of images), "
                              f"each {size} with values 0-255 (or add \"value_range\": \"0-1\").")
    check_batch(len(arr))
    low, high = 0.0, 255.0 / VALUE_RANGES[value_range]
    if arr.min() < low or arr.max() > high:
        raise InputError(422, f"Pixel values must lie in [0, {high:g}] for value_range {value_range!r}; got "
                              f"values from {arr.min():g} to {arr.max():g}.")
    return arr * VALUE_RANGES[value_range]


def rows_from_json(bundle: Bundle, payload: dict[str, Any]) -> np.ndarray:
    """Return raw feature rows (N, features) from {"rows": [[...], ...]} or {"rows": [{name: value}, ...]}."""
    names = bundle.input_spec["features"]
    rows = payload.get("rows")
    if not isinstance(rows, list) or not rows:
        raise InputError(422, f"The JSON body needs \"rows\": a non-empty list of rows, each {len(names)} numbers "
                              "or an object {feature name: value}. GET /model lists the features.")
    check_batch(len(rows))
    if all(isinstance(r, dict) for r in rows):
        for i, row in enumerate(rows):
            missing, unknown = [n for n in names if n not in row], [k for k in row if k not in names]
            if missing or unknown:
                raise InputError(422, f"Row {i}: " + "; ".join(
                    part for part in (f"missing features {missing[:5]}" if missing else "",
                                      f"unknown features {unknown[:5]}" if unknown else "") if part) + ".")
        rows = [[row[n] for n in names] for row in rows]
    arr = number_array(rows, "rows")
    if arr.ndim != 2 or arr.shape[1] != len(names):
        raise InputError(422, f"rows has shape {list(arr.shape)}; each row needs {len(names)} numbers "
                              "(in the order GET /model lists).")
    return arr


def check_batch(n: int) -> None:
    """Refuse batches larger than MAX_BATCH."""
    if n > MAX_BATCH:
        raise InputError(413, f"{n} inputs in one request; send at most {MAX_BATCH} per request.")


def pixels_from_image_bytes(bundle: Bundle, data: bytes) -> np.ndarray:
    """Decode a PNG/JPEG into raw 0-255 grayscale pixels (1, H*W), checking format and size."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise InputError(400, "The uploaded image file is empty.")
    if not (data.startswith(PNG_MAGIC) or data.startswith(JPEG_MAGIC)):
        raise InputError(415, "The body is not a PNG or JPEG image (its first bytes do not match either format). "
                              "Upload a .png/.jpg file, or send JSON {\"pixels\": [...]}.")
    height, width = image_shape(bundle)
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.size != (width, height):
                raise InputError(422, f"The image is {image.size[0]}x{image.size[1]} pixels; this model expects "
                                      f"{width}x{height} grayscale (white digit on black, like MNIST). Resize it first.")
            pixels = np.asarray(image.convert("L"), dtype=np.float64)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(400, f"The image could not be decoded ({exc}); the file is damaged or truncated.") from None
    return pixels.reshape(1, -1)


def prediction_payload(bundle: Bundle, probabilities: torch.Tensor) -> dict[str, Any]:
    """JSON answer: label, class index and per-class probabilities for each input."""
    predictions = []
    for row in probabilities.tolist():
        best = int(np.argmax(row))
        predictions.append({"label": bundle.classes[best], "class_index": best,
                            "probabilities": dict(zip(bundle.classes, row))})
    return {"model": bundle.name, "predictions": predictions}


async def read_body(request: Request, max_bytes: int) -> bytes:
    """Read the request body, refusing (413) anything larger than max_bytes and (400) an empty body."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise InputError(413, f"The body is {int(declared):,} bytes; the limit is {max_bytes:,} bytes.")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > max_bytes:
            raise InputError(413, f"The body is larger than the limit of {max_bytes:,} bytes.")
        chunks.append(chunk)
    if total == 0:
        raise InputError(400, "The request body is empty. Send an image file or a JSON body (see GET /model).")
    return b"".join(chunks)


async def multipart_file(request: Request, body: bytes) -> bytes:
    """Return the bytes of the 'file' field of a multipart form body already read into memory."""
    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form()
    except Exception as exc:  # starlette raises several types for malformed forms
        raise InputError(400, f"The multipart form could not be parsed ({exc}).") from None
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InputError(422, "The multipart form needs the image in a file field named 'file' "
                              "(e.g. curl -F file=@digit.png).")
    return await upload.read()


def create_app(bundle: Bundle, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """Build the FastAPI app serving one bundle."""
    app = FastAPI(title=f"course-kit model server: {bundle.name}",
                  description="Predictions from a course_utils model bundle.")
    is_image = bundle.input_spec.get("kind") == "image"

    @app.exception_handler(InputError)
    async def input_error(_: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.get("/health")
    def health() -> dict[str, str]:
        """Liveness check."""
        return {"status": "ok", "model": bundle.name}

    @app.get("/model")
    def model_info() -> dict[str, Any]:
        """Name, classes, input spec, preprocessing and metrics of the served model."""
        info = bundle.describe()
        info["max_body_bytes"] = max_body_bytes
        info["max_batch"] = MAX_BATCH
        return info

    @app.post("/predict")
    async def predict(request: Request) -> dict[str, Any]:
        """Class probabilities and predicted label for images (PNG/JPEG or JSON pixels) or JSON feature rows."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await read_body(request, max_body_bytes)
        if content_type == "application/json":
            try:
                payload = json.loads(body)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InputError(400, f"The body is not valid JSON ({exc}).") from None
            if not isinstance(payload, dict):
                raise InputError(422, "The JSON body must be an object, e.g. {\"pixels\": [...]} or {\"rows\": [...]}.")
            raw = pixels_from_json(bundle, payload) if is_image else rows_from_json(bundle, payload)
        elif content_type in IMAGE_TYPES or content_type == "multipart/form-data":
            if not is_image:
                raise InputError(415, f"Model {bundle.name!r} takes JSON feature rows, not images: send "
                                      "Content-Type application/json with {\"rows\": [...]}.")
            data = await multipart_file(request, body) if content_type == "multipart/form-data" else body
            raw = pixels_from_image_bytes(bundle, data)
        else:
            accepted = "image/png, image/jpeg, multipart/form-data or application/json" if is_image else "application/json"
            raise InputError(415, f"Unsupported Content-Type {content_type or '(none)'!r}; send {accepted}.")
        # Pixels are whole numbers: scale them in float32 exactly like mnist.to_inputs; feature rows stay float64.
        inputs = torch.from_numpy(raw).float() if is_image else torch.from_numpy(raw)
        return prediction_payload(bundle, bundle.predict_proba(inputs))

    return app


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options of `python -m course_utils.serve`."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="model bundle folder written by course_utils.bundle.save_bundle")
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port (default 8000)")
    parser.add_argument("--max-body-bytes", type=int, default=MAX_BODY_BYTES, help="largest request body accepted")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Load the bundle (exit 2 with a message when it is missing or damaged) and serve it with uvicorn."""
    import uvicorn

    args = parse_args(argv)
    if not 0 < args.port < 65536:
        print(f"error: --port must be between 1 and 65535, got {args.port}.", file=sys.stderr)
        return 2
    try:
        bundle = load_bundle(args.model)
    except (FileNotFoundError, BundleError) as exc:
        print(f"error: cannot serve {display_path(args.model)}: {exc}", file=sys.stderr)
        return 2
    if not is_loopback(args.host):
        print(f"warning: listening on {args.host}, reachable from other machines; the API has no authentication.",
              file=sys.stderr)
    print(f"Serving model {bundle.name!r} ({len(bundle.classes)} classes) on http://{args.host}:{args.port} "
          f"- endpoints /health, /model, /predict; interactive docs at /docs", flush=True)
    uvicorn.run(create_app(bundle, args.max_body_bytes), host=args.host, port=args.port, log_level=args.log_level)
    return 0


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port that is free on host right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """Run `python -m course_utils.serve` in a background process; start() waits until /health answers."""

    def __init__(self, model: str | os.PathLike[str], port: int | None = None, host: str = DEFAULT_HOST,
                 extra_args: Sequence[str] = (), startup_timeout: float = 60.0) -> None:
        self.model, self.host = Path(model), host
        self.port = port or free_port(host)
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="course-serve-", suffix=".log", delete=False)

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:8000."""
        return f"http://{self.host}:{self.port}"

    def output(self) -> str:
        """Everything the server printed so far (stdout and stderr)."""
        return Path(self.log.name).read_text(encoding="utf-8", errors="replace")

    def start(self) -> "ServerProcess":
        """Start the server and wait until GET /health succeeds; raise RuntimeError with its output if it fails."""
        import httpx

        package_parent = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")])))
        command = [sys.executable, "-m", "course_utils.serve", "--model", str(self.model), "--host", self.host,
                   "--port", str(self.port), "--log-level", "warning", *self.extra_args]
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"The model server exited with code {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"The model server did not answer within {self.startup_timeout:g} s:\n{self.output()}")

    def stop(self) -> int | None:
        """Stop the server (terminate, then kill after 10 s); return its exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    sys.exit(main())
