"""Serve a saved model bundle over HTTP (FastAPI + uvicorn): /health, /model and /predict.

Start it with ``python -m course_utils.serve --model notebooks/artifacts/mnist_fnn --port 8000``
(it listens on 127.0.0.1 only unless you pass ``--host``).

``POST /predict`` accepts, for an image model (MNIST: 28x28 grayscale, white digit on black):

* a PNG or JPEG file: the raw bytes with ``Content-Type: image/png`` / ``image/jpeg``, or a multipart form
  upload in the field ``file`` (``curl -F file=@digit.png``); the image must already be 28x28 pixels and a
  single still frame; colour, palette, 1-bit and 16-bit images are converted to 8-bit grayscale and the answer
  says so in ``"converted"``;
* JSON ``{"pixels": <28x28 nested list or 784 flat values>}`` for one image, or ``{"images": [...]}`` for
  several (not both). Values are **0-255** (like the uint8 pixels of a PNG) unless you add ``"value_range": "0-1"``.

and for a tabular model: JSON ``{"rows": [[v1, ..., vN], ...]}`` or rows as ``{"feature name": value}`` objects,
in raw (unscaled) units; the server applies the bundle's preprocessing.

The answer is ``{"model": name, "predictions": [{"label", "class_index", "probabilities": {class: p}}]}``.
Bad requests get a 4xx status with ``{"detail": "<what is wrong and what to send instead>"}``; a client that
takes longer than ``--read-timeout`` seconds to send its headers or its body gets 408 and is disconnected, and one
that sends its body in more than max(1024, max_body_bytes / 256) pieces (e.g. 1-byte HTTP chunks) gets 413 and is
disconnected without the rest being parsed.
Model work runs in a worker thread, so /health answers while a large batch is being predicted.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import anyio
import numpy as np
import torch
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from .bundle import Bundle, BundleError, load_bundle
from .paths import display_path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_BATCH = 512
READ_TIMEOUT = 20.0
MIN_PIECE_BYTES = 256  # a body may arrive in at most max(1024, max_body_bytes / 256) pieces (chunks or reads)
BODY_REFUSED = "course_utils.body_refused"  # scope key the protocol sets when it stops reading a request body
FLOAT32_MAX = float(np.finfo(np.float32).max)
IMAGE_TYPES = {"image/png", "image/jpeg", "image/jpg", "application/octet-stream"}
PNG_MAGIC, JPEG_MAGIC = b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"
VALUE_RANGES = {"0-255": 1.0, "0-1": 255.0}
IMAGE_KEYS, TABULAR_KEYS = ("pixels", "images", "value_range"), ("rows",)
SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}


class InputError(Exception):
    """A request the model cannot answer; status is the HTTP code to send, message says what to fix."""

    def __init__(self, status: int, message: str, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = {"connection": "close"} if close else None


def parse_json(body: bytes) -> Any:
    """Parse a JSON body, turning every way it can fail (bad syntax, NaN, huge integers, deep nesting) into a 4xx."""
    def refuse_constant(name: str) -> float:
        raise InputError(422, f"The JSON holds {name}, which is not a number the model can use; send finite numbers.")

    try:
        return json.loads(body, parse_constant=refuse_constant)
    except RecursionError:
        raise InputError(400, "The JSON body is nested too deeply (hundreds of levels of lists or objects). Send "
                              "pixels as [[...], ...] (2 levels), images 3 levels, rows 2 levels.") from None
    except UnicodeDecodeError:
        raise InputError(400, "The body is not valid JSON: it is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise InputError(400, f"The body is not valid JSON ({exc}).") from None
    except ValueError as exc:  # Python refuses to parse integers with more than sys.get_int_max_str_digits() digits
        if "integer string conversion" not in str(exc):
            raise InputError(400, f"The body is not valid JSON ({exc}).") from None
        raise InputError(422, f"The JSON holds an integer with more than {sys.get_int_max_str_digits()} digits; "
                              "numbers must be finite floats (at most about 1.8e308).") from None


def _leaf_problem(item: Any, path: str, what: str) -> str | None:
    """Why one JSON value is not a usable number, or None when it is."""
    kind = ("true/false" if isinstance(item, bool) else "null" if item is None else
            f"a string ({item[:20]!r})" if isinstance(item, str) else "an object" if isinstance(item, dict) else
            None if isinstance(item, (int, float)) else f"a {type(item).__name__}")
    if kind:
        return f"{what} must contain numbers only, but {path} is {kind}"
    if isinstance(item, int):
        try:
            float(item)
        except OverflowError:
            return (f"{path} is an integer with {len(str(item))} digits, too large for a floating-point number "
                    "(at most about 1.8e308); send values in the range the model expects")
    return None


def describe_problem(value: list, what: str, max_depth: int) -> str | None:
    """Say what makes nested lists unusable as numbers (too deep, non-numbers, ragged), with where; None if nothing."""
    stack: list[tuple[Any, str, int]] = [(value, what, 0)]
    seen: dict[int, tuple[int, str]] = {}  # depth -> (length of the first list there, its path)
    leaf_depth: tuple[int, str] | None = None
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, list):
            if depth >= max_depth:
                return (f"{what} is nested too deeply: {path} is a list, but {what} takes at most {max_depth} "
                        f"level{'s' if max_depth > 1 else ''} of lists")
            length, first = seen.setdefault(depth, (len(item), path))
            if len(item) != length:
                return (f"{what} is ragged: every row must have the same number of values ({first} has {length}, "
                        f"{path} has {len(item)})")
            stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in reversed(list(enumerate(item))))
            continue
        problem = _leaf_problem(item, path, what)
        if problem:
            return problem
        leaf_depth = leaf_depth or (depth, path)
        if depth != leaf_depth[0]:
            return f"{what} is ragged: {leaf_depth[1]} is a number but {path} sits at another nesting level"
    return None


def number_array(value: Any, what: str, max_depth: int) -> np.ndarray:
    """Turn nested JSON lists into a float64 array; refuse (422, saying where) ragged lists, non-numbers, NaN/inf."""
    if not isinstance(value, list):
        raise InputError(422, f"{what} must be a JSON list of numbers, got {type(value).__name__}.")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError, OverflowError, RecursionError):
        arr = None
    if arr is None or arr.dtype.kind not in "iuf":
        problem = describe_problem(value, what, max_depth)
        if problem:
            raise InputError(422, problem + ".")
        try:  # plain numbers NumPy did not type on its own, e.g. integers beyond 64 bits
            arr = np.array(value, dtype=np.float64)
        except (ValueError, TypeError, OverflowError) as exc:
            raise InputError(422, f"{what} could not be read as numbers ({exc}).") from None
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise InputError(422, f"{what}{''.join(f'[{i}]' for i in where)} is too large to be a finite number "
                              "(beyond about 1.8e308); send finite numbers.")
    return arr


def image_shape(bundle: Bundle) -> tuple[int, int]:
    """(height, width) the image model expects."""
    height, width = bundle.input_spec["shape"]
    return int(height), int(width)


def check_keys(payload: dict[str, Any], allowed: Sequence[str]) -> None:
    """Refuse unknown keys (a typo such as "value_rnage" would otherwise be ignored silently)."""
    unknown = [k for k in payload if k not in allowed]
    if unknown:
        raise InputError(422, f"Unknown key{'s' if len(unknown) > 1 else ''} {unknown[:5]} in the JSON body; this "
                              f"model accepts {', '.join(repr(k) for k in allowed)}.")


def pixels_from_json(bundle: Bundle, payload: dict[str, Any]) -> np.ndarray:
    """Return raw 0-255 pixels (N, H*W) from a JSON body {"pixels": ...} or {"images": [...]}."""
    height, width = image_shape(bundle)
    size = f"{height}x{width} nested lists or {height * width} flat values"
    if "pixels" not in payload and "images" not in payload:
        raise InputError(422, "The JSON body needs \"pixels\" (one image) or \"images\" (a list of images), "
                              f"each {size} with values 0-255 (or add \"value_range\": \"0-1\").")
    check_keys(payload, IMAGE_KEYS)
    value_range = payload.get("value_range", "0-255")
    if not isinstance(value_range, str) or value_range not in VALUE_RANGES:
        raise InputError(422, f"value_range must be the string \"0-255\" (default) or \"0-1\", got "
                              f"{json.dumps(value_range)[:40]}.")
    if "pixels" in payload and "images" in payload:
        raise InputError(422, "The JSON body has both \"pixels\" and \"images\"; send one image as \"pixels\" or "
                              "a list of images as \"images\", not both.")
    if "pixels" in payload:
        arr = number_array(payload["pixels"], "pixels", max_depth=2)
        if arr.shape not in ((height, width), (height * width,)):
            raise InputError(422, f"pixels has shape {list(arr.shape)}; send one image as {size}.")
        arr = arr.reshape(1, -1)
    else:
        images = payload["images"]
        if isinstance(images, list) and images and not isinstance(images[0], list):
            raise InputError(422, f"images must be a list of images, each {size}, but images[0] is not a list (a flat "
                                  f"list of {len(images):,} values is one image: send it as \"pixels\", or as "
                                  "\"images\": [[...]]).")
        if isinstance(images, list):
            check_batch(len(images))
        arr = number_array(payload["images"], "images", max_depth=3)
        if arr.ndim < 2 or arr.shape[1:] not in ((height, width), (height * width,)):
            raise InputError(422, f"images has shape {list(arr.shape)}; send a list of images, each {size}.")
        arr = arr.reshape(len(arr), -1)
    check_batch(len(arr))
    low, high = 0.0, 255.0 / VALUE_RANGES[value_range]
    if arr.size and (arr.min() < low or arr.max() > high):
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
    check_keys(payload, TABULAR_KEYS)
    check_batch(len(rows))
    if all(isinstance(r, dict) for r in rows):
        for i, row in enumerate(rows):
            missing, unknown = [n for n in names if n not in row], [k for k in row if k not in names]
            if missing or unknown:
                raise InputError(422, f"Row {i}: " + "; ".join(
                    part for part in (f"missing features {missing[:5]}" if missing else "",
                                      f"unknown features {unknown[:5]}" if unknown else "") if part) + ".")
        rows = [[row[n] for n in names] for row in rows]
    arr = number_array(rows, "rows", max_depth=2)
    if arr.ndim != 2 or arr.shape[1] != len(names):
        raise InputError(422, f"rows has shape {list(arr.shape)}; each row needs {len(names)} numbers "
                              "(in the order GET /model lists).")
    return arr


def check_batch(n: int) -> None:
    """Refuse batches larger than MAX_BATCH."""
    if n > MAX_BATCH:
        raise InputError(413, f"{n} inputs in one request; send at most {MAX_BATCH} per request.")


def clean_message(exc: BaseException) -> str:
    """An exception's text without Python object reprs such as <_io.BytesIO object at 0x...>."""
    return re.sub(r"\s*<[^<>]* at 0x[0-9a-fA-F]+>", "", str(exc)).strip() or type(exc).__name__


