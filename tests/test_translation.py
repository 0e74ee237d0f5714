"""The Korean edition: complete, fresh, built from its sources, faithful in formulas and links, and consistent in terms."""
from __future__ import annotations

import csv
import importlib.util
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from korean_style import colon_endings, particle_placeholders

from course_utils.compare import KOREAN_VERDICTS
from course_utils.instructor import translation
from course_utils.instructor.translation import (
    LANGUAGE_CELL_ID, TranslationError, build_edition, cell_text, english_notebooks, load_translation, render,
    source_hash, translation_path, translation_status, update_translation,
)

LESSONS = english_notebooks()
GLOSSARY = yaml.safe_load((translation.TRANSLATION_DIR / "ko" / "glossary.yml").read_text(encoding="utf-8"))
HANGUL = re.compile(r"[가-힣]")
DISPLAY_MATH = re.compile(r"\$\$.+?\$\$", re.S)
INLINE_MATH = re.compile(r"(?<!\$)\$(?!\$)[^$]+?\$")  # may span a line break; display math is removed first
CODE = re.compile(r"```.*?```|`[^`]+`", re.S)
URL = re.compile(r"\]\(([^)\s]+)\)")
NOT_PROSE = [CODE, DISPLAY_MATH, INLINE_MATH, re.compile(r"\]\([^)]*\)"), re.compile(r"<[^>]+>")]
# A verdict word of the comparison rule with its Korean gloss: `"level with"`(비슷함) or "ahead of"(앞섬: …).
VERDICT_GLOSS = re.compile(r'`?"(ahead of|level with|behind)"`?\s*\(([^)]*)\)')


def prose(text: str) -> str:
    """Markdown without code, math, link targets and HTML tags: the words a glossary term can appear in."""
    for pattern in NOT_PROSE:
        text = pattern.sub(" ", text)
    return text


def inline_formulas(text: str) -> list[str]:
    """The inline formulas of a cell outside code and display math, whitespace normalised, sorted."""
    text = DISPLAY_MATH.sub(" ", CODE.sub(" ", text))
    return sorted(" ".join(formula.split()) for formula in INLINE_MATH.findall(text))


def english_terms(text: str) -> set[int]:
    """Indices of the glossary terms an English text uses, longest terms first so they hide their parts."""
    found, rest = set(), prose(text)
    for index in sorted(range(len(GLOSSARY)), key=lambda i: -len(GLOSSARY[i]["en"])):
        pattern = re.compile(rf"(?<![\w-])(?:{GLOSSARY[index]['en']})(?![\w-])", re.I)
        if pattern.search(rest):
            found.add(index)
            rest = pattern.sub(" ", rest)
    return found


