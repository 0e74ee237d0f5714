"""Style rules of the Korean edition that a test can check, shared by the lesson texts (tests/test_translation.py)
and the message and label catalogues (tests/test_i18n.py)."""
from __future__ import annotations

import re

# What is not Korean prose: fenced code, inline code, display and inline formulas.
FENCE = re.compile(r"```.*?```", re.S)
NOT_PROSE = [re.compile(r"`[^`\n]+`"), re.compile(r"\$\$.+?\$\$", re.S), re.compile(r"(?<!\$)\$(?!\$)[^$]+?\$")]
# A sentence-final ending (…합니다, …하세요, …할까요; not the particle 마다) with closing marks, then a colon.
COLON_AFTER_SENTENCE = re.compile(r"(?<!마)(?:다|요)[*_'\")\]]*[ \t]*:(?![\w/])")
# A line of Korean that ends in a colon ("…출발하면:"), when the paragraph ends there or a block follows it.
COLON_AT_LINE_END = re.compile(r"[가-힣][*_'\")\]]*[ \t]*:[ \t]*$")
BLOCK_START = re.compile(r"[ \t]*(?:[-*|>§]|\d+\.\s)")
# A particle written in both forms because the writer did not know the word before it: 을(를), 이(가), (으)로.
PARTICLE_PLACEHOLDER = re.compile(r"[을를이가은는와과]\([을를이가은는와과]\)|\((?:으|이)\)")
# A particle whose form depends on the last sound of the word before it, right after a {field}: the field's value
# decides which form is right ("{file}을", "hidden={hidden}로" reads "16로"), so the sentence must not need one.
FIELD_PARTICLE = re.compile(r"\{(?P<field>[^{}]*)\}(?P<particle>으로|로|을|를|이|가|은|는|와|과)(?![가-힣])")


def korean_prose(text: str) -> str:
    """A text with code and formulas replaced by '§', so that a colon before a code block still ends its line."""
    text = FENCE.sub("\n§\n", text)
    for pattern in NOT_PROSE:
        text = pattern.sub("§", text)
    return text


def colon_endings(text: str) -> list[str]:
    """The Korean sentences of a text that end in a colon instead of a full stop, e.g. '…다음과 같습니다:'."""
    prose = korean_prose(text)
    found = [prose[max(0, m.start() - 30): m.end()] for m in COLON_AFTER_SENTENCE.finditer(prose)]
    lines = prose.split("\n")
    for line, following in zip(lines, lines[1:] + [""]):
        if COLON_AT_LINE_END.search(line) and (not following.strip() or BLOCK_START.match(following)):
            found.append(line.strip()[-40:])
    return found


def particle_placeholders(text: str) -> list[str]:
    """Particles left in both forms, such as 을(를), with the words around them."""
    return [text[max(0, m.start() - 15): m.end() + 5] for m in PARTICLE_PLACEHOLDER.finditer(text)]


def field_particles(template: str) -> list[str]:
    """Particles that follow a {field} directly, where the right form depends on the value; a percentage field
    ("{share:.1%}") is exempt, since it always ends in 퍼센트."""
    return [m.group(0) for m in FIELD_PARTICLE.finditer(template) if not m.group("field").endswith("%")]
