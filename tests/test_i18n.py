"""Student-facing messages in Korean (issue #18): the catalogue matches the code, no hint bypasses t(), and the
language setting reaches exercise checkers, data-loader notices and errors, plots and the font check."""
from __future__ import annotations

import ast
import re
import string
import subprocess
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import yaml

import course_utils
from course_utils import i18n
from course_utils.compare import Comparison, compare_paired
from course_utils.exercises import ExerciseFailed, require_answer
from course_utils.exercises import gradient_descent, planet as planet_exercises, project, word2vec
from course_utils.exercises.experiment import paired_verdict, verdict_note
from course_utils.i18n import t, use_language

PACKAGE = Path(course_utils.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))
EXERCISE_MODULES = sorted((PACKAGE / "exercises").glob("*.py"))
LOADER_MODULES = [PACKAGE / name for name in ("mnist.py", "planet.py", "text_data.py")]
CATALOGUE_PATH = i18n.CATALOGUE_DIR / "ko.yml"
GLOSSARY = yaml.safe_load((PACKAGE.parent / "translations" / "ko" / "glossary.yml").read_text(encoding="utf-8"))
HANGUL = re.compile(r"[가-힣]")
# Calls a student reads the arguments of (by position; None: all of them): in the checkers, and (print, show_notice
# and every raise) in the loaders.
MESSAGE_CALLS: dict[str, tuple[int, ...] | None] = {
    "require": (1, 2), "require_answer": (1,), "passed": (0, 1), "ExerciseFailed": None, "require_verdict": (2, 3),
    "_check_derivative": (0, 4), "show_notice": (0, 1), "print": None,
}
LOADER_CALLS = ("show_notice", "print")
MESSAGE_VARIABLES = {"name", "exercise", "hint", "note", "how", "reason", "failure", "missing"}
# Loader functions whose errors only a programmer meets (wrong arguments from lesson code): they stay English.
DEVELOPER_ERRORS = {("planet.py", "show_chips")}


def korean() -> dict[str, str]:
    """The Korean catalogue, read afresh (i18n.catalogue is cached)."""
    return yaml.safe_load(CATALOGUE_PATH.read_text(encoding="utf-8")) or {}


def module_strings(tree: ast.Module) -> dict[str, str]:
    """Module-level NAME = "string constant" assignments (templates that t() is given by name)."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            found.update({target.id: node.value.value for target in node.targets if isinstance(target, ast.Name)})
    return found


def t_calls(path: Path) -> list[tuple[str, str | None, set[str] | None]]:
    """Every t(...) call in a module: (where, English template or None if not a literal, keyword names or None)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = module_strings(tree)
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "t":
            where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
            first = node.args[0] if node.args else None
            template = (first.value if isinstance(first, ast.Constant) and isinstance(first.value, str)
                        else constants.get(first.id) if isinstance(first, ast.Name) else None)
            names = None if any(k.arg is None for k in node.keywords) else {k.arg for k in node.keywords}
            calls.append((where, template, names))
    return calls


ALL_CALLS = [call for path in SOURCES for call in t_calls(path)]


def fields(template: str) -> set[tuple[str, str | None, str]]:
    """The {fields} of a format template as (name, conversion, format spec)."""
    return {(name, conversion, spec) for _, name, spec, conversion in string.Formatter().parse(template)
            if name is not None}


def untranslated(node: ast.AST | None) -> bool:
    """Whether an expression is, or glues in, literal text with letters that did not go through t()."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and any(ch.isalpha() for ch in node.value)
    if isinstance(node, ast.JoinedStr):
        return any(untranslated(part) for part in node.values if isinstance(part, ast.Constant)) or any(
            untranslated(part.value) for part in node.values if isinstance(part, ast.FormattedValue))
    if isinstance(node, ast.BinOp):
        return untranslated(node.left) or untranslated(node.right)
    if isinstance(node, ast.IfExp):
        return untranslated(node.body) or untranslated(node.orelse)
    return False


def enclosing_functions(tree: ast.Module) -> dict[ast.AST, str]:
    """The name of the function each node is in ("" at module level)."""
    inside: dict[ast.AST, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside.update({child: node.name for child in ast.walk(node) if child is not node})
    return inside


def bare_messages(path: Path, loader: bool) -> list[str]:
    """Places where a student-facing message is written as a bare string or f-string instead of t(...)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    function = enclosing_functions(tree)
    found = []
    for node in ast.walk(tree):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call):
            callee = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if callee in MESSAGE_CALLS and (not loader or callee in LOADER_CALLS):
                positions = MESSAGE_CALLS[callee]
                args = [arg for i, arg in enumerate(node.args) if positions is None or i in positions]
                found += [where for arg in args if untranslated(arg)]
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            if (path.name, function.get(node, "")) not in DEVELOPER_ERRORS:
                found += [where for arg in node.exc.args if untranslated(arg)]
        elif isinstance(node, ast.Assign):
            if any(isinstance(target, ast.Name) and target.id in MESSAGE_VARIABLES for target in node.targets):
                found += [where] if untranslated(node.value) else []
    return found


