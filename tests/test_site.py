"""The course website (`kit.py site`, course_utils/instructor/site.py): unit tests of its pure parts (lesson order,
pairing of the editions, solution stripping, launch bar, widget snapshots, Korean search forms, the offline guard,
kit.py's install of requirements-docs.txt, the instructor docs' links, table of contents and language switch), then
the real site, built once from the committed notebooks and served over HTTP to headless Chromium (Playwright, as
tests/test_jupyterlab_e2e.py): every page (the docs pages too) loads cleanly with nothing from the internet, search
finds English and Korean words, math is rendered, no page shows a solution or a real Planet chip, the language
switch, Korean fonts and a phone-sized viewport. Which tests are slow is said in tests/conftest.py."""
from __future__ import annotations

import functools
import html.parser
import http.server
import importlib.util
import json
import re
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from test_jupyterlab_e2e import fonts_drawing

from course_utils.instructor import site
from course_utils.instructor.site import (SiteError, course_lessons, external_loads, flat_text, korean_search_forms,
                                          secret_phrases, site_notebook, student_path, widget_snapshot)
from course_utils.instructor.licensed import LICENSED_TAG, NOTICE, is_licensed, ran_on_licensed_data
from course_utils.instructor.release import notebook_text
from course_utils.instructor.student import BEGIN, cell_source

REPO = Path(__file__).resolve().parents[1]
KIT = REPO / "scripts" / "kit.py"
NOTEBOOKS = REPO / "notebooks"
LESSONS = course_lessons(NOTEBOOKS)
PAGES = [(edition, lesson) for edition in site.EDITIONS for lesson in LESSONS]
PAGE_IDS = [f"{edition}-{lesson.page[:2]}" for edition, lesson in PAGES]
DOCS_PAGES = [f"docs/{page.relative_to(site.DOCS_DIR).with_suffix('.html').as_posix()}"
              for page in sorted(site.DOCS_DIR.rglob("*.md"))]  # en/<page> in the built site


# --- pure parts, no Sphinx and no browser --------------------------------------------------------------------------

def cell(kind: str, source: str, **extra) -> dict:
    """A notebook cell."""
    base = {"cell_type": kind, "metadata": extra.pop("metadata", {}), "source": source}
    return {**base, "outputs": extra.pop("outputs", []), "execution_count": None} if kind == "code" else base


def notebook(title: str, *cells: dict, widgets: dict | None = None) -> dict:
    """A lesson notebook: its title cell with a Colab badge pointing at the instructor version, then cells."""
    badge = ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research."
             "google.com/github/dl-course-kit/deep-learning-course-kit/blob/main/notebooks/01_x.ipynb)")
    metadata = {"widgets": {site.WIDGET_STATE: {"state": widgets}}} if widgets else {}
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": metadata,
            "cells": [cell("markdown", f"# {title}\n\n{badge}\n\nWhat this lesson does."), *cells]}


def write(path: Path, content: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, ensure_ascii=False))
    return path


def test_lessons_pair_both_editions_in_course_order_with_their_titles(tmp_path):
    for name, en, ko in [("02_b.ipynb", "02 · Second", "02 · 둘째"), ("01_a.ipynb", "01 · First", "01 · 첫째")]:
        write(tmp_path / name, notebook(en))
        write(tmp_path / "ko" / name, notebook(ko))
    write(tmp_path / "helper.ipynb", notebook("not a lesson"))
    lessons = course_lessons(tmp_path)
    assert [lesson.page for lesson in lessons] == ["01_a", "02_b"]
    assert [lesson.titles for lesson in lessons] == [{"en": "01 · First", "ko": "01 · 첫째"},
                                                     {"en": "02 · Second", "ko": "02 · 둘째"}]
    assert lessons[1].notebooks["ko"] == tmp_path / "ko" / "02_b.ipynb"


