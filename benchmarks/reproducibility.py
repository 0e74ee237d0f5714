#!/usr/bin/env python3
"""Benchmark 11: does a lesson give the same results twice? Two runs of each lesson, each in a fresh kernel.

Run: COURSE_DATA_DIR=/path/to/data .venv/bin/python benchmarks/reproducibility.py [--quick] [--keep DIR] [NAME ...]
     COURSE_DATA_DIR=/path/to/data .venv/bin/python benchmarks/reproducibility.py --cost [--repeats 3]
     COURSE_DATA_DIR=/path/to/data .venv/bin/python benchmarks/reproducibility.py --against-committed [NAME ...]
(NAME: a lesson such as 06 or 06_word_vectors; default: all eight.) Each lesson runs its full profile (or --quick)
twice, one run after the other, each in its own kernel process (with its own random string-hash seed unless
PYTHONHASHSEED is set), from notebooks/ as the course runs it. Every recorded result (course_utils.results.record)
of the two runs is compared for exact equality, except timings: results whose name contains "seconds", and
"timing_ratio_*" results (ratios of two measured times). With --against-committed the first run is the committed
notebook itself (a full-profile run with the default parameters, made by `kit.py regenerate` in its own process), so
each lesson runs once, and its run time is the lesson's full-profile time. The markdown table is printed and written to --table
(default build/reproducibility[-quick].md); the exit status is 1 when a run fails or any compared result differs.

--cost measures instead what determinism costs in time on lesson 06's full-profile data (NSMC, SEED 42): SentencePiece
(8,000 pieces from 50,000 reviews) trained on a seeded NumPy sample against SentencePiece's own sampling, and gensim
CBOW, skip-gram and skip-gram with hierarchical softmax (3 epochs, 100 dims) with 1 worker thread against 2; the
variants alternate within each repeat, so a drift in the machine's speed affects both alike.
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from course_utils.instructor.execution import execute_notebook  # noqa: E402
from course_utils.instructor.notebooks import (  # noqa: E402
    NOTEBOOK_DIR, find_notebook, lesson_notebooks, quick_parameters,
)
from course_utils.results import read_results  # noqa: E402

TIMING_MARKERS = ("seconds", "timing_ratio")


def is_timing(name: str) -> bool:
    """Whether a recorded result is a measured time (or a ratio of two), left out of the comparison."""
    return any(marker in name for marker in TIMING_MARKERS)


def run_once(notebook: Path, output: Path, parameters: dict) -> tuple[float, dict]:
    """Execute the notebook in a fresh kernel; return (wall seconds, recorded results)."""
    start = time.perf_counter()
    execute_notebook(notebook, output, parameters, cwd=NOTEBOOK_DIR, env={"COURSE_PROGRESS": "0"})
    return time.perf_counter() - start, read_results(output)


def differing(first: dict, second: dict) -> list[str]:
    """Names of the non-timing results that differ between two runs, or that only one run recorded."""
    return sorted(name for name in first.keys() | second.keys()
                  if not is_timing(name) and (name not in first or name not in second or first[name] != second[name]))


def sentencepiece_seconds(texts: list[str], own_sampling: bool) -> float:
    """Seconds to train lesson 06's SentencePiece model: the kit's seeded sample, or SentencePiece's own (before)."""
    import sentencepiece as spm

    from course_utils.text_prep import SubwordTokenizer

    start = time.perf_counter()
    if own_sampling:  # the settings before issue 24: SentencePiece draws its reservoir sample itself
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(texts), model_writer=io.BytesIO(), vocab_size=8000, model_type="unigram",
            character_coverage=0.9995, input_sentence_size=50_000, shuffle_input_sentence=True, hard_vocab_limit=False,
            num_threads=2, minloglevel=2)
    else:
        SubwordTokenizer(texts, vocab_size=8000, max_sentences=50_000, seed=42)
    return time.perf_counter() - start