# ----------------------------------------------------------------------------------------------- catalogue vs code


def test_every_t_call_names_its_template_literally():
    unresolved = [where for where, template, names in ALL_CALLS if template is None or names is None]
    assert not unresolved, f"t() must get a string literal (or module constant) and named fields: {unresolved}"


def test_every_template_is_in_the_catalogue_with_the_same_fields():
    catalogue = korean()
    problems = []
    for where, template, names in ALL_CALLS:
        if template is None:
            continue
        if template not in catalogue:
            problems.append(f"{where}: no Korean for {template!r}")
            continue
        if names:  # t() formats the template: the call must give exactly its fields, the Korean must use them alike
            if {name for name, _, _ in fields(template)} != names:
                problems.append(f"{where}: the call gives {sorted(names)}, the template uses "
                                f"{sorted(name for name, _, _ in fields(template))}")
            if fields(catalogue[template]) != fields(template):
                problems.append(f"{where}: Korean fields {sorted(fields(catalogue[template]))} differ from the "
                                f"English {sorted(fields(template))}")
        elif re.findall(r"\{[^{}]*\}", catalogue[template]) != re.findall(r"\{[^{}]*\}", template):
            problems.append(f"{where}: the braces of {template!r} are shown as they are, so the Korean must keep them")
    assert not problems, "\n".join(problems)


def test_no_catalogue_entry_is_stale():
    used = {template for _, template, _ in ALL_CALLS}
    stale = [key for key in korean() if key not in used]
    assert not stale, f"catalogue entries no t() call uses any more (delete or fix them): {stale}"


def test_the_catalogue_has_no_duplicate_keys():
    class KeyRecorder(yaml.SafeLoader):
        """A YAML loader that records every mapping key it reads."""

    keys: list[str] = []

    def record(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
        keys.extend(loader.construct_object(key) for key, _ in node.value)
        return loader.construct_mapping(node)

    KeyRecorder.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, record)
    yaml.load(CATALOGUE_PATH.read_text(encoding="utf-8"), Loader=KeyRecorder)
    assert len(keys) == len(set(keys)), "a key appears twice in ko.yml (YAML keeps only the last)"


def test_korean_templates_are_korean_and_keep_code_and_numbers():
    problems = []
    for english, korean_text in korean().items():
        if not HANGUL.search(korean_text):
            problems.append(f"no Korean in {korean_text!r}")
        code = re.findall(r'`[^`]+`|"[^"]*"|\b\w+(?:\.\w+)*\((?!s\))[^()]*\)|\b\w+=\S+?(?=[,.:;)]?\s|[,.:;)]?$)', english)
        problems += [f"{korean_text!r} lacks {c!r}" for c in code if c not in korean_text]
        numbers = lambda text: sorted(re.findall(r"\d[\d,.]*\d|\d", re.sub(r"\{[^{}]*\}", "", text)))
        if numbers(korean_text) != numbers(english):  # a translation adds no number the English hint does not give
            problems.append(f"numbers {numbers(korean_text)} in {korean_text!r}, the English has {numbers(english)}")
    assert not problems, "\n".join(problems)


def test_korean_templates_use_the_glossary_terms():
    problems = []
    for english, korean_text in korean().items():
        prose = re.sub(r"`[^`]*`|\b\w+(?:\.\w+)*\([^()]*\)|(?<!\w)'[^']*'(?!\w)|\"[^\"]*\"", " ", english)
        for term in sorted(GLOSSARY, key=lambda term: -len(term["en"])):
            pattern = re.compile(rf"(?<![\w-])(?:{term['en']})(?![\w-])", re.I)
            if pattern.search(prose):
                prose = pattern.sub(" ", prose)
                if term["ko"] not in korean_text:
                    problems.append(f"{english!r}: the glossary writes {term['en']!r} as {term['ko']!r}")
            problems += [f"{korean_text!r}: write {term['ko']!r}, not {avoid!r}"
                         for avoid in term.get("avoid", []) if avoid in korean_text]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", EXERCISE_MODULES, ids=lambda p: p.stem)