def test_a_lesson_missing_from_one_edition_is_an_error_that_says_what_to_run(tmp_path):
    write(tmp_path / "01_a.ipynb", notebook("01 · First"))
    write(tmp_path / "02_b.ipynb", notebook("02 · Second"))
    write(tmp_path / "ko" / "01_a.ipynb", notebook("01 · 첫째"))
    with pytest.raises(SiteError, match=r"lacks 02_b\.ipynb .*translation build"):
        course_lessons(tmp_path)


def test_a_lesson_without_a_title_line_is_named(tmp_path):
    untitled = notebook("01 · First")
    untitled["cells"][0]["source"] = "No heading here."
    write(tmp_path / "01_a.ipynb", untitled)
    write(tmp_path / "ko" / "01_a.ipynb", notebook("01 · 첫째"))
    with pytest.raises(SiteError, match=r"01_a\.ipynb: the first cell has no '# NN · Title' line"):
        course_lessons(tmp_path)


EXERCISE = notebook(
    "01 · First",
    cell("code", "# Colab setup: inside Google Colab, install course_utils\nimport sys"),
    cell("code", "print('hello')", outputs=[{"output_type": "stream", "name": "stdout", "text": "hello\n"}]),
    cell("code", f"answer = None\n{BEGIN}\nanswer = secret_formula(42)\n### END SOLUTION",
         outputs=[{"output_type": "stream", "name": "stdout", "text": "computed\n"}]),
    cell("code", "check_answer(answer)", outputs=[{"output_type": "stream", "name": "stdout", "text": "correct!\n"}]),
    cell("markdown", "**Q1.** Why?"),
    cell("markdown", "Because the gradient vanishes.", metadata={"tags": ["answers"]}),
)


def lesson_of(tmp_path: Path, instructor: dict) -> site.Lesson:
    write(tmp_path / "01_a.ipynb", instructor)
    write(tmp_path / "ko" / "01_a.ipynb", instructor)
    return course_lessons(tmp_path)[0]


def test_a_page_keeps_the_lessons_outputs_but_no_solution_answer_or_setup_cell(tmp_path):
    page = site_notebook(EXERCISE, lesson_of(tmp_path, EXERCISE), "en")
    text = json.dumps(page)
    assert "secret_formula" not in text and "Because the gradient vanishes" not in text
    assert "computed" not in text and "correct!" not in text  # the solution's output and its check's
    assert "# YOUR CODE HERE" in text and "hello" in text  # the exercise to fill in; a lesson cell's output stays
    assert "Colab setup" not in text and "**Q1.** Why?" in text


def test_a_solution_shown_outside_its_block_stops_the_build(tmp_path):
    leaky = json.loads(json.dumps(EXERCISE))
    leaky["cells"][2]["outputs"][0]["text"] = "answer = secret_formula(42)\n"  # a lesson cell prints the solution
    with pytest.raises(SiteError, match=r"1 line\(s\) of a solution or answer, e\.g\. 'answer = secret_formula\(42\)'"):
        site_notebook(leaky, lesson_of(tmp_path, leaky), "en")


def test_a_prompt_that_quotes_its_solution_wrapped_is_not_a_leak():
    quoting = json.loads(json.dumps(EXERCISE))
    quoting["cells"][5]["source"] = "Compute `answer =\nsecret_formula(42)` below."
    assert "answer = secret_formula(42)" not in secret_phrases(quoting)
    assert secret_phrases(EXERCISE) == ["Because the gradient vanishes.", "answer = secret_formula(42)"]


def test_the_launch_bar_opens_the_student_notebook_in_colab_and_offers_it(tmp_path):
    lesson = lesson_of(tmp_path, EXERCISE)
    title = site_notebook(EXERCISE, lesson, "ko")["cells"][0]["source"]
    assert title.startswith("# 01 · First\n\n<div class=\"course-launch\">")
    assert ("https://colab.research.google.com/github/dl-course-kit/deep-learning-course-kit/blob/gh-pages/"
            "notebooks/ko/01_a.ipynb") in title
    assert "blob/main" not in title and "colab-badge.svg" not in title  # not the instructor's; no image from the web
    assert 'href="../notebooks/ko/01_a.ipynb" download' in title
    assert "<code>python3 scripts/kit.py lab --language ko</code>" in title
    assert student_path(lesson, "en") == "notebooks/01_a.ipynb"


