"""The Korean edition: notebooks/ko/ built from the English notebooks and translations/ko/<lesson>.yml.

    python -m course_utils.instructor.translation status          # what is missing or stale, per lesson
    python -m course_utils.instructor.translation todo 06         # the English text of the cells to (re)translate
    python -m course_utils.instructor.translation build           # write notebooks/ko/*.ipynb
    python -m course_utils.instructor.translation build --check   # exit 1 when a translation or notebook is stale

A translation file holds, for each markdown cell keyed by the cell's id, the Korean text and the hash of the English
source it translates. Code cells, parameters and outputs are copied from the English notebook, so both editions run
the same code and show the same results; a setup cell added after the Colab cell switches course_utils to Korean,
and parameter defaults that point outside the notebooks folder ("../requirements.txt") point one folder further up.
Figures of real licensed data (cells tagged licensed-data) are withheld, their notice in Korean (licensed.py).
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from course_utils.colab import REPO_SLUG
from course_utils.instructor.licensed import withhold_licensed_figures

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = REPO / "notebooks"
TRANSLATION_DIR = REPO / "translations"
LANGUAGE_CELL_ID = "course-language"
LANGUAGE_CELL = {
    "ko": (
        "# 한국어판: course_utils의 안내·힌트를 한국어로 보여 주고, 그림에 한글 글꼴을 씁니다.\n"
        "from course_utils.i18n import use_language\n"
        "\n"
        'use_language("ko")'
    ),
}
BADGE_PATH = re.compile(rf"(colab\.research\.google\.com/github/{re.escape(REPO_SLUG)}/blob/[^/]+/notebooks/)(\d\d_)")
PARENT_LINK = re.compile(r"\]\(\.\./")
PARENT_PATH = re.compile(r"""(=\s*["'])\.\./""")  # a parameter's default path relative to the notebooks folder


class TranslationError(ValueError):
    """A translation file is missing, malformed, incomplete or out of date."""


def source_hash(text: str) -> str:
    """Short SHA-256 of an English cell's source, stored beside its translation."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def cell_text(cell: dict) -> str:
    """A cell's source as one string."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def translation_path(notebook: Path, language: str = "ko") -> Path:
    """Where the translation of an English notebook lives."""
    return TRANSLATION_DIR / language / f"{notebook.stem}.yml"


def edition_path(notebook: Path, language: str = "ko") -> Path:
    """Where the translated notebook of an English notebook is written."""
    return notebook.parent / language / notebook.name


def load_translation(path: Path) -> dict[str, dict[str, str]]:
    """Read a translation file: {cell id: {"source": hash, "text": translated markdown}}."""
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise TranslationError(f"{path.name}: not valid YAML ({error}); fix the file and run the build again.") from None
    cells = data.get("cells") or {}
    if not isinstance(cells, dict):
        raise TranslationError(f"{path.name}: 'cells' must map cell ids to entries with 'source' and 'text'.")
    for cell_id, entry in cells.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("text"), str) or not isinstance(entry.get("source"), str):
            raise TranslationError(f"{path.name}: cell {cell_id} needs a 'source' hash and a 'text' string.")
    return cells


class _Literal(str):
    """A string YAML writes as a literal block, so translators edit plain Markdown."""


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


yaml.SafeDumper.add_representer(_Literal, _literal)


def save_translation(path: Path, notebook: Path, cells: dict[str, dict[str, str]]) -> None:
    """Write a translation file with its entries in the notebook's cell order and texts as literal blocks."""
    order = {cell["id"]: i for i, cell in enumerate(json.loads(notebook.read_text(encoding="utf-8"))["cells"])}
    ordered = {key: {"source": cells[key]["source"], "text": _Literal(cells[key]["text"].rstrip("\n") + "\n")}
               for key in sorted(cells, key=lambda k: order.get(k, len(order)))}
    header = (f"# Korean text of notebooks/{notebook.name}, one entry per markdown cell keyed by the cell id.\n"
              "# source: hash of the English cell it translates (python -m course_utils.instructor.translation status)\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    body = yaml.safe_dump({"notebook": notebook.name, "cells": ordered}, allow_unicode=True, sort_keys=False, width=120)
    path.write_text(header + body, encoding="utf-8")


def update_translation(notebook: Path, texts: dict[str, str], language: str = "ko") -> Path:
    """Store translated texts for cells of an English notebook, hashing each cell's current English source."""
    english = {cell["id"]: cell for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]}
    path = translation_path(notebook, language)
    cells = load_translation(path)
    for cell_id, text in texts.items():
        if cell_id not in english or english[cell_id]["cell_type"] != "markdown":
            raise TranslationError(f"{notebook.name} has no markdown cell with id {cell_id!r}.")
        cells[cell_id] = {"source": source_hash(cell_text(english[cell_id])), "text": text}
    save_translation(path, notebook, cells)
    return path