def grayscale_pixels(image: Any) -> tuple[np.ndarray, str | None]:
    """8-bit grayscale pixels of a PIL image as float64, and a note saying what was converted (None for 8-bit L)."""
    mode = image.mode
    if mode == "L":
        return np.asarray(image, dtype=np.float64), None
    if mode in SIXTEEN_BIT_MODES:
        # Pillow's convert("L") clips 16-bit values at 255 instead of scaling them; scale 0-65535 to 0-255 here.
        wide = np.asarray(image, dtype=np.float64)
        if wide.min() < 0 or wide.max() > 65535:
            raise InputError(422, f"The image has {mode} pixels outside 0-65535; send an 8-bit grayscale PNG.")
        return np.round(wide / 257.0), f"16-bit grayscale ({mode}) scaled to 8-bit grayscale (value / 257)"
    if mode == "1":
        note = "1-bit black-and-white image converted to 0/255 grayscale"
        return np.asarray(image.convert("L"), dtype=np.float64), note
    transparent = "A" in mode or "transparency" in image.info
    kind = {"P": "palette", "PA": "palette", "RGB": "RGB colour", "RGBA": "RGBA colour", "LA": "grayscale+alpha",
            "CMYK": "CMYK colour", "YCbCr": "YCbCr colour"}.get(mode, mode)
    note = (f"{kind} image converted to 8-bit grayscale (L = 0.299 R + 0.587 G + 0.114 B)"
            + ("; transparency ignored" if transparent else ""))
    return np.asarray(image.convert("L"), dtype=np.float64), note