def cells_of(notebook: Path) -> list[tuple[dict, str]]:
    """(English markdown cell, Korean text) in notebook order."""
    korean = load_translation(translation_path(notebook))
    return [(cell, korean[cell["id"]]["text"]) for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]
            if cell["cell_type"] == "markdown" and cell["id"] in korean]


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda p: p.stem)
def test_every_markdown_cell_has_a_fresh_translation(notebook):
    status = translation_status(notebook)
    assert status.complete, status.describe() + " (python -m course_utils.instructor.translation todo " + notebook.stem[:2] + ")"


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda p: p.stem)
def test_the_korean_notebook_is_built_from_its_sources(notebook):
    target = translation.edition_path(notebook)
    assert target.exists(), f"{target.name} missing: python -m course_utils.instructor.translation build"
    assert target.read_text(encoding="utf-8") == render(build_edition(notebook)), \
        f"{target.name} is stale: python -m course_utils.instructor.translation build"


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda p: p.stem)
def test_translations_keep_formulas_links_and_code(notebook):
    for cell, korean in cells_of(notebook):
        english = cell_text(cell)
        for pattern, what in [(DISPLAY_MATH, "display formula"), (URL, "link target")]:
            for item in pattern.findall(english):
                if what == "link target" and "colab.research.google.com" in item:
                    continue
                assert item in korean, f"{notebook.name} cell {cell['id']}: the {what} {item[:60]!r} is missing in Korean"
        assert inline_formulas(english) == inline_formulas(korean), \
            f"{notebook.name} cell {cell['id']}: inline formulas differ from the English cell"
        if len(prose(english).split()) >= 5:
            assert HANGUL.search(korean), f"{notebook.name} cell {cell['id']}: no Korean text"


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda p: p.stem)
def test_glossary_terms_are_used_consistently(notebook):
    first_use_checked: set[int] = set()
    for cell, korean in cells_of(notebook):
        for index in sorted(english_terms(cell_text(cell))):
            term = GLOSSARY[index]
            assert term["ko"] in korean, (f"{notebook.name} cell {cell['id']}: the English says "
                                          f"{term['en']!r}; the Korean must use {term['ko']!r} (glossary)")
        for index, term in enumerate(GLOSSARY):
            for variant in term.get("avoid", []):
                found = re.search(variant, korean)
                assert not found, f"{notebook.name} cell {cell['id']}: write {term['ko']!r}, not {found.group(0)!r}"
            if not term.get("gloss", True):  # an everyday word: its first use needs no English in parentheses
                continue
            text = prose(korean)
            for longer in GLOSSARY:  # 신경망 inside 순환 신경망 is the longer term's use, not its own
                if term["ko"] in longer["ko"] and longer["ko"] != term["ko"]:
                    text = text.replace(longer["ko"], "□" * len(longer["ko"]))
            at = text.find(term["ko"])
            if at < 0 or index in first_use_checked:
                continue
            first_use_checked.add(index)
            follows = text[at + len(term["ko"]): at + len(term["ko"]) + 60]
            # a particle (경사하강법을) or one short noun (시그모이드 뉴런, 완전 연결 층) may come before the parenthesis
            assert re.match(rf"[가-힣]{{0,2}}(?:\s[가-힣]{{1,3}})?\s?\((?:{term['en']})", follows, re.I), (
                f"{notebook.name} cell {cell['id']}: first use of {term['ko']!r} needs the English term in "
                f"parentheses, e.g. '{term['ko']}({term['en'].split('|')[0]})'")


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda p: p.stem)
def test_verdict_words_are_glossed_with_the_words_the_checkers_accept(notebook):
    """A student may answer a verdict in Korean; the gloss the lesson gives must be the word the checker accepts."""
    for cell, korean in cells_of(notebook):
        for english, gloss in VERDICT_GLOSS.findall(korean):
            word = KOREAN_VERDICTS[english]
            assert re.match(rf"{word}(?![가-힣])", gloss), (
                f"{notebook.name} cell {cell['id']}: \"{english}\" is glossed ({gloss}); the checkers accept {word!r}")


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda p: p.stem)
def test_no_korean_sentence_ends_in_a_colon(notebook):
    problems = [f"cell {cell['id']}: ...{found}" for cell, korean in cells_of(notebook) for found in colon_endings(korean)]
    assert not problems, (f"{notebook.name}: end these sentences with a full stop (e.g. '…다음과 같습니다.') or "
                          "rewrite them:\n" + "\n".join(problems))


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda p: p.stem)
def test_no_particle_is_left_in_both_forms(notebook):
    problems = [f"cell {cell['id']}: {found}" for cell, korean in cells_of(notebook)
                for found in particle_placeholders(korean)]
    assert not problems, f"{notebook.name}: write the one right particle:\n" + "\n".join(problems)


def test_the_style_checks_find_colon_endings_and_particle_placeholders():
    assert colon_endings("값은 다음과 같습니다:\n\n$$y = wx$$")
    assert colon_endings("모멘텀은 속도를 유지합니다: $v_t = g_t$ (여기서는 0.9).")
    assert colon_endings("$w = 2$에서 출발하면:")
    assert colon_endings("두 가지가 있습니다:\n* 하나\n* 둘")
    assert colon_endings("**먼저 증명하세요:** 작은 데이터셋으로")
    assert not colon_endings("값은 다음과 같습니다.\n\n$$y = wx$$")
    assert not colon_endings("(좌표 상승법(coordinate ascent):\n한 번에 하나씩 바꿉니다.")
    assert not colon_endings("* **직접, 효율적으로:** 시트를 준비합니다. 힌트: 다시 보세요. 예: `a: b`")
    assert not colon_endings("```python\nfor step in range(3):\n```\n반복합니다.")
    assert not colon_endings("열마다: (x - min) / (max - min)")  # 마다 is a particle, not a sentence ending
    assert len(particle_placeholders("{file}을(를) 읽고 {x}(으)로 옮깁니다. 이것이(가) 아닙니다")) == 3
    assert not particle_placeholders("파일을 읽을 수 없습니다(손상됨). 값(이름)을 보세요.")


def test_the_verdict_gloss_scan_reads_both_quotings():
    text = '`"ahead of"`(앞섬: 격차가 더 넓음), "level with"(대등함), `"behind"` (뒤처짐)'
    assert VERDICT_GLOSS.findall(text) == [("ahead of", "앞섬: 격차가 더 넓음"), ("level with", "대등함"),
                                           ("behind", "뒤처짐")]


