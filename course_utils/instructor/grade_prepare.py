"""What the grader runs: a lesson's exercises (from the instructor notebook), and a submission turned into the
notebook that is executed, with the grader's own check cells in place of the student's; then the outcomes read back.
The checks themselves run outside the student's kernel (grade_driver): a grader check cell holds only what the
kernel runs after the check (the instructor's check cell less its checker imports and check_*() calls).

Conventions (CONTRIBUTING.md, "Grading"): an exercise is a check cell, a code cell calling `check_*(...)` that
follows a solution cell (`### BEGIN SOLUTION`); its points are the check cell's `metadata.course_kit.points`
(1 when absent). Cells are matched by their `id`; a submission saved without cell ids (Colab drops them) is
matched by the text of the cells the student did not change.
"""
from __future__ import annotations

import ast
import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .student import BEGIN, CHECK_CALL, ANSWERS_TAG, cell_source, student_version
from .values import RequestError

CHECK_PREFIX = "course-kit-grader-check-"
ALLOW_ERRORS_TAG = "raises-exception"  # nbclient runs on after an error in a cell with this tag
CHECK_NAME = re.compile(r"^check_\w+$")
SAME_LESSON = 0.5  # share of the lesson's cells a submission must contain to count as that lesson
ALWAYS_PURGED = ("course_utils.exercises",)
VALID_ID = re.compile(r"^[a-zA-Z0-9_-]{1,50}$")


@dataclass
class Exercise:
    """One checked exercise of a lesson."""

    key: str  # the check cell's id (stable across versions)
    name: str  # column name: the checker called, without check_
    points: float
    source: str  # the instructor's check cell source
    solution_id: str | None  # id of the solution cell before it
    follows: list[str] = field(default_factory=list)  # ids of the lesson's cells after the check, in order
    number: int = 0


@dataclass
class Lesson:
    """An instructor notebook read for grading."""

    path: Path
    notebook: dict
    exercises: list[Exercise]
    student: dict  # its student version (what an untouched submission looks like)
    modules: list[str]  # checker modules the check cells import

    @property
    def name(self) -> str:
        """The notebook stem, e.g. 02_gradient_descent."""
        return self.path.stem

    @property
    def max_points(self) -> float:
        """Points of all exercises."""
        return sum(e.points for e in self.exercises)


def imported_modules(source: str) -> list[str]:
    """Module names a check source imports (`from m import f`, `import m`)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def exercise_points(cell: dict, where: str) -> float:
    """The points of a check cell: metadata.course_kit.points, 1 when absent; refuses anything but a number >= 0."""
    value = cell.get("metadata", {}).get("course_kit", {}).get("points", 1)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise RequestError(f"{where}: metadata course_kit.points must be a number >= 0, got {value!r}.")
    return float(value)


def read_lesson(path: Path) -> Lesson:
    """Read an instructor notebook: its exercises in order, with points, and its student version."""
    from .notebooks import read_notebook

    notebook = read_notebook(path)
    cells = [c for c in notebook["cells"] if ANSWERS_TAG not in c.get("metadata", {}).get("tags", [])]
    exercises: list[Exercise] = []
    solution_id: str | None = None
    modules: list[str] = list(ALWAYS_PURGED)
    for index, cell in enumerate(cells):
        source = cell_source(cell)
        if cell.get("cell_type") != "code":
            continue
        if BEGIN in source:
            solution_id = cell.get("id")
            continue
        if solution_id is not None and CHECK_CALL.search(source):
            if not cell.get("id"):
                raise RequestError(f"{path.name}, cell {index}: a check cell needs a cell id (nbformat 4.5).")
            called = re.search(r"\bcheck_(\w+)\(", source)
            name = called.group(1) if called else f"exercise_{len(exercises) + 1}"
            taken = {e.name for e in exercises}
            unique, n = name, 2
            while unique in taken:
                unique, n = f"{name}_{n}", n + 1
            exercises.append(Exercise(cell["id"], unique, exercise_points(cell, f"{path.name}, cell {index}"),
                                      source, solution_id, [c.get("id") for c in cells[index + 1:] if c.get("id")],
                                      len(exercises) + 1))
            modules.extend(m for m in imported_modules(source) if m not in modules)
        solution_id = None
    if not exercises:
        raise RequestError(f"{path.name} has no checked exercise (a check_*() cell after a {BEGIN} cell).")
    return Lesson(path, notebook, exercises, student_version(notebook, path.name), modules)


def cell_key(cell: dict) -> str:
    """The text a cell is recognised by when a notebook has no cell ids."""
    return f"{cell.get('cell_type')}\0{cell_source(cell).strip()}"


def lesson_match(submission: dict, lesson: Lesson) -> float:
    """The share of the lesson's cells (student version) found in the submission, by id or else by text."""
    ids = {c.get("id") for c in submission["cells"] if c.get("id")}
    texts = {cell_key(c) for c in submission["cells"]}
    wanted = lesson.student["cells"]
    found = sum(1 for c in wanted if c.get("id") in ids or cell_key(c) in texts)
    return found / max(1, len(wanted))


