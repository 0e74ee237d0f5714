"""Run one prepared submission and decide its checks outside the student's process.

    python -m course_utils.instructor.grade_driver JOB.json

Started by the grader (grade.execute) as a process of its own. It starts the student's kernel (inside the
sandbox, see sandbox.py, unless the job says otherwise), runs the submission's cells one by one, and at each
exercise runs the instructor's check **here**: the check's arguments are evaluated in the kernel and come back as
data or as references (answers.py), the checker functions are imported here from the grader's files (or from a
private checks folder), and their verdict never passes through the kernel. After every cell it writes the executed
notebook and JOB's result file: where it got to, each exercise's status and hint, and what the submission tried
that a fair one does not (writes outside its folder, patched checker modules, printed check results).
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import importlib.util
import io
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable

from .answers import MAX_REPLY_CHARS, REF, AnswerError, RemoteError, decode, encode
from .grade_prepare import is_check_call, split_check

FAKE_RESULT = re.compile(r"✔[^\n]*(correct|정답)|application/vnd\.course-kit")
WATCHED_MODULES = ("course_utils", "numpy", "torch", "builtins", "math")  # patched functions here are reported
WATCH_PREFIX = "course-kit-watch: "  # lines the kernel's write watch (grade_kernel) prints to its stderr


class StopRun(Exception):
    """The run cannot go on (a check's call into the submission timed out or killed the kernel); args: kind, text."""


class KernelChannel:
    """Requests to the submission's kernel (answers.handle) over a second, blocking client of its shell channel."""

    def __init__(self, connection_file: str, timeout: float, alive: Callable[[], bool]) -> None:
        from jupyter_client import BlockingKernelClient

        self.client = BlockingKernelClient()
        self.client.load_connection_file(connection_file)
        self.client.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
        self.timeout, self.alive = timeout, alive

    def close(self) -> None:
        """Close the client's sockets."""
        self.client.stop_channels()

    def request(self, **ask: Any) -> Any:
        """Send one request; return the decoded answer or raise what the submission's code raised."""
        expression = f"__import__('course_utils.instructor.answers', fromlist=['handle']).handle({json.dumps(ask)!r})"
        msg_id = self.client.execute("", silent=True, store_history=False, user_expressions={"r": expression})
        deadline = time.monotonic() + self.timeout
        while True:
            if time.monotonic() > deadline:
                raise StopRun("CellTimeoutError", f"a call into your code ran longer than {self.timeout:g} s")
            try:
                reply = self.client.get_shell_msg(timeout=1.0)
            except Exception:  # noqa: BLE001 - queue.Empty: no reply yet
                if not self.alive():
                    raise StopRun("DeadKernelError", "the kernel died while the check called your code") from None
                continue
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                break
        content = reply.get("content", {})
        result = content.get("user_expressions", {}).get("r", {}) if content.get("status") == "ok" else {}
        if result.get("status") != "ok":
            raise RemoteError(f"{result.get('ename', 'Error')}: {result.get('evalue', 'the answer could not be read')}")
        shown = result.get("data", {}).get("text/plain", "")
        if not isinstance(shown, str) or len(shown) > MAX_REPLY_CHARS + 100:
            raise AnswerError("the answer is too large to check")
        try:
            answer = json.loads(ast.literal_eval(shown))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise AnswerError("the answer came back in a form the grader does not know") from None
        if isinstance(answer, dict) and isinstance(answer.get("error"), list) and len(answer["error"]) == 2:
            raise rebuilt_exception(*answer["error"])
        if not isinstance(answer, dict) or "ok" not in answer:
            raise AnswerError("the answer came back in a form the grader does not know")
        return decode(answer["ok"], self.remote)

    def remote(self, number: int, types: list, shown: str) -> "Remote":
        """A Remote for one of the kernel's objects."""
        return Remote(self, number, claimed_class(types), shown)

    def send(self, value: Any) -> Any:
        """value encoded for the kernel: data, or a reference to one of its own objects."""
        def refer(item: Any) -> dict:
            if isinstance(item, Remote):
                return {REF: item._number}
            raise TypeError(f"the grader cannot send a {type(item).__name__} to the submission")
        return encode(value, refer)


def rebuilt_exception(name: Any, message: Any) -> Exception:
    """The submission's exception as an instance of the same built-in type (RemoteError for other types)."""
    kind = getattr(builtins, name, None) if isinstance(name, str) else None
    if isinstance(kind, type) and issubclass(kind, Exception) and kind.__module__ == "builtins":
        try:
            return kind(str(message))
        except Exception:  # noqa: BLE001 - an exception type with other arguments
            pass
    return RemoteError(f"{name}: {message}")


def claimed_class(types: list) -> type | None:
    """The first class of a remote object's method resolution order that the grader has loaded already."""
    for entry in types:
        if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(part, str) for part in entry)):
            continue
        module, qualified = entry
        found: Any = sys.modules.get(module)
        for part in qualified.split("."):
            found = getattr(found, part, None) if found is not None and not part.startswith("<") else None
        if isinstance(found, type) and found is not object:
            return found
    return None


