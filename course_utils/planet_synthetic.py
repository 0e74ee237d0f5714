"""Synthetic Planet tiles for offline runs: procedural scenes painted from their tags, in Kaggle's file layout.

`load_planet` falls back to these when no real chips are found. The tag sets follow the competition's rules (one
weather tag, 'cloudy' alone, ground tags at plausible frequencies) and each tag leaves a visible trace in the
pixels, so a network can learn something, but the scores say nothing about real satellite imagery.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from .paths import writable_dir
from .planet import CSV_NAME, IMAGE_DIR, TAGS, WEATHER_TAGS, publish_folder

COMPLETE_MARKER = ".complete"


def sample_synthetic_tags(rng: np.random.Generator) -> list[str]:
    """Draw one plausible tag set: one weather tag, 'cloudy' alone, ground tags with realistic frequencies."""
    weather = rng.choice(WEATHER_TAGS, p=[0.70, 0.18, 0.07, 0.05])
    if weather == "cloudy":
        return ["cloudy"]
    tags = [str(weather)]
    if rng.random() < 0.93:
        tags.append("primary")
    farming = rng.random() < 0.32
    if farming:
        tags.append("agriculture")
    for tag, p_farm, p_else in (
        ("road", 0.45, 0.08), ("habitation", 0.25, 0.03), ("cultivation", 0.25, 0.06), ("bare_ground", 0.05, 0.015)
    ):
        if rng.random() < (p_farm if farming else p_else):
            tags.append(tag)
    if rng.random() < 0.18:
        tags.append("water")
    for tag, p in (("selective_logging", 0.01), ("artisinal_mine", 0.01), ("blooming", 0.01),
                   ("slash_burn", 0.006), ("blow_down", 0.004), ("conventional_mine", 0.003)):
        if rng.random() < p:
            tags.append(tag)
    return [t for t in TAGS if t in tags]


def _blobs(rng: np.random.Generator, size: int, count: int, radius: float) -> np.ndarray:
    """Soft random blobs in [0, 1] (for clouds, clearings, pits)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    field_ = np.zeros((size, size), np.float32)
    for _ in range(count):
        cy, cx = rng.uniform(0, size, 2)
        r = radius * rng.uniform(0.6, 1.4)
        field_ = np.maximum(field_, np.exp(-(((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))))
    return field_


def _line_mask(rng: np.random.Generator, size: int, width: float, wiggle: float) -> np.ndarray:
    """A (possibly winding) band crossing the tile: roads when straight and thin, rivers when wide and winding."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    offset = rng.uniform(0.3, 0.7) * size
    u = (xx - size / 2) * np.cos(angle) + (yy - size / 2) * np.sin(angle)
    v = -(xx - size / 2) * np.sin(angle) + (yy - size / 2) * np.cos(angle) + size / 2 - offset
    v = v + wiggle * np.sin(u / size * rng.uniform(4, 9) + rng.uniform(0, 6))
    return np.clip(width / 2 + 0.5 - np.abs(v), 0, 1)


def render_synthetic_chip(tags: Sequence[str], size: int, rng: np.random.Generator) -> np.ndarray:
    """Paint a procedural scene whose pixels depend on its tags; return uint8 RGB (size, size, 3)."""
    s = size / 64.0
    img = np.empty((size, size, 3), np.float32)
    noise = rng.normal(0, 1, (size, size)).astype(np.float32)
    if "primary" in tags:  # dark green textured canopy
        img[:] = np.array([38, 72, 40], np.float32) + 10 * noise[..., None] * np.array([0.5, 1, 0.5])
    else:  # savannah / open ground
        img[:] = np.array([120, 115, 80], np.float32) + 8 * noise[..., None]
    if "blooming" in tags:  # scattered bright yellow-green crowns
        img[_blobs(rng, size, int(25 * s * s), 1.2 * s) > 0.5] = [170, 180, 60]
    if "agriculture" in tags:  # rectangular fields with stripes
        for _ in range(rng.integers(2, 5)):
            y0, x0 = rng.integers(0, size - 8 * s, 2)
            h, w = rng.integers(int(10 * s), int(28 * s), 2)
            colour = np.array(rng.choice([[150, 160, 90], [180, 150, 110], [120, 150, 70]]), np.float32)
            stripes = 1 + 0.12 * np.sin(np.arange(w) / (1.5 * s))[None, :, None]
            img[y0:y0 + h, x0:x0 + w] = (colour * stripes)[: max(0, min(h, size - y0)), : max(0, min(w, size - x0))]
    if "cultivation" in tags:  # small irregular clearings in the forest
        img[_blobs(rng, size, 4, 3.0 * s) > 0.55] = [140, 130, 85]
    if "bare_ground" in tags:
        img[_blobs(rng, size, 2, 6.0 * s) > 0.5] = [175, 140, 105]
    if "selective_logging" in tags:  # thin tracks with tiny gaps
        track = _line_mask(rng, size, 0.8 * s, 6 * s) > 0.5
        img[track] = [110, 110, 80]
        img[(_blobs(rng, size, 6, 1.2 * s) > 0.7)] = [120, 115, 80]
    if "slash_burn" in tags:
        img[_blobs(rng, size, 2, 4.0 * s) > 0.5] = [45, 35, 30]
    if "blow_down" in tags:
        patch = _blobs(rng, size, 1, 8.0 * s) > 0.5
        img[patch] = img[patch] * 0.6 + np.array([110, 130, 90]) * 0.4
    if "water" in tags:  # a winding dark river
        river = _line_mask(rng, size, rng.uniform(2.5, 5) * s, 6 * s)
        img = img * (1 - river[..., None]) + np.array([30, 55, 90], np.float32) * river[..., None]
    if "road" in tags:  # straight light-brown lines
        for _ in range(rng.integers(1, 3)):
            road = _line_mask(rng, size, 1.2 * s, 0)
            img = img * (1 - road[..., None]) + np.array([190, 165, 130], np.float32) * road[..., None]
    if "habitation" in tags:  # clusters of bright grey roofs
        cy, cx = rng.uniform(0.2, 0.8, 2) * size
        for _ in range(int(14 * s)):
            y, x = (np.array([cy, cx]) + rng.normal(0, 5 * s, 2)).astype(int)
            r = max(1, int(s))
            img[max(0, y - r):y + r, max(0, x - r):x + r] = [215, 210, 205]
    if "artisinal_mine" in tags:  # orange-brown scar with turquoise ponds
        scar = _blobs(rng, size, 1, 5.0 * s)
        img[scar > 0.4] = [190, 120, 60]
        img[(scar > 0.75) & (noise > 0.3)] = [80, 170, 160]
    if "conventional_mine" in tags:  # big grey terraced pit
        pit = _blobs(rng, size, 1, 10.0 * s)
        img[pit > 0.4] = [150, 150, 150]
        img[pit > 0.7] = [105, 105, 110]
    if "haze" in tags:  # milky veil, low contrast
        img = img * 0.55 + np.array([170, 175, 185], np.float32) * 0.45
    if "partly_cloudy" in tags:
        cloud = np.clip(_blobs(rng, size, int(rng.integers(2, 5)), 6.0 * s) * 1.3, 0, 1)
        img = img * (1 - cloud[..., None]) + 235 * cloud[..., None]
    if "cloudy" in tags:  # almost all white, texture barely visible
        cover = np.clip(0.8 + 0.2 * _blobs(rng, size, 6, 12 * s), 0, 1)
        img = img * (1 - cover[..., None]) + 228 * cover[..., None]
    img += rng.normal(0, 3, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_synthetic_planet(folder: str | os.PathLike[str], n: int = 1000, size: int = 64, seed: int = 0) -> Path:
    """Write n synthetic chips (train-jpg/*.jpg) and train_v2.csv into folder, in the competition's format."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}.")
    folder = Path(folder)
    (folder / IMAGE_DIR).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lines = ["image_name,tags"]
    for i in range(n):
        tags = sample_synthetic_tags(rng)
        Image.fromarray(render_synthetic_chip(tags, size, rng)).save(folder / IMAGE_DIR / f"train_{i}.jpg", quality=92)
        lines.append(f"train_{i},{' '.join(tags)}")
    (folder / CSV_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def synthetic_folder(root: Path, n: int, size: int, seed: int) -> Path:
    """Return a cached synthetic data set for (n, size, seed), generating it on first use.

    The set is written into a private temporary sibling folder and renamed into place only when complete, so a
    run starting at the same time as another never reads a half-written set: it either finds the finished folder
    or builds its own copy, and the first rename wins."""
    name = f"n{n}-s{size}-seed{seed}"
    parent = writable_dir(root, "planet-synthetic")
    folder = parent / name
    if (folder / COMPLETE_MARKER).is_file():
        return folder
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-building-", dir=parent))
    try:
        make_synthetic_planet(staging, n=n, size=size, seed=seed)
        (staging / COMPLETE_MARKER).touch()
        return publish_folder(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