def measure_cost(repeats: int) -> None:
    """Print a table of the median seconds of each variant, alternating the variants within each repeat."""
    from course_utils.text_data import load_sentiment_corpus
    from course_utils.text_prep import SubwordTokenizer, prepare_splits
    from course_utils.word2vec import train_gensim

    corpus = load_sentiment_corpus("nsmc")
    if corpus.is_fallback:
        raise SystemExit("Set COURSE_DATA_DIR to a folder holding nsmc/ first.")
    texts = [t for t in prepare_splits(corpus.train, corpus.test, seed=42).fit.text if t]
    sp = SubwordTokenizer(texts, vocab_size=8000, max_sentences=50_000, seed=42)
    sentences = [sp(t) for t in texts]
    models = {"CBOW": (False, False), "skip-gram": (True, False), "skip-gram (hier. softmax)": (True, True)}
    seconds: dict[str, list[float]] = {}
    for _ in range(repeats):
        for own in (True, False):
            seconds.setdefault(f"SentencePiece, {'its own' if own else 'seeded NumPy'} sample",
                               []).append(sentencepiece_seconds(texts, own))
        for workers in (2, 1):
            for name, (sg, hs) in models.items():
                seconds.setdefault(f"gensim {name}, {workers} worker{'s' * (workers > 1)}", []).append(
                    train_gensim(sentences, sg=sg, hs=hs, epochs=3, seed=42, workers=workers)[1])
    print(f"{len(texts):,} training reviews, {sum(map(len, sentences)):,} SentencePiece tokens; "
          f"median of {repeats} repeats\n\n| step | seconds (median) | all repeats |\n|---|---|---|")
    for name, values in seconds.items():
        print(f"| {name} | {statistics.median(values):.1f} | {', '.join(f'{v:.1f}' for v in values)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="lessons to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="run each lesson's quick profile instead of the full one")
    parser.add_argument("--keep", type=Path, help="keep both executed copies of each lesson in this folder")
    parser.add_argument("--table", type=Path, help="where to write the markdown table")
    parser.add_argument("--against-committed", action="store_true",
                        help="run each lesson's full profile once and compare it with the committed notebook's results")
    parser.add_argument("--cost", action="store_true", help="measure what determinism costs in time, run no lesson")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of each --cost measurement")
    args = parser.parse_args()
    if args.cost:
        measure_cost(args.repeats)
        return
    if args.against_committed and args.quick:
        parser.error("--against-committed compares with the committed full-profile run: leave out --quick")
    notebooks = [find_notebook(name) for name in args.names] if args.names else lesson_notebooks()
    profile = "quick" if args.quick else "full"
    table = args.table or REPO / "build" / f"reproducibility{'-quick' if args.quick else ''}.md"
    lines = [f"| lesson | profile | results compared | identical? | differing results | timings left out | "
             f"run 1 (min{', committed' * args.against_committed}) | run 2 (min) |", "|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    all_identical = True
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for notebook in notebooks:
            parameters = quick_parameters(notebook) if args.quick else {}
            try:
                if args.against_committed:
                    wall_1, first = None, read_results(notebook)
                else:
                    wall_1, first = run_once(notebook, folder / f"{notebook.stem}.{profile}.run1.ipynb", parameters)
                wall_2, second = run_once(notebook, folder / f"{notebook.stem}.{profile}.run2.ipynb", parameters)
            except Exception as exc:  # a failing cell: report it in the table and go on with the next lesson
                all_identical = False
                reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
                row = f"| {notebook.stem} | {profile} | | FAILED | {reason} | | | |"
            else:
                names = sorted(first.keys() | second.keys())
                diff = differing(first, second)
                all_identical &= not diff
                timings = ", ".join(f"`{n}`" for n in names if is_timing(n)) or "none"
                row = (f"| {notebook.stem} | {profile} | {sum(not is_timing(n) for n in names)} | "
                       f"{'no' if diff else 'yes'} | {', '.join(f'`{n}`' for n in diff) or '—'} | {timings} | "
                       f"{'—' if wall_1 is None else f'{wall_1 / 60:.1f}'} | {wall_2 / 60:.1f} |")
            lines.append(row)
            print(row, flush=True)
    table.parent.mkdir(parents=True, exist_ok=True)
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"\ntable written to {os.path.relpath(table, REPO)}")
    sys.exit(0 if all_identical else 1)


if __name__ == "__main__":
    main()