def test_exercise_messages_go_through_t(path):
    assert not bare_messages(path, loader=False), "translate these hints/names with t(...)"


@pytest.mark.parametrize("path", LOADER_MODULES, ids=lambda p: p.stem)
def test_loader_notices_and_errors_go_through_t(path):
    assert not bare_messages(path, loader=True), "translate these notices/errors with t(...)"


def test_the_scan_catches_an_untranslated_hint(tmp_path):
    source = tmp_path / "new_checks.py"
    source.write_text('name = "Exercise 5"\n'
                      'def check(x):\n'
                      '    require(x, name, f"use {x} epochs")\n'
                      '    require(x, name, t("fine") + " but not this")\n'
                      '    passed(name, t("{n} epochs", n=x))\n'
                      '    raise ExerciseFailed(f"{name}: {t(NOT_ANSWERED)}")\n', encoding="utf-8")
    assert sorted(bare_messages(source, loader=False)) == ["new_checks.py:1", "new_checks.py:3", "new_checks.py:4"]


# ----------------------------------------------------------------------------------------------- runtime


@pytest.fixture
def korean_lang(monkeypatch):
    """Korean chosen the way a Korean notebook's setup cell chooses it."""
    monkeypatch.setenv("COURSE_LANG", "ko")


@pytest.fixture
def no_language(monkeypatch):
    """No language setting at all: COURSE_LANG and the locale variables unset."""
    for variable in ("COURSE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(variable, raising=False)


WRONG_ANSWERS = [
    (lambda: gradient_descent.check_last_minibatch(128, 468),
     "60,000 is not a multiple of 128: the last minibatch gets only what is left."),
    (lambda: project.check_chance_level(0.5), "these classes are far from balanced."),
    (lambda: planet_exercises.check_parameter_counts(3 * 3 * 32 + 32, 3 * 64 * 64 * 256 + 256),
     "a 3x3 filter looks at all 3 input channels"),
    (lambda: word2vec.check_skipgram_cost(5 * (300 + 300 * np.log(1e6))), "which logarithm counts binary decisions?"),
]


@pytest.mark.parametrize("check, english_hint", WRONG_ANSWERS, ids=["lesson02", "lesson08", "lesson05", "lesson06"])
def test_a_wrong_answer_gets_a_korean_hint(korean_lang, check, english_hint):
    with pytest.raises(ExerciseFailed) as failed:
        check()
    message = str(failed.value)
    assert HANGUL.search(message) and "힌트:" in message and "not quite" not in message
    assert english_hint not in message and "Exercise" not in message


@pytest.mark.parametrize("check, english_hint", WRONG_ANSWERS, ids=["lesson02", "lesson08", "lesson05", "lesson06"])
def test_english_hints_are_unchanged_by_default(no_language, check, english_hint):
    with pytest.raises(ExerciseFailed) as failed:
        check()
    assert english_hint in str(failed.value) and ": not quite. Hint: " in str(failed.value)
    assert not HANGUL.search(str(failed.value))


def test_exact_english_output(no_language, capsys):
    with pytest.raises(ExerciseFailed) as failed:
        gradient_descent.check_last_minibatch(128, 468)
    assert str(failed.value) == ("Exercise 1 (minibatches of an epoch): not quite. Hint: 60,000 is not a multiple of "
                                 "128: the last minibatch gets only what is left.")
    project.check_chance_level(1_340 / 1_500)
    assert capsys.readouterr().out == ("✔ Exercise 1: correct! A model must beat 89.3% accuracy before it is worth "
                                       "anything here.\n")
    with pytest.raises(ExerciseFailed) as failed:
        require_answer(None, "Exercise 2")
    assert str(failed.value) == ("Exercise 2: Not answered yet: replace the `pass` under '# YOUR CODE HERE' with your "
                                 "answer.")


def test_a_right_answer_is_correct_in_korean(korean_lang, capsys):
    project.check_chance_level(1_340 / 1_500)
    word2vec.check_skipgram_cost(5 * (300 + 300 * np.log2(1e6)))
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "✔ 연습 1: 정답입니다! 이 데이터에서는 모델의 정확도가 89.3%를 넘어야 쓸모가 있습니다."
    assert out[1].startswith("✔ 연습 1 (skip-gram 비용): 정답입니다!") and "correct" not in out[1]


def test_not_answered_in_korean(korean_lang):
    with pytest.raises(ExerciseFailed, match="아직 답하지 않았습니다") as failed:
        gradient_descent.check_momentum_step(None)
    assert "YOUR CODE HERE" in str(failed.value) and "Not answered" not in str(failed.value)


def test_verdict_note_is_the_comparison_sentence_in_english(no_language):
    rng = np.random.default_rng(3)
    mine, base = rng.random(500) < 0.9, rng.random(500) < 0.8
    truth = paired_verdict(mine, base)
    assert verdict_note(truth, "test accuracy", 500) == truth.sentence("test accuracy")
    same = compare_paired(np.ones(4), np.ones(4), "yours", "baseline")  # z = 0, standard error 0
    assert verdict_note(same, "F2", 4) == same.sentence("F2")


@pytest.mark.parametrize("comparison, expected", [
    (Comparison("yours", "baseline", 0.9, 0.8, 0.1, 0.02, "ahead of", "paired over 500 examples"),
     '테스트 정확도에서 여러분의 모델(0.9000)은 베이스라인(0.8000)과 비교해 "ahead of"입니다: 차이는 +0.1000, '
     "표준 오차의 5.0배(0.0200, 예제 500개에 대한 짝 비교)입니다."),
    (Comparison("yours", "baseline", 0.61, 0.7, -0.09, 0.06, "level with", "paired over 1,200 examples"),
     '테스트 정확도에서 여러분의 모델(0.6100)은 베이스라인(0.7000)과 비교해 "level with"입니다: 차이는 -0.0900, '
     "표준 오차의 1.5배(0.0600, 예제 1,200개에 대한 짝 비교)입니다."),
])
def test_verdict_note_in_korean_puts_each_number_in_its_place(korean_lang, comparison, expected):
    examples = int(comparison.basis.split()[2].replace(",", ""))
    assert verdict_note(comparison, t("test accuracy"), examples) == expected


def test_verdict_note_in_korean_keeps_the_verdict_word(korean_lang):
    truth = paired_verdict(np.ones(300), np.r_[np.ones(200), np.zeros(100)])
    note = verdict_note(truth, t("test accuracy"), 300)
    assert '"ahead of"' in note and "테스트 정확도" in note and "300개" in note and "yours" not in note


def test_locale_chooses_korean_when_course_lang_is_unset(no_language, monkeypatch):
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    assert i18n.language() == "ko"
    with pytest.raises(ExerciseFailed, match="힌트"):
        project.check_chance_level(0.5)


def test_course_lang_en_wins_over_a_korean_locale(no_language, monkeypatch):
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    monkeypatch.setenv("COURSE_LANG", "en")
    with pytest.raises(ExerciseFailed, match="far from balanced"):
        project.check_chance_level(0.5)


def test_loader_errors_and_notices_in_korean(korean_lang, tmp_path, monkeypatch):
    from course_utils import mnist, planet, text_data

    with pytest.raises(FileNotFoundError) as missing:
        planet.load_planet(tmp_path, synthetic="never")
    assert "Planet 데이터가 없습니다" in str(missing.value)
    assert planet.KAGGLE_COMMAND in str(missing.value) and "Get the data" not in str(missing.value)
    short = tmp_path / "train-images-idx3-ubyte"
    short.write_bytes(b"\x00\x00")
    with pytest.raises(mnist.IdxFormatError, match="잘렸습니다"):
        mnist.read_idx(short, mnist.IMAGE_MAGIC)
    with pytest.raises(FileNotFoundError, match="말뭉치 파일이 없습니다"):
        text_data.read_labelled_table(tmp_path / "mine.tsv")
    with pytest.raises(ValueError, match="LIMIT"):
        planet.load_planet(tmp_path, limit=0)
    shown = []
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))  # no NSMC anywhere: the offline fallback
    monkeypatch.setattr(text_data, "show_notice", lambda title, body, level="warning": shown.append((title, body)))
    text_data.load_sentiment_corpus("nsmc", tmp_path, download=False)
    (title, body), = shown
    assert HANGUL.search(title) and "NSMC" in title and "Offline" not in title
    assert "COURSE_DATA_DIR" in body and "Accuracy" not in body


