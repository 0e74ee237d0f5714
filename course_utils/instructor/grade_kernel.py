"""Start a graded submission's Jupyter kernel with a watch on writes outside its folder.

    python -m course_utils.instructor.grade_kernel ALLOWED_FOLDER -f CONNECTION_FILE

Installs an audit hook (PEP 578; a submission cannot remove it) that reports every attempt to open a file for
writing, create, remove, rename or change one outside ALLOWED_FOLDER, /tmp and /dev as one line on the kernel's
standard error (`course-kit-watch: <event> <path>`), which the grader's driver reads. The sandbox makes such a
write fail; the watch is how the grader knows it was tried. Then runs ipykernel as `python -m ipykernel_launcher`.
"""
from __future__ import annotations

import os
import runpy
import sys

WATCH_PREFIX = "course-kit-watch: "  # the same as grade_driver.WATCH_PREFIX (this module imports nothing of the kit)
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
PATH_EVENTS = ("os.remove", "os.rmdir", "os.mkdir", "os.rename", "os.chmod", "os.chown", "os.symlink", "os.link",
               "os.truncate", "os.utime", "shutil.rmtree")  # their first two arguments may be paths
MAX_REPORTS = 20


def watch(allowed: str, also: tuple[str, ...] = ("/tmp", "/dev")) -> None:
    """Install the audit hook that reports writes outside `allowed` and `also` (the sandbox's private /tmp, /dev)."""
    report = os.dup(2)  # a copy of stderr: closing or redirecting sys.stderr does not silence the watch
    roots = tuple(os.path.realpath(p) + os.sep for p in (allowed, *also))
    seen: set[tuple[str, str]] = set()

    def outside(path: object) -> str | None:
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str):
            return None
        full = os.path.abspath(path)
        if (full + os.sep).startswith(roots) or f"{os.sep}__pycache__{os.sep}" in full:  # Python's own byte code
            return None
        return full

    def hook(event: str, args: tuple) -> None:
        try:
            if event == "open":
                path, mode, flags = (tuple(args) + (None, None, None))[:3]
                writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                    isinstance(flags, int) and flags & WRITE_FLAGS)
                where = outside(path) if writing else None
            elif event in PATH_EVENTS:
                where = next((found for found in map(outside, tuple(args)[:2]) if found), None)
            else:
                return
            if where and len(seen) < MAX_REPORTS and (event, where) not in seen:
                seen.add((event, where))
                os.write(report, f"\n{WATCH_PREFIX}{where} ({event})\n".encode("utf-8", "replace"))
        except Exception:  # noqa: BLE001 - the watch must never break the kernel
            pass

    sys.addaudithook(hook)


def main() -> None:
    """Watch, then become ipykernel_launcher with the remaining arguments."""
    allowed = sys.argv.pop(1)
    watch(allowed)
    sys.argv[0] = "ipykernel_launcher"
    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
