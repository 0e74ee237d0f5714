"""Grade a class: every student's copy of a lesson run headlessly with the grader's own checks; grades, feedback
pages, a class report and a gradebook that keeps every grading.

    python -m course_utils.instructor.grade SUBMISSIONS --lesson 02 [--lesson 03] [--out outputs/grades] [-j 2]
        [--scheduler tcp://HOST:8786 | local:N]

SUBMISSIONS is a folder with one sub-folder per student (SUBMISSIONS/<student>/<lesson file>.ipynb) or a .zip of
it. Each submission runs in its own temporary folder and fresh kernel, with the lesson's quick profile, a time
limit per cell and per notebook and a memory limit on the kernel; the grader's copies of the check cells replace
the student's (see grade_prepare and grade_kernel). Writes OUT/grades.csv, OUT/feedback/<student>.html,
OUT/report.html, OUT/executed/<lesson>/<student>.ipynb and the gradebook OUT/gradebook.sqlite. Running again
skips submissions graded before with the same file and grader (--redo grades them again); nothing is deleted.

With --scheduler (or $COURSE_SCHEDULER) each submission is a task on a Dask cluster (see cluster): the lesson and
the student's file go to a worker, which grades it in its own scratch folder with the same limits; the grading and
the executed copy come back and are stored here as each one finishes. The grades and the gradebook name the worker.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from ..hashing import file_digest
from ..paths import display_path
from . import cluster
from .gradebook import Gradebook, Grading
from .grade_prepare import (KERNEL_SOURCE, Lesson, NotANotebook, Prepared, describe_cell, lesson_match,
                            parse_submission, prepare, read_lesson, read_outcome, truncate_outputs, SAME_LESSON)
from .grade_submissions import choose_notebook, find_students, safe_extract, student_notebooks
from .notebooks import NOTEBOOK_DIR, find_notebook, quick_parameters
from .running import LOCAL_WORKER
from .values import RequestError

GRADER_VERSION = "1"  # bump when grading itself changes, so earlier gradings are not reused
DEFAULT_OUT = "outputs/grades"
CHILD = r"""
import json, sys
try:
    import ctypes
    ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG = SIGKILL: dies with the grader (or Dask worker) that started it
except Exception:
    pass
job = json.loads(sys.argv[1])
result = {"finished": False, "kind": "", "error": ""}
try:
    from course_utils.instructor.execution import execute_notebook
    execute_notebook(job["source"], job["output"], job["parameters"], cwd=job["cwd"], timeout=job["timeout"],
                     env=job["env"])
    result["finished"] = True
except BaseException as exc:
    result["kind"], result["error"] = type(exc).__name__, str(exc)[:4000]
    result["finished"] = result["kind"] == "PapermillExecutionError"  # errors in cells: the notebook ran to its end
with open(job["result"], "w", encoding="utf-8") as handle:
    json.dump(result, handle)
"""
LAUNCH = r"""
import runpy, sys
limit = int(sys.argv.pop(1))
try:
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if limit > 0:
        limit = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
except (ImportError, ValueError, OSError):
    pass
try:
    import ctypes
    ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG = SIGKILL: the kernel dies with the process that runs it
except Exception:
    pass
sys.argv[0] = "ipykernel_launcher"
runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
"""


@dataclass
class Limits:
    """How a submission runs: time per cell and per notebook (seconds), kernel memory (bytes), quick profile."""

    cell_timeout: int = 300
    notebook_timeout: int = 1200
    memory: int = 8 << 30
    quick: bool = True


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


def grader_key(lesson: Lesson, limits: Limits, parameters: dict) -> str:
    """A hash of everything that decides a grade besides the submission: the lesson's exercises (check sources,
    points, where they sit), the student version's cells, the checker modules' code, the grader and its limits.
    Not the instructor notebook's outputs: regenerating a lesson does not force a class to be graded again."""
    digest = hashlib.sha256()
    digest.update(GRADER_VERSION.encode())
    digest.update(json.dumps([[e.key, e.points, e.source, e.solution_id] for e in lesson.exercises]).encode())
    digest.update(json.dumps([[c.get("id"), c.get("source")] for c in lesson.student["cells"]],
                             default=str).encode())
    for path in checker_files(lesson):
        digest.update(path.read_bytes())
    digest.update(KERNEL_SOURCE.read_bytes())
    digest.update(json.dumps([limits.cell_timeout, limits.notebook_timeout, limits.memory, parameters],
                             sort_keys=True, default=str).encode())
    return digest.hexdigest()