class Remote:
    """An object of the submission's, used from the grader: calls, attributes, items and iteration are requests."""

    def __init__(self, channel: KernelChannel, number: int, claimed: type | None, shown: str) -> None:
        object.__setattr__(self, "_channel", channel)
        object.__setattr__(self, "_number", number)
        object.__setattr__(self, "_claimed", claimed)
        object.__setattr__(self, "_shown", shown)

    @property  # type: ignore[misc]
    def __class__(self):  # noqa: D105 - isinstance(remote, nn.Module) holds for a remote model
        return object.__getattribute__(self, "_claimed") or Remote

    def _ask(self, op: str, **extra: Any) -> Any:
        return self._channel.request(op=op, ref=self._number, **extra)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):  # protocol probes (numpy, torch, copy) stay local
            raise AttributeError(name)
        return self._ask("getattr", name=name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("the grader does not change the submission's objects")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._ask("call", args=self._channel.send(list(args)), kwargs=self._channel.send(dict(kwargs)))

    def __getitem__(self, key: Any) -> Any:
        return self._ask("getitem", key=self._channel.send(key))

    def __len__(self) -> int:
        return int(self._ask("len"))

    def __bool__(self) -> bool:
        return bool(self._ask("bool"))

    def __iter__(self):
        return iter(self._ask("list"))

    def __next__(self) -> Any:
        return self._ask("next")

    def __repr__(self) -> str:
        return f"<the submission's {self._shown or 'object'}>"


def private_checks(folder: str | None) -> dict[str, Callable]:
    """The check_* functions of a private checks file or folder of .py files (they replace the public ones)."""
    if not folder:
        return {}
    root = Path(folder)
    found: dict[str, Callable] = {}
    for path in sorted([root] if root.is_file() else root.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"course_kit_private_checks_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        found.update({name: value for name, value in vars(module).items()
                      if name.startswith("check_") and callable(value) and getattr(value, "__module__", "") == spec.name})
    return found


def checker(name: str, namespace: dict, private: dict[str, Callable], modules: list[str]) -> Callable:
    """The check function called `name`: the private one, else as imported by this or an earlier check cell, else
    from the lesson's checker modules (a lesson may import it in a cell of its own)."""
    if name in private:
        return private[name]
    if name in namespace:
        return namespace[name]
    for module in modules:
        found = getattr(sys.modules.get(module) or importlib.import_module(module), name, None)
        if callable(found):
            return found
    raise NameError(f"no checker called {name}")


def run_check(exercise: dict, channel: KernelChannel, private: dict[str, Callable], modules: list[str],
              namespace: dict[str, Any]) -> tuple[str, str, str]:
    """Run an exercise's check here with the submission's answers: (passed | failed, hint, what it printed).
    namespace: the grader's names across the run's checks (checker imports)."""
    statements, _ = split_check(exercise["source"], modules)
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            for statement in statements:
                if not is_check_call(statement):
                    exec(compile(ast.Module([statement], []), "<check>", "exec"), namespace)  # noqa: S102
                    continue
                call = statement.value
                function = checker(call.func.id, namespace, private, modules)
                args = [answer(node, channel) for node in call.args]
                kwargs = {k.arg: answer(k.value, channel) for k in call.keywords if k.arg}
                function(*args, **kwargs)
    except StopRun:
        raise
    except BaseException as exc:  # noqa: BLE001 - a wrong or broken answer is a failed check, never a crash
        message = str(exc)
        if type(exc).__name__ == "ExerciseFailed":
            return "failed", clip(message), printed.getvalue()
        return "failed", clip(f"The check could not run: {type(exc).__name__}: {message}. Run your notebook from the "
                              "top (Kernel > Restart and run all) to see where it goes wrong."), printed.getvalue()
    return "passed", "", printed.getvalue()


def answer(node: ast.expr, channel: KernelChannel) -> Any:
    """A check argument: a literal as written, anything else evaluated in the submission's kernel."""
    if isinstance(node, ast.Starred):
        raise AnswerError("a check call with *arguments")
    try:
        return ast.literal_eval(node)
    except ValueError:
        return channel.request(op="eval", expr=ast.unparse(node))


def clip(text: str, limit: int = 600) -> str:
    """Text cut to limit characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stream(name: str, text: str) -> Any:
    """A notebook stream output."""
    from nbformat.v4 import new_output

    return new_output("stream", name=name, text=text)


def fake_results(cell: dict) -> bool:
    """True when a cell's outputs look like a check's verdict."""
    for output in cell.get("outputs", []):
        text = json.dumps(output.get("data", {}), ensure_ascii=False) + "".join(output.get("text", ""))
        if FAKE_RESULT.search(text):
            return True
    return False


def watched_writes(log: Path) -> list[str]:
    """The kernel's reported attempts to write outside its folder (grade_kernel's watch lines in its stderr)."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        if line.startswith(WATCH_PREFIX) and line[len(WATCH_PREFIX):] not in found:
            found.append(line[len(WATCH_PREFIX):][:300])
    return found[:10]


