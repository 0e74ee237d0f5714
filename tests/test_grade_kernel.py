"""The write watch of a graded kernel (course_utils.instructor.grade_kernel): every attempt to write outside the
kernel's folder is reported on its stderr, even after the notebook silences sys.stderr; writes inside, and
Python's own byte-code caches, are not."""
from __future__ import annotations

import subprocess
import sys

from course_utils.instructor.grade_driver import WATCH_PREFIX, watched_writes
from course_utils.instructor.grade_kernel import WATCH_PREFIX as KERNEL_PREFIX

SCRIPT = r"""
import io, os, sys
from course_utils.instructor.grade_kernel import watch
allowed, outside = sys.argv[1], sys.argv[2]
watch(allowed, ())  # (the test's folders are under /tmp, which the sandbox makes private)
sys.stderr = io.StringIO()  # a notebook that hides its stderr
open(os.path.join(allowed, "fine.txt"), "w").write("ok")
open(os.path.join(outside, "__pycache__", "m.cpython-311.pyc"), "wb").close()
open(os.path.join(outside, "read.txt")).read()
for attempt in (lambda: open(os.path.join(outside, "gradebook.sqlite"), "a"),
                lambda: os.open(os.path.join(outside, "raw"), os.O_WRONLY | os.O_CREAT),
                lambda: os.remove(os.path.join(outside, "read.txt")),
                lambda: os.rename(os.path.join(allowed, "fine.txt"), os.path.join(outside, "moved.txt"))):
    try:
        attempt()
    except OSError:
        pass
"""


def test_writes_outside_the_folder_are_reported_and_nothing_else(tmp_path):
    allowed, outside = tmp_path / "kernel", tmp_path / "repo"
    allowed.mkdir()
    (outside / "__pycache__").mkdir(parents=True)
    (outside / "read.txt").write_text("x")
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(allowed), str(outside)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    log = tmp_path / "kernel.log"
    log.write_text(done.stderr)
    reported = watched_writes(log)
    assert KERNEL_PREFIX == WATCH_PREFIX
    assert reported == [f"{outside / 'gradebook.sqlite'} (open)", f"{outside / 'raw'} (open)",
                        f"{outside / 'read.txt'} (os.remove)", f"{outside / 'moved.txt'} (os.rename)"]
