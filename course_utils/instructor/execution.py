"""Headless notebook execution with papermill, through a kernel client that cannot miss a kernel's reply.

Stock nbclient waits for a cell's `execute_reply` with one asyncio poll of the kernel's ZeroMQ socket. Now and then
that poll's wake-up is lost: the reply sits in the socket while the executor waits until its cell timeout (forever
by default). A cell that opens many widget comms, such as lesson 01's `widgets.interact`, hits it in about 1 run in
40 (`benchmarks/widget_stalls.py`; see jupyter/nbclient#312 and jupyter/nbconvert#1921). Here every wait is cut
into slices of at most a second; a fresh poll sees a message that is already queued, so a lost wake-up costs at
most a second.

The kernel manager also keeps headless runs quiet where the noise means nothing (issue 19):
- local kernels talk over IPC (Unix sockets in Jupyter's private runtime folder) instead of TCP on localhost, so
  ipykernel no longer warns "Kernel is running over TCP without encryption" on every run; on Windows, which has no
  IPC transport, and where the socket path would be too long, TCP stays and so does that warning;
- shutting a kernel down skips jupyter_client's first step, a SIGINT: a kernel that is just then handling a
  message (a widget's comm message, a late request) logs "KeyboardInterrupt caught in kernel." for it, though the
  run succeeded. The shutdown request and, after `shutdown_wait_time`, SIGTERM and SIGKILL still follow.
"""
from __future__ import annotations

import os
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from queue import Empty
from typing import Any, Iterator, Mapping

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import Type, default

IPC_PATH_LIMIT = 103  # bytes; a Unix socket path and its NUL fit in 104 (macOS) to 108 (Linux) bytes


class SlicedWaitChannel(AsyncZMQSocketChannel):
    """A kernel channel whose `get_msg` polls in slices of at most `slice_seconds`, honouring the overall timeout."""

    slice_seconds = 1.0

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:
        """Return the next message; raise queue.Empty only once `timeout` seconds (None: never) have passed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = self.slice_seconds if deadline is None else min(self.slice_seconds, deadline - time.monotonic())
            try:
                return await super().get_msg(timeout=max(0.0, wait))
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise


class SlicedWaitKernelClient(AsyncKernelClient):
    """The asynchronous kernel client nbclient uses, with sliced waits on the shell and IOPub channels."""

    shell_channel_class = Type(SlicedWaitChannel)
    iopub_channel_class = Type(SlicedWaitChannel)


def runtime_connection_file() -> Path:
    """A fresh connection-file path in Jupyter's runtime folder (private to the user), which is created if needed."""
    from jupyter_core.paths import jupyter_runtime_dir

    folder = Path(jupyter_runtime_dir())
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder / f"kernel-{uuid.uuid4()}.json"


def ipc_possible(connection_file: str | os.PathLike[str]) -> bool:
    """True where a kernel beside this connection file can use IPC: not Windows, and short enough socket paths."""
    sockets = f"{os.path.splitext(os.fspath(connection_file))[0]}-ipc-65535"  # jupyter_client's naming
    return os.name != "nt" and len(os.fsencode(sockets)) <= IPC_PATH_LIMIT


class SlicedWaitKernelManager(AsyncKernelManager):
    """A kernel manager whose clients are SlicedWaitKernelClient, with IPC sockets for local kernels and a shutdown
    that does not interrupt the kernel first (see the module docstring)."""

    client_factory = Type(SlicedWaitKernelClient)

    @default("connection_file")
    def _connection_file_default(self) -> str:
        # An absolute path: the IPC sockets are named after it, and the kernel runs in the notebook's folder.
        return str(runtime_connection_file())

    @default("transport")
    def _transport_default(self) -> str:
        return "ipc" if ipc_possible(self.connection_file) else "tcp"

    async def _async_interrupt_kernel(self) -> None:
        if self.shutting_down:  # the SIGINT that shutdown_kernel sends first: see the module docstring
            return
        await super()._async_interrupt_kernel()


@contextmanager
def environment(overrides: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a block, then restore the caller's values."""
    saved = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def execute_notebook(source: str | Path, output: str | Path, parameters: dict[str, Any] | None = None, *,
                     cwd: str | Path | None = None, timeout: int | None = None,
                     env: Mapping[str, str] | None = None) -> None:
    """Execute a notebook headlessly with papermill (python3 kernel, sliced waits); failing cells raise.

    env: extra environment variables for the kernel only; the caller's environment is left as it was."""
    import papermill

    with environment(env or {}):
        papermill.execute_notebook(
            str(source), str(output), parameters=parameters or {}, cwd=None if cwd is None else str(cwd),
            kernel_name="python3", progress_bar=False, execution_timeout=timeout,
            kernel_manager_class=SlicedWaitKernelManager,
        )
