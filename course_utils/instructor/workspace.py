"""A student's own workspace: student versions of every lesson outside the tracked notebooks, never overwritten.

    python -m course_utils.instructor.workspace [--dir workspace] [--language en|ko]

Creates `<dir>/notebooks/` with the student version of each lesson (and `<dir>/assets/`); with `--language ko` the
Korean edition goes to `<dir>/notebooks/ko/` (the default when COURSE_LANG or LANG is Korean). On a later run a lesson
the student has not touched is replaced by its newest student version. A lesson the student has changed (edited, or
only run and saved) is left exactly as it is; only when the course's student version of it changed since the copy
was made is that newer version written beside it, once, as `NN_name.updated.ipynb`, with the sections that changed.
The record of what the kit wrote (`<dir>/.kit-state.json`: per lesson, the digest of the copy as written, the digest
of the cells it was made from and each cell's digest and section) is how an edited copy and an upstream change are
told apart. Changed outputs alone (a regenerated lesson's timings) do not count as a change of the lesson.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..hashing import file_digest
from ..i18n import LANGUAGES, language, warn_if_no_korean_font
from ..paths import display_path
from .notebooks import NOTEBOOK_DIR, REPO, lesson_notebooks, read_notebook
from .student import cell_source, student_version

DEFAULT_DIR = REPO / "workspace"
STATE_FILE = ".kit-state.json"
STATE_VERSION = 2  # version 1 was {lesson: digest of the copy}
LAB_SETTINGS = ".jupyterlab-settings"  # the workspace's own JupyterLab settings (kit.py lab sets JUPYTERLAB_SETTINGS_DIR)
LOCALES = {"ko": "ko_KR"}  # JupyterLab interface language of each edition (language packs in requirements.txt)
SHOWN_SECTIONS = 4  # changed sections named in a message; the rest are counted
UNKNOWN_CHANGES = "what changed is not known: your copy was made before the kit recorded it"


@dataclass
class WorkspaceReport:
    """What one update of a workspace did, lesson by lesson (changes: the sections that changed upstream)."""

    created: list[str] = field(default_factory=list)
    updated: dict[str, list[str]] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    kept_edited: list[str] = field(default_factory=list)
    offered: dict[str, list[str] | None] = field(default_factory=dict)
    still_beside: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable lines, one per lesson that needs saying (an edited lesson with no news needs none)."""
        out = [f"new: {name}" for name in self.created]
        out += [f"updated: {name} ({changes_text(changes)})" for name, changes in self.updated.items()]
        out += [f"kept your edited {name}; the course changed it since your copy was made ({changes_text(changes)}): "
                f"the new version is beside it as {updated_name(name)}" for name, changes in self.offered.items()]
        out += [f"reminder: the newer version of your edited {name} is still beside it as {updated_name(name)}"
                for name in self.still_beside]
        return out


def updated_name(name: str) -> str:
    """The file name of the newer version written beside an edited lesson."""
    return f"{Path(name).stem}.updated.ipynb"


def changes_text(changes: list[str] | None) -> str:
    """'changed: A, B and 3 more sections', 'new outputs only', or that nothing is known."""
    if changes is None:
        return UNKNOWN_CHANGES
    if not changes:
        return "new outputs only"
    shown = ", ".join(f"'{title}'" for title in changes[:SHOWN_SECTIONS])
    more = len(changes) - SHOWN_SECTIONS
    return f"changed: {shown}" + (f" and {more} more section{'s' * (more > 1)}" if more > 0 else "")


