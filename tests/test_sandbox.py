"""The grader's sandbox (course_utils.instructor.sandbox), tried as a hostile submission would: a command inside
can write only its scratch folder, cannot see hidden paths or other processes, has no network and cannot undo any
of it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.instructor import sandbox

WORKS, WHY = sandbox.available()
if not WORKS and os.environ.get("CI"):  # CI's machine allows user namespaces: a missing sandbox there is a failure
    pytest.fail(f"the grader's sandbox does not run on this CI machine: {WHY}", pytrace=False)
pytestmark = pytest.mark.skipif(not WORKS, reason=f"no sandbox on this machine: {WHY}")

PROBE = r"""
import ctypes, json, os, socket, sys
found = {"uid": os.getuid(), "cwd": os.getcwd()}
def attempt(path):
    try:
        with open(path, "a") as handle:
            handle.write("x")
        return "written"
    except OSError as exc:
        return exc.strerror
found["writes"] = {p: attempt(p) for p in sys.argv[1].split("|")}
found["hidden"] = {p: (sorted(os.listdir(p)) if os.path.isdir(p) else open(p).read() if os.path.exists(p) else None)
                   for p in sys.argv[2].split("|")}
found["exposed"] = open(sys.argv[3]).read()
found["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
libc = ctypes.CDLL(None, use_errno=True)
found["umount"] = libc.umount2(sys.argv[2].split("|")[0].encode(), 2) == 0
found["remount_rw"] = libc.mount(None, b"/", None, 32, None) == 0  # MS_REMOUNT without MS_RDONLY
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[4])), timeout=2)
    found["network"] = "connected"
except OSError as exc:
    found["network"] = exc.strerror
