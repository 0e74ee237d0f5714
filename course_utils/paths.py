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
        given, origin = os.fspath(override), "the DATA_DIR parameter"
    elif os.environ.get(DATA_ENV_VAR):
        given, origin = os.environ[DATA_ENV_VAR], f"${DATA_ENV_VAR}"
    else:
        return default_cache_dir()
    root = Path(given).expanduser().absolute()
    problem = data_root_problem(root, given, origin)
    if problem:
        raise (NotADirectoryError if root.exists() else FileNotFoundError)(problem)
    return root


def data_root_problem(root: Path, given: str, origin: str) -> str | None:
    """Why a configured data root cannot be used, naming the path as given and saying what to do; None if it can."""
    if root.is_dir():
        return None
    shown = given if given == str(root) else f"{given} ({root})"  # as typed, and where that is
    is_file = root.exists()
    create = "" if is_file else (f"create it (mkdir -p {root}), " if origin == f"${DATA_ENV_VAR}" else "create it, ")
    if origin == f"${DATA_ENV_VAR}":
        fixes = (f"{create}point {DATA_ENV_VAR} at the folder that holds the data (export {DATA_ENV_VAR}=/path/to/data), "
                 f"or unset it (unset {DATA_ENV_VAR}) to use the default cache {default_cache_dir()}")
    else:
        fixes = (f"{create}point the parameter at a folder, or leave it empty (DATA_DIR = \"\") to use ${DATA_ENV_VAR} "
                 f"or the default cache {default_cache_dir()}")
    what = "is a file, not a folder" if is_file else "does not exist"
    return f"The data root {shown} (from {origin}) {what}. Do one of these: {fixes}."


def check_environment_data_root() -> str | None:
    """Check $COURSE_DATA_DIR before anything runs: None when it is unset or a folder, else what is wrong and the fix."""
    given = os.environ.get(DATA_ENV_VAR)
    if not given:
        return None
    return data_root_problem(Path(given).expanduser().absolute(), given, f"${DATA_ENV_VAR}")


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