def test_the_downloaded_notebook_is_the_student_version_whose_badge_opens_itself(tmp_path):
    lesson = lesson_of(tmp_path, EXERCISE)
    download = site.download_notebook(EXERCISE, lesson, "en")
    assert "secret_formula" not in json.dumps(download) and download["metadata"]["course_kit"]["student_version"]
    assert "/blob/gh-pages/notebooks/01_a.ipynb)\n\nWhat this lesson does." in download["cells"][0]["source"]


SLIDER_STATE = {
    "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_rate", "IPY_MODEL_out", "IPY_MODEL_done"]}},
    "rate": {"model_name": "FloatLogSliderModel", "state": {"description": "learning rate", "value": 0.1,
                                                           "readout_format": ".3f"}},
    "out": {"model_name": "OutputModel", "state": {"outputs": [
        {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=\n", "text/plain": "<Figure>"}}]}},
    "done": {"model_name": "CheckboxModel", "state": {"description": "good food", "value": True}},
}
CONTROLS_STATE = {
    "box": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_pick", "IPY_MODEL_text", "IPY_MODEL_blank",
                                                              "IPY_MODEL_odd"]}},
    "pick": {"model_name": "DropdownModel", "state": {"description": "optimiser", "_options_labels": ["SGD", "Adam"],
                                                       "index": 1, "value": None}},
    "text": {"model_name": "TextModel", "state": {"description": "review:", "value": ""}},
    "blank": {"model_name": "LabelModel", "state": {"value": ""}},
    "odd": {"model_name": "FloatSliderModel", "state": {"description": "k", "value": 1500.0, "readout_format": ".2s"}},
}


def test_a_widget_becomes_a_static_snapshot_of_its_controls_and_outputs(tmp_path):
    instructor = notebook("01 · First", cell("code", "widgets.interactive(f, rate=slider)", outputs=[
        {"output_type": "display_data",
         "data": {site.WIDGET_VIEW: {"model_id": "box"}, "text/plain": "interactive(...)"}}]),
        widgets=SLIDER_STATE)
    page = site_notebook(instructor, lesson_of(tmp_path, instructor), "en")
    shown = page["cells"][-1]["outputs"][0]["data"]["text/html"]
    assert "learning rate</span> <code>0.100</code>" in shown  # the slider's value, in its own format
    assert '<img alt="" src="data:image/png;base64,iVBORw0KGgo=">' in shown  # the figure it drew
    assert '<input type="checkbox" disabled checked aria-label="good food"> good food' in shown
    assert "run the notebook" in shown and "widgets" not in page["metadata"]  # no CDN widget manager for myst-nb
    korean = widget_snapshot({"model_id": "box"}, SLIDER_STATE, "ko")["data"]["text/html"]
    assert "정지 화면" in korean


def test_a_widget_snapshot_shows_a_dropdowns_choice_and_says_when_a_box_is_empty():
    shown = widget_snapshot({"model_id": "box"}, CONTROLS_STATE, "en")["data"]["text/html"]
    assert '<div class="course-widget-box course-widget-row">' in shown
    assert "optimiser</span> <code>Adam</code>" in shown and "review:</span> <code>(empty)</code>" in shown
    assert "k</span> <code>1500.0</code>" in shown  # a readout format Python cannot apply: the plain value
    assert shown.count("course-widget-control") == 3  # the empty label shows nothing


@pytest.mark.parametrize("word, forms", [
    ("경사하강법을", ["경사하강법을", "경사하강법"]),
    ("값을", ["값을", "값"]),
    ("모델에서는", ["모델에서는", "모델", "모델에서"]),
    ("을", ["을"]),  # a particle alone keeps itself: no empty form
    ("MNIST를", ["MNIST를", "MNIST"]),
    ("gradients", ["gradients"]),
])
def test_a_korean_word_is_indexed_also_without_its_particle(word, forms):
    assert sorted(korean_search_forms(word)) == sorted(forms)


