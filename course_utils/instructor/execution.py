"""Headless notebook execution with papermill, through a kernel client that cannot miss a kernel's reply.

Stock nbclient waits for a cell's `execute_reply` with one asyncio poll of the kernel's ZeroMQ socket. Now and then
that poll's wake-up is lost: the reply sits in the socket while the executor waits until its cell timeout (forever
by default). A cell that opens many widget comms, such as lesson 01's `widgets.interact`, hits it in about 1 run in
40 (`benchmarks/widget_stalls.py`; see jupyter/nbclient#312 and jupyter/nbconvert#1921). Here every wait is cut
into slices of at most a second; a fresh poll sees a message that is already queued, so a lost wake-up costs at
most a second.
"""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path
from queue import Empty
from typing import Any, Iterator, Mapping

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import Type


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


class SlicedWaitKernelManager(AsyncKernelManager):
    """A kernel manager whose clients are SlicedWaitKernelClient."""

    client_factory = Type(SlicedWaitKernelClient)


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
