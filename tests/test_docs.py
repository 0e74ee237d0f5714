"""README and the documentation pages (docs/) say only what exists: every relative link leads to a file of the
repository (and a #fragment to one of its headings), every `kit.py` subcommand, `python -m` module and repository path
they name exists, README stays a short student page, and the sections that course_utils' messages send readers to
are there."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from course_utils.instructor import doctor, lesson_data
from course_utils.instructor.licensed import NOTICE

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").rglob("*.md"))]
PAGE_IDS = [str(page.relative_to(REPO)) for page in PAGES]
LINK = re.compile(r"\]\(([^()\s]+)\)")
# A path of the repository named in backticks: a top-level folder of the kit, then a file name with an extension.
REPO_PATH = re.compile(r"`((?:\.ci|\.github|benchmarks|course_utils|docs|notebooks|scripts|tests|translations)/"
                       r"[\w./-]+\.\w+)`")


def prose(page: Path) -> str:
    """The page without its fenced code blocks."""
    return re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces made hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(line.lstrip("#")) for line in prose(page).splitlines() if re.match(r"#{1,6} ", line)}


def kit_subcommands() -> set[str]:
    """The subcommands scripts/kit.py defines."""
    return set(re.findall(r"sub\.add_parser\(\"(\w+)\"", (REPO / "scripts" / "kit.py").read_text()))


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(page):
    broken = []
    for target in LINK.findall(prose(page)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            continue
        path, _, fragment = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(target)
        elif fragment and file.suffix == ".md" and fragment not in anchors(file):
            broken.append(f"{target} (no such heading)")
    assert broken == []


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_every_command_module_and_path_named_exists(page):
    text = page.read_text(encoding="utf-8")
    subcommands = kit_subcommands()
    unknown = [f"kit.py {name}" for name in re.findall(r"scripts/kit\.py (\w+)", text) if name not in subcommands]
    unknown += [module for module in re.findall(r"python -m (course_utils(?:\.\w+)+)", text)
                if importlib.util.find_spec(module) is None]
    unknown += [path for path in REPO_PATH.findall(text)
                if not re.search(r"NN|<|\*", path) and not (REPO / path).exists()]
    assert unknown == []


def test_readme_is_a_short_student_page_with_the_instructor_docs_linked():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 125, "README is the students' page: instructor material goes to docs/"
    assert "(docs/index.md)" in text and "(docs/students.md)" in text
    for licence in ("LICENSE", "LICENSE-content"):
        assert f"]({licence})" in text and (REPO / licence).is_file()
    assert all(word in text for word in ("MNIST", "Kaggle", "NSMC", "CC0", "CC BY-SA 4.0", "MIT"))


def test_the_readme_sections_that_messages_name_exist():
    headings = {line.lstrip("#").strip() for line in README.read_text(encoding="utf-8").splitlines()
                if line.startswith("#")}
    messages = [lesson_data.DATASETS["planet"].get_it, doctor.planet_status(Path("/nonexistent")), *NOTICE.values()]
    named = {section for message in messages for section in re.findall(r"README, section '([^']+)'", message)
             + re.findall(r"README의 '([^']+)' 절", message)}
    assert named and named <= headings, named - headings
