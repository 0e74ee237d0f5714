"""Run a command where it can write only its scratch folder and cannot see what the grader hides (Linux, no root).

    python -m course_utils.instructor.sandbox --scratch DIR [--hide PATH ...] [--memory BYTES] [--cwd DIR] -- CMD ...

The command runs in new user, mount, PID, network, IPC and UTS namespaces (what `unshare` does, here with the
system calls themselves, which need no root on a Linux that allows unprivileged user namespaces):

* every file system is read-only; the scratch folder (bind-mounted at its own path), a fresh /tmp and a fresh
  /dev/shm are the only places it can write;
* each `--hide` path is covered by an empty read-only folder (a file by /dev/null), so the repository's solutions,
  the gradebook, the other submissions and a private checks module cannot be read;
* a fresh /proc shows only its own processes, so no other process (the grader, another student's kernel) can be
  signalled, traced or looked into through /proc/PID/root;
* the network is a loopback device of its own: a lesson can serve a model on 127.0.0.1 to itself, but nothing
  can be downloaded, sent, or reached on the machine (not even a server on its 127.0.0.1);
* it runs as an ordinary user (uid 1000) of a nested user namespace, so it has no capability left to undo any of
  this (unmount a cover, remount a file system writable);
* `--memory` caps its address space (RLIMIT_AS).

Unix sockets are files, so a Jupyter kernel started here still talks to its client over IPC sockets in the scratch
folder. `available()` says whether this machine allows all of it; the grader refuses to grade for marks without it
unless told `--unsafe`.
"""
from __future__ import annotations

import argparse
import ctypes
import errno
import functools
import os
import resource
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000
MOUNT_ATTR_RDONLY, AT_RECURSIVE, AT_FDCWD = 0x1, 0x8000, -100
SYS_MOUNT_SETATTR = 442  # the same number on x86-64 and arm64
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
SANDBOX_UID = 1000  # who the command is inside: an ordinary user, with no capabilities after exec


class MountAttr(ctypes.Structure):
    """struct mount_attr of mount_setattr(2)."""

    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64), ("propagation", ctypes.c_uint64),
                ("userns_fd", ctypes.c_uint64)]


@functools.cache
def libc() -> ctypes.CDLL:
    """The C library, with errno kept for each call."""
    return ctypes.CDLL(None, use_errno=True)


def checked(result: int, what: str) -> int:
    """Raise OSError naming `what` when a libc call returned -1."""
    if result == -1:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")
    return result


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    """mount(2)."""
    encode = lambda text: None if text is None else os.fsencode(text)  # noqa: E731
    checked(libc().mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)),
            f"mount {target}")


def set_read_only(path: str, read_only: bool, recursive: bool) -> None:
    """Make the mount at path (and every mount below it, when recursive) read-only or writable again."""
    attr = MountAttr(MOUNT_ATTR_RDONLY if read_only else 0, 0 if read_only else MOUNT_ATTR_RDONLY, 0, 0)
    checked(libc().syscall(SYS_MOUNT_SETATTR, AT_FDCWD, os.fsencode(path), AT_RECURSIVE if recursive else 0,
                           ctypes.byref(attr), ctypes.sizeof(attr)), f"mount_setattr {path}")


def write_maps(inside: int, outside_uid: int, outside_gid: int) -> None:
    """Map one user and group id of a new user namespace (this process's) to ids of the namespace it came from."""
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{inside} {outside_uid} 1")
    Path("/proc/self/gid_map").write_text(f"{inside} {outside_gid} 1")


def cover(path: Path) -> None:
    """Hide a folder under an empty one (read-only once the sandbox is sealed), a file under /dev/null; nothing
    when there is nothing at path (any more: an earlier cover hid it)."""
    if path.is_dir():
        mount("tmpfs", str(path), "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755")
    elif path.exists():
        mount("/dev/null", str(path), None, MS_BIND)