class NotANotebook(ValueError):
    """A submitted file that is not a notebook; the message says what it is instead."""


def parse_submission(data: bytes) -> dict:
    """Parse a submitted file as a notebook, or raise NotANotebook with a reason a student understands."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotANotebook("the file is not text (not a Jupyter notebook); hand in the .ipynb file") from exc
    try:
        content = json.loads(text)
    except ValueError as exc:
        raise NotANotebook(f"the file is not valid notebook JSON ({exc.msg} at line {exc.lineno}); it may be "
                           "damaged or only partly saved: save it again in Jupyter") from exc
    if not isinstance(content, dict) or not isinstance(content.get("cells"), list) or not all(
            isinstance(c, dict) for c in content["cells"]):
        raise NotANotebook("the file is JSON but not a Jupyter notebook (no list of cells)")
    for number, cell in enumerate(content["cells"], 1):
        source = cell.get("source", "")
        if not (isinstance(source, str) or (isinstance(source, list) and all(isinstance(s, str) for s in source))):
            raise NotANotebook(f"cell {number} of the notebook is damaged (its text is not text)")
        if not isinstance(cell.get("metadata", {}), dict):
            cell["metadata"] = {}
    if content.get("nbformat") != 4:
        raise NotANotebook(f"the notebook format is {content.get('nbformat')!r}; the course needs format 4")
    return content


@dataclass
class Prepared:
    """A graded notebook ready to run, and what the grader needs to read its outcome."""

    notebook: dict
    origin: dict[str, int]  # prepared cell id -> the cell's number (1-based) in the submission
    notes: list[str]  # what was found while preparing (missing, duplicated cells)
    unchanged: list[str] = field(default_factory=list)  # ids of the lesson's cells the student left as they were


def normalise_cells(cells: list[dict], lesson: Lesson) -> tuple[list[dict], dict[str, int], list[str]]:
    """Copies of the submission's cells with unique ids (ids recovered from the text where missing), no outputs,
    and the tag that lets execution run on past an error; also {id: original number} and notes."""
    by_text = {cell_key(c): c.get("id") for c in lesson.student["cells"] if c.get("id")}
    seen: dict[str, int] = {}
    result, origin, notes = [], {}, []
    for number, original in enumerate(cells, 1):
        cell = copy.deepcopy(original)
        if cell.get("cell_type") not in ("code", "markdown", "raw"):
            cell["cell_type"] = "raw"
        cell_id = cell.get("id") if isinstance(cell.get("id"), str) and VALID_ID.match(cell["id"]) else None
        cell_id = cell_id or by_text.get(cell_key(cell)) or f"cell-{number}"
        if cell_id in seen:
            seen[cell_id] += 1
            cell_id = f"{cell_id[:50]}-copy{seen[cell_id]}"
        else:
            seen[cell_id] = 1
        cell["id"] = cell_id
        cell["source"] = cell_source(cell)
        metadata = cell["metadata"] = dict(cell.get("metadata") or {})
        metadata.pop("papermill", None)
        metadata.pop("execution", None)
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
            tags = [t for t in metadata.get("tags", []) if isinstance(t, str)]
            metadata["tags"] = tags + [ALLOW_ERRORS_TAG] * (ALLOW_ERRORS_TAG not in tags)
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
        result.append(cell)
        origin[cell_id] = number
    return result, origin, notes


def base_id(cell_id: str) -> str:
    """The id a de-duplicated copy was made from."""
    return re.sub(r"-copy\d+$", "", cell_id)


def is_check_call(statement: ast.stmt) -> bool:
    """True for a statement `check_something(...)`."""
    return (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
            and isinstance(statement.value.func, ast.Name) and bool(CHECK_NAME.match(statement.value.func.id)))


def imports_checkers(statement: ast.stmt, modules: list[str]) -> bool:
    """True for an import statement that imports only checker modules (or names from one)."""
    def checker(name: str) -> bool:
        return any(name == m or name.startswith(m + ".") for m in modules)
    if isinstance(statement, ast.ImportFrom):
        return bool(statement.module) and not statement.level and checker(statement.module)
    return isinstance(statement, ast.Import) and all(checker(alias.name) for alias in statement.names)


def split_check(source: str, modules: list[str]) -> tuple[list[ast.stmt], str]:
    """A check cell's statements for the grader (checker imports, check_*() calls) and the rest as code for the
    kernel to run after the check (prints, and names that later cells may use)."""
    tree = ast.parse(source)
    grader, rest = [], []
    for statement in tree.body:
        if imports_checkers(statement, modules) or is_check_call(statement):
            grader.append(statement)
        else:
            rest.append(ast.get_source_segment(source, statement) or ast.unparse(statement))
    return grader, "\n".join(rest)


def check_cell(exercise: Exercise, modules: list[str]) -> dict:
    """The grader's check cell for one exercise: the check itself runs in the grader; the cell keeps the rest."""
    _, rest = split_check(exercise.source, modules)
    return {"cell_type": "code", "id": CHECK_PREFIX + exercise.key, "metadata": {"tags": [ALLOW_ERRORS_TAG]},
            "source": rest, "outputs": [], "execution_count": None}