def test_loader_notice_in_english_by_default(no_language, tmp_path, monkeypatch):
    from course_utils import text_data

    shown = []
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(text_data, "show_notice", lambda title, body, level="warning": shown.append((title, body)))
    text_data.load_sentiment_corpus("nsmc", tmp_path, download=False)
    assert shown[0][0] == "Offline fallback: NSMC is not available"
    assert shown[0][1].startswith("Could not load NSMC (FileNotFoundError: No NSMC files in ")
    assert ("Using gensim's Pang & Lee polarity sample (offline fallback): 160 training and 40 test sentences"
            in shown[0][1])


# ----------------------------------------------------------------------------------------------- the i18n module


def test_t_fills_fields_and_leaves_unknown_messages(korean_lang):
    assert t("a message nobody translated") == "a message nobody translated"
    assert t("unknown {n} apples", n=3) == "unknown 3 apples"
    assert t("Exercise {n}", n=2) == "연습 2"
    assert t("{exercise}: correct!", exercise="연습 1") == "연습 1: 정답입니다!"


def test_t_in_english_only_fills_fields(no_language):
    assert t("Exercise {n}", n=2) == "Exercise 2"
    assert t("the body is a dict that httpx sends as JSON: {\"pixels\": ..., ...}.").endswith('{"pixels": ..., ...}.')


