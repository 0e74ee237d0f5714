"""A student's own workspace: student versions of every lesson outside the tracked notebooks, never overwritten.

    python -m course_utils.instructor.workspace [--dir workspace] [--language en|ko]

Creates `<dir>/notebooks/` with the student version of each lesson (and `<dir>/assets/`); with `--language ko` the
Korean edition goes to `<dir>/notebooks/ko/` (the default when COURSE_LANG or LANG is Korean). On a later run a lesson
the student has not touched is replaced by its newest student version; a lesson the student has edited is left
exactly as it is, and the newest version is written beside it as `NN_name.updated.ipynb`. The record of what the
kit wrote (`<dir>/.kit-state.json`) is how an edited copy is told apart from an untouched one.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..hashing import file_digest
from ..i18n import LANGUAGES, language, warn_if_no_korean_font
from ..paths import display_path
from .notebooks import NOTEBOOK_DIR, REPO, lesson_notebooks, read_notebook
from .student import student_version

DEFAULT_DIR = REPO / "workspace"
STATE_FILE = ".kit-state.json"
LAB_SETTINGS = ".jupyterlab-settings"  # the workspace's own JupyterLab settings (kit.py lab sets JUPYTERLAB_SETTINGS_DIR)
LOCALES = {"ko": "ko_KR"}  # JupyterLab interface language of each edition (language packs in requirements.txt)


@dataclass
class WorkspaceReport:
    """What one update of a workspace did, lesson by lesson."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_edited: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable lines, one per lesson that needs saying."""
        out = [f"new: {name}" for name in self.created] + [f"updated: {name}" for name in self.updated]
        out += [f"kept your edited {name}; the newest version is beside it as {Path(name).stem}.updated.ipynb"
                for name in self.kept_edited]
        return out


def update_workspace(workspace: Path, notebook_dir: Path = NOTEBOOK_DIR, language: str = "en") -> WorkspaceReport:
    """Create or refresh the student workspace (one language edition); never overwrite a lesson the student changed."""
    edition = "" if language == "en" else language
    target = workspace / "notebooks" / edition
    target.mkdir(parents=True, exist_ok=True)
    state_path = workspace / STATE_FILE
    try:
        state = json.loads(state_path.read_text(encoding="utf-8")) if state_path.exists() else {}
    except ValueError:
        state = {}  # a damaged record: treat every existing copy as edited, so nothing is overwritten
    report = WorkspaceReport()
    for lesson in lesson_notebooks(notebook_dir / edition):
        text = json.dumps(student_version(read_notebook(lesson), lesson.name), indent=1, ensure_ascii=False) + "\n"
        copy = target / lesson.name
        name = f"{edition}/{lesson.name}" if edition else lesson.name
        if not copy.exists():
            copy.write_text(text, encoding="utf-8")
            report.created.append(name)
        elif file_digest(copy) != state.get(name):
            (target / f"{lesson.stem}.updated.ipynb").write_text(text, encoding="utf-8")
            report.kept_edited.append(name)
            continue
        elif copy.read_text(encoding="utf-8") != text:
            copy.write_text(text, encoding="utf-8")
            report.updated.append(name)
        else:
            report.unchanged.append(name)
        state[name] = file_digest(copy)
    assets = notebook_dir.parent / "assets"
    if assets.is_dir():
        shutil.copytree(assets, workspace / "assets", dirs_exist_ok=True)
    state_path.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n", encoding="utf-8")
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
    if args.language == "ko":
        warn_if_no_korean_font()
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