def pixels_from_image_bytes(bundle: Bundle, data: bytes) -> tuple[np.ndarray, str | None]:
    """Decode a PNG/JPEG into raw 0-255 grayscale pixels (1, H*W) and a conversion note, checking format and size."""
    from PIL import Image

    if not data:
        raise InputError(400, "The uploaded image file is empty.")
    if not (data.startswith(PNG_MAGIC) or data.startswith(JPEG_MAGIC)):
        raise InputError(415, "The body is not a PNG or JPEG image (its first bytes do not match either format). "
                              "Upload a .png/.jpg file, or send JSON {\"pixels\": [...]}.")
    fmt = "PNG" if data.startswith(PNG_MAGIC) else "JPEG"
    height, width = image_shape(bundle)
    expected = f"this model expects {width}x{height} grayscale (white digit on black, like MNIST). Resize it first."
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            if image.size != (width, height):
                raise InputError(422, f"The image is {image.size[0]}x{image.size[1]} pixels; {expected}")
            frames = int(getattr(image, "n_frames", 1))
            if frames > 1:
                raise InputError(422, f"The {fmt} is animated ({frames} frames); send a single still image "
                                      "(which frame to use would be a guess).")
            pixels, note = grayscale_pixels(image)
    except InputError:
        raise
    except Image.DecompressionBombError as exc:
        claimed = re.search(r"\((\d+) pixels\)", str(exc))
        count = f"{int(claimed.group(1)):,} pixels" if claimed else "an enormous size"
        raise InputError(422, f"The {fmt} header claims {count}, far beyond what is safe to decode (a possible "
                              f"decompression bomb); {expected}") from None
    except Image.UnidentifiedImageError:
        raise InputError(400, f"The body starts like a {fmt} file but cannot be read as one; the file is damaged or "
                              f"is not really a {fmt}.") from None
    except Exception as exc:  # Pillow raises many types (OSError, SyntaxError, ValueError, EOFError, ...) for bad files
        raise InputError(400, f"The {fmt} image could not be decoded ({clean_message(exc)}); the file is damaged "
                              "or truncated.") from None
    return pixels.reshape(1, -1), note


