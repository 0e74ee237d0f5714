"""scripts/kit.py: `course` hands every option to the course runner (so `kit.py course --help` shows them all,
--timeout included); set-up says how long it took and how much of the environment only an NVIDIA GPU uses; `lab`
passes JupyterLab's options through and works as root; `doctor` reports without installing anything; README puts the
student's path and the CPU-only advice first and has the section set-up's message names."""
from __future__ import annotations

import importlib.util
import re
import subprocess
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


# --- kit.py lab: JupyterLab's options pass through, and root works -------------------------------------------------

@pytest.fixture
def lab(kit, monkeypatch, tmp_path):
    """kit.py lab with the workspace update recorded (in_venv) and JupyterLab's start captured instead of run."""
    started = []
    monkeypatch.setattr(kit.subprocess, "run", lambda command, **kwargs: started.append(command)
                        or subprocess.CompletedProcess(command, 0))
    monkeypatch.setattr(kit, "running_as_root", lambda: False)
    kit.started, kit.workspace = started, tmp_path / "ws"
    return kit


def test_lab_passes_jupyterlabs_options_through(lab):
    assert lab.main(["lab", "--port", "9999", "--dir", str(lab.workspace), "--no-browser", "--allow-root",
                     "--ServerApp.token=abc"]) == 0
    assert lab.calls == [("-m", "course_utils.instructor.workspace", "--dir", str(lab.workspace))]
    assert lab.started == [[str(lab.BIN / "jupyter"), "lab", "--port", "9999", "--no-browser", "--allow-root",
                            "--ServerApp.token=abc", str(lab.workspace / "notebooks")]]


def test_lab_drops_the_separator_before_jupyterlabs_options(lab):
    assert lab.main(["lab", "--dir", str(lab.workspace), "--", "--port", "9999"]) == 0
    assert lab.started[-1][2:] == ["--port", "9999", str(lab.workspace / "notebooks")]


def test_lab_keeps_its_own_options_and_does_not_take_abbreviations_of_jupyterlabs(lab):
    assert lab.main(["lab", "--dir", str(lab.workspace), "--no-start"]) == 0
    assert lab.started == [], "--no-start only refreshes the workspace"
    assert lab.main(["lab", "--dir", str(lab.workspace), "--no"]) == 0  # not taken for --no-start
    assert lab.started[-1][2:] == ["--no", str(lab.workspace / "notebooks")]


def test_lab_as_root_adds_allow_root_and_says_so(lab, monkeypatch, capsys):
    monkeypatch.setattr(lab, "running_as_root", lambda: True)
    assert lab.main(["lab", "--dir", str(lab.workspace)]) == 0
    assert lab.started[-1][2:] == ["--allow-root", str(lab.workspace / "notebooks")]
    assert "Running as root: starting JupyterLab with --allow-root" in capsys.readouterr().out
    assert lab.main(["lab", "--dir", str(lab.workspace), "--allow-root"]) == 0  # given already: not twice, no note
    assert lab.started[-1].count("--allow-root") == 1 and "Running as root" not in capsys.readouterr().out
    monkeypatch.setattr(lab, "running_as_root", lambda: False)
    assert lab.main(["lab", "--dir", str(lab.workspace)]) == 0
    assert "--allow-root" not in lab.started[-1]


def test_other_commands_still_refuse_unknown_options(kit):
    with pytest.raises(SystemExit):
        kit.main(["setup", "--port", "9999"])


# --- kit.py doctor ----------------------------------------------------------------------------------------------------

def test_doctor_reports_without_setting_up_and_then_runs_the_venv_checks(kit, monkeypatch, capsys):
    monkeypatch.setattr(kit, "setup", lambda: pytest.fail("doctor must not install anything"))
    assert kit.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert kit.calls == [("-m", "course_utils.instructor.doctor")]
    for label in ("kit: ", "system: ", "python3 running kit.py: ", "venv: ", "free disk at the kit: "):
        assert f"\n{label}" in out, label


def test_doctor_without_a_venv_says_what_to_run(kit, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(kit, "PYTHON", tmp_path / "no-venv" / "bin" / "python")
    assert kit.main(["doctor"]) == 1 and kit.calls == []
    out = capsys.readouterr().out
    assert "venv: none yet: python3 scripts/kit.py setup creates .venv/" in out
    assert "need .venv: run python3 scripts/kit.py setup first" in out


def test_doctor_says_when_the_venv_is_older_than_the_requirements(kit, monkeypatch, tmp_path):
    stamp = tmp_path / "stamp"
    stamp.write_text("an older digest")
    monkeypatch.setattr(kit, "STAMP", stamp)
    assert "changed since its set-up" in kit.venv_state() and "python3 scripts/kit.py setup" in kit.venv_state()
    stamp.write_text(kit.requirements_digest())
    assert kit.venv_state() == ".venv/ up to date with requirements.txt"


# --- README: the student's path first, and the section set-up points to ------------------------------------------------

README = KIT.parents[1] / "README.md"


def test_readme_has_the_section_that_set_ups_gpu_message_names(kit, monkeypatch, tmp_path):
    plain = load_kit()
    site = tmp_path / ".venv" / "lib" / "python3.11" / "site-packages" / "nvidia"
    site.mkdir(parents=True)
    with open(site / "lib.so", "wb") as handle:
        handle.truncate(2 ** 30)
    monkeypatch.setattr(plain, "VENV", tmp_path / ".venv")
    monkeypatch.setattr(plain.shutil, "which", lambda name: None)
    section = re.search(r"README, '([^']+)'", plain.setup_report(1.0, installed=True)).group(1)
    headings = [line.lstrip("#").strip() for line in README.read_text(encoding="utf-8").splitlines()
                if line.startswith("#")]
    assert section in headings, f"set-up points to README section {section!r}, which does not exist"


def test_readme_puts_the_students_command_and_the_cpu_only_advice_first():
    text = README.read_text(encoding="utf-8")
    commands = re.findall(r"^(?:\.venv/bin/pip install|python3 scripts/kit\.py \w+).*$", text, re.M)
    assert commands[0].startswith(".venv/bin/pip install --index-url https://download.pytorch.org/whl/cpu"), \
        "the CPU-only torch comes before the first command that installs the requirements"
    assert [c for c in commands if c.startswith("python3 scripts/kit.py")][0] == "python3 scripts/kit.py lab"
    assert text.index("python3 scripts/kit.py lab") < text.index("python3 scripts/kit.py course")
    assert text.index("Open in Colab") < text.index("python3 scripts/kit.py course")