def kernel_spec(folder: Path, memory: int) -> Path:
    """A 'python3' kernelspec (found first through JUPYTER_PATH) whose kernel caps its own address space."""
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-c", LAUNCH, str(memory), "-f", "{connection_file}"],
        "display_name": "Python 3 (course-kit grader)", "language": "python", "metadata": {"debugger": False},
    }), encoding="utf-8")
    return folder


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
        if sibling.name.startswith(".") or sibling == lesson.path.parent:
            continue
        try:
            (work.parent / sibling.name).symlink_to(sibling, target_is_directory=sibling.is_dir())
        except OSError:
            pass
    return work


def execute(prepared: Prepared, lesson: Lesson, limits: Limits, parameters: dict, scratch: Path, jupyter: Path,
            threads: int | None) -> tuple[dict | None, dict, float]:
    """Run a prepared notebook in a child process with the limits; return (executed notebook or None, the child's
    result {finished, kind, error}, seconds)."""
    source = scratch / "input" / lesson.path.name
    output = scratch / "output" / lesson.path.name
    source.parent.mkdir(parents=True)
    output.parent.mkdir(parents=True)
    source.write_text(json.dumps(prepared.notebook, ensure_ascii=False), encoding="utf-8")
    ipython = scratch / "ipython" / "profile_default"
    ipython.mkdir(parents=True)
    (ipython / "ipython_kernel_config.py").write_text("c.HistoryManager.enabled = False\n", encoding="utf-8")
    env = {"COURSE_PROGRESS": "0", "MPLBACKEND": "agg", "IPYTHONDIR": str(ipython.parent),
           "JUPYTER_PATH": os.pathsep.join(p for p in (str(jupyter), os.environ.get("JUPYTER_PATH")) if p),
           "PYTHONPATH": os.pathsep.join(p for p in (str(lesson.path.parent), os.environ.get("PYTHONPATH")) if p),
           "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    if threads:
        env.update({name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS") if name not in os.environ})
    job = {"source": str(source), "output": str(output), "parameters": parameters, "timeout": limits.cell_timeout,
           "cwd": str(work_folder(scratch, lesson)), "env": env, "result": str(scratch / "result.json")}
    start = time.perf_counter()
    with open(scratch / "execution.log", "wb") as log:
        child = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(job)], stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, cwd=scratch, start_new_session=True)
        try:
            child.wait(timeout=limits.notebook_timeout)
            result = json.loads((scratch / "result.json").read_text(encoding="utf-8"))
        except subprocess.TimeoutExpired:
            kill_tree(child.pid)
            result = {"finished": False, "kind": "NotebookTimeout", "error": ""}
        except (OSError, ValueError):
            result = {"finished": False, "kind": "GraderCrash",
                      "error": f"the process running the notebook ended with code {child.returncode}"}
        finally:
            if child.poll() is None:  # only while not yet reaped: a reaped child's pid may belong to another process
                kill_tree(child.pid)
    seconds = time.perf_counter() - start
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


def grade_one(sub: Submission, limits: Limits, parameters: dict, key: str, run: str, jupyter: Path,
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
        executed, result, _ = execute(prepared, sub.lesson, limits, parameters, Path(tmp), jupyter, threads)
    outcome = read_outcome(executed or {"cells": []}, prepared)
    where = describe_cell(outcome.running, prepared, sub.lesson)
    status, reason = stop_reason(result, where, limits)
    if outcome.errors:
        sub.notes.append("errors in your cells: " + "; ".join(outcome.errors[:5])
                         + (f" (and {len(outcome.errors) - 5} more)" if len(outcome.errors) > 5 else ""))
    if any("MemoryError" in e for e in outcome.errors):
        sub.notes.append(f"the kernel may use at most {limits.memory / (1 << 30):.1f} GiB of memory")
    not_run = (f"not checked: the notebook {reason}" if status == "stopped" else
               "not checked: the grader could not run your notebook" if status == "error" else
               "not checked: the check did not report a result (did your notebook change sys or the import system?)")
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
                    parameters: dict, key: str, run: str, versions: dict[str, str]) -> tuple[Grading, bytes | None]:
    """The Dask task: grade one submission in a scratch folder of this worker; return the grading and the executed
    copy (None when the notebook did not run)."""
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
        grading = grade_one(here, limits, parameters, key, run, kernel_spec(scratch / "jupyter", limits.memory),
                            executed_dir, threads, worker=label)
        executed = executed_dir / f"{safe_name(here.student)}.ipynb"
        return grading, executed.read_bytes() if executed.is_file() else None


def grade_on_cluster(client, todo: list[Submission], limits: Limits, parameters: dict[str, dict],
                     keys: dict[str, str], run: str, out: Path):
    """Submit every submission as a task; yield (submission, grading) as each finishes, its executed copy stored."""
    from distributed import as_completed

    versions = cluster.kit_versions()
    lessons = {sub.lesson.name: lesson_files(sub.lesson) for sub in todo}
    futures = {}
    for sub in todo:
        if sub.path is None:  # missing or ambiguous: nothing to run, graded here
            yield sub, grade_one(sub, limits, parameters[sub.lesson.name], keys[sub.lesson.name], run, out, out, None)
            continue
        meta = {"student": sub.student, "relative": sub.relative, "sha256": sub.sha256, "notes": list(sub.notes)}
        future = client.submit(grade_on_worker, sub.lesson.path.name, lessons[sub.lesson.name], meta,
                               sub.path.read_bytes(), limits, parameters[sub.lesson.name],
                               keys[sub.lesson.name], run, versions, key=f"grade-{sub.lesson.name}-{uuid.uuid4().hex[:12]}",
                               pure=False, retries=cluster.TASK_RETRIES)
        futures[future] = sub
    for future in as_completed(futures):
        sub = futures[future]
        try:
            grading, executed = future.result()
        except Exception as exc:  # noqa: BLE001 - a dead worker or a grader bug: this submission fails, not the class
            yield sub, failed_grading(sub, keys[sub.lesson.name], run, f"grader error {cluster.failure_text(exc)}", "")
            continue
        if executed is not None:
            target = out / "executed" / sub.lesson.name / f"{safe_name(sub.student)}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(executed)
        yield sub, grading


def grade_here(todo: list[Submission], workers: int, limits: Limits, parameters: dict[str, dict],
               keys: dict[str, str], run: str, out: Path, jupyter: Path):
    """Grade the submissions in this machine's thread pool; yield (submission, grading) as each finishes."""
    threads = max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None
    with ThreadPoolExecutor(workers) as pool:
        futures = {pool.submit(grade_one, sub, limits, parameters[sub.lesson.name], keys[sub.lesson.name], run,
                               jupyter, out / "executed" / sub.lesson.name, threads): sub for sub in todo}
        for future in as_completed(futures):
            sub = futures[future]
            try:
                yield sub, future.result()
            except Exception as exc:  # a grader bug must not lose the other students' grades
                yield sub, failed_grading(sub, keys[sub.lesson.name], run,
                                          f"grader error: {type(exc).__name__}: {exc}", LOCAL_WORKER)


def safe_name(student: str) -> str:
    """A file name for a student's pages: their name (Korean and spaces kept) with path-unsafe characters replaced,
    plus a short hash whenever anything was replaced, so two students never share a file."""
    import re

    cleaned = re.sub(r"[^\w .,()@+-]", "_", student).strip(" .") or "student"
    cleaned = cleaned[:80]
    if cleaned != student:
        cleaned += "-" + hashlib.sha1(student.encode("utf-8")).hexdigest()[:6]
    return cleaned


def collect(root: Path, lessons: list[Lesson]) -> tuple[list[Submission], list[str]]:
    """Every (student, lesson) submission of a submissions folder, and the problems of the folder itself."""
    found = find_students(root)
    problems = list(found.problems)
    submissions = []
    for student, folder in found.students.items():
        notebooks, notes = student_notebooks(folder)
        for lesson in lessons:
            path, why = choose_notebook(notebooks, folder, lesson.path.name)
            sub = Submission(student, lesson, path, notes=list(notes))
            if path is None:
                sub.status, sub.reason = ("missing" if not notebooks else "ambiguous"), why
            else:
                sub.relative = path.relative_to(folder).as_posix()
                try:
                    sub.sha256 = file_digest(path)
                except OSError as exc:
                    sub.path, sub.status, sub.reason = None, "unreadable", f"cannot read {sub.relative}: {exc}"
            submissions.append(sub)
    return submissions, problems


def grade_class(submissions_path: Path, lesson_names: list[str], out: Path, *, workers: int = 1, redo: bool = False,
                limits: Limits | None = None, gradebook_path: Path | None = None,
                notebook_dir: Path = NOTEBOOK_DIR, lock_timeout: float = 30.0, progress: bool = True,
                scheduler: str | None = None) -> dict:
    """Grade every submission of the named lessons (here, or on the Dask `scheduler`); write the outputs; return a
    summary of the run.

    Raises RequestError for a request that cannot start (no such lesson, no submissions folder, no scheduler)."""
    from .grade_report import write_outputs

    limits = limits or Limits()
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
        problems: list[str] = []
        root = submissions_path
        if submissions_path.is_file():
            if submissions_path.suffix.lower() != ".zip":
                raise RequestError(f"{display_path(submissions_path)} is a file but not a .zip; give a folder "
                                   "with one sub-folder per student, or a .zip of it.")
            root = tmp_path / "submissions"
            root.mkdir()
            problems += safe_extract(submissions_path, root)
        submissions, folder_problems = collect(root, lessons)
        problems += folder_problems
        parameters = {lesson.name: quick_parameters_or_none(lesson) if limits.quick else {} for lesson in lessons}
        keys = {lesson.name: grader_key(lesson, limits, parameters[lesson.name]) for lesson in lessons}
        book = Gradebook(gradebook_path or out / "gradebook.sqlite", out, timeout=lock_timeout)
        try:
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
                print(f"{len(submissions)} submission(s) of {', '.join(l.name for l in lessons)}: {len(todo)} to "
                      f"grade, {len(submissions) - len(todo)} unchanged since graded; {where}", flush=True)
            with ExitStack() as stack:
                if scheduler and todo:
                    client = stack.enter_context(cluster.connect(scheduler))
                    finishing = grade_on_cluster(client, todo, limits, parameters, keys, run, out)
                else:
                    finishing = grade_here(todo, workers, limits, parameters, keys, run, out,
                                           kernel_spec(tmp_path / "jupyter", limits.memory))
                for sub, result in finishing:
                    book.add(result)
                    current[(sub.student, sub.lesson.name)] = result
                    if progress:
                        extra = f" ({result.status}: {result.reason})" if result.reason else ""
                        on = f" [{result.worker}]" if scheduler else ""
                        print(f"  {sub.student} / {sub.lesson.name}: {points_text(result.total)}/"
                              f"{points_text(result.max_total)}{extra}{on}", flush=True)
            summary = {"run": run, "graded": len(todo), "reused": len(submissions) - len(todo),
                       "gradebook": str(book.written_to), "gradebook_problem": book.problem,
                       "merged": [str(p) for p in book.merged], "problems": problems,
                       "errors": sum(g.status == "error" for g in current.values())}
            ordered = [current[(s.student, s.lesson.name)] for s in submissions]
            write_outputs(out, lessons, ordered, summary, safe_name)
        finally:
            book.close()
    return summary


def quick_parameters_or_none(lesson: Lesson) -> dict:
    """The lesson's quick profile, or {} (its defaults) when it declares none."""
    try:
        return quick_parameters(lesson.path)
    except RequestError:
        return {}


def points_text(value: float) -> str:
    """Points without a needless .0."""
    return f"{value:g}"


def main(argv: list[str] | None = None) -> int:
    """Command line: grade, print one line per submission and where the outputs are; 1 when something needs a look
    (a grading failed for the grader's own reasons, or the gradebook could not be written), 2 for a bad request."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submissions", type=Path, help="folder with one sub-folder per student, or a .zip of it")
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
    parser.add_argument("--gradebook", type=Path, help="gradebook file (default OUT/gradebook.sqlite)")
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
                              notebook_dir=args.notebook_dir, scheduler=cluster.resolve_scheduler(args.scheduler))
    except RequestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for problem in summary["problems"]:
        print(f"  skipped: {problem}")
    if summary["merged"]:
        print(f"merged {len(summary['merged'])} unsaved gradebook file(s) of earlier runs into the gradebook")
    out = args.out.expanduser().resolve()
    print(f"grades.csv, report.html and feedback/ are in {display_path(out)}; gradebook: "
          f"{display_path(Path(summary['gradebook']))}")
    if summary["gradebook_problem"]:
        print(f"WARNING: {summary['gradebook_problem']}. This run's grades are kept in "
              f"{display_path(Path(summary['gradebook']))}; the next run that can write the gradebook adds them to it.",
              file=sys.stderr)
    if summary["errors"]:
        print(f"WARNING: {summary['errors']} submission(s) could not be run by the grader (status 'error' in the "
              "report); they are graded again on the next run.", file=sys.stderr)
    return 1 if summary["gradebook_problem"] or summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