@dataclass
class Status:
    """What a lesson's translation lacks: cells never translated, translated from an older source, or orphaned."""

    notebook: str
    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    orphaned: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when every markdown cell has a translation of its current English source."""
        return not (self.missing or self.stale or self.orphaned)

    def describe(self) -> str:
        """One line per problem, naming the cells."""
        if self.complete:
            return f"{self.notebook}: up to date"
        parts = [f"{label} {', '.join(ids)}" for label, ids in
                 [("no translation for", self.missing), ("English changed since translated:", self.stale),
                  ("translations of cells that no longer exist:", self.orphaned)] if ids]
        return f"{self.notebook}: " + "; ".join(parts)


def translation_status(notebook: Path, language: str = "ko") -> Status:
    """Compare a lesson's markdown cells with its translation file."""
    cells = load_translation(translation_path(notebook, language))
    markdown = [c for c in json.loads(notebook.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "markdown"]
    status = Status(notebook.name)
    for cell in markdown:
        entry = cells.get(cell["id"])
        if entry is None:
            status.missing.append(cell["id"])
        elif entry["source"] != source_hash(cell_text(cell)):
            status.stale.append(cell["id"])
    status.orphaned = sorted(set(cells) - {c["id"] for c in markdown})
    return status


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def localise_links(text: str, language: str) -> str:
    """Point Colab badges at the translated notebook and relative '../' links one folder further up."""
    text = BADGE_PATH.sub(lambda m: f"{m.group(1)}{language}/{m.group(2)}", text)
    return PARENT_LINK.sub("](../../", text)


def cell_text_of(cells: dict[str, dict[str, str]], cell_id: str) -> str:
    """The translated text of a cell without its trailing newline."""
    return cells[cell_id]["text"].rstrip("\n")


def build_edition(notebook: Path, language: str = "ko") -> dict:
    """Return the translated notebook: English code and outputs (licensed figures withheld), translated markdown, the
    language cell."""
    status = translation_status(notebook, language)
    if not status.complete:
        raise TranslationError(status.describe() + f" — update {translation_path(notebook, language).relative_to(REPO)}.")
    cells = load_translation(translation_path(notebook, language))
    nb = copy.deepcopy(json.loads(notebook.read_text(encoding="utf-8")))
    withhold_licensed_figures(nb, language)  # figures of real licensed data: a notice in this language instead
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            cell["source"] = _lines(localise_links(cell_text_of(cells, cell["id"]), language))
        elif "parameters" in cell.get("metadata", {}).get("tags", []):  # paths like "../requirements.txt" move up
            cell["source"] = _lines(PARENT_PATH.sub(lambda m: m.group(1) + "../../", cell_text(cell)))
    code = [i for i, cell in enumerate(nb["cells"]) if cell["cell_type"] == "code"]
    where = code[0] + 1 if code else len(nb["cells"])  # after the Colab setup cell, before the parameters
    nb["cells"].insert(where, {"cell_type": "code", "execution_count": None, "id": LANGUAGE_CELL_ID,
                               "metadata": {"tags": []}, "outputs": [], "source": _lines(LANGUAGE_CELL[language])})
    nb["metadata"].setdefault("course_kit", {})["edition"] = {"language": language, "translated_from": f"../{notebook.name}"}
    return nb


def render(nb: dict) -> str:
    """Serialise a notebook the way the kit writes every notebook."""
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def english_notebooks() -> list[Path]:
    """The English lessons, in course order."""
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def stale_editions(language: str = "ko") -> list[str]:
    """Lessons whose translation is incomplete or whose translated notebook differs from a fresh build."""
    problems = []
    for notebook in english_notebooks():
        status = translation_status(notebook, language)
        if not status.complete:
            problems.append(status.describe())
            continue
        target = edition_path(notebook, language)
        if not target.exists() or target.read_text(encoding="utf-8") != render(build_edition(notebook, language)):
            problems.append(f"{target.relative_to(REPO)} is not up to date with its sources: run "
                            "python -m course_utils.instructor.translation build")
    return problems


def write_editions(language: str = "ko") -> list[Path]:
    """Build and write every translated notebook whose translation is complete; return the files written."""
    written = []
    for notebook in english_notebooks():
        if not translation_status(notebook, language).complete:
            continue
        target = edition_path(notebook, language)
        text = render(build_edition(notebook, language))
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            written.append(target)
    return written


def _pick(names: list[str]) -> list[Path]:
    notebooks = english_notebooks()
    if not names:
        return notebooks
    chosen = [nb for nb in notebooks if any(nb.name.startswith(n) or nb.stem == n for n in names)]
    if len(chosen) < len(names):
        raise SystemExit(f"unknown lesson in {names}; lessons: {', '.join(nb.stem for nb in notebooks)}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--language", default="ko")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="missing and stale translations per lesson").add_argument("lessons", nargs="*")
    sub.add_parser("todo", help="print the English cells to translate").add_argument("lessons", nargs="*")
    sub.add_parser("build", help="write the translated notebooks").add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.command == "status":
            statuses = [translation_status(nb, args.language) for nb in _pick(args.lessons)]
            print("\n".join(s.describe() for s in statuses))
            return 0 if all(s.complete for s in statuses) else 1
        if args.command == "todo":
            for notebook in _pick(args.lessons):
                status = translation_status(notebook, args.language)
                cells = {c["id"]: c for c in json.loads(notebook.read_text(encoding="utf-8"))["cells"]}
                for cell_id in status.missing + status.stale:
                    print(f"=== {notebook.name} · {cell_id}\n{cell_text(cells[cell_id])}\n")
            return 0
        if args.check:
            problems = stale_editions(args.language)
            print("\n".join(problems) or "every translated notebook is up to date")
            return 1 if problems else 0
        for path in write_editions(args.language):
            print(f"wrote {path.relative_to(REPO)}")
        problems = stale_editions(args.language)
        if problems:
            print("\n".join(problems), file=sys.stderr)
        return 1 if problems else 0
    except TranslationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