print(json.dumps(found))
"""


def run_inside(tmp_path: Path, *extra: str, probe: str = PROBE, args: list[str] | None = None) -> subprocess.CompletedProcess:
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "course_utils.instructor.sandbox", "--scratch", str(scratch), *extra, "--",
               sys.executable, "-c", probe, *(args or [])]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_a_command_writes_only_its_folder_and_sees_nothing_hidden(tmp_path):
    import socket

    secret_dir, secret_file, data = tmp_path / "gradebook", tmp_path / "solutions.py", tmp_path / "data"
    secret_dir.mkdir()
    (secret_dir / "gradebook.sqlite").write_text("grades")
    secret_file.write_text("ANSWER = 42")
    data.mkdir()
    (data / "mnist.txt").write_text("digits")
    (data / "answers").mkdir()  # hidden inside an exposed folder
    (data / "answers" / "key.txt").write_text("42")
    outside = tmp_path / "outside.txt"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        done = run_inside(tmp_path, "--hide", str(secret_dir), "--hide", str(secret_file),
                          "--hide", str(data / "answers"), "--expose", str(data),
                          args=["|".join([str(tmp_path / "scratch" / "mine.txt"), str(outside),
                                          str(secret_dir / "gradebook.sqlite"), "/tmp/own-tmp.txt",
                                          str(Path(sandbox.__file__))]),
                                "|".join([str(data / "answers"), str(secret_dir), str(secret_file)]),
                                str(data / "mnist.txt"),
                                str(listener.getsockname()[1])])
    finally:
        listener.close()
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["uid"] == sandbox.SANDBOX_UID
    writes = found["writes"]
    assert writes[str(tmp_path / "scratch" / "mine.txt")] == "written"
    assert writes["/tmp/own-tmp.txt"] == "written"  # a private /tmp ...
    assert not (Path("/tmp") / "own-tmp.txt").exists()  # ... that is not the machine's
    assert not outside.exists()  # written, if at all, into the sandbox's private /tmp
    assert writes[str(Path(sandbox.__file__))] != "written"  # the kit's own code
    assert (secret_dir / "gradebook.sqlite").read_text() == "grades"
    # under /tmp, which the sandbox covers, the hidden paths are not there at all; inside the exposed folder the
    # hidden one is an empty folder
    assert found["hidden"] == {str(data / "answers"): [], str(secret_dir): None, str(secret_file): None}
    assert found["exposed"] == "digits"  # exposed inside tmp_path, which /tmp's cover would otherwise hide
    assert found["pids"] == [1]
    assert not found["umount"] and not found["remount_rw"]
    assert found["network"] != "connected"


def test_its_own_loopback_works(tmp_path):
    """Lesson 08 serves a model on 127.0.0.1 and calls it: inside the sandbox that must still work."""
    probe = ("import socket\nserver = socket.create_server(('127.0.0.1', 0))\n"
             "client = socket.create_connection(server.getsockname(), timeout=5)\nprint('connected')")
    done = run_inside(tmp_path, probe=probe)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "connected"


def test_only_its_own_processes_are_visible(tmp_path):
    done = run_inside(tmp_path, probe="import os; print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [1]  # the probe itself is PID 1 of its own namespace


def test_the_memory_limit_applies_inside(tmp_path):
    done = run_inside(tmp_path, "--memory", str(512 << 20), probe="bytearray(1 << 30)")
    assert done.returncode != 0 and "MemoryError" in done.stderr


def test_the_command_dies_with_its_launcher(tmp_path):
    import signal
    import time

    import psutil

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    launcher = subprocess.Popen([sys.executable, "-m", "course_utils.instructor.sandbox", "--scratch", str(scratch),
                                 "--", sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not psutil.Process(launcher.pid).children(recursive=True):
            time.sleep(0.1)
        inside = psutil.Process(launcher.pid).children(recursive=True)
        assert inside, "the sandboxed command did not start"
        os.kill(launcher.pid, signal.SIGKILL)
        launcher.wait(10)
        _, alive = psutil.wait_procs(inside, timeout=10)
        assert not alive
    finally:
        if launcher.poll() is None:
            launcher.kill()


def test_a_machine_without_namespaces_is_told_what_to_do(monkeypatch):
    sandbox.available.cache_clear()
    monkeypatch.setattr(sys, "platform", "darwin")
    try:
        works, why = sandbox.available()
    finally:
        sandbox.available.cache_clear()
    assert not works and "Linux" in why


def test_hidden_paths_outside_tmp_are_empty_and_unwritable(tmp_path):
    """The repository's solutions are not under /tmp: a --hide there leaves an empty, read-only folder or file."""
    home = Path.home()
    if not home.is_dir() or any(Path(p).resolve().is_relative_to(home) for p in (tmp_path,)):
        pytest.skip("needs a home folder outside the temporary folder")
    probe = ("import os, sys; print(os.listdir(sys.argv[1]));\n"
             "try:\n    open(os.path.join(sys.argv[1], 'x'), 'w')\nexcept OSError as e:\n    print(e.strerror)")
    done = run_inside(tmp_path, "--hide", str(home), probe=probe, args=[str(home)])
    assert done.returncode == 0, done.stderr
    listed, error = done.stdout.splitlines()
    exposed = {p.relative_to(home).parts[0] for p in sandbox.needed() if p.is_relative_to(home)}
    assert set(eval(listed)) == exposed  # only what Python itself needs (e.g. ~/.pyenv), re-exposed read-only
    assert error == "Read-only file system"


def test_the_private_tmp_and_shared_memory_hold_real_files(tmp_path):
    """A lesson writes checkpoints into tempfile.mkdtemp(): /tmp and /dev/shm take megabytes, not a token size."""
    probe = ("import os\nfor folder in ('/tmp', '/dev/shm'):\n"
             "    with open(os.path.join(folder, 'big.bin'), 'wb') as handle:\n"
             "        handle.write(b'x' * (32 << 20))\n"
             "    print(os.path.getsize(os.path.join(folder, 'big.bin')))")
    done = run_inside(tmp_path, probe=probe)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(32 << 20)] * 2