def test_the_offline_guard_finds_loads_from_the_internet_but_not_links(tmp_path):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "a.html").write_text(
        '<script src="https://cdn.jsdelivr.net/x.js"></script><link rel="stylesheet" href="//fonts.example/f.css">'
        '<img src="http://example.org/i.png"><a href="https://colab.research.google.com/github/x">Colab</a>'
        '<script src="_static/local.js"></script><img src="data:image/png;base64,AAAA">')
    (tmp_path / "en" / "s.css").write_text("@font-face { src: url('https://fonts.example/a.woff2'); }")
    found = external_loads(tmp_path)
    assert len(found) == 4 and all(line.startswith(("en/a.html: ", "en/s.css: ")) for line in found)
    assert not any("colab" in line or "local.js" in line for line in found)


def docs_tree(root: Path) -> Path:
    """A repository with a README, a source file and docs/ of two pages; returns its docs folder."""
    (root / "src").mkdir(parents=True)
    (root / "src" / "tool.py").write_text("")
    (root / "README.md").write_text("# Kit\n\n## Start learning\n")
    docs = root / "docs"
    (docs / "guides").mkdir(parents=True)
    (docs / "index.md").write_text("# Docs\n\n- [Zeta](guides/zeta.md)\n- [Alpha](guides/alpha.md#use)\n")
    (docs / "guides" / "alpha.md").write_text("# Alpha\n\n## Use\n")
    return docs


def test_a_docs_page_keeps_links_between_pages_and_sends_other_repository_files_to_github(tmp_path):
    docs = docs_tree(tmp_path)
    page = docs / "guides" / "zeta.md"
    page.write_text("# Zeta\n\nSee [README](../../README.md#start-learning), [the tool](../../src/tool.py),\n"
                    "[src](../../src), [alpha](alpha.md#use), [Dask](https://dask.org), [below](#zeta) and `[span](nowhere.md)`.\n\n"
                    "```\nSUBMISSIONS/[x](missing.md)\n```\n")
    shown = site.docs_page(page, docs)
    blob = f"{site.REPO_URL}/blob/main"
    assert f"[README]({blob}/README.md#start-learning)" in shown and f"[the tool]({blob}/src/tool.py)" in shown
    assert f"[src]({site.REPO_URL}/tree/main/src)" in shown
    assert "[alpha](alpha.md#use)" in shown and "[Dask](https://dask.org)" in shown and "[below](#zeta)" in shown
    assert "`[span](nowhere.md)`" in shown and "SUBMISSIONS/[x](missing.md)\n```" in shown  # code is left as it is
    page.write_text("# Zeta\n\nSee [the old guide](old.md).\n")
    with pytest.raises(SiteError, match=r"zeta\.md links to 'old\.md', which is not a file of the repository"):
        site.docs_page(page, docs)


def test_the_docs_index_gets_every_page_in_its_table_of_contents_in_the_order_it_links_them(tmp_path):
    docs = docs_tree(tmp_path)
    (docs / "guides" / "zeta.md").write_text("# Zeta\n")
    (docs / "extra.md").write_text("# Extra, not linked from the index\n")
    out = tmp_path / "site-source" / "docs"
    site.write_docs(out, docs)
    index = (out / "index.md").read_text()
    assert index.endswith("```{toctree}\n:hidden:\n:maxdepth: 1\n\nguides/zeta\nguides/alpha\nextra\n```\n")
    assert (out / "guides" / "alpha.md").read_text() == "# Alpha\n\n## Use\n"
    (docs / "index.md").unlink()
    with pytest.raises(SiteError, match=r"index\.md is missing"):
        site.write_docs(tmp_path / "again", docs)


