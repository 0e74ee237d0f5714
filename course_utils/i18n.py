"""Student-facing messages in the student's language: English, or Korean with COURSE_LANG=ko (or a Korean LANG)."""
from __future__ import annotations

import os
import re
import shutil
import string
import subprocess
import sys
import warnings
from functools import cache
from pathlib import Path

import yaml

from .colab import in_colab

LANGUAGES = ("en", "ko")
CATALOGUE_DIR = Path(__file__).with_name("locales")
PACKAGE_DIR = str(Path(__file__).parent) + os.sep
NO_KOREAN_FONT = ("No Korean font was found on this computer, so Korean text and emoji may show as empty boxes in the "
                  "browser. Install one (Debian/Ubuntu: sudo apt install fonts-nanum fonts-noto-color-emoji), then "
                  "restart the browser; README, section 'Korean edition', says more.")
NO_PLOT_FONT = ("Korean plot labels need the koreanize-matplotlib package: pip install 'course-kit[text]' "
                "(or koreanize-matplotlib).")


def language() -> str:
    """The language of student-facing messages: COURSE_LANG if set, else the locale (LC_ALL, LC_MESSAGES, LANG)."""
    for variable in ("COURSE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable, "").strip().lower()
        if value:
            return "ko" if value.startswith("ko") else "en"
    return "en"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The message templates of one language, keyed by their English template."""
    path = CATALOGUE_DIR / f"{lang}.yml"
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.exists() else {}


def t(message: str, **fields: object) -> str:
    """Translate an English message template into the current language and fill in its {fields}."""
    template = catalogue(language()).get(message, message) if language() != "en" else message
    return template.format(**fields) if fields else template


@cache
def label_catalogue(lang: str) -> dict[str, str]:
    """The labels of one language (names, units, titles that lesson code hands to course_utils), keyed by English."""
    path = CATALOGUE_DIR / f"{lang}_labels.yml"
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.exists() else {}


def label_pattern(english: str) -> re.Pattern[str]:
    """A regular expression that matches a label built from the template `english`, one named group per {field}."""
    parts = []
    for literal, name, _, _ in string.Formatter().parse(english):
        parts.append(re.escape(literal))
        if name is not None:
            parts.append(f"(?P<{name}>.+?)")
    return re.compile("".join(parts), re.DOTALL)


def literal_text(template: str) -> str:
    """A template's text without its {fields}."""
    return "".join(literal for literal, _, _, _ in string.Formatter().parse(template))


@cache
def label_patterns(lang: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    """The labels of one language whose English has {fields} (e.g. '{model}: learning curves') as patterns, the
    longest literal text first so that 'learning rate {rate}: w after ...' wins over 'learning rate {rate}' (a template
    of fields alone would match every label, so it is left out)."""
    templates = sorted((english for english in label_catalogue(lang) if "{" in english and literal_text(english)),
                       key=lambda english: -len(literal_text(english)))
    return tuple((label_pattern(english), label_catalogue(lang)[english]) for english in templates)


def label(text: str) -> str:
    """A label that lesson code hands to course_utils (a model's name, a unit, a figure title) in the student's
    language: its translation when the label catalogue has it, matched whole or by a template; else the text as is.

    The data (recorded results, Comparison fields) keep the English; only what is shown is translated."""
    lang = language()
    if lang == "en" or not isinstance(text, str):
        return text
    exact = label_catalogue(lang).get(text)
    if exact is not None:
        return exact
    for pattern, translated in label_patterns(lang):
        found = pattern.fullmatch(text)
        if found:
            return translated.format(**{name: label(value) for name, value in found.groupdict().items()})
    return text


def bilingual(message: str) -> str:
    """A message in the student's language followed, for Korean, by the English: readable without a Korean font."""
    if language() == "en":
        return message
    return f"{catalogue(language()).get(message, message)}\n{message}"


def student_stacklevel() -> int:
    """The warnings stacklevel, for a warning raised in the calling function, of the first frame outside course_utils:
    the student's cell, so that a notebook shows the warning under the line the student wrote."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


def kernel_is_remote() -> bool:
    """Whether the kernel runs on a server rather than on the computer with the browser: Google Colab or JupyterHub."""
    return in_colab() or any(name.startswith("JUPYTERHUB_") for name in os.environ)


@cache
def has_korean_display_font() -> bool | None:
    """Whether fontconfig knows a font with Hangul (None where fontconfig is absent, e.g. Windows or macOS)."""
    if not sys.platform.startswith("linux") or shutil.which("fc-list") is None:
        return None
    found = subprocess.run(["fc-list", ":lang=ko", "family"], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


def warn_if_no_korean_font() -> bool:
    """Warn, in the student's language and in English, what to install when the Linux machine that runs the kernel
    and the browser has no font that can show Hangul; True if it warned.

    A remote kernel (Colab, JupyterHub) says nothing about the fonts of the browser's computer, so there it is silent.
    The warning points at the student's cell (the first caller outside course_utils), not at this module."""
    if kernel_is_remote() or has_korean_display_font() is not False:
        return False
    warnings.warn(bilingual(NO_KOREAN_FONT), UserWarning, stacklevel=student_stacklevel())
    return True


def use_language(lang: str) -> None:
    """Switch this kernel's course messages to a language; for Korean also draw Hangul in plots and check fonts."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {lang!r}.")
    os.environ["COURSE_LANG"] = lang
    if lang == "ko":
        from course_utils.plots import use_korean_font

        if not use_korean_font():
            warnings.warn(bilingual(NO_PLOT_FONT), UserWarning, stacklevel=student_stacklevel())
        warn_if_no_korean_font()
