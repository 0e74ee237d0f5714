"""Student-facing messages in the student's language: English, or Korean with COURSE_LANG=ko (or a Korean LANG)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from functools import cache
from pathlib import Path

import yaml

LANGUAGES = ("en", "ko")
CATALOGUE_DIR = Path(__file__).with_name("locales")


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
def has_korean_display_font() -> bool | None:
    """Whether fontconfig knows a font with Hangul (None where fontconfig is absent, e.g. Windows or macOS)."""
    if not sys.platform.startswith("linux") or shutil.which("fc-list") is None:
        return None
    found = subprocess.run(["fc-list", ":lang=ko", "family"], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


def warn_if_no_korean_font() -> bool:
    """Warn once, with what to install, when a Linux machine has no font that can show Hangul; True if it warned."""
    if has_korean_display_font() is not False:
        return False
    warnings.warn(t("No Korean font was found on this computer, so Korean text and emoji may show as empty boxes in "
                    "the browser. Install one (Debian/Ubuntu: sudo apt install fonts-nanum fonts-noto-color-emoji), "
                    "then restart the browser; README, section 'Korean edition', says more."), UserWarning, stacklevel=2)
    return True


def use_language(lang: str) -> None:
    """Switch this kernel's course messages to a language; for Korean also draw Hangul in plots and check fonts."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {lang!r}.")
    os.environ["COURSE_LANG"] = lang
    if lang == "ko":
        from course_utils.plots import use_korean_font

        if not use_korean_font():
            warnings.warn(t("Korean plot labels need the koreanize-matplotlib package: "
                            "pip install 'course-kit[text]' (or koreanize-matplotlib)."), UserWarning, stacklevel=2)
        warn_if_no_korean_font()