def predict_checked(bundle: Bundle, raw: np.ndarray, is_image: bool) -> torch.Tensor:
    """Class probabilities for raw inputs; refuse (422) inputs whose scaled values or outputs are not finite."""
    # Pixels are whole numbers: scale them in float32 exactly like mnist.to_inputs; feature rows stay float64.
    inputs = bundle.preprocess(torch.from_numpy(raw).float() if is_image else torch.from_numpy(raw))
    # The model computes in float32: a raw value beyond its range (about 3.4e38), or one the scaling pushes there,
    # would come out as NaN probabilities.
    bad = ~torch.isfinite(inputs) | torch.from_numpy(np.abs(raw) > FLOAT32_MAX)
    if bad.any():
        row, col = (int(i) for i in bad.nonzero()[0])
        names = bundle.input_spec.get("features")
        where = f"feature {names[col]!r}" if names else f"value {col}"
        raise InputError(422, f"Input {row}, {where} = {raw[row, col]:g} is too large for the model, which "
                              f"computes in float32 (|value| up to about 3.4e38, before and after the bundle's "
                              "scaling). Send values in a realistic range (GET /model shows the scaling).")
    with torch.no_grad():
        probabilities = torch.softmax(bundle.model(inputs).float(), dim=1)
    bad_rows = (~torch.isfinite(probabilities)).any(dim=1)
    if bad_rows.any():
        row = int(bad_rows.nonzero()[0])
        raise InputError(422, f"Input {row} gives non-finite model outputs: its values (up to "
                              f"{float(np.abs(raw[row]).max()):g}) are far outside what the model can compute with. "
                              "Send values in a realistic range.")
    return probabilities


