"""Text preprocessing: cleaning, tokenizers (whitespace, SentencePiece subwords, Kiwi morphemes), vocabulary, padding."""
from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import torch

from .i18n import t
from .splits import split_indices

PAD, UNK = "<pad>", "<unk>"
# Keep Hangul syllables and jamo (ㅋㅋ, ㅠㅠ carry sentiment), Latin letters, digits and ! ? . ,
NOT_KEPT = re.compile(r"[^0-9A-Za-z가-힣ㄱ-ㅎㅏ-ㅣ!?.,\s]+")
REPEATED_PUNCT = re.compile(r"([!?.,])\1{2,}")
SPACES = re.compile(r"\s+")

Tokenizer = Callable[[str], list[str]]


def clean_text(text: str) -> str:
    """Lower-case, replace special characters by spaces, shorten runs like '!!!!' to '!!!', collapse spaces."""
    text = NOT_KEPT.sub(" ", str(text).lower())
    text = REPEATED_PUNCT.sub(r"\1\1\1", text)
    return SPACES.sub(" ", text).strip()


def prepare_frame(
    frame: pd.DataFrame, drop_empty: bool = True, drop_duplicates: bool = True
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Clean the text column and drop empty and duplicate texts (each optional); return the frame and counts."""
    if not {"text", "label"} <= set(frame.columns):
        raise KeyError(f"prepare_frame needs columns 'text' and 'label', got {list(frame.columns)}.")
    out = frame.assign(text=frame["text"].map(clean_text))
    empty = out["text"].str.len() == 0
    out = out[~empty] if drop_empty else out
    report = {"rows": len(frame), "empty": int(empty.sum()), "duplicates": 0}
    if drop_duplicates:
        duplicated = out.duplicated("text") & (out["text"].str.len() > 0)
        report["duplicates"] = int(duplicated.sum())
        out = out[~duplicated]
    report["kept"] = len(out)
    if out.empty or (out["text"].str.len() == 0).all():
        raise ValueError("No text is left after cleaning: every row was empty. Check the text column.")
    return out.reset_index(drop=True), report


def drop_test_overlap(train: pd.DataFrame, test: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop training rows whose (cleaned) text also occurs in the test split; return the frame and counts."""
    if "text" not in train.columns or "text" not in test.columns:
        raise KeyError("drop_test_overlap needs a 'text' column in both frames; run prepare_frame first.")
    shared = train["text"].isin(set(test["text"])) & (train["text"].str.len() > 0)
    report = {"training_rows_in_test": int(shared.sum()), "distinct_texts": int(train.loc[shared, "text"].nunique()),
              "test_rows_affected": int(test["text"].isin(set(train.loc[shared, "text"])).sum())}
    return train[~shared].reset_index(drop=True), report


@dataclass
class PreparedSplits:
    """Cleaned review frames: fit (to train on), val (to pick epochs), test (scored once), and what cleaning did."""

    fit: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    reports: dict[str, dict[str, int]]

    def summary(self) -> str:
        """Counts of every cleaning step and of the three splits, for printing in the student's language."""
        r = self.reports
        return t("training: {train}\ntest:     {test}\n"
                 "dropped from training: {dropped:,} reviews ({distinct:,} distinct texts) that also occur in the test "
                 "split, where they make up {affected:,} test reviews\n"
                 "{fit:,} reviews to fit, {val:,} to pick the best epoch (validation), {test_rows:,} to test",
                 train=r["train"], test=r["test"], dropped=r["overlap"]["training_rows_in_test"],
                 distinct=r["overlap"]["distinct_texts"], affected=r["overlap"]["test_rows_affected"], fit=len(self.fit),
                 val=len(self.val), test_rows=len(self.test))


def prepare_splits(train: pd.DataFrame, test: pd.DataFrame, val_fraction: float = 0.1, seed: int = 0,
                   train_limit: int = 0, test_limit: int = 0) -> PreparedSplits:
    """Clean both splits, drop empty/duplicate training texts and those found in the test split, split off validation.

    train_limit keeps the first rows of the training split, test_limit a seeded random sample of the test split (0: all).
    """
    if train_limit:
        train = train.iloc[:train_limit]
    if test_limit and test_limit < len(test):
        test = test.sample(n=test_limit, random_state=seed)
    train_df, train_report = prepare_frame(train)
    test_df, test_report = prepare_frame(test, drop_empty=False, drop_duplicates=False)
    train_df, overlap_report = drop_test_overlap(train_df, test_df)
    fit_idx, val_idx = split_indices(len(train_df), (1 - val_fraction, val_fraction), seed=seed)
    return PreparedSplits(train_df.iloc[fit_idx.numpy()], train_df.iloc[val_idx.numpy()], test_df,
                          {"train": train_report, "test": test_report, "overlap": overlap_report})


def whitespace_tokenize(text: str) -> list[str]:
    """Split on whitespace: Korean eojeol (word + attached particles) tokens."""
    return text.split()


def sample_sentences(texts: Sequence[str], max_sentences: int, seed: int = 0) -> list[str]:
    """All texts when there are at most max_sentences, else a seeded random sample of max_sentences in corpus order."""
    if not isinstance(max_sentences, int) or isinstance(max_sentences, bool) or max_sentences < 1:
        raise ValueError(f"max_sentences (SP_SENTENCES) must be a positive integer, got {max_sentences!r}.")
    if len(texts) <= max_sentences:
        return list(texts)
    picked = np.sort(np.random.default_rng(seed).choice(len(texts), size=max_sentences, replace=False))
    return [texts[i] for i in picked]


class SubwordTokenizer:
    """A SentencePiece model trained in memory on the training texts; call it to get subword pieces.

    The same texts and seed give the same model in every process: when there are more than max_sentences texts,
    sample_sentences picks the training sentences with NumPy, and SentencePiece's own sampling and shuffling stay
    off (its reservoir sample differs from process to process, even with spm.set_random_generator_seed). The
    thread count is fixed at 2, not taken from the machine, because the learned pieces depend on it.
    """

    def __init__(self, texts: Iterable[str], vocab_size: int = 8000, model_type: str = "unigram",
                 character_coverage: float = 0.9995, max_sentences: int = 200_000, seed: int = 0) -> None:
        import sentencepiece as spm

        texts = [t for t in texts if t]
        if not texts:
            raise ValueError("SentencePiece needs at least one non-empty training text.")
        texts = sample_sentences(texts, max_sentences, seed)
        model = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(texts), model_writer=model, vocab_size=vocab_size, model_type=model_type,
                character_coverage=character_coverage, input_sentence_size=0, shuffle_input_sentence=False,
                hard_vocab_limit=False, num_threads=2, minloglevel=2,
            )
        except RuntimeError as exc:
            if "required_chars" in str(exc):
                raise ValueError(
                    f"SentencePiece vocab_size={vocab_size} is smaller than the number of distinct characters it must "
                    f"keep (Korean has thousands of syllables): raise SP_VOCAB or lower character_coverage. ({exc})"
                ) from exc
            raise
        self.processor = spm.SentencePieceProcessor(model_proto=model.getvalue())
        self.model_type = model_type

    @property
    def vocab_size(self) -> int:
        """Number of pieces in the learned vocabulary."""
        return self.processor.get_piece_size()

    def __call__(self, text: str) -> list[str]:
        """Split a text into subword pieces ('▁' marks the start of a word)."""
        return self.processor.encode(text, out_type=str)