def test_the_korean_readme_is_linked_names_what_exists_and_keeps_the_style():
    """README.ko.md, the Korean student's path: every kit.py subcommand, module and linked file it names exists."""
    repo = translation.REPO
    text = (repo / "README.ko.md").read_text(encoding="utf-8")
    kit = (repo / "scripts" / "kit.py").read_text(encoding="utf-8")
    assert "[README.ko.md](README.ko.md)" in (repo / "README.md").read_text(encoding="utf-8")
    named = re.findall(r"scripts/kit\.py (\w+)", text)
    assert "lab" in named and set(named) <= set(re.findall(r'sub\.add_parser\("(\w+)"', kit)), named
    assert "--language ko" in text and re.search(r'"--language", choices=\([^)]*"ko"', kit)
    assert all(importlib.util.find_spec(module) for module in re.findall(r"python -m (course_utils(?:\.\w+)+)", text))
    missing = [target for target in re.findall(r"\]\(([^()\s#]+)", text) if not (repo / target).exists()]
    assert missing == []
    prose_only = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    assert colon_endings(prose_only) == [] and particle_placeholders(prose_only) == []


def test_glossary_has_the_slides_terms():
    korean = {term["ko"] for term in GLOSSARY}
    assert {"경사하강법", "오류역전파", "과적합", "교차 검증", "정밀도", "재현율", "합성곱 신경망", "순환 신경망", "단어 임베딩"} <= korean


# --- the build itself, on a small notebook in a temporary repository --------------------------------------------

