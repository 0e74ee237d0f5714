"""scripts/kit.py: `course` hands every option to the course runner (so `kit.py course --help` shows them all,
--timeout included), and set-up says how long it took and how much of the environment only an NVIDIA GPU uses."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parents[1] / "scripts" / "kit.py"


def load_kit():
    spec = importlib.util.spec_from_file_location("kit_under_test", KIT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def kit(monkeypatch):
    """kit.py with set-up and the course environment replaced: records what it would run."""
    module = load_kit()
    calls = []
    monkeypatch.setattr(module, "setup", lambda: False)
    monkeypatch.setattr(module, "setup_report", lambda seconds, installed: f"Set-up: took {seconds:.0f} s.")
    monkeypatch.setattr(module, "in_venv", lambda *args: calls.append(args) or 0)
    module.calls = calls
    return module


def test_course_passes_every_runner_option_through(kit, capsys):
    assert kit.main(["course", "--quick", "--timeout", "60", "-j", "2", "--out", "o", "01", "03"]) == 0
    assert kit.calls == [("-m", "course_utils.instructor.course_run", "--quick", "--timeout", "60", "-j", "2",
                          "--out", "o", "01", "03")]
    assert "Set-up: took 0 s." in capsys.readouterr().out  # the course run says how long set-up took


def test_course_help_is_the_runners_help(kit, capsys):
    assert kit.main(["course", "--help"]) == 0
    assert kit.calls == [("-m", "course_utils.instructor.course_run", "--help")]
    assert "Set-up" not in capsys.readouterr().out


def test_setup_report_gives_time_size_and_the_gpu_only_share(tmp_path, monkeypatch):
    venv = tmp_path / ".venv"
    site = venv / "lib" / "python3.11" / "site-packages"
    for folder, size in ((site / "nvidia" / "cublas", 2 ** 30), (site / "triton", 2 ** 29), (site / "numpy", 2 ** 29)):
        folder.mkdir(parents=True)
        with open(folder / "lib.so", "wb") as handle:
            handle.truncate(size)  # sparse: the size counts, the disk stays empty
    (venv / "lib64").symlink_to("lib")  # as venv makes it on Linux: counted once
    plain = load_kit()
    monkeypatch.setattr(plain, "VENV", venv)
    monkeypatch.setattr(plain.shutil, "which", lambda name: None)
    line = plain.setup_report(125.4, installed=True)
    assert line.startswith("Set-up: .venv/ installed the requirements in 125 s; it takes 2.0 GB, of which 1.5 GB are "
                           "NVIDIA CUDA libraries and triton")
    assert "CPU-only install" in line
    (site / "nvidia" / "cublas" / "lib.so").unlink()
    (site / "triton" / "lib.so").unlink()
    assert plain.setup_report(0.2, installed=False) == "Set-up: .venv/ up to date in 0 s; it takes 0.5 GB."