def prediction_payload(bundle: Bundle, probabilities: torch.Tensor, note: str | None = None) -> dict[str, Any]:
    """JSON answer: label, class index and per-class probabilities for each input (and what was converted)."""
    predictions = []
    for row in probabilities.tolist():
        best = int(np.argmax(row))
        predictions.append({"label": bundle.classes[best], "class_index": best,
                            "probabilities": dict(zip(bundle.classes, row))})
    answer: dict[str, Any] = {"model": bundle.name, "predictions": predictions}
    if note:
        answer["converted"] = note
    return answer


def answer_json(bundle: Bundle, body: bytes, is_image: bool) -> dict[str, Any]:
    """Parse, check and predict a JSON body (runs in a worker thread)."""
    payload = parse_json(body)
    if not isinstance(payload, dict):
        raise InputError(422, "The JSON body must be an object, e.g. {\"pixels\": [...]} or {\"rows\": [...]}.")
    raw = pixels_from_json(bundle, payload) if is_image else rows_from_json(bundle, payload)
    return prediction_payload(bundle, predict_checked(bundle, raw, is_image))


def answer_image(bundle: Bundle, data: bytes) -> dict[str, Any]:
    """Decode, check and predict one PNG/JPEG (runs in a worker thread)."""
    raw, note = pixels_from_image_bytes(bundle, data)
    return prediction_payload(bundle, predict_checked(bundle, raw, True), note)