def digest_text(text: str) -> str:
    """SHA-256 of a text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cell_records(notebook: dict) -> list[list[str]]:
    """[cell id, digest of its type and source, title of the section it is in] for every cell (outputs ignored)."""
    records, section = [], "the top of the notebook"
    for index, cell in enumerate(notebook.get("cells", [])):
        source = cell_source(cell)
        if cell.get("cell_type") == "markdown" and source.lstrip().startswith("#"):
            section = source.lstrip().split("\n", 1)[0].lstrip("#").strip() or section
        records.append([str(cell.get("id") or f"#{index}"), digest_text(f"{cell.get('cell_type')}\n{source}"), section])
    return records


def changed_sections(old: list[list[str]] | None, new: list[list[str]]) -> list[str] | None:
    """Titles of the sections with an added, changed or removed cell, in notebook order; None when old is unknown."""
    if old is None:
        return None
    before = {cell_id: digest for cell_id, digest, _ in old}
    after = {cell_id for cell_id, _, _ in new}
    titles = [title for cell_id, digest, title in new if before.get(cell_id) != digest]
    titles += [title for cell_id, _, title in old if cell_id not in after]
    return list(dict.fromkeys(titles))


def read_state(path: Path) -> dict[str, dict[str, Any]]:
    """The per-lesson record; a version-1 record is read as copies of unknown origin, a damaged one as empty (so
    every existing copy counts as edited and nothing is overwritten)."""
    try:
        state = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except ValueError:
        return {}
    if not isinstance(state, dict):
        return {}
    if state.get("version") == STATE_VERSION and isinstance(state.get("lessons"), dict):
        return {name: entry for name, entry in state["lessons"].items() if isinstance(entry, dict)}
    return {name: {"copy": digest} for name, digest in state.items() if isinstance(digest, str)}


def update_workspace(workspace: Path, notebook_dir: Path = NOTEBOOK_DIR, language: str = "en") -> WorkspaceReport:
    """Create or refresh the student workspace (one language edition); never overwrite a lesson the student changed,
    and offer a newer version of it only when the course's version changed since the copy was made."""
    edition = "" if language == "en" else language
    target = workspace / "notebooks" / edition
    target.mkdir(parents=True, exist_ok=True)
    state_path = workspace / STATE_FILE
    state = read_state(state_path)
    report = WorkspaceReport()
    for lesson in lesson_notebooks(notebook_dir / edition):
        notebook = student_version(read_notebook(lesson), lesson.name)
        text = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
        cells = cell_records(notebook)
        made_from = digest_text(json.dumps([digest for _, digest, _ in cells]))
        copy, beside = target / lesson.name, target / updated_name(lesson.name)
        name = f"{edition}/{lesson.name}" if edition else lesson.name
        entry = state.get(name, {})
        if not copy.exists():
            copy.write_text(text, encoding="utf-8")
            report.created.append(name)
        elif file_digest(copy) != entry.get("copy"):  # the student's: never touched
            report.kept_edited.append(name)
            if entry.get("made_from") == made_from:
                continue  # nothing changed upstream: nothing to offer
            if entry.get("offered") == made_from:  # offered on an earlier run: do not write it again
                if beside.exists():
                    report.still_beside.append(name)
                continue
            beside.write_text(text, encoding="utf-8")
            report.offered[name] = changed_sections(entry.get("cells"), cells)
            state[name] = {**entry, "offered": made_from}
            continue
        elif copy.read_text(encoding="utf-8") != text:
            copy.write_text(text, encoding="utf-8")
            report.updated[name] = changed_sections(entry.get("cells"), cells)
        else:
            report.unchanged.append(name)
        state[name] = {"copy": file_digest(copy), "made_from": made_from, "cells": cells}
    assets = notebook_dir.parent / "assets"
    if assets.is_dir():
        shutil.copytree(assets, workspace / "assets", dirs_exist_ok=True)
    record = {"version": STATE_VERSION, "lessons": state}
    state_path.write_text(json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return report


def lab_settings(workspace: Path, language: str) -> Path:
    """The workspace's JupyterLab settings folder; for the Korean edition the interface starts in Korean, unless the
    student has already chosen a language there (Settings → Language)."""
    settings = workspace / LAB_SETTINGS
    plugin = settings / "@jupyterlab" / "translation-extension" / "plugin.jupyterlab-settings"
    if language in LOCALES and not plugin.exists():
        plugin.parent.mkdir(parents=True, exist_ok=True)
        plugin.write_text(json.dumps({"locale": LOCALES[language]}) + "\n", encoding="utf-8")
    return settings


def main(argv: list[str] | None = None) -> int:
    """Command line: create or refresh the workspace and say what changed."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.workspace", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="workspace folder (default: workspace/)")
    parser.add_argument("--language", choices=LANGUAGES, default=language(),
                        help="en, or ko for the Korean edition (default: from COURSE_LANG / LANG)")
    args = parser.parse_args(argv)
    workspace = args.dir.expanduser().resolve()
    warn_if_no_korean_font()  # English lessons show Hangul too (lesson 01's labels, the NSMC reviews of 06 and 07)
    try:
        report = update_workspace(workspace, language=args.language)
        lab_settings(workspace, args.language)
    except OSError as exc:
        print(f"error: cannot write the workspace {display_path(workspace)}: {exc.strerror}. Choose another folder "
              "with --dir.", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line)
    print(f"your notebooks: {display_path(workspace / 'notebooks' / ('' if args.language == 'en' else args.language))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