@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A two-lesson-free repository: one English notebook with a title, a Colab cell, a parameters cell and a formula."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    cells = [
        {"cell_type": "markdown", "id": "title", "metadata": {}, "source": [
            "# 01 · Tiny\n", "\n", "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            "(https://colab.research.google.com/github/dl-course-kit/deep-learning-course-kit/blob/main/notebooks/01_tiny.ipynb)"]},
        {"cell_type": "code", "id": "colab", "metadata": {}, "execution_count": 1, "outputs": [], "source": ["# Colab setup"]},
        {"cell_type": "code", "id": "params", "metadata": {"tags": ["parameters"]}, "execution_count": 2,
         "outputs": [{"name": "stdout", "output_type": "stream", "text": ["42\n"]}],
         "source": ["SEED = 42\n", 'REQUIREMENTS = "../requirements.txt"  # pinned packages']},
        {"cell_type": "markdown", "id": "math", "metadata": {}, "source": ["See [the README](../README.md): $$y = wx$$"]},
    ]
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    path = notebooks / "01_tiny.ipynb"
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    monkeypatch.setattr(translation, "TRANSLATION_DIR", tmp_path / "translations")
    monkeypatch.setattr(translation, "NOTEBOOK_DIR", notebooks)
    monkeypatch.setattr(translation, "REPO", tmp_path)
    return path


def test_build_translates_markdown_and_keeps_code_and_outputs(tiny):
    update_translation(tiny, {"title": "# 01 · 작은 예제\n\n[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
                                       "(https://colab.research.google.com/github/dl-course-kit/deep-learning-course-kit/blob/main/notebooks/01_tiny.ipynb)",
                              "math": "[README](../README.md)를 보세요: $$y = wx$$"})
    built = build_edition(tiny)
    english = json.loads(tiny.read_text(encoding="utf-8"))
    ids = [cell["id"] for cell in built["cells"]]
    assert ids == ["title", "colab", LANGUAGE_CELL_ID, "params", "math"]
    assert "use_language(\"ko\")" in cell_text(built["cells"][2])
    params = dict(english["cells"][2], source=["SEED = 42\n", 'REQUIREMENTS = "../../requirements.txt"  # pinned packages'])
    assert built["cells"][3] == params  # code, tag and outputs unchanged; a path outside notebooks/ one level up
    assert "notebooks/ko/01_tiny.ipynb" in cell_text(built["cells"][0])
    assert "](../../README.md)" in cell_text(built["cells"][4])  # one folder deeper
    assert built["metadata"]["course_kit"]["edition"] == {"language": "ko", "translated_from": "../01_tiny.ipynb"}


def test_a_changed_english_cell_makes_its_translation_stale(tiny):
    update_translation(tiny, {"title": "# 제목", "math": "$$y = wx$$ 입니다"})
    assert translation_status(tiny).complete
    nb = json.loads(tiny.read_text(encoding="utf-8"))
    nb["cells"][3]["source"] = ["See the README: $$y = 2wx$$"]
    tiny.write_text(json.dumps(nb), encoding="utf-8")
    status = translation_status(tiny)
    assert status.stale == ["math"] and not status.missing
    with pytest.raises(TranslationError, match="math"):
        build_edition(tiny)


def test_a_missing_or_orphaned_translation_is_named(tiny):
    path = update_translation(tiny, {"title": "# 제목"})
    status = translation_status(tiny)
    assert status.missing == ["math"]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["cells"]["gone"] = {"source": source_hash("x"), "text": "사라진 셀"}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert translation_status(tiny).orphaned == ["gone"]


def test_a_translation_of_a_deleted_english_cell_is_reported_by_status(tiny, capsys):
    update_translation(tiny, {"title": "# 제목", "math": "$$y = wx$$ 입니다"})
    assert translation.main(["status"]) == 0 and "01_tiny.ipynb: up to date" in capsys.readouterr().out
    nb = json.loads(tiny.read_text(encoding="utf-8"))
    nb["cells"] = [cell for cell in nb["cells"] if cell["id"] != "math"]  # the English lesson drops a cell
    tiny.write_text(json.dumps(nb), encoding="utf-8")
    status = translation_status(tiny)
    assert (status.orphaned, status.missing, status.stale) == (["math"], [], [])
    assert not status.complete and "no longer exist: math" in status.describe()
    assert translation.main(["status"]) == 1, "an orphaned translation is a problem to report, not 'up to date'"
    out = capsys.readouterr().out
    assert "math" in out and "up to date" not in out
    assert translation.main(["build", "--check"]) == 1 and "math" in capsys.readouterr().out
    with pytest.raises(TranslationError, match="math"):
        build_edition(tiny)


def test_a_translation_of_a_cell_that_became_code_is_orphaned(tiny):
    update_translation(tiny, {"title": "# 제목", "math": "$$y = wx$$ 입니다"})
    nb = json.loads(tiny.read_text(encoding="utf-8"))
    nb["cells"][3] = {"cell_type": "code", "id": "math", "metadata": {}, "execution_count": None, "outputs": [],
                      "source": ["y = 2 * x"]}
    tiny.write_text(json.dumps(nb), encoding="utf-8")
    status = translation_status(tiny)
    assert status.orphaned == ["math"] and not status.complete


def test_the_check_command_fails_on_a_stale_notebook(tiny, capsys):
    update_translation(tiny, {"title": "# 제목", "math": "$$y = wx$$ 입니다"})
    assert translation.main(["build"]) == 0
    target = translation.edition_path(tiny)
    assert translation.main(["build", "--check"]) == 0
    target.write_text(target.read_text(encoding="utf-8").replace("제목", "옛 제목"), encoding="utf-8")
    assert translation.main(["build", "--check"]) == 1
    assert "not up to date" in capsys.readouterr().out


def test_translation_files_store_markdown_as_literal_blocks(tiny):
    path = update_translation(tiny, {"title": "# 제목\n\n두 번째 줄", "math": "$$y = wx$$ 입니다"})
    assert "text: |" in path.read_text(encoding="utf-8")
    assert load_translation(path)["title"]["text"] == "# 제목\n\n두 번째 줄\n"
    shutil.rmtree(path.parent)
    assert load_translation(path) == {}


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda p: p.stem)
def test_the_korean_badge_opens_the_korean_notebook(notebook):
    built = json.loads(translation.edition_path(notebook).read_text(encoding="utf-8"))
    title = cell_text(built["cells"][0])
    assert f"/notebooks/ko/{notebook.name})" in title, "the Colab badge must open the Korean edition"


def test_the_batch_runner_runs_a_korean_lesson(tmp_path):
    """ko/02 runs headlessly with its quick profile, speaks Korean in its checks, and records the English results."""
    from course_utils.instructor import grid

    out = tmp_path / "out"
    assert grid.main(["ko/02", "--quick", "--out", str(out)]) == 0
    executed = next(out.rglob("*.ipynb"))
    text = "".join("".join(o.get("text", "")) for c in json.loads(executed.read_text(encoding="utf-8"))["cells"]
                   if c["cell_type"] == "code" for o in c.get("outputs", []))
    assert "정답입니다!" in text and "correct!" not in text, "the checks answer in Korean"
    with open(out / "results.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["status"] == "ok" and rows[0]["notebook"].endswith("02_gradient_descent")
