"""Stopping a batch, a course run or a grading cleanly on Ctrl-C (SIGINT) or SIGTERM.

The first signal asks to stop: queued runs are cancelled (never started), the running notebooks' processes (worker
processes, kernels, grading children) are killed, and the runner returns what had finished, which the caller stores
and reports as an interrupted run before exiting with EXIT_CODE (130, as a shell reports Ctrl-C). A second signal
exits at once, still killing every child process first.

    with stoppable() as stop:      # in the main thread; elsewhere no handler is installed
        ...                        # runners call current() and watch() while they wait for their runs
    if stop.requested: ...

The signal handler only writes a byte to a socket; a thread of this module does the work, so a handler never runs
heavy code in the middle of whatever the main thread was doing.
"""
from __future__ import annotations

import os
import select
import signal
import socket
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

EXIT_CODE = 130  # 128 + SIGINT: what a shell reports for a command stopped with Ctrl-C
SIGNALS = ("SIGINT", "SIGTERM")
SWEEP_SECONDS = 0.2  # while a runner waits for its killed runs, new child processes are killed this often
ACTION_WAIT_SECONDS = 30.0  # a runner that is done waits this long for its stop action (e.g. on a Dask cluster)


def kill_children(pid: int | None = None, wait: float = 5.0) -> int:
    """Kill every descendant process of pid (default: this process), children and grandchildren together, so that
    none is re-parented away before it is killed (multiprocessing's resource tracker is left to end with this
    process); wait up to `wait` seconds for them to end. Returns how many."""
    import psutil

    try:
        family = [p for p in psutil.Process(pid or os.getpid()).children(recursive=True) if not helper(p)]
    except psutil.NoSuchProcess:
        return 0
    for process in family:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    if wait and family:
        psutil.wait_procs(family, timeout=wait)
    return len(family)


def helper(process) -> bool:  # noqa: ANN001 - a psutil.Process
    """Whether a child is multiprocessing's resource tracker, which runs no notebook and ends with this process (a
    killed one only makes multiprocessing complain)."""
    try:
        return "multiprocessing.resource_tracker" in " ".join(process.cmdline())
    except Exception:  # noqa: BLE001 - gone or not ours to read
        return False


