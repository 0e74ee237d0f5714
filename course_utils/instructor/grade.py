"""Grade a class: every student's copy of a lesson run headlessly with the grader's own checks; grades, feedback
pages, a class report and a gradebook that keeps every grading.

    python -m course_utils.instructor.grade SUBMISSIONS --lesson 02 [--lesson 03] [--out outputs/grades] [-j 2]
        [--scheduler tcp://HOST:8786 | local:N]

    python -m course_utils.instructor.grade export [--out DIR | --gradebook FILE] [--roster students.csv] [-o class.csv]
        [--format class|canvas|moodle] [--late late.toml]
    python -m course_utils.instructor.grade release 02 [--out build/release]
    python -m course_utils.instructor.grade manual [--out DIR] [--port 8765]

The whole flow, release to export, is in docs/instructors/grading.md. `release` builds the zip students get
(release.py), `manual` serves the page where answers are graded by hand (manual_page.py), `export` writes the class
table or an LMS's import file (grade_export.py, lms.py); late.toml in OUT applies a late policy (late.py).

SUBMISSIONS is a folder with one sub-folder per student (SUBMISSIONS/<student>/<lesson file>.ipynb), one .zip per
student (SUBMISSIONS/<student>.zip) or the flat files of an LMS download (<name>_<id>_<file>), or a .zip of it; zips
in a student's folder are unpacked too (see grade_submissions). A roster, students.csv in SUBMISSIONS or --roster,
lists the students expected: one without a submission is shown as missing. Every input skipped (not a notebook, a
symbolic link, an unreadable zip) is listed and makes the exit code 1 unless --allow-skips.

Each submission runs in its own temporary folder and fresh kernel, with the lesson's quick profile, a time
limit per cell and per notebook and a memory limit on the kernel, inside the sandbox (sandbox.py: it writes only its
folder and sees neither the solutions, the gradebook nor other submissions; --unsafe where a machine cannot run it).
The instructor's checks replace the student's and run in the grader's driver process, not in the kernel
(grade_prepare, grade_driver, answers); --checks PATH replaces the public checkers with private ones. Writes OUT/grades.csv, OUT/feedback/<student>.html,
OUT/report.html, OUT/executed/<lesson>/<student>.ipynb and the gradebook OUT/gradebook.sqlite. grades.csv, the
report and the feedback pages cover the whole class after every run (every lesson and student of the gradebook,
latest grading each), so a run of one late submission keeps everyone; `grade export` writes the same table with a
status column per lesson. Running again skips submissions graded before with the same file and grader (--redo
grades them again); nothing is deleted.

With --scheduler (or $COURSE_SCHEDULER) each submission is a task on a Dask cluster (see cluster): the lesson and
the student's file go to a worker, which grades it in its own scratch folder with the same limits; the grading and
the executed copy come back and are stored here as each one finishes. The grades and the gradebook name the worker.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from ..hashing import file_digest
from ..paths import display_path
from . import cluster, stopping
from .gradebook import Gradebook, Grading
from . import sandbox
from .grade_report import TAMPERING
from .grade_prepare import (CHECK_PREFIX, Lesson, NotANotebook, Prepared, describe_cell, lesson_match,
                            parse_submission, prepare, read_lesson, read_outcome, truncate_outputs, SAME_LESSON)
from .grade_submissions import Roster, find_students, safe_extract
from .notebooks import NOTEBOOK_DIR, find_notebook, quick_parameters
from .running import LOCAL_WORKER
from .values import RequestError

GRADER_VERSION = "2"  # bump when grading itself changes, so earlier gradings are not reused
DEFAULT_OUT = "outputs/grades"
GRADER_SOURCES = ("grade_driver.py", "grade_kernel.py", "grade_prepare.py", "answers.py", "sandbox.py")
KERNEL_ENV = ("PATH", "LANG", "LANGUAGE", "TZ", "COURSE_LANG", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
              "OMP_NUM_THREADS", "MKL_NUM_THREADS")  # the grader's variables a kernel gets (besides LC_*)


@dataclass
class Limits:
    """How a submission runs: time per cell and per notebook (seconds), kernel memory (bytes), quick profile."""

    cell_timeout: int = 300
    notebook_timeout: int = 1200
    memory: int = 8 << 30
    quick: bool = True


@dataclass
class Isolation:
    """What a submission's kernel may see: whether it runs in the sandbox (sandbox.py), the paths hidden from it
    besides the usual ones (the lesson folders, the repository's history and outputs, the home folder), and the
    private checks file or folder (hidden too) whose check_* functions replace the public ones."""

    sandbox: bool = True
    hide: tuple[Path, ...] = ()
    checks: Path | None = None

    def hidden(self, lesson: Lesson) -> list[Path]:
        """Every path the kernel must not see when grading this lesson."""
        repo = NOTEBOOK_DIR.parent
        usual = [lesson.path.parent, repo / "notebooks", repo / ".git", repo / "outputs", repo / "build", Path.home()]
        return [Path(p).resolve() for p in (*usual, *self.hide, *([self.checks] if self.checks else []))]


@dataclass
class Submission:
    """One student's copy of one lesson, and what is known about it before it runs."""

    student: str
    lesson: Lesson
    path: Path | None
    relative: str = ""
    sha256: str = ""
    status: str = ""  # set when it cannot run: missing | ambiguous
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    received: Path | None = None  # what was handed in, whose time counts (late.py): the zip it came in, or None


def parse_size(text: str) -> int:
    """Bytes from '8G', '512M', '2GiB' or a plain number of bytes."""
    value = text.strip().upper().removesuffix("IB").removesuffix("B")
    factor = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(value[-1:], 1)
    number = value[:-1] if value[-1:] in "KMGT" else value
    try:
        size = int(float(number) * factor)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (write e.g. 8G or 512M)") from exc
    if size < 0:
        raise argparse.ArgumentTypeError(f"a size cannot be negative: {text!r}")
    return size


def checker_files(lesson: Lesson) -> list[Path]:
    """The source files of the checker modules a lesson's check cells import (found from the lesson's folder)."""
    import importlib.util

    files = []
    sys.path.insert(0, str(lesson.path.parent))
    try:
        for name in lesson.modules:
            try:
                spec = importlib.util.find_spec(name)
            except (ImportError, ValueError):
                continue
            if spec is not None and spec.origin and Path(spec.origin).is_file():
                files.append(Path(spec.origin))
    finally:
        sys.path.remove(str(lesson.path.parent))
    return files


def grader_key(lesson: Lesson, limits: Limits, parameters: dict, checks: Path | None = None) -> str:
    """A hash of everything that decides a grade besides the submission: the lesson's exercises (check sources,
    points, where they sit), the student version's cells, the checker modules' code (and the private checks), the
    grader and its limits.
    Not the instructor notebook's outputs: regenerating a lesson does not force a class to be graded again."""
    digest = hashlib.sha256()
    digest.update(GRADER_VERSION.encode())
    digest.update(json.dumps([[e.key, e.points, e.source, e.solution_id] for e in lesson.exercises]).encode())
    digest.update(json.dumps([[c.get("id"), c.get("source")] for c in lesson.student["cells"]],
                             default=str).encode())
    for path in checker_files(lesson):
        digest.update(path.read_bytes())
    for name in GRADER_SOURCES:
        digest.update((Path(__file__).parent / name).read_bytes())
    for path in checks_files(checks):
        digest.update(path.name.encode() + path.read_bytes())
    digest.update(json.dumps([limits.cell_timeout, limits.notebook_timeout, limits.memory, parameters],
                             sort_keys=True, default=str).encode())
    return digest.hexdigest()


def checks_files(checks: Path | None) -> list[Path]:
    """The .py files of a private checks file or folder (none without one)."""
    if checks is None:
        return []
    return [checks] if checks.is_file() else sorted(checks.glob("*.py"))


def kernel_spec(folder: Path, argv: list[str]) -> Path:
    """A 'python3' kernelspec under folder (found first through JUPYTER_PATH) that starts the kernel with argv."""
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [*argv, "-f", "{connection_file}"], "display_name": "Python 3 (course-kit grader)",
        "language": "python", "metadata": {"debugger": False},
    }), encoding="utf-8")
    return folder