def test_both_landing_pages_link_the_english_instructor_docs(tmp_path):
    lessons = [lesson_of(tmp_path, EXERCISE)]
    english, korean = site.landing_page(lessons, "en"), site.landing_page(lessons, "ko")
    assert "[instructor documentation](docs/index.md)" in english
    assert english.count("docs/index\n") == 1  # in the English table of contents
    assert '<a href="../en/docs/index.html" hreflang="en">' in korean and "docs/index\n" not in korean


def test_the_language_switch_of_a_docs_page_leads_to_the_other_editions_landing_page():
    assert site.switch_href("docs/instructors/grading", "ko") == "../../../ko/index.html"
    assert site.switch_href("docs/index", "ko") == "../../ko/index.html"
    assert site.switch_href("03_backprop_from_scratch", "ko") == "../ko/03_backprop_from_scratch.html"
    assert site.switch_href("index", "en") == "../en/index.html"


def load_kit():
    spec = importlib.util.spec_from_file_location("kit_for_site_test", KIT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_kit_site_installs_the_docs_requirements_within_the_course_pins_once(tmp_path, monkeypatch):
    kit = load_kit()
    runs = []
    monkeypatch.setattr(kit, "DOCS_STAMP", tmp_path / ".requirements-docs.sha256")
    monkeypatch.setattr(kit, "subprocess", SimpleNamespace(run=lambda command, check: runs.append(command)))
    assert kit.setup_docs() is True and kit.setup_docs() is False
    assert len(runs) == 1 and runs[0][-4:] == ["-r", str(REPO / "requirements-docs.txt"),
                                               "-c", str(REPO / "requirements.txt")]
    monkeypatch.setattr(kit, "setup", lambda: False)
    monkeypatch.setattr(kit, "setup_docs", lambda: runs.append("docs"))
    monkeypatch.setattr(kit, "in_venv", lambda *args: runs.append(args) or 0)
    assert kit.main(["site", "--out", "x"]) == 0
    assert runs[1:] == ["docs", ("-m", "course_utils.instructor.site", "--out", "x")]


def test_the_docs_requirements_are_exact_pins_outside_the_students_requirements():
    docs = [line for line in (REPO / "requirements-docs.txt").read_text().splitlines() if line and line[0] != "#"]
    assert docs and all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][\w.]*", line) for line in docs)
    course = (REPO / "requirements.txt").read_text().lower()
    assert not any(line.split("==")[0].lower() + "==" in course for line in docs)


def test_the_pages_workflow_builds_with_kit_and_publishes_the_branch_colab_opens():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "pages.yml").read_text())
    runs = [step.get("run", "") for step in workflow["jobs"]["site"]["steps"]]
    assert "python3 scripts/kit.py site" in [run.strip() for run in runs]
    publish = runs[-1]
    assert publish.startswith("cd build/site\n") and f"git init -q -b {site.SITE_BRANCH}" in publish
    assert publish.rstrip().endswith(f'.git" {site.SITE_BRANCH}')


# --- the built site (tests/conftest.py marks these slow; the browser ones also `browser`) ---------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The site as `python3 scripts/kit.py site` builds it, from the committed notebooks."""
    out = tmp_path_factory.mktemp("site") / "site"
    finished = subprocess.run([sys.executable, str(KIT), "site", "--out", str(out)], cwd=REPO, capture_output=True,
                              text=True)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    return out


