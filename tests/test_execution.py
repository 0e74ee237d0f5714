"""Headless execution: a kernel reply whose socket wake-up was lost is still picked up, within the timeout; local
kernels use IPC and are shut down without a SIGINT, so a successful run prints no alarming kernel log lines."""
from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from queue import Empty

import nbformat
import pytest
import zmq
import zmq.asyncio
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.session import Session

from course_utils.instructor import execution
from course_utils.instructor.execution import SlicedWaitChannel, SlicedWaitKernelManager, execute_notebook


def queued_reply(channel_class: type, first_polls_lost: int, **get_msg_kwargs) -> dict:
    """Queue one reply on a real socket pair, lose the first polls' wake-ups, and read it with `channel_class`."""

    async def scenario() -> dict:
        context = zmq.asyncio.Context()
        server, client = context.socket(zmq.PAIR), context.socket(zmq.PAIR)
        server.bind("inproc://kernel-shell")
        client.connect("inproc://kernel-shell")
        session = Session(key=b"")
        channel = channel_class(client, session)
        real_poll, lost = client.poll, []

        async def lossy_poll(timeout=None, flags=zmq.POLLIN):
            if len(lost) < first_polls_lost:  # the message is there, but this poll never hears of it
                lost.append(timeout)
                await asyncio.sleep((timeout or 0) / 1000)
                return 0
            return await real_poll(timeout, flags)

        client.poll = lossy_poll
        session.send(server, "execute_reply", {"status": "ok"})
        try:
            return await channel.get_msg(**get_msg_kwargs)
        finally:
            server.close(linger=0)
            client.close(linger=0)
            context.term()

    return asyncio.run(scenario())


@pytest.fixture
def short_slices(monkeypatch):
    monkeypatch.setattr(SlicedWaitChannel, "slice_seconds", 0.05)


def test_stock_channel_misses_a_queued_reply_when_its_poll_wake_up_is_lost():
    with pytest.raises(Empty):
        queued_reply(AsyncZMQSocketChannel, first_polls_lost=1, timeout=0.2)


def test_sliced_channel_reads_the_queued_reply_on_its_next_slice(short_slices):
    msg = queued_reply(SlicedWaitChannel, first_polls_lost=3, timeout=None)
    assert msg["msg_type"] == "execute_reply" and msg["content"] == {"status": "ok"}


def test_sliced_channel_still_gives_up_at_its_timeout(short_slices):
    start = time.monotonic()
    with pytest.raises(Empty):
        queued_reply(SlicedWaitChannel, first_polls_lost=1000, timeout=0.3)
    assert 0.3 <= time.monotonic() - start < 5


def test_execute_notebook_runs_a_widget_cell_through_the_sliced_client(tmp_path, monkeypatch):
    waits = []
    original = SlicedWaitChannel.get_msg

    async def counting_get_msg(self, timeout=None):
        waits.append(timeout)
        return await original(self, timeout)

    monkeypatch.setattr(SlicedWaitChannel, "get_msg", counting_get_msg)
    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    notebook.cells = [nbformat.v4.new_code_cell("import ipywidgets as widgets\nN = 1", metadata={"tags": ["parameters"]}),
                      nbformat.v4.new_code_cell("widgets.interact(lambda n: print('n is', n * N), n=(0, 10));")]
    source = tmp_path / "widget.ipynb"
    nbformat.write(notebook, source)
    execute_notebook(source, tmp_path / "out.ipynb", {"N": 3}, cwd=tmp_path, timeout=120)
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert "interactive(" in executed.cells[-1].outputs[0]["data"]["text/plain"]
    models = executed.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"].values()
    printed = [o["text"] for m in models for o in m["state"].get("outputs", []) if o.get("name") == "stdout"]
    assert printed == ["n is 15\n"]  # the interact call ran with the injected parameter N = 3
    assert waits, "the kernel's replies were not read through SlicedWaitChannel"


@pytest.fixture
def short_runtime_dir(monkeypatch):
    with tempfile.TemporaryDirectory(prefix="rt") as runtime:  # short, like ~/.local/share/jupyter/runtime
        monkeypatch.setenv("JUPYTER_RUNTIME_DIR", runtime)
        yield runtime


def test_local_kernels_use_ipc_sockets_named_by_an_absolute_path(short_runtime_dir):
    runtime = short_runtime_dir
    manager = SlicedWaitKernelManager(kernel_name="python3")
    if os.name == "nt":
        assert manager.transport == "tcp"
        return
    assert manager.transport == "ipc"
    assert os.path.isabs(manager.ip) and manager.ip.startswith(runtime)  # not relative to the kernel's cwd
    assert SlicedWaitKernelManager(kernel_name="python3").connection_file != manager.connection_file


def test_tcp_stays_where_ipc_socket_paths_would_be_too_long(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / ("x" * 120)))
    assert SlicedWaitKernelManager(kernel_name="python3").transport == "tcp"
    assert not execution.ipc_possible("/" + "y" * 120 + "/kernel.json")


def test_a_successful_run_prints_no_transport_warning_and_sends_no_sigint(tmp_path, monkeypatch, capfd,
                                                                          short_runtime_dir):
    signals = []
    original = AsyncKernelManager._async_signal_kernel

    async def recording_signal(self, signum):
        signals.append(signum)
        return await original(self, signum)

    monkeypatch.setattr(AsyncKernelManager, "_async_signal_kernel", recording_signal)
    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    notebook.cells = [nbformat.v4.new_code_cell("N = 1", metadata={"tags": ["parameters"]}),
                      nbformat.v4.new_code_cell("print(N * 2)")]
    nbformat.write(notebook, tmp_path / "quiet.ipynb")
    execute_notebook(tmp_path / "quiet.ipynb", tmp_path / "out.ipynb", {"N": 3}, cwd=tmp_path, timeout=120)
    assert nbformat.read(tmp_path / "out.ipynb", as_version=4).cells[-1].outputs[0]["text"] == "6\n"
    err = capfd.readouterr().err  # the kernel process writes its log to the inherited stderr
    if os.name != "nt":
        assert "without encryption" not in err
    assert "KeyboardInterrupt" not in err
    assert signal.SIGINT not in signals  # jupyter_client's shutdown interrupts first; ours does not