def ignore_interrupts() -> None:
    """Initializer of pool worker processes: Ctrl-C at the terminal reaches the whole process group, and only the
    parent decides what stops (it kills the workers itself)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@dataclass
class Watch:
    """What a runner asks for while it waits: an action run once on a stop, and whether to keep killing child
    processes (sweep) until the runner has collected its killed runs."""

    action: Callable[[], None] | None
    sweep: bool
    done: bool = False  # the action was started
    finished: threading.Event = field(default_factory=threading.Event)  # ... and has ended


class Stop:
    """The stop request of one command: whether and when a signal came, and what to do about it."""

    def __init__(self) -> None:
        self.at: float | None = None  # time.monotonic() of the first signal
        self.signal_name = ""
        self._watches: list[Watch] = []
        self._lock = threading.Lock()

    @property
    def requested(self) -> bool:
        """Whether a stop was asked for."""
        return self.at is not None

    def describe(self) -> str:
        """The stop for messages: 'Ctrl-C (SIGINT)' or 'SIGTERM'."""
        return "Ctrl-C (SIGINT)" if self.signal_name == "SIGINT" else self.signal_name or "a stop request"

    def request(self, signal_name: str = "") -> None:
        """Ask to stop (what the first signal does): run every watcher's action, in this thread."""
        with self._lock:
            if self.at is not None:
                return
            self.at, self.signal_name = time.monotonic(), signal_name
        self._run_actions()

    @contextmanager
    def watch(self, action: Callable[[], None] | None = None, sweep: bool = False,
              wait: float = ACTION_WAIT_SECONDS) -> Iterator[Watch]:
        """While inside: on a stop (or at once when one was already asked for), run `action` once; with sweep, keep
        killing this process's children until the block ends. Leaving the block waits (up to `wait` seconds) for an
        action that has started, so that what it stops is stopped before the caller closes anything."""
        entry = Watch(action, sweep)
        with self._lock:
            self._watches.append(entry)
            requested = self.at is not None
        if requested:
            self._run_actions()
        try:
            yield entry
        finally:
            if entry.done:
                entry.finished.wait(wait)
            with self._lock:
                self._watches.remove(entry)

    def sweeping(self) -> bool:
        """Whether a stop was asked for and a runner still waits for runs whose processes must die."""
        with self._lock:
            return self.at is not None and any(w.sweep for w in self._watches)

    def _run_actions(self) -> None:
        with self._lock:
            todo = [w for w in self._watches if not w.done]
            for entry in todo:
                entry.done = True
        for entry in todo:
            try:
                if entry.action is not None:
                    entry.action()
                if entry.sweep:
                    kill_children(wait=0)
            except Exception as exc:  # noqa: BLE001 - stopping must go on; say what failed
                print(f"warning: while stopping: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            finally:
                entry.finished.set()


NEVER = Stop()  # what runners see outside stoppable(): never requested
_current: Stop | None = None


def current() -> Stop:
    """The stop request of the running command (one that is never requested outside stoppable())."""
    return _current or NEVER


def exit_now(stop: Stop) -> None:
    """The second signal: kill every child process and leave at once (nothing more is stored)."""
    try:
        print(f"\n{stop.describe() if stop.requested else 'A signal'} again: stopping at once; runs that had not "
              "been stored are lost.", file=sys.stderr, flush=True)
        kill_children(wait=1.0)
    finally:
        os._exit(EXIT_CODE)


class Stopper:
    """Turns SIGINT/SIGTERM into stop requests: the handler writes to a socket pair (select() takes sockets on
    every system, pipes not on Windows), a daemon thread reads it."""

    def __init__(self, stop: Stop, message: str) -> None:
        self.stop, self.message = stop, message
        self.reader, self.writer = socket.socketpair()
        self.writer.setblocking(False)
        self.closed = False
        self.thread = threading.Thread(target=self.serve, name="course-kit-stopper", daemon=True)
        self.thread.start()

    def handler(self, signum: int, frame) -> None:  # noqa: ANN001 - the signal module's signature
        """The signal handler: hand the signal to the thread."""
        try:
            self.writer.send(bytes([min(signum, 255)]))
        except OSError:
            pass

    def serve(self) -> None:
        """The thread: first signal -> stop request (actions in a thread of their own), second -> exit now;
        kill new child processes while runners sweep."""
        seen = 0
        while True:
            timeout = SWEEP_SECONDS if seen else None  # after a stop: look for runners that sweep, often
            ready, _, _ = select.select([self.reader], [], [], timeout)
            if ready:
                try:
                    data = self.reader.recv(64)
                except OSError:
                    return
                if not data:  # closed
                    return
                for signum in data:
                    seen += 1
                    if seen >= 2:
                        exit_now(self.stop)
                    try:
                        name = signal.Signals(signum).name
                    except ValueError:
                        name = str(signum)
                    print(f"\n{'Ctrl-C (SIGINT)' if name == 'SIGINT' else name}: {self.message} "
                          "(press Ctrl-C again to quit at once)", file=sys.stderr, flush=True)
                    threading.Thread(target=self.stop.request, args=(name,), name="course-kit-stopping",
                                     daemon=True).start()
            if seen and self.stop.sweeping():
                try:
                    kill_children(wait=0)
                except Exception:  # noqa: BLE001 - psutil races with processes that end on their own
                    pass

    def close(self) -> None:
        """End the thread (no more signals will come through this stopper)."""
        if not self.closed:
            self.closed = True
            self.writer.close()  # the thread reads the end of the stream and returns
            self.thread.join(2)
            self.reader.close()


def _exit_on_signal(signum: int, frame) -> None:  # noqa: ANN001
    """After a stop, while the command stores and reports: a further signal exits at once."""
    exit_now(_last or NEVER)


_last: Stop | None = None


@contextmanager
def stoppable(message: str = "stopping: no new runs start, running ones are killed; finished ones are stored"
              ) -> Iterator[Stop]:
    """Handle SIGINT and SIGTERM inside the block (see the module docstring); yield the Stop.

    Outside the main thread no handler can be installed: the Stop is only requested by request(). Nested use
    yields the outer Stop. After a stop, the handlers stay those that exit at once (the command is ending)."""
    global _current, _last
    if _current is not None:
        yield _current
        return
    stop = Stop()
    stopper = None
    previous = {}
    if threading.current_thread() is threading.main_thread():
        stopper = Stopper(stop, message)
        for name in SIGNALS:
            number = getattr(signal, name, None)
            if number is not None:
                previous[number] = signal.signal(number, stopper.handler)
    _current = _last = stop
    try:
        yield stop
    finally:
        _current = None
        for number, handler in previous.items():
            signal.signal(number, _exit_on_signal if stop.requested else handler)
        if stopper is not None:
            stopper.close()


def as_finished(futures) -> Iterator:  # noqa: ANN001 - concurrent.futures.Future objects
    """Yield concurrent.futures futures as they finish, fail or are cancelled (as_completed never yields a future
    that Executor.shutdown(cancel_futures=True) cancelled, and would wait forever)."""
    import queue

    futures = list(futures)
    done: queue.Queue = queue.Queue()
    for future in futures:
        future.add_done_callback(done.put)
    for _ in futures:
        yield done.get()
