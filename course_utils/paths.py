"""Where datasets are looked up and cached: one configurable data root."""
from __future__ import annotations

import os
from pathlib import Path

DATA_ENV_VAR = "COURSE_DATA_DIR"
CACHE_ENV_VAR = "COURSE_CACHE_DIR"


def default_cache_dir() -> Path:
    """Return the per-user cache folder used when nothing else is configured."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "course-kit"


def data_root(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the data root: the argument, else $COURSE_DATA_DIR, else the user cache folder."""
    if override not in (None, ""):
        root, origin = Path(override).expanduser(), "the DATA_DIR parameter"
    elif os.environ.get(DATA_ENV_VAR):
        root, origin = Path(os.environ[DATA_ENV_VAR]).expanduser(), f"${DATA_ENV_VAR}"
    else:
        return default_cache_dir()
    root = root.absolute()
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"The data root {display_path(root)} (from {origin}) is a file, not a folder. Point it at a folder.")
    if not root.exists():
        raise FileNotFoundError(
            f"The data root {display_path(root)} (from {origin}) does not exist. Create it or fix the path; "
            f"leave both empty to use the default cache {display_path(default_cache_dir())}."
        )
    return root


def writable_dir(preferred: Path, subdir: str) -> Path:
    """Return preferred/subdir if it can be written, else the same subfolder of the user cache."""
    for base in (preferred, Path(os.environ.get(CACHE_ENV_VAR) or default_cache_dir())):
        target = base / subdir
        try:
            target.mkdir(parents=True, exist_ok=True)
            probe = target / ".write-test"
            probe.touch()
            probe.unlink()
            return target
        except OSError:
            continue
    raise PermissionError(
        f"Neither {display_path(preferred / subdir)} nor the user cache can be written. "
        f"Set {CACHE_ENV_VAR} to a writable folder."
    )


def display_path(path: str | os.PathLike[str]) -> str:
    """Show a path without machine-specific prefixes ($COURSE_DATA_DIR/..., ~/...)."""
    path = Path(path)
    anchors = []
    if os.environ.get(DATA_ENV_VAR):
        anchors.append((Path(os.environ[DATA_ENV_VAR]).expanduser(), f"${DATA_ENV_VAR}"))
    anchors += [(Path.cwd(), "."), (Path.home(), "~")]
    for anchor, label in anchors:
        try:
            rel = path.resolve().relative_to(anchor.resolve())
        except (ValueError, OSError):
            continue
        return label if str(rel) == "." else f"{label}/{rel.as_posix()}"
    return path.as_posix()
