"""Run planned notebook runs (batch grids, the course run) and gradings on a Dask cluster instead of this machine's
process pool.

A scheduler is chosen with `--scheduler` (or `scheduler:` in a batch file, or $COURSE_SCHEDULER):
``tcp://HOST:8786`` connects to a running `dask scheduler`; ``local:N`` starts a `distributed.LocalCluster` with N
worker processes here (to try it out, and for the tests); ``none`` (or nothing) keeps the local process pool.

Each run is one task that carries what it needs: the notebook's JSON and its parameters go to a worker, which
executes it in a scratch folder with its own `COURSE_DATA_DIR`; the executed notebook, its recorded results and
every file the run wrote come back and are written here, on the submitting machine. Workers need the kit and torch
installed at the same versions as here (checked before anything runs and again by every task; other Dask versions
are refused too, and other course_utils sources at the same version are warned about), not a shared filesystem.

A worker that dies in the middle of a run (killed, out of memory, machine gone) makes the scheduler run the task
again on another worker, up to its `distributed.scheduler.allowed-failures` (Dask's default 3, ALLOWED_FAILURES for
`local:N`); after that the run is reported failed with the reason. A task that raises on its worker (its scratch
disk is full, a package is broken there; a notebook that fails is a result, not this) is submitted again by the
kit, to a worker it has not failed on when there is one (Tasks; Dask's own `retries` would pick any worker, often
the idle one that just failed it), up to 1 + TASK_RETRIES tries; the failure after the last one says how many tries
were made, and where. Runs that finished are stored as they arrive.
Every task works in a scratch folder named after its worker process; the next task on that machine removes the
folders of processes that died. Grading's tasks are in grade (grade_on_worker, grade_on_cluster).

A scheduler address is probed before Dask's client connects (probe_scheduler): Dask's client would wait forever
for the greeting of a server that is not a Dask scheduler (a web server, SSH), so such an address is refused within
CONNECT_SECONDS, naming what answered. On a stop (Ctrl-C, SIGTERM; see stopping) the tasks are cancelled and the
processes that running ones started on their workers are killed (stop_tasks).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from .plan import Run
from .values import RequestError

if TYPE_CHECKING:
    from distributed import Client

ENV_VAR = "COURSE_SCHEDULER"
LOCAL_POOL = "none"  # the --scheduler value that keeps runs in this machine's process pool
CONNECT_SECONDS = 5  # an unreachable scheduler is reported after this long, before anything runs
WORKER_WAIT_SECONDS = 30  # a scheduler without workers is reported after this long
ALLOWED_FAILURES = 2  # local:N clusters: a run is tried on at most 1 + this many workers that die under it
TASK_RETRIES = 1  # a task that raises on its worker (not a failing notebook: that is a result) is tried once more,
# on another worker when there is one (Tasks)
STRANDED_SECONDS = 10.0  # how often Tasks looks for a try that waits for workers that have all left
POLL_SECONDS = 0.1  # how often Tasks looks for finished tasks (as Dask's as_completed does)
PACKAGE = Path(__file__).resolve().parents[1]  # course_utils/
SCHEDULER_HELP = ("run each notebook as a task on a Dask cluster: tcp://HOST:8786 (a running `dask scheduler`), "
                  "local:N (start N worker processes here) or none (this machine's process pool, the default); "
                  f"default ${ENV_VAR} when set")


class SchedulerError(RequestError):
    """The chosen scheduler cannot be used (unreachable, no workers, other versions); nothing was run."""


def parse_scheduler(text: str | None) -> str | None:
    """Return a normalised scheduler choice (an address or 'local:N'), or None for the local process pool."""
    text = (text or "").strip()
    if not text or text.lower() == LOCAL_POOL:
        return None
    local = re.fullmatch(r"local:(\d+)", text)
    if local:
        if int(local.group(1)) < 1:
            raise SchedulerError(f"--scheduler {text}: a local cluster needs at least 1 worker (e.g. local:2).")
        return text
    if re.fullmatch(r"(tcp|tls)://[^\s/:]+:\d+/?", text):
        return text.rstrip("/")
    if re.fullmatch(r"[^\s/:]+:\d+", text):
        return f"tcp://{text}"
    raise SchedulerError(f"--scheduler {text!r} is not a scheduler: use tcp://HOST:8786 (the address "
                         f"`dask scheduler` prints), local:N, or {LOCAL_POOL} for this machine's process pool.")


def resolve_scheduler(*choices: str | None) -> str | None:
    """The first choice given (command line, then batch file), else $COURSE_SCHEDULER, parsed by parse_scheduler."""
    given = next((c for c in choices if c is not None), os.environ.get(ENV_VAR))
    return parse_scheduler(given)


def add_scheduler_option(parser: Any) -> None:
    """Add --scheduler to an argparse parser (grid, course run, grading share it)."""
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS", help=SCHEDULER_HELP)


def source_digest() -> str:
    """A digest of course_utils' Python sources (names and bytes): two installs with the same digest run the same code."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def package_version(name: str) -> str:
    """An installed distribution's version, or 'not installed'."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def kit_versions() -> dict[str, str]:
    """What a worker must share with the submitting machine: the kit's and torch's versions."""
    return {"course-kit": package_version("course-kit"), "torch": package_version("torch")}


def version_problems(here: dict[str, str], there: dict[str, str], where: str) -> list[str]:
    """One line per package whose version differs between this machine and a worker."""
    return [f"{where} has {name} {there.get(name, 'not installed')}, this machine has {name} {version}"
            for name, version in here.items() if there.get(name) != version]


def check_versions(client: Client) -> None:
    """Refuse a cluster whose workers run other versions of Dask, the kit or torch than this machine."""
    try:
        client.get_versions(check=True)
    except ValueError as exc:
        raise SchedulerError(f"The Dask cluster runs other package versions than this machine; install the same "
                             f"requirements.txt on every worker.\n{exc}") from exc
    here = kit_versions()
    problems = [line for address, there in sorted(client.run(kit_versions).items())
                for line in version_problems(here, there, f"worker {address}")]
    if problems:
        raise SchedulerError("Workers with other versions would give other results; nothing was run. Install the kit "
                             "from the same commit (pip install -r requirements.txt && pip install -e .) on every "
                             "worker:\n  - " + "\n  - ".join(problems))
    mine = source_digest()
    edited = sorted(address for address, digest in client.run(source_digest).items() if digest != mine)
    if edited:  # same version, other sources: another commit or local edits; said, not refused
        print(f"warning: course_utils on {', '.join(edited)} differs from this machine's (source digest "
              f"{mine} here); pull the same commit on every worker if results should match.", file=sys.stderr)


def first_line(data: bytes) -> str:
    """The first line of what a server sent, for a message: printable text, cut short."""
    line = data.split(b"\n", 1)[0].strip()
    text = line.decode("ascii", "replace")
    return "".join(c if c.isprintable() else "?" for c in text)[:60]


def speaks_dask(data: bytes) -> bool:
    """Whether the first bytes a server sent are a Dask comm greeting: an 8-byte little-endian length, then the
    number of frames (a Dask scheduler sends its handshake as soon as a connection is accepted)."""
    if len(data) < 16:
        return False
    length, frames = struct.unpack("<QQ", data[:16])
    return 8 < length < 1 << 26 and 0 < frames < 1 << 10


def what_answered(greeting: bytes, reply: bytes | None) -> str:
    """Name the server that answered instead of a Dask scheduler, from what it sent unasked (greeting) and in
    reply to an HTTP request (reply; None when none was sent)."""
    for data in (greeting, reply or b""):
        if data.startswith(b"HTTP/"):
            return f"an HTTP server (it answered {first_line(data)!r})"
        if data.startswith(b"SSH-"):
            return f"an SSH server ({first_line(data)!r})"
        if data[:1] == b"\x16":
            return "a TLS server (use a tls:// address if the scheduler uses TLS)"
        if data:
            return f"a server that is not a Dask scheduler (it sent {first_line(data)!r})"
    if reply is None:
        return "a server that closed the connection without the greeting a Dask scheduler sends"
    return "a server that accepted the connection but sent nothing, not even the greeting a Dask scheduler sends"


def probe_scheduler(address: str, seconds: float = CONNECT_SECONDS) -> None:
    """Raise SchedulerError within `seconds` unless a Dask scheduler answers at a tcp:// address.

    A Dask scheduler greets every new connection; anything else (an HTTP server, SSH, a silent program) would make
    Dask's own client wait for that greeting forever. What answered instead is named. For tls:// addresses only
    the TCP connection is checked (the TLS handshake comes first)."""
    scheme, _, rest = address.partition("://")
    host, _, port = rest.rpartition(":")
    host = host.strip("[]")
    deadline = time.monotonic() + seconds
    problem = ""
    while True:
        try:
            sock = socket.create_connection((host, int(port)), timeout=max(0.05, deadline - time.monotonic()))
            break
        except OSError as exc:  # refused, unreachable, unknown host, timed out: retried until the deadline
            problem = f"{type(exc).__name__}: {exc.strerror or exc}"
            if time.monotonic() + 0.1 >= deadline or isinstance(exc, socket.gaierror):
                raise SchedulerError(f"Cannot reach the Dask scheduler at {address} within {seconds:g} s ({problem}); "
                                     f"{UNREACHABLE_ADVICE.format(address=address, env=ENV_VAR)}") from exc
            time.sleep(0.1)
    if scheme != "tcp":
        sock.close()
        return
    greeting, reply = b"", None
    with sock:
        try:
            greet_until = time.monotonic() + 0.6 * max(0.0, deadline - time.monotonic())
            while len(greeting) < 16 and time.monotonic() < greet_until:
                sock.settimeout(max(0.01, greet_until - time.monotonic()))
                try:
                    data = sock.recv(4096)
                except socket.timeout:
                    break
                if not data:
                    break
                greeting += data
            if speaks_dask(greeting):
                return
            if not greeting:  # silent: ask it something a web server answers, to name it
                reply = b""
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                sock.sendall(f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode("ascii", "replace"))
                try:
                    reply = sock.recv(4096)
                except socket.timeout:
                    pass
        except OSError:  # reset by the peer while probing
            pass
    raise SchedulerError(f"{address} is not a Dask scheduler: {what_answered(greeting, reply)}. Nothing was run. "
                         "Give the address `dask scheduler` prints (tcp://HOST:8786; its dashboard, usually port 8787, "
                         f"is a web page, not the scheduler), or leave out --scheduler (and ${ENV_VAR}) to run on "
                         "this machine.")


UNREACHABLE_ADVICE = ("nothing was run. Start one with `dask scheduler` and workers with `dask worker {address}`, check "
                      "the address, or leave out --scheduler (and ${env}) to run on this machine.")


def client_within(target: Any, seconds: float, said: float | None = None) -> Client:
    """Client(target), given up after `seconds` even when the other end accepts the connection and never answers
    (Dask's own timeout covers only the connection): raises SchedulerError then, saying `said` seconds."""
    from distributed import Client

    box: dict[str, Any] = {}
    abandoned = threading.Event()

    def make() -> None:
        try:
            client = Client(target, timeout=seconds)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc
            return
        if abandoned.is_set():  # too late: nobody will use it
            client.close()
        box["client"] = client

    thread = threading.Thread(target=make, name="course-kit-dask-connect", daemon=True)
    thread.start()
    thread.join(seconds + 0.5)
    if thread.is_alive():
        abandoned.set()
        raise SchedulerError(f"The server at {target} accepted the connection but did not complete Dask's handshake "
                             f"within {said or seconds:g} s: it is not a Dask scheduler, or not a working one. Nothing was run.")
    if "error" in box:
        raise box["error"]
    return box["client"]


@contextmanager
def connect(scheduler: str, connect_seconds: float = CONNECT_SECONDS,
            worker_wait_seconds: float = WORKER_WAIT_SECONDS) -> Iterator[Client]:
    """A Client for the scheduler (starting a LocalCluster for 'local:N'), with workers and matching versions.

    Raises SchedulerError within about connect_seconds when the scheduler cannot be reached or something else
    answers at its address (see probe_scheduler)."""
    import dask
    from distributed import Client, LocalCluster

    cluster = None
    try:
        if scheduler.startswith("local:"):
            with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
                cluster = LocalCluster(n_workers=int(scheduler.split(":")[1]), processes=True, threads_per_worker=1,
                                       host="127.0.0.1", dashboard_address=None)
            client = Client(cluster, timeout=connect_seconds)
        else:
            start = time.monotonic()
            probe_scheduler(scheduler, connect_seconds)
            client = client_within(scheduler, max(0.5, connect_seconds - (time.monotonic() - start)), connect_seconds)
    except SchedulerError:
        if cluster is not None:
            cluster.close()
        raise
    except Exception as exc:  # noqa: BLE001 - refused, timed out, or something that is not a Dask scheduler
        if cluster is not None:
            cluster.close()
        raise SchedulerError(f"Cannot reach the Dask scheduler at {scheduler} within {connect_seconds:g} s "
                             f"({type(exc).__name__}: {exc}); "
                             f"{UNREACHABLE_ADVICE.format(address=scheduler, env=ENV_VAR)}") from exc
    try:
        try:
            client.wait_for_workers(1, timeout=worker_wait_seconds)
        except (OSError, TimeoutError) as exc:
            raise SchedulerError(f"The Dask scheduler at {scheduler} has no workers after {worker_wait_seconds:g} s; "
                                 f"start some with `dask worker {scheduler}`. Nothing was run.") from exc
        check_versions(client)
        if cluster is not None:  # our own worker processes: Ctrl-C at the terminal is for us to handle (stopping)
            from .stopping import ignore_interrupts

            client.run(ignore_interrupts)
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def worker_label(worker: Any) -> str:
    """How a worker is named in reports: its address, after its --name when it was given one."""
    name = worker.name
    return worker.address if not isinstance(name, str) or name == worker.address else f"{name} ({worker.address})"


def relocated(value: Any, old: str, new: str) -> Any:
    """Replace the folder prefix `old` by `new` in every string of a JSON-like value (paths a run writes to)."""
    if isinstance(value, str):  # the folder itself or inside it, never a longer name that starts the same
        return re.sub(re.escape(old) + r"(?![\w.-])", lambda _: new, value)
    if isinstance(value, list):
        return [relocated(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: relocated(v, old, new) for k, v in value.items()}
    return value


def collected(folder: Path, prefix: str, skip: set[Path] = frozenset()) -> dict[str, bytes]:
    """{prefix/relative path: bytes} of every regular file under folder."""
    return {f"{prefix}/{p.relative_to(folder).as_posix()}": p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink() and p not in skip}


SCRATCH_PREFIX = "course-kit-task-"


@contextmanager
def scratch_folder(kind: str) -> Iterator[Path]:
    """A temporary folder for one task, named after this process so that a later task can remove it if we die."""
    folder = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{kind}-{os.getpid()}-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def sweep_stale_scratch(folder: Path | None = None) -> list[Path]:
    """Remove the scratch folders of tasks whose worker process died (killed workers cannot clean up); return them."""
    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*"):
        match = re.fullmatch(rf"{SCRATCH_PREFIX}\w+-(\d+)-.*", path.name)
        if match and path.is_dir() and not process_alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def run_on_worker(run: Run, notebook: bytes, timeout: int | None, versions: dict[str, str]) -> tuple[Run, dict]:
    """The task: execute the run in a scratch folder on this worker; return it with every file it wrote.

    Files come back as {'run/<path>': bytes} (the run's folder: executed notebook, saved models) and
    {'work/<path>': bytes} (written relative to the notebook's folder); paths inside them read as the submitter's."""
    from distributed import get_worker

    from .running import execute_run

    worker = get_worker()
    run = replace(run, worker=worker_label(worker))
    problems = version_problems(versions, kit_versions(), f"worker {run.worker}")
    if problems:  # a worker that joined after the check at connection time
        return replace(run, status="failed", error="refused: " + "; ".join(problems)), {}
    threads = max(1, (os.cpu_count() or 1) // max(1, worker.state.nthreads))
    sweep_stale_scratch()
    with scratch_folder("run") as scratch:
        home, work = scratch / "run", scratch / "work"
        home.mkdir()
        work.mkdir()
        source = work / Path(run.source).name
        source.write_bytes(notebook)
        here = replace(run, source=str(source), output=str(home / Path(run.output).name),
                       parameters=relocated(run.parameters, str(run.folder), str(home)))
        execute_run(here, threads, timeout, keep_record=False)

        def submitters(value: Any) -> Any:  # scratch paths as the submitting machine's paths
            return relocated(relocated(value, str(home), str(run.folder)), str(work), str(Path(run.source).parent))

        executed = Path(here.output)
        if executed.is_file():  # the executed notebook shows the submitter's paths, not the scratch folder's
            content = submitters(json.loads(executed.read_text(encoding="utf-8")))
            executed.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        files = {**collected(home, "run"), **collected(work, "work", {source})}
        back = replace(here, source=run.source, output=run.output, parameters=run.parameters,
                       error=submitters(here.error), cell=submitters(here.cell), results=submitters(here.results))
        return back, files


def store_files(run: Run, files: dict[str, bytes]) -> None:
    """Write the files a worker sent back into the run's folder ('run/') and the notebook's folder ('work/')."""
    bases = {"run": run.folder.resolve(), "work": Path(run.source).resolve().parent}
    for name, data in files.items():
        top, _, rest = name.partition("/")
        base = bases[top]
        target = (base / rest).resolve()
        if not target.is_relative_to(base):
            raise ValueError(f"A worker sent back {name!r}, which is outside its folder.")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def tries(count: int) -> str:
    """'1 try', '3 tries'."""
    return f"{count} {'try' if count == 1 else 'tries'}"


class TaskFailed(Exception):
    """What a task raised on its worker, with that worker's address (raised by on_worker, read by Tasks)."""

    def __init__(self, worker: str, error: str) -> None:
        super().__init__(worker, error)
        self.worker, self.error = worker, error

    def __str__(self) -> str:
        return f"{self.error} (on {self.worker})"


def on_worker(function: Any, *args: Any) -> Any:
    """The task around function(*args): what it raises comes back as TaskFailed, naming the worker it ran on."""
    from distributed import get_worker

    try:
        return function(*args)
    except Exception as exc:  # noqa: BLE001 - any fault of the task: Tasks decides whether to try again
        raise TaskFailed(get_worker().address, f"{type(exc).__name__}: {exc}") from exc


def failure_text(exc: BaseException, failed_on: Sequence[str] = ()) -> str:
    """Why a task came back without a result after its last try: every worker that ran it died, or what it raised;
    failed_on lists the workers of the tries before the last that raised (see Tasks)."""
    from distributed.scheduler import KilledWorker

    if isinstance(exc, KilledWorker):
        return (f"every worker that ran it died ({tries(len(failed_on) + exc.allowed_failures + 1)}, last "
                f"{exc.last_worker.address}): out of memory, killed, or its machine went away")
    if isinstance(exc, TaskFailed):
        where = ", then ".join([*failed_on, exc.worker])
        return f"on the cluster: {exc.error} ({tries(len(failed_on) + 1)}, on {where})"
    return f"on the cluster: {type(exc).__name__}: {exc}"


@dataclass
class Task:
    """One piece of work for Tasks: what to call on a worker, where earlier tries raised, where this try may run."""

    item: Any
    key: str
    function: Any
    args: tuple
    failed_on: list[str] = field(default_factory=list)  # the workers of the tries that raised, in order
    on: list[str] = field(default_factory=list)  # the workers the current try is restricted to (empty: any)
    submitted: int = 0  # how many tries were submitted (a try started again elsewhere counts; keys stay unique)


class Tasks:
    """Tasks on a Dask cluster, yielded as they finish; one that raises on its worker (TaskFailed) is submitted again,
    restricted to the workers it has not failed on (any worker when none is left), up to 1 + TASK_RETRIES tries.

    The restriction is strict: with Dask's loose one (allow_other_workers) an idle worker steals the task back,
    and the worker that just failed it is the idle one. A try whose workers have all left the cluster (which Dask
    would keep waiting for them) is started again on the others within STRANDED_SECONDS."""

    def __init__(self, client: Client) -> None:
        from distributed import as_completed

        self.client = client
        self.running: dict[Any, Task] = {}  # future -> its task
        self.queue = as_completed()
        self.checked = time.monotonic()

    def workers(self) -> set[str]:
        """The addresses of the cluster's workers now."""
        return set(self.client.scheduler_info()["workers"])

    def submit(self, item: Any, key: str, function: Any, *args: Any) -> None:
        """Run function(*args) as a task (named key), reported as `item` by finished."""
        self.start(Task(item, key, function, args))

    def start(self, task: Task) -> None:
        """Submit a try of the task, on the workers where it has not raised when there are any."""
        from . import stopping

        task.on = sorted(self.workers() - set(task.failed_on)) if task.failed_on else []
        task.submitted += 1
        key = task.key if task.submitted == 1 else f"{task.key}-try{task.submitted}"
        where = {"workers": task.on} if task.on else {}
        future = self.client.submit(on_worker, task.function, *task.args, key=key, pure=False, **where)
        self.running[future] = task
        self.queue.add(future)
        if stopping.current().requested:  # a stop came while it was submitted: its stop action may have missed it
            stop_tasks(self.client, [future])

    def futures(self) -> list:
        """The futures of the tries not finished yet (what a stop cancels)."""
        return list(self.running)

    def restart_stranded(self) -> None:
        """Start again each try restricted to workers that have all left (looked for every STRANDED_SECONDS)."""
        if time.monotonic() - self.checked < STRANDED_SECONDS or not any(t.on for t in self.running.values()):
            return
        self.checked = time.monotonic()
        alive = self.workers()
        for future, task in list(self.running.items()):
            if task.on and alive.isdisjoint(task.on):
                del self.running[future]
                self.client.cancel(future)
                self.start(task)

    def finished(self) -> Iterator[tuple[Any, Any, str | None]]:
        """Yield (item, value, None) for each task that returned and (item, None, why) for each whose last try
        failed (failure_text). After a stop nothing is tried again and no failure is yielded (it may be the stop's)."""
        from . import stopping

        stop = stopping.current()
        while not self.queue.is_empty():
            if not self.queue.has_ready():
                time.sleep(POLL_SECONDS)
                if not stop.requested:
                    self.restart_stranded()
                continue
            future = next(self.queue)
            task = self.running.pop(future, None)
            if task is None or future.cancelled():  # a stranded try started again, or a stop
                continue
            try:
                value = future.result()
            except Exception as exc:  # noqa: BLE001 - a failed try: tried again, or this item's failure
                if stop.requested:
                    continue
                if isinstance(exc, TaskFailed) and len(task.failed_on) < TASK_RETRIES:
                    task.failed_on.append(exc.worker)
                    self.start(task)
                    continue
                yield task.item, None, failure_text(exc, task.failed_on)
                continue
            yield task.item, value, None


def kill_task_processes(keys: list[str], dask_worker: Any = None) -> int:
    """On a worker (through Client.run): kill the processes that these tasks started (kernels, grading children):
    every descendant of the worker process created since the first of them started here. Returns how many."""
    import psutil

    wanted = set(keys)
    starts = [ts.start_time for key, ts in list(dask_worker.state.tasks.items())
              if str(key) in wanted and ts.start_time]
    if not starts:
        return 0
    since = min(starts) - 1.0
    killed = 0
    for process in psutil.Process().children(recursive=True):
        try:
            if process.create_time() >= since:
                process.kill()
                killed += 1
        except psutil.NoSuchProcess:
            pass
    return killed


def stop_tasks(client: Client, futures: list) -> None:
    """A stop (see stopping): cancel the tasks (queued ones never start) and kill the processes of those running."""
    client.cancel(futures, force=True)
    keys = [str(future.key) for future in futures]
    client.run(kill_task_processes, keys, on_error="ignore", wait=True)


def run_on_cluster(client: Client, runs: dict[int, Run], timeout: int | None) -> Iterator[tuple[int, Run]]:
    """Submit every run as a task; yield (index, run) as each finishes, its files already written here.

    On a stop (see stopping) the tasks are cancelled and their kernels killed; only what had finished comes back."""
    from . import stopping

    stop = stopping.current()
    versions = kit_versions()
    tasks = Tasks(client)
    for index, run in runs.items():
        if stop.requested:
            break
        notebook = Path(run.source).read_bytes()
        key = f"notebook-run-{run.notebook}-{run.slug}-{uuid.uuid4().hex[:8]}"
        tasks.submit(index, key, run_on_worker, run, notebook, timeout, versions)
    with stop.watch(lambda: stop_tasks(client, tasks.futures())):
        for index, value, failure in tasks.finished():
            if failure is None:
                run, files = value
                if stop.requested and run.status != "ok":  # it may have failed because it was killed
                    continue
                try:
                    store_files(run, files)
                except (OSError, ValueError) as exc:  # a file that cannot be written here, or a path outside the run
                    run.status, run.error = "failed", f"its files could not be stored: {type(exc).__name__}: {exc}"
            else:
                run = runs[index]
                run.status, run.error = "failed", failure
            yield index, run