def test_use_language_refuses_an_unknown_language(monkeypatch):
    monkeypatch.setenv("COURSE_LANG", "en")
    with pytest.raises(ValueError, match=r"one of en, ko, got 'xx'"):
        use_language("xx")
    assert i18n.language() == "en"


def test_use_language_ko_sets_the_language_and_the_plot_font(monkeypatch):
    pytest.importorskip("koreanize_matplotlib")
    monkeypatch.setenv("COURSE_LANG", "en")  # restored after the test: use_language writes os.environ itself
    monkeypatch.setattr(i18n, "has_korean_display_font", lambda: True)
    with matplotlib.rc_context(), warnings.catch_warnings():
        warnings.simplefilter("error")
        use_language("ko")
        assert "NanumGothic" in matplotlib.rcParams["font.family"]
    assert i18n.language() == "ko"
    use_language("en")
    assert i18n.language() == "en"


@pytest.mark.parametrize("lang, words", [("ko", "한글 글꼴"), ("en", "No Korean font")])
def test_missing_korean_font_warns_in_the_chosen_language(monkeypatch, lang, words):
    monkeypatch.setenv("COURSE_LANG", lang)
    monkeypatch.setattr(i18n, "has_korean_display_font", lambda: False)
    with pytest.warns(UserWarning, match=words):
        assert i18n.warn_if_no_korean_font() is True


@pytest.mark.parametrize("found", [True, None])
def test_no_font_warning_when_a_font_is_there_or_unknown(monkeypatch, found):
    monkeypatch.setenv("COURSE_LANG", "ko")
    monkeypatch.setattr(i18n, "has_korean_display_font", lambda: found)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert i18n.warn_if_no_korean_font() is False


@pytest.fixture
def fontconfig(monkeypatch):
    """A Linux machine whose fc-list prints `stdout` with exit code `returncode` (has_korean_display_font is cached)."""
    calls = []

    def install(stdout: str, returncode: int = 0, platform: str = "linux", fc_list: str | None = "/usr/bin/fc-list"):
        def run(command, **kwargs):
            calls.append(command)
            return subprocess.CompletedProcess(command, returncode, stdout=stdout, stderr="")

        monkeypatch.setenv("COURSE_LANG", "en")
        monkeypatch.setattr(i18n.sys, "platform", platform)
        monkeypatch.setattr(i18n.shutil, "which", lambda name: fc_list if name == "fc-list" else None)
        monkeypatch.setattr(i18n.subprocess, "run", run)
        i18n.has_korean_display_font.cache_clear()
        return calls

    yield install
    i18n.has_korean_display_font.cache_clear()


@pytest.mark.parametrize("stdout", ["", "\n", "  \n\n"])
def test_fc_list_exiting_0_without_a_font_means_no_korean_font(fontconfig, stdout):
    """fc-list exits 0 whether or not a font matches: only what it prints tells."""
    calls = fontconfig(stdout, returncode=0)
    assert i18n.has_korean_display_font() is False
    assert calls and calls[0][0] == "fc-list" and ":lang=ko" in calls[0]
    with pytest.warns(UserWarning, match="No Korean font"):
        assert i18n.warn_if_no_korean_font() is True


@pytest.mark.parametrize("stdout", ["NanumGothic,나눔고딕\n", "Noto Sans CJK KR,Noto Sans CJK KR Regular\nUnDotum\n"])
def test_fc_list_printing_a_korean_font_means_a_font(fontconfig, stdout):
    fontconfig(stdout, returncode=0)
    assert i18n.has_korean_display_font() is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert i18n.warn_if_no_korean_font() is False


def test_without_fontconfig_the_answer_is_unknown(fontconfig):
    calls = fontconfig("NanumGothic\n", fc_list=None)
    assert i18n.has_korean_display_font() is None and not calls
    calls = fontconfig("NanumGothic\n", platform="darwin")
    assert i18n.has_korean_display_font() is None and not calls