class MorphemeTokenizer:
    """Korean morphemes from Kiwi (kiwipiepy, pure PyPI, no Java); each token is 'form/TAG'."""

    def __init__(self, with_tags: bool = False) -> None:
        from kiwipiepy import Kiwi

        self.kiwi = Kiwi()
        self.with_tags = with_tags

    def __call__(self, text: str) -> list[str]:
        """Split a text into morphemes."""
        return [f"{t.form}/{t.tag}" if self.with_tags else t.form for t in self.kiwi.tokenize(text)]


@dataclass
class Vocabulary:
    """Token <-> id maps with <pad> = 0 and <unk> = 1, built from training tokens with a minimum count."""

    itos: list[str]
    counts: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.stoi = {token: i for i, token in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Map tokens to ids (unknown tokens to 1)."""
        return [self.stoi.get(t, 1) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Map ids back to tokens, skipping padding."""
        return [self.itos[i] for i in ids if i != 0]


def build_vocabulary(token_lists: Iterable[Sequence[str]], min_count: int = 1, max_size: int | None = None) -> Vocabulary:
    """Count tokens and keep those seen at least min_count times (most frequent first, at most max_size)."""
    if not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"min_count must be a positive integer, got {min_count!r}.")
    counts = Counter(t for tokens in token_lists for t in tokens)
    kept = [t for t, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_count]
    if max_size is not None:
        kept = kept[: max(max_size - 2, 0)]
    if not kept:
        raise ValueError(f"No token occurs {min_count} times or more; lower min_count or use more text.")
    return Vocabulary([PAD, UNK] + kept, counts)


def unknown_rate(token_lists: Iterable[Sequence[str]], vocab: Vocabulary) -> float:
    """Fraction of tokens that are not in the vocabulary (they become <unk>)."""
    total = unknown = 0
    for tokens in token_lists:
        total += len(tokens)
        unknown += sum(t not in vocab.stoi for t in tokens)
    return unknown / total if total else 0.0


def length_for_coverage(lengths: Sequence[int], coverage: float = 0.95) -> int:
    """Smallest sequence length that keeps every token of `coverage` of the texts (at least 1)."""
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage must be in (0, 1], got {coverage}.")
    return max(1, int(np.ceil(np.quantile(np.asarray(lengths), coverage))))


def pad_truncate(sequences: Sequence[Sequence[int]], max_len: int) -> torch.Tensor:
    """Stack id lists into a [n, max_len] LongTensor: pad with 0 at the end, truncate long ones (keep the start)."""
    if not isinstance(max_len, int) or max_len < 1:
        raise ValueError(f"max_len must be a positive integer, got {max_len!r}.")
    out = torch.zeros(len(sequences), max_len, dtype=torch.long)
    for i, seq in enumerate(sequences):
        seq = list(seq)[:max_len] or [1]  # an empty text becomes a single <unk> so every row has length >= 1
        out[i, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    return out


def encode_texts(texts: Iterable[str], tokenizer: Tokenizer, vocab: Vocabulary, max_len: int) -> torch.Tensor:
    """Tokenize, map to ids and pad/truncate a list of texts in one call."""
    return pad_truncate([vocab.encode(tokenizer(t)) for t in texts], max_len)