class PageText(html.parser.HTMLParser):
    """The text a reader sees in an HTML page (scripts and styles left out) and its element ids."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.ids: set[str] = set()
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in ("script", "style")
        self.ids.update(value for name, value in attrs if name == "id" and value)

    def handle_endtag(self, tag):
        self.hidden -= tag in ("script", "style")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


@functools.cache
def parsed(path: Path) -> PageText:
    page = PageText()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_built_site_has_both_editions_side_by_side_and_the_student_notebooks(built):
    assert (built / "index.html").is_file() and (built / ".nojekyll").is_file()
    colab = re.compile(r'class="course-launch-colab" href="https://colab\.research\.google\.com/github/'
                       rf'{re.escape(site.REPO_SLUG)}/blob/{site.SITE_BRANCH}/([^"]+)"')
    for edition, lesson in PAGES:
        opened = colab.findall((built / edition / f"{lesson.page}.html").read_text(encoding="utf-8"))
        assert opened == [student_path(lesson, edition)], "Colab opens the lesson's student notebook, as published"
        assert (built / opened[0]).is_file()
    for edition in site.EDITIONS:
        landing = flat_text("".join(parsed(built / edition / "index.html").parts))
        titles = [lesson.titles[edition] for lesson in LESSONS]
        assert all(title in landing for title in titles), "the landing page lists every lesson by its title"
        assert [landing.index(title) for title in titles] == sorted(landing.index(title) for title in titles)
        assert site.LAB_COMMAND[edition] in landing and site.STRINGS[edition]["docs_link"] in landing
        assert (built / edition / "licences.html").is_file()
        licences = flat_text("".join(parsed(built / edition / "licences.html").parts))
        assert all(word in licences for word in ("MNIST", "Kaggle", "CC0 1.0", "CC BY-SA 4.0", "MIT"))
    for page in DOCS_PAGES:  # the instructor documentation: a section of the English edition only
        assert (built / "en" / page).is_file() and not (built / "ko" / page).exists()
    assert external_loads(built) == []


class TaggedCells(html.parser.HTMLParser):
    """Per rendered cell with a given tag (myst-nb writes a cell's tags into its class as tag_<name>): its text and
    its images."""

    def __init__(self, tag: str) -> None:
        super().__init__()
        self.tag, self.cells, self.depth = f"tag_{tag}", [], 0

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if self.depth:
            self.depth += tag == "div"
            if tag == "img":
                self.cells[-1]["images"].append(dict(attrs).get("src"))
        elif tag == "div" and "cell" in classes and self.tag in classes:
            self.depth = 1
            self.cells.append({"text": "", "images": []})

    def handle_endtag(self, tag):
        if self.depth and tag == "div":
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.cells[-1]["text"] += data


@pytest.mark.parametrize("edition", site.EDITIONS)
def test_built_site_shows_no_real_planet_chip(built, edition):
    lesson = next(lesson for lesson in LESSONS if lesson.page.startswith("05_"))
    committed = json.loads(lesson.notebooks[edition].read_text(encoding="utf-8"))
    tagged = [c for c in committed["cells"] if c["cell_type"] == "code" and is_licensed(c)]
    assert tagged and ran_on_licensed_data(committed), "lesson 05's committed run used real chips"
    page = TaggedCells(LICENSED_TAG)
    page.feed((built / edition / f"{lesson.page}.html").read_text(encoding="utf-8"))
    assert len(page.cells) == len(tagged)
    assert [cell["images"] for cell in page.cells] == [[]] * len(tagged)
    notice = flat_text(NOTICE[edition])
    assert all(notice in flat_text(cell["text"]) for cell in page.cells)


@pytest.mark.parametrize("edition, lesson", PAGES, ids=PAGE_IDS)
def test_built_site_shows_no_solution_or_answer(built, edition, lesson):
    instructor = json.loads(lesson.notebooks[edition].read_text(encoding="utf-8"))
    secrets = secret_phrases(instructor)
    assert secrets, "the lesson has solutions to hide"
    page = flat_text("".join(parsed(built / edition / f"{lesson.page}.html").parts))
    download = flat_text(notebook_text(json.loads((built / student_path(lesson, edition)).read_text(encoding="utf-8"))))
    for text in (page, download):
        assert BEGIN not in text and "# YOUR CODE HERE" in text
        assert [secret for secret in secrets if secret in text] == []


@pytest.fixture(scope="module")
def served(built):
    """The built site over HTTP on a free loopback port; yields its base URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(built)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def open_page(browser, served: str, path: str, width: int = 1280, height: int = 900):
    """A page at path, with every console error, failed or refused request and request off the site recorded in
    page.problems (requests off the site are aborted: the site must work offline)."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.problems = []
    page.on("console", lambda message: message.type == "error" and page.problems.append(f"console: {message.text}"))
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: request.url.startswith(served)
            and page.problems.append(f"failed: {request.url}"))
    page.on("response", lambda response: response.status >= 400
            and page.problems.append(f"HTTP {response.status}: {response.url}"))

    def only_the_site(route):
        if route.request.url.startswith((served, "data:")):
            route.continue_()
        else:
            page.problems.append(f"off the site: {route.request.url}")
            route.abort()

    page.route("**/*", only_the_site)
    page.goto(f"{served}/{path}")
    page.wait_for_load_state("load")
    return page


MATH_JS = """async () => {
    if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
    const prose = document.querySelector('article').cloneNode(true);
    prose.querySelectorAll('pre, code, .cell_output, mjx-container, script').forEach(e => e.remove());
    return {math: document.querySelectorAll('.math').length,
            unrendered: Array.from(document.querySelectorAll('.math')).filter(m => !m.querySelector('mjx-container'))
                             .map(m => m.textContent.slice(0, 60)),
            raw: (prose.textContent.match(/\\$\\$|\\\\frac|\\\\partial|\\\\\\(/g) || []).slice(0, 5)};
}"""
IMAGES_JS = """() => Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)
                   .map(i => i.getAttribute('src').slice(0, 80))"""
LINKS_JS = "() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"


def broken_links(built: Path, served: str, links: list[str]) -> list[str]:
    """The links of a page into the site whose file, or whose #fragment in it, does not exist."""
    broken = []
    for link in links:
        if not link.startswith(served):
            continue
        target = urllib.parse.urlparse(link)
        path = built / urllib.parse.unquote(target.path).lstrip("/")
        path = path / "index.html" if path.is_dir() else path
        if not path.is_file():
            broken.append(link)
        elif target.fragment and path.suffix == ".html" and target.fragment not in parsed(path).ids:
            broken.append(link)
    return broken


def has_math(lesson: site.Lesson, edition: str) -> bool:
    """Whether the lesson's markdown holds LaTeX ($...$)."""
    cells = json.loads(lesson.notebooks[edition].read_text(encoding="utf-8"))["cells"]
    return any("$" in cell_source(c) for c in cells if c["cell_type"] == "markdown")


SITE_PAGES = [("index.html", False), *[(f"{e}/{p}.html", False) for e in site.EDITIONS for p in ("index", "licences")],
              *[(f"en/{page}", False) for page in DOCS_PAGES],
              *[(f"{edition}/{lesson.page}.html", has_math(lesson, edition)) for edition, lesson in PAGES]]


@pytest.mark.parametrize("path, math_expected", SITE_PAGES, ids=[path for path, _ in SITE_PAGES])
def test_in_a_browser_every_page_loads_offline_with_its_images_links_and_math(built, served, browser, path,
                                                                              math_expected):
    page = open_page(browser, served, path)
    try:
        math = page.evaluate(MATH_JS) if page.locator("article").count() else {"math": 0, "unrendered": [], "raw": []}
        page.wait_for_load_state("networkidle")
        assert page.problems == []
        assert page.evaluate(IMAGES_JS) == [], "an image did not load"
        assert broken_links(built, served, page.evaluate(LINKS_JS)) == []
        assert math["unrendered"] == [] and math["raw"] == [], math
        assert math["math"] > 0 or not math_expected, "the lesson's LaTeX is rendered as math"
        if re.search(r"/\d\d_", path):
            assert page.locator("button.copybtn").count() > 0, "code cells have a copy button"
    finally:
        page.close()


def search(browser, served: str, edition: str, query: str) -> tuple[str, list[str]]:
    """The search summary and the result links (page file names) of the edition's search page for query."""
    page = open_page(browser, served, f"{edition}/search.html?q={urllib.parse.quote(query)}")
    try:
        page.wait_for_function("() => (document.querySelector('#search-results .search-summary') || {}).textContent",
                               timeout=60_000)
        links = page.evaluate("() => Array.from(document.querySelectorAll('#search-results li a'))"
                              ".map(a => a.getAttribute('href'))")
        summary = page.locator("#search-results .search-summary").inner_text()
        assert page.problems == []
        return summary, links
    finally:
        page.close()


def particle_only_word(built: Path) -> tuple[str, str]:
    """A two-syllable Korean word that the Korean pages only write with particles attached (방향을, 방향으로, ...), so
    that only the Korean search forms index it (Sphinx matches parts of words only from three letters on): the one
    written with the most different particles, and a lesson page holding it."""
    index = (built / "ko" / "searchindex.js").read_text(encoding="utf-8")
    data = json.loads(index[index.index("(") + 1: index.rindex(")")])
    written = set()
    for page in (built / "ko").glob("*.html"):
        written.update(re.findall(r"\w+", " ".join(parsed(page).parts)))  # words split at tags, as Sphinx does
    lessons = {number for number, name in enumerate(data["docnames"]) if re.match(r"\d\d_", name)}
    candidates = []
    for term, docs in data["terms"].items():
        docs = set(docs) if isinstance(docs, list) else {docs}
        if re.fullmatch(r"[가-힣]{2}", term) and term not in written and docs & lessons:
            forms = sum(term + ending in written for ending in site.KOREAN_ENDINGS)
            candidates.append((-forms, term, data["docnames"][min(docs & lessons)] + ".html"))
    assert candidates, "no Korean word is indexed without its particle: the Korean search forms are missing"
    _, word, lesson = min(candidates)
    return word, lesson


def test_in_a_browser_search_finds_english_and_korean_words_and_links_the_lesson(built, served, browser):
    summary, links = search(browser, served, "en", "backpropagation")
    assert links and links[0] == "03_backprop_from_scratch.html" and "found" in summary
    summary, links = search(browser, served, "ko", "과적합")
    assert links and links[0] == "04_overfitting_curves.html"
    assert "검색을 마쳤습니다" in summary  # Sphinx's Korean catalogue alone leaves the summary empty
    word, lesson = particle_only_word(built)
    summary, links = search(browser, served, "ko", word)
    assert lesson in links, (word, links)


def test_in_a_browser_the_language_switch_leads_to_the_same_lesson(served, browser):
    lesson = LESSONS[1]
    page = open_page(browser, served, f"en/{lesson.page}.html")
    try:
        page.locator("a.course-language-switch").click()
        page.wait_for_url(f"**/ko/{lesson.page}.html")
        assert lesson.titles["ko"] in page.locator("article h1").inner_text()
        page.locator("a.course-language-switch").click()
        page.wait_for_url(f"**/en/{lesson.page}.html")
        assert page.problems == []
    finally:
        page.close()


def test_in_a_browser_korean_text_is_drawn_with_a_font_that_has_hangul(served, browser):
    korean_fonts = subprocess.run(["fc-list", ":lang=ko", "family"], capture_output=True, text=True).stdout
    assert korean_fonts.strip(), "no Korean font installed: .ci/install_browser.sh installs fonts-nanum"
    families = {name.strip() for line in korean_fonts.splitlines() for name in line.split(",")}
    page = open_page(browser, served, f"ko/{LESSONS[1].page}.html")
    try:
        for selector in ("article h1", "article p"):
            text, fonts = fonts_drawing(page, selector)
            assert set(fonts) & families, (selector, text, fonts)
    finally:
        page.close()


@pytest.mark.parametrize("edition, lesson", PAGES, ids=PAGE_IDS)
def test_in_a_browser_a_phone_sized_lesson_page_has_no_horizontal_scroll(served, browser, edition, lesson):
    page = open_page(browser, served, f"{edition}/{lesson.page}.html", width=390, height=844)
    try:
        page.wait_for_load_state("networkidle")
        width, viewport = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= viewport, f"the page is {width} px wide in a {viewport} px viewport"
    finally:
        page.close()
