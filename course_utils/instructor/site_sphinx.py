"""Sphinx's side of the course website (site.py): each edition's settings, the language switch in every page's
header, Korean search and the site's style. The conf.py that site.py writes for an edition imports `settings` and
`setup` from here; this module needs Sphinx (requirements-docs.txt), site.py does not."""
from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx
from sphinx.search import SearchLanguage

from ..colab import REPO_URL
from .site import EDITIONS, ICON, KOREAN_SEARCH_JS, STRINGS, SWITCH_TEMPLATE, korean_search_forms, switch_href


class KoreanSearch(SearchLanguage):
    """Search for the Korean edition: words split at spaces and punctuation as in English, each word with Hangul
    indexed also without its particle or copula ending (site.korean_search_forms), nothing stemmed. Sphinx has no Korean
    search language: without this, 학습을 in a page is not found by the word 학습."""

    lang = "ko"
    language_name = "Korean"

    def split(self, input: str) -> list[str]:  # noqa: A002 - Sphinx's parameter name
        """Every word of the text in each form it is indexed under."""
        return [form for word in self._word_re.findall(input) for form in korean_search_forms(word)]

    def stem(self, word: str) -> str:
        """Lower case only; the query side (searchtools.js) lower-cases the same way."""
        return word.lower()


def settings(edition: str) -> dict[str, Any]:
    """The Sphinx configuration of one edition's project (its conf.py puts these in its globals)."""
    words = STRINGS[edition]
    return {
        "project": words["site_title"],
        "copyright": "the deep-learning course kit authors; code: MIT, lesson text and figures: CC BY-SA 4.0",
        "language": edition,
        "root_doc": "index",
        "extensions": ["myst_nb", "sphinx_copybutton"],
        "templates_path": ["../_templates"],
        "html_static_path": ["../_static"],
        "html_css_files": ["course-site.css"],
        # after Sphinx's translations.js, which it corrects
        "html_js_files": [(KOREAN_SEARCH_JS, {"priority": 900})] if edition == "ko" else [],
        "html_favicon": f"../_static/{ICON}",
        "html_context": {"default_mode": "light"},  # the lessons' figures are drawn for a light page
        "html_theme": "sphinx_book_theme",
        "html_title": words["site_title"],
        "html_copy_source": False,
        "html_show_sourcelink": False,
        "html_last_updated_fmt": None,
        "html_theme_options": {
            "repository_url": REPO_URL,
            "use_repository_button": True,
            "use_download_button": False,  # the lesson's own launch bar offers the student notebook
            "home_page_in_toc": True,
            "show_navbar_depth": 1,
            "article_header_end": ["article-header-buttons.html", SWITCH_TEMPLATE],
            "footer_content_items": ["copyright.html"],
        },
        "mathjax_path": "mathjax/tex-chtml.js",  # served from _static: the site works offline
        "myst_enable_extensions": ["dollarmath"],  # the lessons' $...$ and $$...$$, as Jupyter reads them
        "myst_heading_anchors": 3,  # links to a heading (grading.md#hidden-checks) work as on GitHub
        "nb_execution_mode": "off",  # the committed outputs, never a re-execution
        "nb_ipywidgets_js": {},  # widgets are static snapshots (site.widget_snapshot), never the CDN widget manager
        "nb_merge_streams": True,
    }


def other_edition(edition: str) -> str:
    """The edition a page's language switch leads to."""
    return next(other for other in EDITIONS if other != edition)


def switch_context(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Give every page the link to the same page in the other edition (a sibling folder of this one); the
    documentation pages, which only the English edition has, link the other edition's landing page."""
    other = other_edition(app.config.language)
    context["course_switch"] = {"href": switch_href(pagename, other), "language": other,
                                "label": STRINGS[other]["language_name"]}


def setup(app: Sphinx) -> dict[str, Any]:
    """Sphinx extension entry point of an edition's conf.py."""
    app.add_search_language(KoreanSearch)
    app.connect("html-page-context", switch_context)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