def kernel_command(scratch: Path, work: Path, limits: Limits, isolation: Isolation, lesson: Lesson) -> list[str]:
    """How the submission's kernel starts: inside the sandbox (or, with --unsafe, only under the memory limit),
    watched for writes outside its folder (grade_kernel)."""
    kernel = [sys.executable, "-m", "course_utils.instructor.grade_kernel", str(scratch)]
    launcher = [sys.executable, "-m", "course_utils.instructor.sandbox", "--scratch", str(scratch), "--cwd", str(work),
                "--memory", str(limits.memory)]
    if not isolation.sandbox:
        return [*launcher, "--no-namespaces", "--", *kernel]
    from ..paths import data_root

    hidden = [arg for path in isolation.hidden(lesson) for arg in ("--hide", str(path))]
    exposed = ["--expose", str(data_root().resolve())] if data_root().is_dir() else []
    return [*launcher, *hidden, *exposed, "--", *kernel]


def kill_tree(pid: int) -> None:
    """Kill a process and everything it started (the kernel runs in a session of its own, still its child)."""
    import psutil

    try:
        parent = psutil.Process(pid)
        family = parent.children(recursive=True) + [parent]
    except psutil.NoSuchProcess:
        return
    for process in family:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(family, timeout=10)


def work_folder(scratch: Path, lesson: Lesson) -> Path:
    """The kernel's working folder, laid out like the repository: notebooks/ beside links to the lesson folder's
    siblings (assets/, requirements.txt), so a lesson's relative paths still work."""
    work = scratch / "course" / lesson.path.parent.name
    work.mkdir(parents=True)
    for sibling in lesson.path.parent.parent.iterdir():
        if sibling.name.startswith(".") or sibling == lesson.path.parent or sibling.name in ("outputs", "build"):
            continue
        try:
            (work.parent / sibling.name).symlink_to(sibling, target_is_directory=sibling.is_dir())
        except OSError:
            pass
    return work