def max_body_pieces(max_bytes: int) -> int:
    """How many pieces (HTTP chunks, or network reads) a request body may arrive in: parsing each piece costs the
    server the same work whatever its size, so a body dribbled in 1-byte chunks is refused long before max_bytes."""
    return max(1024, max_bytes // MIN_PIECE_BYTES)


def too_many_pieces(pieces: int) -> InputError:
    """413 for a body split into more than `pieces` pieces (it is closed: the rest of the body is not read)."""
    return InputError(413, f"The body arrived in more than {pieces:,} pieces (HTTP chunks or network packets), "
                           f"each costing the server work; send it in larger pieces (at least {MIN_PIECE_BYTES} "
                           "bytes each on average), e.g. as one Content-Length body.", close=True)


async def read_body(request: Request, max_bytes: int, timeout: float = READ_TIMEOUT,
                    max_pieces: int | None = None) -> bytes:
    """Read the request body within `timeout` seconds (else 408), refusing (413) more than max_bytes or a body in
    more than max_pieces pieces, and (400) none."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise InputError(413, f"The body is {int(declared):,} bytes; the limit is {max_bytes:,} bytes.")
    max_pieces = max_body_pieces(max_bytes) if max_pieces is None else max_pieces
    chunks, total = [], 0
    try:
        with anyio.fail_after(timeout):
            async for chunk in request.stream():
                total += len(chunk)
                if total > max_bytes:
                    raise InputError(413, f"The body is larger than the limit of {max_bytes:,} bytes.")
                chunks.append(chunk)
                if len(chunks) > max_pieces:  # only reached without header_timeout_protocol, which counts first
                    raise too_many_pieces(max_pieces)
            if request.scope.get(BODY_REFUSED):  # the protocol stopped reading a body dribbled in tiny pieces
                raise too_many_pieces(request.scope[BODY_REFUSED])
    except TimeoutError:
        expected = f" of the {int(declared):,} announced" if declared and declared.isdigit() else ""
        raise InputError(408, f"The request body did not arrive within {timeout:g} s ({total:,}{expected} bytes "
                              "received); send the whole body at once.", close=True) from None
    if total == 0:
        raise InputError(400, "The request body is empty. Send an image file or a JSON body (see GET /model).")
    return b"".join(chunks)


async def multipart_file(request: Request, body: bytes) -> bytes:
    """Return the bytes of the one file, in field 'file', of a multipart form body already read into memory."""
    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form()
    except Exception as exc:  # starlette raises several types for malformed forms
        raise InputError(400, f"The multipart form could not be parsed ({clean_message(exc)}).") from None
    files = [name for name, value in form.multi_items() if not isinstance(value, str)]
    if len(files) > 1:
        raise InputError(422, f"The multipart form holds {len(files)} files (fields {files[:5]}); send exactly one "
                              "image, in the field 'file'.")
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InputError(422, "The multipart form needs the image in a file field named 'file' "
                              "(e.g. curl -F file=@digit.png).")
    return await upload.read()


def create_app(bundle: Bundle, max_body_bytes: int = MAX_BODY_BYTES, read_timeout: float = READ_TIMEOUT) -> FastAPI:
    """Build the FastAPI app serving one bundle; model work runs in worker threads, off the event loop."""
    app = FastAPI(title=f"course-kit model server: {bundle.name}",
                  description="Predictions from a course_utils model bundle.")
    is_image = bundle.input_spec.get("kind") == "image"
    bundle.model.eval()

    @app.exception_handler(InputError)
    async def input_error(_: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=exc.headers)

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
        body = await read_body(request, max_body_bytes, read_timeout, max_body_pieces(max_body_bytes))
        if content_type == "application/json":
            return await run_in_threadpool(answer_json, bundle, body, is_image)
        if content_type in IMAGE_TYPES or content_type == "multipart/form-data":
            if not is_image:
                raise InputError(415, f"Model {bundle.name!r} takes JSON feature rows, not images: send "
                                      "Content-Type application/json with {\"rows\": [...]}.")
            data = await multipart_file(request, body) if content_type == "multipart/form-data" else body
            return await run_in_threadpool(answer_image, bundle, data)
        accepted = "image/png, image/jpeg, multipart/form-data or application/json" if is_image else "application/json"
        raise InputError(415, f"Unsupported Content-Type {content_type or '(none)'!r}; send {accepted}.")

    return app


def header_timeout_protocol(timeout: float = READ_TIMEOUT, max_body_bytes: int = MAX_BODY_BYTES
                            ) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol plus a deadline for request headers: a client that opens a connection, or starts a
    request, and does not finish its headers within `timeout` seconds gets 408 (if it sent anything) and is closed.

    uvicorn's own timeout_keep_alive only covers idle time after a response and is reset by every byte received,
    so without this a client that sends half a request line holds its connection open indefinitely.

    It also bounds the work per request body: h11 turns every HTTP chunk (and every network read) into one event,
    parsed synchronously on the event loop at several microseconds each, so a 2 MiB body sent as 1-byte chunks
    (2 million events) held the loop for seconds at a time. After max_body_pieces(max_body_bytes) pieces the
    protocol stops parsing the body, ends it for the app (which answers 413 and closes) and drops the rest."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutH11Protocol(H11Protocol):
        """H11Protocol that closes connections whose request headers do not arrive in time."""

        header_timeout = float(timeout)
        header_timer: asyncio.TimerHandle | None = None
        max_pieces = max_body_pieces(max_body_bytes)
        body_pieces = 0
        body_refused = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            """Start the deadline for the first request's headers; count the body pieces h11 parses."""
            super().connection_made(transport)
            next_event = self.conn.next_event

            def counted_next_event() -> Any:
                if self.body_refused:
                    return h11.NEED_DATA  # parse nothing more on this connection
                event = next_event()
                if isinstance(event, h11.Request):
                    self.body_pieces = 0
                elif isinstance(event, h11.Data):
                    self.body_pieces += 1
                    if self.body_pieces > self.max_pieces:
                        self.refuse_body()
                        return h11.NEED_DATA
                return event

            self.conn.next_event = counted_next_event  # type: ignore[method-assign]
            self.arm_header_timer()

        def refuse_body(self) -> None:
            """Stop reading a body that arrives in too many pieces: end it for the app (read_body answers 413 and
            closes), or close at once when no request is waiting for it."""
            self.body_refused = True
            cycle = self.cycle
            if cycle is None or cycle.response_complete or cycle.disconnected:
                self.transport.close()
                return
            self.transport.pause_reading()  # read (and parse) nothing more; the client sees its sends block
            cycle.keep_alive = False  # close once the response is sent, even if the route never read the body
            cycle.scope[BODY_REFUSED] = self.max_pieces
            cycle.more_body = False
            cycle.message_event.set()

        def data_received(self, data: bytes) -> None:
            """Start the deadline when a new request begins on a kept-alive connection; drop a refused body."""
            if self.body_refused:
                return  # the connection closes once the 413 is sent; do no work for the rest of the body
            if self.header_timer is None and self.conn.their_state is h11.IDLE:
                self.arm_header_timer()  # the first bytes of a new request on a kept-alive connection
            super().data_received(data)

        def on_response_complete(self) -> None:
            """Start the deadline for the next request's headers."""
            super().on_response_complete()
            self.arm_header_timer()  # the next request's head may already be partly buffered (pipelining)

        def connection_lost(self, exc: Exception | None) -> None:
            """Stop the deadline."""
            self.cancel_header_timer()
            super().connection_lost(exc)

        def arm_header_timer(self) -> None:
            """(Re)start the deadline for the next request's headers."""
            self.cancel_header_timer()
            if not self.transport.is_closing():
                self.header_timer = self.loop.call_later(self.header_timeout, self.headers_too_slow)

        def cancel_header_timer(self) -> None:
            """Stop the deadline."""
            if self.header_timer is not None:
                self.header_timer.cancel()
                self.header_timer = None

        def headers_too_slow(self) -> None:
            """Deadline passed: answer 408 to a half-sent request head and close; leave requests being handled."""
            self.header_timer = None
            if self.transport.is_closing() or (self.cycle is not None and not self.cycle.response_complete):
                return  # the app is handling a request: read_body's timeout covers its body
            partial, _ = self.conn.trailing_data
            if self.conn.their_state is h11.IDLE and not partial and self.cycle is not None:
                return  # idle between requests: uvicorn's keep-alive timeout closes it; data_received re-arms
            if self.conn.their_state is h11.IDLE and partial:
                detail = json.dumps({"detail": f"The request headers did not arrive within {self.header_timeout:g} s; "
                                               "send the whole request at once."}).encode()
                self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                                     b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(detail), detail))
            self.transport.close()

    return HeaderTimeoutH11Protocol