def loopback_up() -> None:
    """Bring up the new network namespace's own loopback device (a lesson may serve a model on 127.0.0.1)."""
    import fcntl
    import socket
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as handle:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(handle, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(handle, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def lay_out(scratch: Path, hide: list[Path], expose: list[Path]) -> None:
    """The file system of the sandbox, built in its private mount namespace (see the module docstring): /tmp,
    /dev/shm and the hidden paths covered; the exposed paths (Python, the kit, the data) and the scratch folder
    mounted back where a cover hid them; hidden paths inside those covered again; everything read-only but /tmp,
    /dev/shm and the scratch folder."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    keep = {path: os.open(path, os.O_PATH | os.O_DIRECTORY) for path in [*expose, scratch] if path.is_dir()}
    writable = ["/tmp"] + (["/dev/shm"] if Path("/dev/shm").is_dir() else [])
    for path in writable:  # fresh, empty and private; as large as the machine's tmpfs default (half its memory)
        mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    for path in sorted(hide, key=lambda p: len(p.parts)):
        cover(path)
    for path, handle in keep.items():  # opened in this mount namespace, so they can be bind sources
        path.mkdir(parents=True, exist_ok=True)
        mount(f"/proc/self/fd/{handle}", str(path), None, MS_BIND | MS_REC)
        os.close(handle)
    for path in sorted(hide, key=lambda p: len(p.parts)):
        if any(path.is_relative_to(e) for e in expose):
            cover(path)
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    set_read_only("/", True, recursive=True)
    for path in writable + [str(scratch), "/proc"]:  # /proc goes read-only once the nested user ids are written
        set_read_only(path, False, recursive=False)


def enter(scratch: Path, hide: list[Path], expose: list[Path]) -> None:
    """Enter the sandbox (this process ends up as an ordinary user inside it; its children stay inside)."""
    uid, gid = os.getuid(), os.getgid()
    libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the launcher dies with whoever started it (the grader's driver)
    checked(libc().unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS),
            "unshare")
    write_maps(0, uid, gid)
    child = os.fork()  # the first child is PID 1 of the new PID namespace
    if child:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a kernel interrupt reaches the child through the group
        signal.signal(signal.SIGTERM, lambda *_: os.kill(child, signal.SIGKILL))
        while True:
            try:
                _, status = os.waitpid(child, 0)
                break
            except ChildProcessError:
                status = 1 << 8
                break
            except InterruptedError:
                continue
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    lay_out(scratch, hide, expose)
    loopback_up()
    checked(libc().unshare(CLONE_NEWUSER | CLONE_NEWNS), "unshare (nested)")  # locks the mounts above
    write_maps(SANDBOX_UID, 0, 0)
    set_read_only("/proc", True, recursive=False)
    libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    # last, after every change of credentials (each clears it): PID 1 dies with the launcher, and every process
    # inside dies with PID 1
    libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def needed() -> list[Path]:
    """What a Python command needs to see wherever it lies: this Python's installation and the kit's source."""
    return sorted({Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(__file__).resolve().parents[2]})


def limit_memory(limit: int) -> None:
    """Cap the address space (bytes; 0: no cap beyond the current hard limit)."""
    if limit <= 0:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@functools.cache
def available() -> tuple[bool, str]:
    """(True, '') when this machine can run the sandbox; else (False, why), from a trial run of `true`."""
    if not sys.platform.startswith("linux"):
        return False, f"the grader's sandbox needs Linux namespaces; this is {sys.platform}"
    with tempfile.TemporaryDirectory(prefix="course-kit-sandbox-probe-") as scratch:
        probe = "import os; open('probe', 'w').write('ok'); assert os.getuid() == 1000"
        try:
            done = subprocess.run([sys.executable, "-m", __spec__.name, "--scratch", scratch, "--cwd", scratch, "--",
                                   sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, f"the sandbox could not start: {exc}"
        if done.returncode != 0 or not (Path(scratch) / "probe").is_file():
            why = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
            if "unshare" in why or "uid_map" in why or "setgroups" in why:
                return False, (f"this machine does not allow unprivileged user namespaces ({why}); on Debian or "
                               "Ubuntu: sysctl kernel.unprivileged_userns_clone=1 (and, on Ubuntu 24.04, "
                               "kernel.apparmor_restrict_unprivileged_userns=0)")
            return False, f"the sandbox could not be set up on this machine ({why})"
    return True, ""


def main(argv: list[str] | None = None) -> int:
    """Command line: enter the sandbox, then become the command."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.sandbox", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scratch", type=Path, required=True, help="the one folder the command may write")
    parser.add_argument("--hide", type=Path, action="append", default=[], help="a path the command must not see")
    parser.add_argument("--expose", type=Path, action="append", default=[],
                        help="a folder the command must see even inside /tmp or a hidden path (read-only); Python's "
                             "installation and the kit are always exposed")
    parser.add_argument("--memory", type=int, default=0, help="address-space limit in bytes (0: none)")
    parser.add_argument("--cwd", type=Path, help="working folder of the command (default: the scratch folder)")
    parser.add_argument("--no-namespaces", action="store_true",
                        help="only the memory limit and working folder (the grader's --unsafe)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command after --")
    scratch = args.scratch.resolve()
    try:
        if args.no_namespaces:
            libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        else:
            enter(scratch, [p.resolve() for p in args.hide], needed() + [p.resolve() for p in args.expose])
    except OSError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 126 if exc.errno != errno.ENOENT else 127
    limit_memory(args.memory)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.chdir(args.cwd or scratch)
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"sandbox: cannot run {command[0]}: {exc}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main())