def check_position(exercise: Exercise, cells: list[dict], had_check: int | None) -> tuple[int, str]:
    """Where the grader's check goes: after the solution cell's last copy, else where the student's check cell
    was, else before the first later lesson cell found; with a note when the solution cell is missing."""
    ids = [base_id(c["id"]) for c in cells]
    if exercise.solution_id in ids:
        return len(ids) - ids[::-1].index(exercise.solution_id), ""
    note = (f"exercise {exercise.number} ({exercise.name}): its solution cell is missing from the notebook "
            "(deleted or replaced)")
    if had_check is not None:
        return had_check, note
    for later in exercise.follows:
        if later in ids:
            return ids.index(later), note
    return len(cells), note


def prepare(submission: dict, lesson: Lesson) -> Prepared:
    """The notebook to execute: the grader's set-up cell, the submission's cells (its copies of the check cells
    removed) and the grader's check cell for each exercise."""
    cells, origin, notes = normalise_cells(submission["cells"], lesson)
    check_sources = {e.key: e.source.strip() for e in lesson.exercises}
    for exercise in lesson.exercises:
        copies = [i for i, c in enumerate(cells) if base_id(c["id"]) == exercise.key
                  or (c["id"].startswith("cell-") and c["cell_type"] == "code"
                      and cell_source(c).strip() == check_sources[exercise.key])]
        if len(copies) > 1:
            notes.append(f"exercise {exercise.number} ({exercise.name}): its check cell appears {len(copies)} times; "
                         "it is checked once")
        if not copies:
            notes.append(f"exercise {exercise.number} ({exercise.name}): its check cell was deleted; the grader "
                         "checks it anyway")
        had_check = copies[0] if copies else None
        for i in reversed(copies):
            del cells[i]
        position, note = check_position(exercise, cells, had_check)
        if note:
            notes.append(note)
        cells.insert(position, check_cell(exercise, lesson.modules))
    notebook = {"cells": cells, "metadata": copy.deepcopy(lesson.notebook.get("metadata", {})),
                "nbformat": 4, "nbformat_minor": 5}
    notebook["metadata"].pop("papermill", None)
    lesson_cells = {c.get("id"): cell_source(c) for c in lesson.student["cells"]}
    unchanged = [c["id"] for c in cells if c["id"] in lesson_cells and cell_source(c) == lesson_cells[c["id"]]]
    return Prepared(notebook, origin, notes, unchanged)


@dataclass
class Outcome:
    """What the executed notebook says about each exercise, and the errors of the student's cells."""

    results: dict[str, tuple[str, str]]  # exercise key -> (passed | failed, hint)
    errors: list[str]  # "cell 7 raised NameError: ..." for the student's cells
    running: str | None  # id of the last cell that started (where a run that did not finish stopped)


def read_outcome(executed: dict, prepared: Prepared, result: dict) -> Outcome:
    """Each exercise's outcome from the driver's result (a check that never ran counts as not passed), the student
    cells' errors from the executed notebook, and where the run got to."""
    results = {}
    for key, value in (result.get("outcomes") or {}).items():
        if isinstance(value, list) and len(value) == 2 and value[0] in ("passed", "failed"):
            results[str(key)] = (value[0], str(value[1])[:1000])
    errors = []
    for cell in executed.get("cells", []):
        cell_id = str(cell.get("id", ""))
        if cell.get("cell_type") == "code" and cell_id in prepared.origin:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    text = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
                    errors.append(f"cell {prepared.origin[cell_id]} raised {text[:300]}")
    running = result.get("running")
    return Outcome(results, errors, running if isinstance(running, str) else None)


def describe_cell(cell_id: str | None, prepared: Prepared, lesson: Lesson) -> str:
    """Where a run stopped, in the student's terms: their cell number and first line, or the exercise checked."""
    if cell_id is None:
        return "before the first cell"
    if cell_id.startswith(CHECK_PREFIX):
        key = cell_id[len(CHECK_PREFIX):]
        exercise = next((e for e in lesson.exercises if e.key == key), None)
        return f"in the check of exercise {exercise.number} ({exercise.name})" if exercise else "in a check"
    cell = next((c for c in prepared.notebook["cells"] if c["id"] == cell_id), None)
    first = next((ln.strip() for ln in cell_source(cell).splitlines() if ln.strip()), "") if cell else ""
    return f"in cell {prepared.origin.get(cell_id, '?')}" + (f" ({first[:60]})" if first else "")


def truncate_outputs(executed: dict, limit: int = 20_000) -> dict:
    """A copy of an executed notebook whose long text outputs are cut to `limit` characters (for keeping)."""
    result = copy.deepcopy(executed)
    for cell in result.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for holder, key in [(output, "text"), *((data, k) for k in list(data) if not k.startswith("image/"))]:
                value = holder.get(key)
                text = "".join(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else value
                if isinstance(text, str) and len(text) > limit:
                    holder[key] = text[:limit] + f"\n[… {len(text) - limit:,} more characters cut by the grader]\n"
            if isinstance(output.get("traceback"), list):
                output["traceback"] = [t[:limit] for t in output["traceback"][:200]]
    return result
