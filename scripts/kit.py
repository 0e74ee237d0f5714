#!/usr/bin/env python3
"""Set up the course environment and run its jobs: `course` (every notebook), `batch` (parameter grids), `test`,
`regenerate`, `setup`, `lab` (a student's own workspace in JupyterLab), `site` (the course website) and `doctor` (the
environment, for a bug report).

Works on a fresh clone with only Python 3.11 and pip: the first call creates .venv and installs requirements.txt.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from course_utils.hashing import file_digest  # noqa: E402  (standard library only: works before .venv exists)

VENV = REPO / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".requirements.sha256"
DOCS_REQUIREMENTS = REPO / "requirements-docs.txt"  # the website's Sphinx stack, only for `kit.py site`
DOCS_STAMP = VENV / ".requirements-docs.sha256"
PIP = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]


def requirements_digest() -> str:
    """Hash the files that decide what gets installed."""
    return file_digest(REPO / "requirements.txt", REPO / "pyproject.toml")


def folder_bytes(folder: Path) -> int:
    """Total size of the files under folder (0 when it does not exist)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def gpu_only_folders() -> list[Path]:
    """Packages in .venv that only an NVIDIA GPU uses: the CUDA libraries (nvidia-*) and triton."""
    found = (folder.resolve() for name in ("nvidia", "triton") for folder in VENV.glob(f"lib*/python3*/site-packages/{name}"))
    return sorted(set(found))  # lib64 is often a link to lib: count each folder once


def setup_report(seconds: float, installed: bool) -> str:
    """One line on the set-up just done: what it did, how long it took, how big .venv is and what is GPU-only."""
    gib = 2 ** 30
    total, gpu = folder_bytes(VENV) / gib, sum(folder_bytes(f) for f in gpu_only_folders()) / gib
    done = "installed the requirements" if installed else "up to date"
    line = f"Set-up: {VENV.name}/ {done} in {seconds:.0f} s; it takes {total:.1f} GB"
    if gpu >= 0.1:
        line += (f", of which {gpu:.1f} GB are NVIDIA CUDA libraries and triton that only an NVIDIA GPU uses"
                 + ("" if shutil.which("nvidia-smi") else " (this machine has none: README, 'CPU-only install')"))
    return line + "."


def setup() -> bool:
    """Create .venv and install the pinned requirements plus course_utils, unless already up to date; True if it
    installed anything."""
    if not PYTHON.exists():
        print(f"Creating the virtual environment in {VENV.name}/ ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == requirements_digest():
        return False
    print("Installing requirements (about a few minutes the first time) ...", flush=True)
    subprocess.run(PIP + ["-r", str(REPO / "requirements.txt")], check=True)
    subprocess.run(PIP + ["--no-deps", "-e", str(REPO)], check=True)
    STAMP.write_text(requirements_digest())
    return True


def setup_docs() -> bool:
    """Install requirements-docs.txt into .venv, held to requirements.txt's pins, unless already up to date; True if
    it installed anything."""
    digest = file_digest(DOCS_REQUIREMENTS, REPO / "requirements.txt")
    if DOCS_STAMP.exists() and DOCS_STAMP.read_text() == digest:
        return False
    print(f"Installing the website's requirements ({DOCS_REQUIREMENTS.name}) ...", flush=True)
    subprocess.run(PIP + ["-r", str(DOCS_REQUIREMENTS), "-c", str(REPO / "requirements.txt")], check=True)
    DOCS_STAMP.write_text(digest)
    return True


def running_as_root() -> bool:
    """True when this process runs as root (Docker, WSL as root, cloud machines), where JupyterLab refuses to start."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def lab_command(notebooks: Path, options: list[str]) -> list[str]:
    """The JupyterLab command: the student's options (any of `jupyter lab --help-all`) and the workspace's notebooks;
    as root --allow-root is added, since JupyterLab refuses root otherwise. A `--` before them is dropped."""
    extra = list(options)
    if "--" in extra:  # `kit.py lab -- --port 9999`: the separator is for kit.py, not for JupyterLab
        extra.remove("--")
    if running_as_root() and not any(o == "--allow-root" or "allow_root" in o for o in extra):
        extra.append("--allow-root")
    return [str(BIN / "jupyter"), "lab", *extra, str(notebooks)]


def git_text() -> str:
    """' (commit abc1234, N changed files)' for the kit's checkout; '' without git or outside a checkout."""
    if shutil.which("git") is None:
        return ""
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode:
        return " (not a git checkout)"
    changed = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True, text=True)
    count = len(changed.stdout.splitlines())
    return f" (commit {head.stdout.strip()}, {count} changed or untracked file{'s' * (count != 1)})"


def venv_state() -> str:
    """Whether .venv exists and matches the pinned requirements."""
    if not PYTHON.exists():
        return f"none yet: python3 scripts/kit.py setup creates {VENV.name}/"
    if not STAMP.exists() or STAMP.read_text() != requirements_digest():
        return (f"{VENV.name}/ exists, but requirements.txt or pyproject.toml changed since its set-up (or set-up did "
                "not finish): python3 scripts/kit.py setup")
    return f"{VENV.name}/ up to date with requirements.txt"


