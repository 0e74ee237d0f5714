"""Generate student versions of the course notebooks: solutions replaced by placeholders, their outputs cleared.

    python -m course_utils.instructor.student          # every notebook -> build/student/notebooks/ (+ assets/),
                                                       # the Korean edition -> build/student/notebooks/ko/
    python -m course_utils.instructor.student 02 ko/04 --out DIR

In a code cell, every block between `### BEGIN SOLUTION` and `### END SOLUTION` becomes `# YOUR CODE HERE` and
`pass` at the marker's indentation (in a markdown cell: "YOUR ANSWER HERE"). Outputs of solution cells and of
the check cells right after them are cleared; cells tagged `answers` (the questionnaires' answers) are removed;
every other cell is kept as it is.
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import shutil
import sys
from pathlib import Path

from ..paths import display_path
from .notebooks import NOTEBOOK_DIR, REPO, find_notebook, lesson_notebooks, read_notebook
from .values import RequestError

DEFAULT_OUT = REPO / "build" / "student"
BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CODE_PLACEHOLDER = ("# YOUR CODE HERE", "pass")
MARKDOWN_PLACEHOLDER = "YOUR ANSWER HERE"
CHECK_CALL = re.compile(r"course_utils\.exercises|\bcheck_\w+\(")
ANSWERS_TAG = "answers"


class SolutionMarkerError(ValueError):
    """A solution block is not closed or not opened."""


def cell_source(cell: dict) -> str:
    """A cell's source as one string."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def has_solution(cell: dict) -> bool:
    """True when the cell contains a solution block."""
    return BEGIN in cell_source(cell)


def strip_solutions(source: str, markdown: bool = False, where: str = "cell") -> str:
    """Replace each BEGIN/END SOLUTION block with the placeholder at the marker's indentation."""
    lines, kept, inside, indent = source.split("\n"), [], False, ""
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if inside:
                raise SolutionMarkerError(f"{where}, line {number}: '{BEGIN}' inside another solution block; "
                                          f"close the first one with '{END}'.")
            inside, indent = True, line[: len(line) - len(line.lstrip())]
            if markdown:
                kept.append(f"{indent}{MARKDOWN_PLACEHOLDER}")
            else:
                kept.extend(f"{indent}{text}" for text in CODE_PLACEHOLDER)
        elif stripped.startswith(END):
            if not inside:
                raise SolutionMarkerError(f"{where}, line {number}: '{END}' without a '{BEGIN}' before it.")
            inside = False
        elif not inside:
            kept.append(line)
    if inside:
        raise SolutionMarkerError(f"{where}: '{BEGIN}' is never closed; add '{END}' after the solution.")
    return "\n".join(kept)


def solution_lines(notebook: dict) -> list[str]:
    """The stripped, non-empty lines inside solution blocks (what must not reach students)."""
    found = []
    for cell in notebook["cells"]:
        inside = False
        for line in cell_source(cell).split("\n"):
            stripped = line.strip()
            if stripped.startswith(BEGIN):
                inside = True
            elif stripped.startswith(END):
                inside = False
            elif inside and stripped:
                found.append(stripped)
    return found


def _clear(cell: dict) -> None:
    """Remove a code cell's outputs and execution count."""
    cell["outputs"] = []
    cell["execution_count"] = None


def student_version(notebook: dict, name: str = "notebook") -> dict:
    """Return a student copy of an instructor notebook (the input is not modified)."""
    result = copy.deepcopy(notebook)
    result["cells"] = [c for c in result["cells"] if ANSWERS_TAG not in c.get("metadata", {}).get("tags", [])]
    clear_next_check = False
    for index, cell in enumerate(result["cells"]):
        kind = cell.get("cell_type")
        where = f"{name}, cell {index}"
        if has_solution(cell) or END in cell_source(cell):
            cell["source"] = strip_solutions(cell_source(cell), markdown=kind == "markdown", where=where)
            if kind == "code":
                _clear(cell)
                clear_next_check = True
            continue
        if kind == "code" and clear_next_check and CHECK_CALL.search(cell_source(cell)):
            _clear(cell)  # its output ("correct") came from the solution
            continue
        if kind == "code":
            clear_next_check = False
    result.setdefault("metadata", {}).setdefault("course_kit", {})["student_version"] = True
    return result


def write_student_notebooks(notebooks: list[Path], out: Path = DEFAULT_OUT, root: Path = NOTEBOOK_DIR) -> list[Path]:
    """Write student versions into out/notebooks/ (an edition's in its folder, e.g. ko/) and copy assets/ beside
    them (so relative links work)."""
    written = []
    target_dir = out / "notebooks"
    for path in notebooks:
        content = read_notebook(path)
        inside = path.resolve().is_relative_to(root.resolve())
        target = target_dir / (path.resolve().relative_to(root.resolve()) if inside else Path(path.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(student_version(content, path.name), indent=1, ensure_ascii=False) + "\n",
                          encoding="utf-8")
        written.append(target)
    assets = root.parent / "assets"
    if notebooks and assets.is_dir():
        shutil.copytree(assets, out / "assets", dirs_exist_ok=True)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: write student versions of the chosen notebooks (default: every lesson)."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.student", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="notebook names, number prefixes or paths (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default build/student)")
    parser.add_argument("--notebook-dir", type=Path, default=NOTEBOOK_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        chosen = ([find_notebook(n, args.notebook_dir) for n in args.notebooks] if args.notebooks
                  else lesson_notebooks(args.notebook_dir) + lesson_notebooks(args.notebook_dir / "ko"))
        if not chosen:
            raise RequestError(f"No notebooks found in {display_path(args.notebook_dir)}.")
        written = write_student_notebooks(chosen, args.out.resolve(), args.notebook_dir)
    except (RequestError, SolutionMarkerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {display_path(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