def is_loopback(host: str) -> bool:
    """True when every address `host` stands for is loopback: 127.0.0.0/8 (also short forms such as 127.1), ::1,
    IPv4-mapped ::ffff:127.x.x.x, and names such as localhost (any case) that resolve only to those."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if not name:
        return False  # uvicorn binds every interface
    if name == "localhost":
        return True

    def loopback_address(text: str) -> bool:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone such as %lo
        mapped = getattr(address, "ipv4_mapped", None)
        return bool((mapped or address).is_loopback)

    try:
        return loopback_address(name)
    except ValueError:
        pass
    try:  # short numeric forms (127.1, 0x7f.1) without DNS, then real names
        infos = socket.getaddrinfo(name, None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        try:
            infos = socket.getaddrinfo(name, None)
        except (socket.gaierror, UnicodeError, ValueError, OSError):
            return False
    try:
        return bool(infos) and all(loopback_address(str(info[4][0])) for info in infos)
    except ValueError:
        return False


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options of `python -m course_utils.serve`."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="model bundle folder written by course_utils.bundle.save_bundle")
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port (default 8000)")
    parser.add_argument("--max-body-bytes", type=int, default=MAX_BODY_BYTES, help="largest request body accepted")
    parser.add_argument("--read-timeout", type=float, default=READ_TIMEOUT,
                        help="seconds a client may take to send its request headers, and then its body (default 20)")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Load the bundle (exit 2 with a message when it is missing or damaged) and serve it with uvicorn."""
    import uvicorn

    args = parse_args(argv)
    if not 0 < args.port < 65536:
        print(f"error: --port must be between 1 and 65535, got {args.port}.", file=sys.stderr)
        return 2
    if not 0 < args.read_timeout < float("inf"):
        print(f"error: --read-timeout must be a positive number of seconds, got {args.read_timeout}.", file=sys.stderr)
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
    uvicorn.run(create_app(bundle, args.max_body_bytes, args.read_timeout), host=args.host, port=args.port,
                log_level=args.log_level, http=header_timeout_protocol(args.read_timeout, args.max_body_bytes))
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