def drive(job: dict) -> dict:
    """Execute the job's notebook cell by cell, checks here; return the result (also written after every cell)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbclient.util import run_sync
    from papermill.parameterize import parameterize_notebook

    from .execution import SlicedWaitKernelManager

    result: dict[str, Any] = {"finished": False, "kind": "", "error": "", "running": None, "outcomes": {},
                              "flags": []}
    output, result_path = Path(job["output"]), Path(job["result"])
    notebook = nbformat.reads(Path(job["source"]).read_text(encoding="utf-8"), as_version=4)
    for cell in notebook.cells:
        cell.metadata.setdefault("tags", [])  # papermill reads every cell's tags
    notebook.metadata["papermill"] = {}  # and records the parameters there
    notebook = parameterize_notebook(notebook, job["parameters"], kernel_name="python3", language="python")
    exercises = {e["key"]: e for e in job["exercises"]}
    unchanged = set(job["unchanged"])
    private = private_checks(job.get("checks"))
    checks: dict[str, Any] = {"__name__": "course_kit_checks"}  # the checks' names, kept from cell to cell

    saved = [0.0]

    def save(final: bool = False) -> None:
        if final or time.monotonic() - saved[0] > 2:  # the notebook at most every 2 s (outputs can be megabytes)
            output.write_text(nbformat.writes(notebook), encoding="utf-8")
            saved[0] = time.monotonic()
        partial = result_path.with_suffix(".partial")
        partial.write_text(json.dumps(result), encoding="utf-8")
        partial.replace(result_path)

    manager = SlicedWaitKernelManager(kernel_name="python3", connection_file=job["connection_file"])
    client = NotebookClient(notebook, timeout=job["timeout"], kernel_name="python3", km=manager,
                            resources={"metadata": {"path": job["cwd"]}})
    kernel_log = Path(job["kernel_log"])
    channel = None
    with open(kernel_log, "ab") as log, client.setup_kernel(stdout=log, stderr=log):
        alive = run_sync(manager.is_alive)
        channel = KernelChannel(manager.connection_file, job["timeout"], alive)
        try:
            for index, cell in enumerate(notebook.cells):
                result["running"] = cell.get("id")
                save()
                if cell.cell_type != "code":
                    continue
                key = cell.id[len(job["check_prefix"]):] if cell.id.startswith(job["check_prefix"]) else None
                if key in exercises:
                    status, hint, printed = run_check(exercises[key], channel, private, job["modules"], checks)
                    result["outcomes"][key] = [status, hint]
                    shown = [stream("stdout", printed)] if printed else []
                    if status == "failed":
                        shown.append(stream("stderr", f"✘ {hint}\n"))
                    if cell.source.strip():
                        client.execute_cell(cell, index)
                    cell.outputs = shown + list(cell.outputs)
                    continue
                client.execute_cell(cell, index)
                if cell.id not in unchanged and fake_results(cell):
                    result["flags"].append(f"cell {job['origin'].get(cell.id, '?')} printed what looks like a check "
                                           "result")
            result["finished"] = True
            try:
                patched = channel.request(op="patched", prefixes=[*job["modules"], *WATCHED_MODULES])
            except Exception:  # noqa: BLE001 - a submission that broke the answer channel reports nothing here
                patched = []
            if isinstance(patched, list) and patched:
                shown = ", ".join(str(p) for p in patched[:5]) + (" …" if len(patched) > 5 else "")
                result["flags"].append(f"replaced {shown} (checker code)")
        except CellTimeoutError:
            result["kind"] = "CellTimeoutError"
        except DeadKernelError:
            result["kind"] = "DeadKernelError"
        except StopRun as stop:
            result["kind"], result["error"] = stop.args
        finally:
            channel.close()
    result["flags"] += [f"tried to write {what}" for what in watched_writes(kernel_log)]
    save(final=True)
    return result


def main(argv: list[str] | None = None) -> int:
    """Command line: run the job file's notebook; the result file says how it went."""
    job_path = Path((argv or sys.argv[1:])[0])
    job = json.loads(job_path.read_text(encoding="utf-8"))
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG = SIGKILL: dies with the grader (or Dask worker)
    except (OSError, AttributeError):
        pass
    os.environ.clear()
    os.environ.update(job["env"])
    sys.path[:0] = job.get("checker_path", [])  # checker modules beside the instructor notebook (hidden from the kernel)
    try:
        drive(job)
    except BaseException as exc:  # noqa: BLE001 - the grader reads what happened from the result file
        result_path = Path(job["result"])
        previous = {}
        try:
            previous = json.loads(result_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
        previous.update({"finished": False, "kind": type(exc).__name__, "error": str(exc)[:4000]})
        result_path.write_text(json.dumps(previous), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
