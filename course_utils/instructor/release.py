"""Release an assignment: the zip students get for a lesson, with no solution in it.

    python -m course_utils.instructor.grade release 02 [ko/02 ...] [--out build/release]

For each lesson, OUT/<lesson>.zip holds one folder <lesson>/ laid out like the course repository, so the lesson's
relative paths work:

    <lesson>/notebooks/<lesson>.ipynb   the student version (student.py: solutions replaced by placeholders, their
                                        outputs cleared, the questionnaire's answers removed)
    <lesson>/notebooks/<module>.py      checker modules beside the instructor notebook that it imports (the course's
                                        own checkers come with course_utils, which students install)
    <lesson>/assets/..., other files    the repository files the lesson links to (assets/x.png, ../requirements.txt)
    <lesson>/HANDING_IN.md              what to hand in, and how

Before anything is written, the release is checked against the instructor notebook: no line of a solution block
(`### BEGIN SOLUTION` ... `### END SOLUTION`) or of a cell tagged `answers` that appears nowhere else in the lesson
may be in any file of it; a release that fails is refused. Private checks (`grade --checks`) are never part of it.

The collection layout the grader reads (docs/instructors/grading.md): SUBMISSIONS/<student>/<lesson>.ipynb (any
name starting with the lesson number; a zip of the folder works too), or one zip per student, or an LMS's download.
"""
from __future__ import annotations

import argparse
import io
import json
import re
import sys
import zipfile
from pathlib import Path

from ..paths import display_path
from .notebooks import NOTEBOOK_DIR, REPO, find_notebook, read_notebook
from .student import ANSWERS_TAG, SolutionMarkerError, cell_source, solution_lines, strip_solutions, student_version
from .values import RequestError

DEFAULT_OUT = REPO / "build" / "release"
LINK = re.compile(r"(?:(?:\.\./)+[\w-]+(?:/[\w-]+)*|[\w-]+(?:/[\w-]+)+)\.[A-Za-z0-9]{1,5}\b")  # assets/x.png, ../a.txt
HANDING_IN = """# Handing in {lesson}

1. Open `notebooks/{lesson}.ipynb` in Jupyter (or upload it to Colab), work through it and replace every
   `# YOUR CODE HERE` / `pass` with your answer. Each check tells you whether you are right, with a hint if not.
2. Write your answers to the questionnaire (and to any open question) in the cell below the question: edit it, or
   add a markdown cell right after it. They are read and graded by hand.
3. Run the whole notebook once from the top (Kernel > Restart & Run All) and save it.
4. Hand in `{lesson}.ipynb` (keep its name; a .zip holding it works too).

Your notebook is graded by running it from the top with the course's own checks, in a fresh kernel, with a time
limit per cell: a notebook that stops early loses the exercises after the stop.
"""


def secret_lines(instructor: dict) -> list[str]:
    """The lines a release must not contain: those of solution blocks and of cells tagged `answers` that appear
    nowhere else in the instructor notebook (a prompt may quote a line of its solution on purpose)."""
    answers = [c for c in instructor["cells"] if ANSWERS_TAG in c.get("metadata", {}).get("tags", [])]
    public = "\n".join(strip_solutions(cell_source(c), c.get("cell_type") == "markdown")
                       for c in instructor["cells"] if c not in answers)
    hidden = solution_lines(instructor) + [line.strip() for c in answers for line in cell_source(c).split("\n")]
    return sorted({line for line in hidden if len(line) >= 6 and line not in public})


def notebook_text(notebook: dict) -> str:
    """Every text a student can read in a notebook: sources and non-image outputs."""
    parts = []
    for cell in notebook["cells"]:
        parts.append(cell_source(cell))
        for output in cell.get("outputs", []):
            parts.append(str(output.get("text", "")) + str(output.get("evalue", "")))
            parts += ["".join(v) if isinstance(v, list) else str(v) for k, v in output.get("data", {}).items()
                      if not k.startswith("image/")]
    return "\n".join(parts)


def linked_files(notebook: dict, folder: Path, root: Path) -> list[Path]:
    """Files under root (the course folder), outside the notebooks' folder, that the notebook's cells name by a
    relative path (from the notebook, or from the course folder: assets/x.png, ../requirements.txt)."""
    found = []
    for cell in notebook["cells"]:
        for match in LINK.findall(cell_source(cell)):
            for base in (folder, root):
                path = (base / match).resolve()
                if (path.is_file() and path.is_relative_to(root) and not path.is_relative_to(folder)
                        and ".git" not in path.parts and path not in found):
                    found.append(path)
    return found


def release_files(lesson: Path) -> dict[str, bytes]:
    """The files of a lesson's release (paths inside the zip -> bytes). Raises RequestError for a lesson whose
    solution markers are broken, or whose student version would still hold a solution line."""
    from .grade import checker_files
    from .grade_prepare import read_lesson

    instructor = read_notebook(lesson)
    try:
        notebook = student_version(instructor, lesson.name)
    except SolutionMarkerError as exc:
        raise RequestError(f"Cannot release {lesson.name}: {exc}") from exc
    top, folder = lesson.stem, lesson.parent.resolve()
    root = folder.parent if folder.name != "ko" else folder.parent.parent  # notebooks/ or notebooks/ko/
    files = {f"{top}/{folder.relative_to(root).as_posix()}/{lesson.name}":
             (json.dumps(notebook, indent=1, ensure_ascii=False) + "\n").encode("utf-8")}
    beside = [p for p in checker_files(read_lesson(lesson)) if p.resolve().parent == folder]
    for path in beside + linked_files(notebook, folder, root):
        files[f"{top}/{path.resolve().relative_to(root).as_posix()}"] = path.read_bytes()
    files[f"{top}/HANDING_IN.md"] = HANDING_IN.format(lesson=lesson.stem).encode("utf-8")
    leaked = leaks(files, secret_lines(instructor))
    if leaked:
        raise RequestError(f"Not released: {lesson.name}'s release would contain solution or answer lines "
                           f"({'; '.join(leaked[:3])}); mark them with ### BEGIN/END SOLUTION or tag the cell answers.")
    return files


def leaks(files: dict[str, bytes], secret: list[str]) -> list[str]:
    """The secret lines found in any file of a release ('file: line')."""
    found = []
    for name, data in files.items():
        text = data.decode("utf-8", "replace")
        if name.endswith(".ipynb"):
            text = notebook_text(json.loads(text))
        found += [f"{name}: {line}" for line in secret if line in text]
    return found


def write_release(lesson: Path, out: Path) -> Path:
    """Write OUT/<lesson>.zip; return its path."""
    files = release_files(lesson)
    out.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.writestr(name, files[name])
    target = out / f"{lesson.parent.name + '-' if lesson.parent.name == 'ko' else ''}{lesson.stem}.zip"
    target.write_bytes(buffer.getvalue())
    return target


def main(argv: list[str] | None = None) -> int:
    """Command line: release the named lessons; 2 for a bad request."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.grade release", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lessons", nargs="+", help="lessons: name or number (02); ko/02 for the Korean edition")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default build/release)")
    parser.add_argument("--notebook-dir", type=Path, default=NOTEBOOK_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        written = [write_release(find_notebook(name, args.notebook_dir), args.out.expanduser().resolve())
                   for name in args.lessons]
    except RequestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        with zipfile.ZipFile(path) as archive:
            print(f"wrote {display_path(path)}: {', '.join(archive.namelist())}")
    return 0
