#!/usr/bin/env python3
"""Benchmark 6: requests per second and p50/p99 latency of POST /predict under concurrent clients on loopback.

Run: .venv/bin/python benchmarks/api_load.py [--model notebooks/artifacts/mnist_fnn] [--clients 1 8 64]
     [--requests 300] [--max-seconds 30] [--payload png json] [--output FILE]
Starts one `python -m course_utils.serve` on 127.0.0.1 (a free port) in a subprocess and, against that one server,
measures each number of concurrent clients in turn (one row each, side by side in one table): requests per second
and p50/p99 latency. Each client count first opens its connections and sends one request per connection
(not measured), so the figures are of a loaded server, not of connection set-up. Sends real MNIST test digits (the
bundled subset, so it works offline). Every run is bounded by both a request count and a time limit; a request
that fails (an error status or a broken connection) is counted in `errors`, not in the latencies. The header
says when it ran, the command and the machine's load average before and after (other work on the machine shows
in the latencies). Without --model or when the bundle is missing, an untrained 784-512-256-10 network (lesson 01's
architecture: same compute per request) is saved to a temporary bundle and served.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import torch
from PIL import Image

from course_utils.bundle import image_input_spec, pixel_preprocessing, read_bundle_meta, save_bundle
from course_utils.mnist import MNIST_MEAN, MNIST_STD, load_fallback_subset
from course_utils.models import FeedForwardNet
from course_utils.serve import ServerProcess

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO / "notebooks" / "artifacts" / "mnist_fnn"


def png(image: np.ndarray) -> bytes:
    """Encode a uint8 image as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def request_bodies(kind: str, images: np.ndarray) -> list[dict]:
    """httpx keyword arguments for one /predict request per image."""
    if kind == "png":
        return [{"content": png(im), "headers": {"content-type": "image/png"}} for im in images]
    return [{"json": {"pixels": im.tolist()}} for im in images]


async def load_run(url: str, bodies: list[dict], clients: int, total: int, max_seconds: float) -> dict[str, float]:
    """Send up to `total` requests from `clients` concurrent workers for at most max_seconds; collect latencies."""
    latencies: list[float] = []
    errors = 0
    sent = 0
    deadline = time.perf_counter() + max_seconds

    async def post(client: httpx.AsyncClient, body: dict) -> bool:
        """One request; whether it got a 200."""
        try:
            return (await client.post(f"{url}/predict", **body)).status_code == 200
        except httpx.HTTPError:  # refused, reset, timed out: the server failed this request
            return False

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal sent, errors
        while sent < total and time.perf_counter() < deadline:
            body = bodies[sent % len(bodies)]
            sent += 1
            start = time.perf_counter()
            if await post(client, body):
                latencies.append(time.perf_counter() - start)
            else:
                errors += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
        for body in bodies[:5]:  # warm-up, not measured: the model's first calls
            await post(client, body)
        await asyncio.gather(*(post(client, bodies[i % len(bodies)]) for i in range(clients)))  # open every connection
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        elapsed = time.perf_counter() - start
    ms = np.array(latencies or [float("nan")]) * 1000
    return {"requests": len(latencies) + errors, "errors": errors, "seconds": elapsed,
            "rps": len(latencies) / elapsed, "p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99))}


def model_folder(requested: Path | None, workdir: Path) -> tuple[Path, str]:
    """The bundle to serve and a description of it."""
    candidate = requested or DEFAULT_MODEL
    try:
        meta = read_bundle_meta(candidate)
        return candidate, f"{meta['name']} {meta['config'].get('hidden')}"
    except FileNotFoundError:
        if requested is not None:
            raise
    torch.manual_seed(0)
    folder = save_bundle(workdir / "mnist_untrained", FeedForwardNet(784, (512, 256), 10), name="mnist_untrained",
                         classes=[str(d) for d in range(10)], input_spec=image_input_spec(),
                         preprocessing=pixel_preprocessing(MNIST_MEAN, MNIST_STD))
    return folder, "untrained 784-512-256-10 (lesson 01 bundle not found)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="bundle folder (default: lesson 01's)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 64],
                        help="numbers of concurrent clients, one run each against the same server")
    parser.add_argument("--requests", type=int, default=300, help="requests per run (upper bound)")
    parser.add_argument("--max-seconds", type=float, default=30.0, help="time limit per run")
    parser.add_argument("--payload", nargs="+", choices=["png", "json"], default=["png", "json"])
    parser.add_argument("--output", type=Path, default=None, help="also write the markdown table to this file")
    args = parser.parse_args()
    if args.requests < 1 or args.max_seconds <= 0 or min(args.clients) < 1:
        parser.error("--requests, --max-seconds and --clients must be positive.")
    images = load_fallback_subset()[2][:64].numpy()
    started, load_before = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder, description = model_folder(args.model, Path(tmp))
        rows = []
        with ServerProcess(folder, extra_args=["--log-level", "error"]) as server:
            for payload in args.payload:
                bodies = request_bodies(payload, images)
                for clients in args.clients:
                    result = asyncio.run(load_run(server.url, bodies, clients, args.requests, args.max_seconds))
                    rows.append((payload, clients, result))
    load_after = os.getloadavg()
    command = shlex.join(["benchmarks/api_load.py", *sys.argv[1:]])
    lines = [
        f"REST API load check, {started}: `{command}`; model {description}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs; torch {torch.__version__}; "
        f"loopback, one uvicorn worker, one server for every row; load average (1 min) "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after.",
        "",
        "| payload | clients | requests | errors | seconds | requests/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for payload, clients, r in rows:
        lines.append(f"| {payload} | {clients} | {r['requests']} | {r['errors']} | {r['seconds']:.1f} | "
                     f"{r['rps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} |")
    table = "\n".join(lines)
    print(table)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