def kernel_environment(scratch: Path, threads: int | None) -> dict[str, str]:
    """The environment of the driver and the kernel: a few of the grader's variables, everything else in scratch."""
    from ..paths import data_root

    env = {name: value for name, value in os.environ.items() if name in KERNEL_ENV or name.startswith("LC_")}
    home = scratch / "home"
    env.update({"HOME": str(home), "USER": "student", "LOGNAME": "student", "XDG_CACHE_HOME": str(home / ".cache"),
                "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local" / "share"),
                "MPLCONFIGDIR": str(home / ".matplotlib"), "IPYTHONDIR": str(scratch / "ipython"),
                "JUPYTER_PATH": str(scratch / "jupyter"), "JUPYTER_RUNTIME_DIR": str(scratch / "r"),
                "JUPYTER_CONFIG_DIR": str(home / ".jupyter"), "JUPYTER_DATA_DIR": str(home / ".jupyter-data"),
                "TMPDIR": "/tmp", "COURSE_PROGRESS": "0", "MPLBACKEND": "agg", "PYTHONNOUSERSITE": "1",
                "PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": ""})
    if data_root().is_dir():
        env["COURSE_DATA_DIR"] = str(data_root().resolve())
    if threads:
        env.update({name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS") if name not in os.environ})
    return {name: value for name, value in env.items() if value}


def execute(prepared: Prepared, lesson: Lesson, limits: Limits, parameters: dict, scratch: Path,
            isolation: Isolation, threads: int | None) -> tuple[dict | None, dict, float]:
    """Run a prepared notebook through the driver (grade_driver: the kernel in the sandbox, the checks outside it)
    with the limits; return (executed notebook or None, the driver's result, seconds)."""
    scratch = scratch.resolve()
    grader = scratch / "grader"  # the driver's files; the kernel's folder is scratch/kernel
    folder = scratch / "kernel"
    for path in (grader, folder / "home", folder / "ipython" / "profile_default", folder / "r"):
        path.mkdir(parents=True)
    (folder / "ipython" / "profile_default" / "ipython_kernel_config.py").write_text(
        "c.HistoryManager.enabled = False\n", encoding="utf-8")
    source, output = grader / lesson.path.name, grader / ("executed-" + lesson.path.name)
    source.write_text(json.dumps(prepared.notebook, ensure_ascii=False), encoding="utf-8")
    work = work_folder(folder, lesson)
    kernel_spec(folder / "jupyter", kernel_command(folder, work, limits, isolation, lesson))
    job = {"source": str(source), "output": str(output), "parameters": parameters, "timeout": limits.cell_timeout,
           "cwd": str(work), "env": kernel_environment(folder, threads), "result": str(grader / "result.json"),
           "kernel_log": str(grader / "kernel.log"), "connection_file": str(folder / "r" / "k.json"),
           "check_prefix": CHECK_PREFIX, "modules": lesson.modules, "unchanged": prepared.unchanged,
           "origin": prepared.origin, "checks": str(isolation.checks) if isolation.checks else None,
           "checker_path": [str(lesson.path.parent)],
           "exercises": [{"key": e.key, "source": e.source} for e in lesson.exercises]}
    job_file = grader / "job.json"
    job_file.write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
    start = time.perf_counter()
    with open(grader / "driver.log", "wb") as log:
        child = subprocess.Popen([sys.executable, "-m", "course_utils.instructor.grade_driver", str(job_file)],
                                 stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=grader,
                                 start_new_session=True)
        timed_out = False
        try:
            child.wait(timeout=limits.notebook_timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            if child.poll() is None:  # only while not yet reaped: a reaped child's pid may belong to another process
                kill_tree(child.pid)
    seconds = time.perf_counter() - start
    try:
        result = json.loads((grader / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        result = {"finished": False, "kind": "GraderCrash",
                  "error": f"the process running the notebook ended with code {child.returncode}"}
    if timed_out:
        result.update({"finished": False, "kind": "NotebookTimeout", "error": ""})
    try:
        executed = json.loads(output.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        executed = None
    return executed, result, seconds


def stop_reason(result: dict, where: str, limits: Limits) -> tuple[str, str]:
    """(status, reason) of a run from the child's result: graded, stopped (the student's notebook) or error."""
    kind = result.get("kind", "")
    if result.get("finished"):
        return "graded", ""
    if kind == "CellTimeoutError":
        return "stopped", (f"stopped {where}: the cell ran longer than {limits.cell_timeout} s (an endless loop, or "
                           "far too much work for the quick profile)")
    if kind == "NotebookTimeout":
        return "stopped", f"stopped {where}: the notebook ran longer than {limits.notebook_timeout} s in all"
    if kind == "DeadKernelError":
        return "stopped", (f"the kernel died {where}: the notebook ended its own Python process (os._exit, a crash "
                           f"such as a segfault, or memory beyond the {limits.memory / (1 << 30):.1f} GiB limit)")
    return "error", f"the grader could not run the notebook: {kind}: {result.get('error', '')[:500]}"


def score_rows(lesson: Lesson, results: dict[str, tuple[str, str]], not_run: str) -> list[dict]:
    """One score row per exercise: full points for a passed check, 0 and the hint otherwise."""
    rows = []
    for exercise in lesson.exercises:
        status, hint = results.get(exercise.key, ("not run", not_run))
        rows.append({"exercise": exercise.name, "number": exercise.number,
                     "points": exercise.points if status == "passed" else 0.0, "max_points": exercise.points,
                     "status": status, "hint": hint})
    return rows


def grade_one(sub: Submission, limits: Limits, parameters: dict, key: str, run: str, isolation: Isolation,
              executed_dir: Path, threads: int | None, worker: str = LOCAL_WORKER) -> Grading:
    """Grade one submission; every problem becomes a status and a reason, never an exception."""
    start = time.perf_counter()

    def grading(status: str, reason: str, scores: list[dict]) -> Grading:
        notes = "; ".join(sub.notes)
        reason = "; ".join(r for r in (reason, notes) if r)
        return Grading(run, sub.student, sub.lesson.name, sub.relative, sub.sha256, key, status, reason,
                       sum(s["points"] for s in scores), sub.lesson.max_points, time.perf_counter() - start,
                       now(), worker, scores)

    if sub.path is None:
        return grading(sub.status, sub.reason, score_rows(sub.lesson, {}, f"not graded: {sub.reason}"))
    try:
        notebook = parse_submission(sub.path.read_bytes())
    except NotANotebook as exc:
        reason = f"{sub.relative}: {exc}"
        return grading("unreadable", reason, score_rows(sub.lesson, {}, f"not graded: {reason}"))
    except OSError as exc:
        return grading("error", f"cannot read {sub.relative}: {exc.strerror}", score_rows(sub.lesson, {}, "not graded"))
    match = lesson_match(notebook, sub.lesson)
    if match < SAME_LESSON:
        reason = f"{sub.relative} is not lesson {sub.lesson.name} (only {match:.0%} of its cells are there)"
        return grading("wrong-lesson", reason, score_rows(sub.lesson, {}, f"not graded: {reason}"))
    prepared = prepare(notebook, sub.lesson)
    sub.notes.extend(prepared.notes)
    with tempfile.TemporaryDirectory(prefix="course-kit-grade-") as tmp:
        executed, result, _ = execute(prepared, sub.lesson, limits, parameters, Path(tmp), isolation, threads)
    outcome = read_outcome(executed or {"cells": []}, prepared, result)
    flags = [str(f) for f in result.get("flags", []) if isinstance(f, str)][:10]
    if flags:
        sub.notes.insert(0, f"{TAMPERING}: " + "; ".join(flags))
    if not isolation.sandbox:
        sub.notes.append("graded without isolation (--unsafe)")
    where = describe_cell(outcome.running, prepared, sub.lesson)
    status, reason = stop_reason(result, where, limits)
    if outcome.errors:
        sub.notes.append("errors in your cells: " + "; ".join(outcome.errors[:5])
                         + (f" (and {len(outcome.errors) - 5} more)" if len(outcome.errors) > 5 else ""))
    if any("MemoryError" in e for e in outcome.errors):
        sub.notes.append(f"the kernel may use at most {limits.memory / (1 << 30):.1f} GiB of memory")
    not_run = (f"not checked: the notebook {reason}" if status == "stopped" else
               "not checked: the grader could not run your notebook" if status == "error" else
               "not checked: the check did not run")
    if executed is not None:
        executed_dir.mkdir(parents=True, exist_ok=True)
        target = executed_dir / f"{safe_name(sub.student)}.ipynb"
        target.write_text(json.dumps(truncate_outputs(executed), ensure_ascii=False, indent=1), encoding="utf-8")
    return grading(status, reason, score_rows(sub.lesson, outcome.results, not_run))


def now() -> str:
    """UTC time as stored in the gradebook."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def failed_grading(sub: Submission, key: str, run: str, reason: str, worker: str) -> Grading:
    """A grading that the grader itself could not do (status 'error': graded again on the next run)."""
    return Grading(run, sub.student, sub.lesson.name, sub.relative, sub.sha256, key, "error", reason, 0.0,
                   sub.lesson.max_points, 0.0, now(), worker, [])


def lesson_files(lesson: Lesson) -> dict[str, bytes]:
    """What a worker needs to grade a lesson: the instructor notebook and the checker modules beside it (checkers
    from the installed course_utils are on the worker already)."""
    folder = lesson.path.parent.resolve()
    beside = [path for path in checker_files(lesson) if path.resolve().parent == folder]
    return {path.name: path.read_bytes() for path in [lesson.path, *beside]}


def grade_on_worker(lesson_file: str, files: dict[str, bytes], sub: dict, submission: bytes, limits: Limits,
                    parameters: dict, key: str, run: str, versions: dict[str, str], sandboxed: bool = True,
                    checks: dict[str, bytes] | None = None) -> tuple[Grading, bytes | None]:
    """The Dask task: grade one submission in a scratch folder of this worker; return the grading and the executed
    copy (None when the notebook did not run). The private checks (file name -> bytes) go to a folder of the
    worker's scratch that the kernel cannot see (the whole scratch folder is hidden from it)."""
    from distributed import get_worker

    worker = get_worker()
    label = cluster.worker_label(worker)
    cluster.sweep_stale_scratch()
    with cluster.scratch_folder("grade") as scratch:
        lesson_path = scratch / "course" / "notebooks" / lesson_file
        lesson_path.parent.mkdir(parents=True)
        for name, data in files.items():
            (lesson_path.parent / Path(name).name).write_bytes(data)
        lesson = read_lesson(lesson_path)
        here = Submission(sub["student"], lesson, None, sub["relative"], sub["sha256"], notes=list(sub["notes"]))
        problems = cluster.version_problems(versions, cluster.kit_versions(), f"worker {label}")
        if problems:  # a worker that joined after the check at connection time
            return failed_grading(here, key, run, "refused: " + "; ".join(problems), label), None
        here.path = scratch / "submission" / (Path(sub["relative"]).name or lesson_file)
        here.path.parent.mkdir()
        here.path.write_bytes(submission)
        threads = max(1, (os.cpu_count() or 1) // max(1, worker.state.nthreads))
        executed_dir = scratch / "executed"
        private = None
        if checks:
            private = scratch / "checks"
            private.mkdir()
            for name, data in checks.items():
                (private / Path(name).name).write_bytes(data)
        isolation = Isolation(sandboxed, (scratch,), private)
        grading = grade_one(here, limits, parameters, key, run, isolation, executed_dir, threads, worker=label)
        executed = executed_dir / f"{safe_name(here.student)}.ipynb"
        return grading, executed.read_bytes() if executed.is_file() else None


def grade_on_cluster(client, todo: list[Submission], limits: Limits, parameters: dict[str, dict],
                     keys: dict[str, str], run: str, out: Path, isolation: Isolation):
    """Submit every submission as a task; yield (submission, grading) as each finishes, its executed copy stored.

    On a stop (see stopping) the tasks are cancelled and their processes killed; only what had finished comes back."""
    stop = stopping.current()
    versions = cluster.kit_versions()
    lessons = {sub.lesson.name: lesson_files(sub.lesson) for sub in todo}
    tasks = cluster.Tasks(client)  # a grading that raises on its worker is tried again on another one
    for sub in todo:
        if stop.requested:
            break
        if sub.path is None:  # missing or ambiguous: nothing to run, graded here
            yield sub, grade_one(sub, limits, parameters[sub.lesson.name], keys[sub.lesson.name], run, isolation, out,
                                 None)
            continue
        meta = {"student": sub.student, "relative": sub.relative, "sha256": sub.sha256, "notes": list(sub.notes)}
        tasks.submit(sub, f"grade-{sub.lesson.name}-{uuid.uuid4().hex[:12]}", grade_on_worker, sub.lesson.path.name,
                     lessons[sub.lesson.name], meta, sub.path.read_bytes(), limits, parameters[sub.lesson.name],
                     keys[sub.lesson.name], run, versions, isolation.sandbox,
                     {p.name: p.read_bytes() for p in checks_files(isolation.checks)})
    with stop.watch(lambda: cluster.stop_tasks(client, tasks.futures())):
        for sub, value, failure in tasks.finished():
            if failure is not None:  # every worker died under it, or it raised on every try: this submission fails
                yield sub, failed_grading(sub, keys[sub.lesson.name], run, f"grader error {failure}", "")
                continue
            grading, executed = value
            if stop.requested and grading.status in KILLED:
                continue
            if executed is not None:
                target = out / "executed" / sub.lesson.name / f"{safe_name(sub.student)}.ipynb"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(executed)
            yield sub, grading


def grade_here(todo: list[Submission], workers: int, limits: Limits, parameters: dict[str, dict],
               keys: dict[str, str], run: str, out: Path, isolation: Isolation):
    """Grade the submissions in this machine's thread pool; yield (submission, grading) as each finishes.

    On a stop (see stopping) queued submissions are cancelled and every child process (the running notebooks) is
    killed until the pool is done; gradings that may have been cut short by it are not yielded."""
    threads = max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None
    stop = stopping.current()
    with ThreadPoolExecutor(workers) as pool:
        futures = {pool.submit(grade_one, sub, limits, parameters[sub.lesson.name], keys[sub.lesson.name], run,
                               isolation, out / "executed" / sub.lesson.name, threads): sub for sub in todo}
        with stop.watch(lambda: pool.shutdown(wait=False, cancel_futures=True), sweep=True):
            for future in stopping.as_finished(futures):
                sub = futures[future]
                if future.cancelled():
                    continue
                try:
                    grading = future.result()
                except Exception as exc:  # a grader bug must not lose the other students' grades
                    grading = failed_grading(sub, keys[sub.lesson.name], run,
                                             f"grader error: {type(exc).__name__}: {exc}", LOCAL_WORKER)
                if stop.requested and grading.status in KILLED:  # maybe cut short by the stop: not a grade
                    continue
                yield sub, grading


KILLED = ("stopped", "error")  # what a grading killed by a stop looks like; after a stop such gradings are dropped
INTERRUPTED = "interrupted"  # status of a submission a stop left ungraded (shown in the outputs, never stored)


def interrupted_grading(sub: Submission, key: str, run: str, stop: stopping.Stop) -> Grading:
    """What the outputs show for a submission that a stop (Ctrl-C, SIGTERM) left ungraded; not stored."""
    grading = failed_grading(sub, key, run, f"{stop.describe()} stopped the grading run before this submission was "
                             "graded; run the same command again to grade it", "")
    grading.status = INTERRUPTED
    return grading


def safe_name(student: str) -> str:
    """A file name for a student's pages: their name (Korean and spaces kept) with path-unsafe characters replaced,
    plus a short hash whenever anything was replaced, so two students never share a file."""
    import re

    cleaned = re.sub(r"[^\w .,()@+-]", "_", student).strip(" .") or "student"
    cleaned = cleaned[:80]
    if cleaned != student:
        cleaned += "-" + hashlib.sha1(student.encode("utf-8")).hexdigest()[:6]
    return cleaned


def collect(root: Path, lessons: list[Lesson], scratch: Path | None = None, roster: Path | None = None,
            saved_roster: Path | None = None) -> tuple[list[Submission], list[str], Roster | None]:
    """Every (student, lesson) submission of a submissions folder (student folders, student zips unpacked into
    `scratch`, LMS files), the inputs skipped on the way, and the roster: `roster`, else students.csv in the folder,
    else `saved_roster` (the copy an earlier run kept) when it exists. Raises RequestError for a roster that cannot
    be read."""
    from .grade_submissions import Unpacker, choose, read_roster, student_files

    unpacker = Unpacker(scratch) if scratch is not None else None
    found = find_students(root, unpacker, read_roster(roster) if roster else None, saved_roster)
    problems = list(found.problems)
    submissions = []
    for student, given in found.students.items():
        files = student_files(given, unpacker)
        problems += [f"{student}: {problem}" for problem in files.problems]
        notes = given.notes + files.notes
        for lesson in lessons:
            chosen, why = choose(files.notebooks, lesson.path.name, files.where)
            sub = Submission(student, lesson, chosen.path if chosen else None, notes=list(notes))
            if chosen is None:
                sub.status, sub.reason = ("missing" if not files.notebooks else "ambiguous"), why
            else:
                sub.relative, sub.received = chosen.shown, chosen.received
                try:
                    sub.sha256 = file_digest(chosen.path)
                except OSError as exc:
                    sub.path, sub.status, sub.reason = None, "unreadable", f"cannot read {sub.relative}: {exc}"
            submissions.append(sub)
    return submissions, problems, found.roster


def grade_class(submissions_path: Path, lesson_names: list[str], out: Path, *, workers: int = 1, redo: bool = False,
                limits: Limits | None = None, gradebook_path: Path | None = None,
                notebook_dir: Path = NOTEBOOK_DIR, lock_timeout: float = 30.0, progress: bool = True,
                scheduler: str | None = None, roster: Path | None = None, unsafe: bool = False,
                checks: Path | None = None) -> dict:
    """Grade every submission of the named lessons (here, or on the Dask `scheduler`); write the outputs of the whole
    class from the gradebook (every lesson and student, latest grading each, roster students without a submission
    as missing); return a summary of the run.

    Raises RequestError for a request that cannot start (no such lesson, no submissions folder, no scheduler, a
    roster that cannot be read)."""
    from .grade_export import class_table, save_roster
    from .grade_report import write_outputs
    from .late import find_policy
    from .manual import record_submissions

    limits = limits or Limits()
    isolation = isolation_for(unsafe, checks, out, gradebook_path, submissions_path, roster)
    lessons = [read_lesson(find_notebook(name, notebook_dir)) for name in lesson_names]
    if not lessons:
        raise RequestError("Name at least one lesson to grade, e.g. --lesson 02.")
    if len({lesson.name for lesson in lessons}) != len(lessons):
        raise RequestError("A lesson is named twice; give each lesson once.")
    if not submissions_path.exists():
        raise RequestError(f"No submissions at {display_path(submissions_path)}: give a folder with one "
                           "sub-folder per student, or a .zip of it.")
    out.mkdir(parents=True, exist_ok=True)
    run = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="course-kit-grading-") as tmp:
        tmp_path = Path(tmp)
        isolation = dataclasses.replace(isolation, hide=(*isolation.hide, tmp_path))  # unpacked zips of the class
        problems: list[str] = []
        root = submissions_path
        if submissions_path.is_file():
            if submissions_path.suffix.lower() != ".zip":
                raise RequestError(f"{display_path(submissions_path)} is a file but not a .zip; give a folder "
                                   "with one sub-folder per student, or a .zip of it.")
            root = tmp_path / "submissions"
            root.mkdir()
            problems += safe_extract(submissions_path, root)
        submissions, folder_problems, class_roster = collect(root, lessons, tmp_path / "unpacked", roster,
                                                              out / "students.csv")
        problems += folder_problems
        parameters = {lesson.name: quick_parameters_or_none(lesson) if limits.quick else {} for lesson in lessons}
        keys = {lesson.name: grader_key(lesson, limits, parameters[lesson.name], isolation.checks) for lesson in lessons}
        policy = find_policy(out)  # late.toml: refused before grading when it cannot be read
        book = Gradebook(gradebook_path or out / "gradebook.sqlite", out, timeout=lock_timeout)
        try:
            problems += record_submissions(book, submissions, root)  # answers and submission times (manual, late)
            current: dict[tuple[str, str], Grading] = {}
            todo = []
            for sub in submissions:
                previous = None if redo else book.reusable(sub.student, sub.lesson.name, sub.sha256,
                                                           keys[sub.lesson.name])
                if previous is not None:
                    current[(sub.student, sub.lesson.name)] = previous
                else:
                    todo.append(sub)
            workers = max(1, min(workers, len(todo) or 1))
            where = f"on the Dask scheduler {scheduler}" if scheduler else f"{workers} at a time"
            if progress:
                print(f"{len(submissions)} submission(s) of {', '.join(lesson.name for lesson in lessons)}: "
                      f"{len(todo)} to grade, {len(submissions) - len(todo)} unchanged since graded; {where}", flush=True)
            with ExitStack() as stack:  # Ctrl-C/SIGTERM: queued ones cancelled, running ones killed (stopping)
                stop = stack.enter_context(stopping.stoppable(
                    "stopping: no new grading starts, running notebooks are killed; finished grades are stored"))
                if scheduler and todo:
                    client = stack.enter_context(cluster.connect(scheduler))
                    finishing = grade_on_cluster(client, todo, limits, parameters, keys, run, out, isolation)
                else:
                    finishing = grade_here(todo, workers, limits, parameters, keys, run, out, isolation)
                for sub, result in finishing:
                    book.add(result)
                    current[(sub.student, sub.lesson.name)] = result
                    if progress:
                        extra = f" ({result.status}: {result.reason})" if result.reason else ""
                        on = f" [{result.worker}]" if scheduler else ""
                        print(f"  {sub.student} / {sub.lesson.name}: {points_text(result.total)}/"
                              f"{points_text(result.max_total)}{extra}{on}", flush=True)
                left = [sub for sub in todo if (sub.student, sub.lesson.name) not in current]
                if stop.requested:  # shown as interrupted in the outputs, never stored: graded again next time
                    stopping.kill_children()
                    for sub in left:
                        current[(sub.student, sub.lesson.name)] = interrupted_grading(sub, keys[sub.lesson.name],
                                                                                      run, stop)
                    if progress:
                        print(f"Stopped ({stop.describe()}): {len(todo) - len(left)} grading(s) of this run stored, "
                              f"{len(left)} not graded.", flush=True)
            interrupted = (f"stopped by {stop.describe()}: {len(left)} of {len(todo)} submission(s) not graded; run "
                           "the same command again to grade them" if stop.requested else "")
            summary = {"run": run, "graded": len(todo), "reused": len(submissions) - len(todo),
                       "gradebook": str(book.written_to), "gradebook_problem": book.problem,
                       "merged": [str(p) for p in book.merged], "problems": problems,
                       "errors": sum(g.status == "error" for g in current.values()), "interrupted": interrupted}
            table = class_table(book.latest_gradings() + book.with_extras(list(current.values())), lessons,
                                class_roster, policy)
            graded_now = dict.fromkeys(s.student for s in submissions)
            summary.update(roster=str(class_roster.path) if class_roster else "", students=len(table.students),
                           not_on_roster=[s for s in table.not_on_roster() if s in graded_now],
                           no_submission=[f"{s} / {lesson}" for s, lesson in table.missing()])
            write_outputs(out, table, summary, safe_name)
            save_roster(class_roster, out)
        finally:
            book.close()
    return summary


def isolation_for(unsafe: bool, checks: Path | None, *hidden: Path | None) -> Isolation:
    """The isolation of a grading run: the sandbox (refused with the reason where this machine cannot run it,
    unless unsafe), the run's own paths hidden, and the private checks.

    Raises RequestError for a sandbox this machine cannot run or a checks path that is not there."""
    if checks is not None:
        checks = checks.expanduser().resolve()
        if not checks_files(checks):
            raise RequestError(f"--checks {display_path(checks)}: no such .py file or folder of .py files. Give the "
                               "private checks module (or a folder of them) kept outside the students' repository.")
    if not unsafe:
        works, why = sandbox.available()
        if not works:
            raise RequestError(f"Cannot isolate the submissions: {why}. Without isolation a submission can read the "
                               "solutions and change other students' grades; to grade anyway (e.g. only your own "
                               "test notebooks), add --unsafe.")
    return Isolation(not unsafe, tuple(p.expanduser().resolve() for p in hidden if p is not None), checks)


def quick_parameters_or_none(lesson: Lesson) -> dict:
    """The lesson's quick profile, or {} (its defaults) when it declares none."""
    try:
        return quick_parameters(lesson.path)
    except RequestError:
        return {}


def points_text(value: float) -> str:
    """Points without a needless .0."""
    return f"{value:g}"


SUBCOMMANDS = {"export": ".grade_export", "release": ".release", "manual": ".manual_page"}


def main(argv: list[str] | None = None) -> int:
    """Command line: grade, print one line per submission and where the outputs are; 1 when something needs a look
    (a grading failed for the grader's own reasons, the gradebook could not be written, or an input was skipped
    without --allow-skips), 2 for a bad request. `grade export|release|manual ...` run those commands (SUBCOMMANDS)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] and argv[0] in SUBCOMMANDS:
        import importlib

        return importlib.import_module(SUBCOMMANDS[argv[0]], __package__).main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submissions", type=Path,
                        help="folder with one sub-folder or .zip per student (or LMS files), or a .zip of it "
                             "(`grade export|release|manual --help`: the other commands; ./export, ./release or "
                             "./manual for a folder of that name)")
    parser.add_argument("-l", "--lesson", action="append", required=True,
                        help="lesson to grade: name or number (02); repeat, or separate with commas, for several")
    parser.add_argument("--out", type=Path, default=Path(DEFAULT_OUT), help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("-j", "--workers", type=int, default=1, help="submissions graded in parallel (default 1)")
    parser.add_argument("--redo", action="store_true", help="grade every submission again, even unchanged ones")
    parser.add_argument("--cell-timeout", type=int, default=Limits.cell_timeout, help="seconds per cell (default 300)")
    parser.add_argument("--notebook-timeout", type=int, default=Limits.notebook_timeout,
                        help="seconds per notebook in all (default 1200)")
    parser.add_argument("--memory", type=parse_size, default=Limits.memory,
                        help="address-space limit of each kernel, e.g. 8G (default); 0 for none")
    parser.add_argument("--full", action="store_true", help="run the lessons' full defaults, not the quick profile")
    parser.add_argument("--checks", type=Path, metavar="PATH",
                        help="private checks: a .py file or folder of them, kept outside the students' repository, "
                             "whose check_* functions replace the public checkers of the same name")
    parser.add_argument("--unsafe", action="store_true",
                        help="grade without the sandbox (where this machine has no user namespaces): a submission "
                             "could then read solutions and change other grades")
    parser.add_argument("--gradebook", type=Path, help="gradebook file (default OUT/gradebook.sqlite)")
    parser.add_argument("--roster", type=Path,
                        help="CSV of the students expected: column student (folder name), optional id, name, email "
                             "(default SUBMISSIONS/students.csv, else the copy in OUT from an earlier run)")
    parser.add_argument("--allow-skips", action="store_true",
                        help="exit 0 even when inputs were skipped (not notebooks, symbolic links, unreadable zips)")
    parser.add_argument("--notebook-dir", type=Path, default=NOTEBOOK_DIR, help=argparse.SUPPRESS)
    cluster.add_scheduler_option(parser)
    args = parser.parse_args(argv)
    for name, value in (("--workers", args.workers), ("--cell-timeout", args.cell_timeout),
                        ("--notebook-timeout", args.notebook_timeout)):
        if value < 1:
            parser.error(f"{name} must be at least 1, got {value}")
    lessons = [name.strip() for item in args.lesson for name in item.split(",") if name.strip()]
    limits = Limits(args.cell_timeout, args.notebook_timeout, args.memory, not args.full)
    try:
        summary = grade_class(args.submissions.expanduser().resolve(), lessons, args.out.expanduser().resolve(),
                              workers=args.workers, redo=args.redo, limits=limits, gradebook_path=args.gradebook,
                              notebook_dir=args.notebook_dir, scheduler=cluster.resolve_scheduler(args.scheduler),
                              roster=args.roster.expanduser().resolve() if args.roster else None,
                              unsafe=args.unsafe, checks=args.checks)
    except RequestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for problem in summary["problems"]:
        print(f"  skipped: {problem}")
    if summary["not_on_roster"]:
        print(f"  not on the roster ({display_path(Path(summary['roster']))}), graded: "
              f"{', '.join(summary['not_on_roster'])}")
    if summary["no_submission"]:
        shown = summary["no_submission"][:20]
        print(f"  no submission ({len(summary['no_submission'])}): {', '.join(shown)}"
              + (" ..." if len(summary["no_submission"]) > len(shown) else ""))
    if summary["merged"]:
        print(f"merged {len(summary['merged'])} unsaved gradebook file(s) of earlier runs into the gradebook")
    out = args.out.expanduser().resolve()
    print(f"grades.csv, report.html and feedback/ of the whole class ({summary['students']} student(s)) are in "
          f"{display_path(out)}; gradebook: "
          f"{display_path(Path(summary['gradebook']))}")
    if summary["gradebook_problem"]:
        print(f"WARNING: {summary['gradebook_problem']}. This run's grades are kept in "
              f"{display_path(Path(summary['gradebook']))}; the next run that can write the gradebook adds them to it.",
              file=sys.stderr)
    if summary["errors"]:
        print(f"WARNING: {summary['errors']} submission(s) could not be run by the grader (status 'error' in the "
              "report); they are graded again on the next run.", file=sys.stderr)
    skipped = summary["problems"] and not args.allow_skips
    if skipped:
        print(f"WARNING: {len(summary['problems'])} input(s) skipped (listed above and in report.html); fix them and "
              "grade again, or pass --allow-skips to accept the skips.", file=sys.stderr)
    if summary.get("interrupted"):  # Ctrl-C or SIGTERM: what finished is stored and in the outputs
        print(f"INTERRUPTED: {summary['interrupted']}.", file=sys.stderr)
        return stopping.EXIT_CODE
    return 1 if summary["gradebook_problem"] or summary["errors"] or skipped else 0


if __name__ == "__main__":
    sys.exit(main())