def doctor_lines() -> list[str]:
    """The checks that need no .venv: the kit's checkout, the system, the Python running kit.py, .venv, free disk."""
    user = "root" if running_as_root() else os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"
    return ["course-kit doctor: paste everything from this line down into a bug report",
            f"kit: {REPO}{git_text()}",
            f"system: {platform.platform()}; user: {user}",
            f"python3 running kit.py: {sys.version.split()[0]} at {sys.executable}",
            f"venv: {venv_state()}",
            f"free disk at the kit: {shutil.disk_usage(REPO).free / 2 ** 30:.1f} GB"]


def in_venv(*args: str) -> int:
    """Run `python args...` inside the course environment from the repository root."""
    env = dict(os.environ)
    data_dir = env.get("COURSE_DATA_DIR")
    if data_dir:
        env["COURSE_DATA_DIR"] = str(Path(data_dir).expanduser().resolve())
    child = subprocess.Popen([str(PYTHON), *args], cwd=REPO, env=env)
    # Ctrl-C reaches the child too (same process group): the child stops cleanly (stores what finished, exit 130)
    # while this process waits for it; SIGTERM is passed on to it.
    previous = {signal.SIGINT: signal.signal(signal.SIGINT, lambda signum, frame: None),
                signal.SIGTERM: signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signum))}
    try:
        return child.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="create .venv and install everything")
    lab = sub.add_parser("lab", allow_abbrev=False, help="students: refresh your own copies of the lessons in workspace/ "
                         "and open JupyterLab", description="Refresh your own copies of the lessons and open "
                         "JupyterLab. Every other option goes to JupyterLab, e.g. --port 9999 --no-browser --ip 0.0.0.0 "
                         "(as root, --allow-root is added for you).")
    lab.add_argument("--dir", default="workspace", help="your workspace folder (default workspace/, never tracked by git)")
    lab.add_argument("--no-start", action="store_true", help="only create or refresh the workspace")
    lab.add_argument("--language", choices=("en", "ko"), help="ko: the Korean edition, 한국어판 (default: from LANG)")
    sub.add_parser("course", add_help=False, help="execute every notebook headlessly and write results (all options "
                   "of course_utils.instructor.course_run: kit.py course --help)")
    sub.add_parser("batch", add_help=False, help="run notebooks over a parameter grid (arguments go to course_utils.instructor.grid)")
    sub.add_parser("grade", add_help=False, help="grade a class's submissions, or `grade export` the class table (arguments "
                   "go to course_utils.instructor.grade)")
    sub.add_parser("test", add_help=False, help="run the test suite (extra arguments go to pytest)")
    regen = sub.add_parser("regenerate", help="re-execute notebooks in place with their full defaults, then rebuild "
                           "the Korean edition from them")
    regen.add_argument("notebooks", nargs="*", help="notebook names (default: all)")
    sub.add_parser("site", add_help=False, help="build the course website (both editions, from the committed notebooks, "
                   "offline) into build/site/; installs requirements-docs.txt first (options: kit.py site --help)")
    sub.add_parser("doctor", help="print the environment (Python, .venv, torch build, data and what each lesson will "
                   "use, fonts, JupyterLab, free disk): paste it into a bug report")
    args, passthrough = parser.parse_known_args(argv)
    if passthrough and args.command not in ("batch", "test", "course", "grade", "lab", "site"):
        parser.error(f"unrecognized arguments: {' '.join(passthrough)}")
    if args.command == "doctor":  # before set-up: a broken or missing .venv is what it reports
        print("\n".join(doctor_lines()), flush=True)
        if not PYTHON.exists():
            print("the other checks (torch, packages, data, fonts) need .venv: run python3 scripts/kit.py setup first")
            return 1
        return in_venv("-m", "course_utils.instructor.doctor")

    start = time.perf_counter()
    installed = setup()
    if installed or (args.command in ("setup", "course") and not {"-h", "--help"} & set(passthrough)):
        print(setup_report(time.perf_counter() - start, installed), flush=True)
    if args.command == "setup":
        return 0
    if args.command == "lab":
        workspace = Path(args.dir).expanduser().resolve()
        language = ["--language", args.language] if args.language else []
        code = in_venv("-m", "course_utils.instructor.workspace", "--dir", str(workspace), *language)
        if code or args.no_start:
            return code
        env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(workspace / ".jupyterlab-settings")}  # the workspace's own
        command = lab_command(workspace / "notebooks", passthrough)
        if "--allow-root" in command and "--allow-root" not in passthrough:
            print("Running as root: starting JupyterLab with --allow-root (it refuses root otherwise).", flush=True)
        return subprocess.run(command, cwd=workspace, env=env).returncode
    if args.command == "course":
        return in_venv("-m", "course_utils.instructor.course_run", *passthrough)
    if args.command == "batch":
        return in_venv("-m", "course_utils.instructor.grid", *passthrough)
    if args.command == "grade":
        return in_venv("-m", "course_utils.instructor.grade", *passthrough)
    if args.command == "site":
        setup_docs()
        return in_venv("-m", "course_utils.instructor.site", *passthrough)
    if args.command == "regenerate":  # then the Korean edition, whose code and outputs come from the English
        return (in_venv("-m", "course_utils.instructor.course_run", "--in-place", *args.notebooks)
                or in_venv("-m", "course_utils.instructor.translation", "build"))
    return in_venv("-m", "pytest", *passthrough)


if __name__ == "__main__":
    sys.exit(main())
