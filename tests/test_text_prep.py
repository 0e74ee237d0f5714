"""course_utils.text_prep: cleaning, tokenizers, vocabulary, unknown rate, padding."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from course_utils.text_prep import (
    MorphemeTokenizer, SubwordTokenizer, build_vocabulary, clean_text, encode_texts, length_for_coverage,
    pad_truncate, prepare_frame, sample_sentences, unknown_rate, whitespace_tokenize,
)

TESTS = Path(__file__).resolve().parent


def subword_digest(seed: int) -> str:
    """Digest of a SentencePiece model trained on 3,000 random Hangul texts, more than max_sentences (a sample)."""
    rng = np.random.default_rng(0)
    syllables = [chr(0xAC00 + i) for i in rng.choice(11172, 60, replace=False)]
    words = ["".join(rng.choice(syllables, rng.integers(1, 4))) for _ in range(400)]
    texts = [" ".join(rng.choice(words, rng.integers(3, 12))) for _ in range(3000)]
    sp = SubwordTokenizer(texts, vocab_size=300, max_sentences=1000, seed=seed)
    return hashlib.sha256(sp.processor.serialized_model_proto()).hexdigest()


def digest_in_a_new_process(seed: int) -> str:
    """subword_digest(seed) computed by a fresh Python process (with its own string-hash seed)."""
    code = (f"import sys; sys.path.insert(0, {str(TESTS)!r});"
            f" from test_text_prep import subword_digest; print(subword_digest({seed}))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PYTHONHASHSEED="random"))
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


REVIEWS = ["이 영화 정말 재밌다 ㅋㅋ", "최악의 영화... 시간 아깝다", "배우 연기가 좋았다", "스토리가 지루하다 ㅠㅠ"] * 30


def test_clean_text_keeps_hangul_jamo_and_basic_punctuation():
    assert clean_text("  최고!!!!! ㅋㅋ♥♥ <b>Great</b> 10/10  ") == "최고!!! ㅋㅋ b great b 10 10"
    assert clean_text("★★★") == ""


def test_prepare_frame_drops_empty_and_duplicates_and_counts_them():
    frame = pd.DataFrame({"text": ["좋다", "좋다 ", "★", "", "별로"], "label": [1, 1, 0, 0, 0]})
    out, report = prepare_frame(frame)
    assert out.text.tolist() == ["좋다", "별로"]
    assert report == {"rows": 5, "empty": 2, "duplicates": 1, "kept": 2}
    kept, _ = prepare_frame(frame, drop_empty=False, drop_duplicates=False)
    assert len(kept) == 5  # a test split keeps every row


def test_prepare_frame_refuses_wrong_columns_and_all_empty():
    with pytest.raises(KeyError, match="'text' and 'label'"):
        prepare_frame(pd.DataFrame({"document": ["a"], "label": [1]}))
    with pytest.raises(ValueError, match="No text is left"):
        prepare_frame(pd.DataFrame({"text": ["★", "♥"], "label": [1, 0]}))


def test_vocabulary_min_count_unknown_rate_and_ids():
    tokens = [whitespace_tokenize(t) for t in ["a b a", "a c", "b"]]
    vocab = build_vocabulary(tokens, min_count=2)
    assert vocab.itos == ["<pad>", "<unk>", "a", "b"]
    assert vocab.encode(["a", "c", "zzz"]) == [2, 1, 1]
    assert vocab.decode([2, 3, 0, 0]) == ["a", "b"]
    assert unknown_rate([["a", "c"], ["d", "b"]], vocab) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="min_count"):
        build_vocabulary(tokens, min_count=0)
    with pytest.raises(ValueError, match="No token occurs"):
        build_vocabulary(tokens, min_count=99)


def test_pad_truncate_pads_at_the_end_and_keeps_the_start():
    out = pad_truncate([[5, 6, 7], [8], []], max_len=2)
    assert out.tolist() == [[5, 6], [8, 0], [1, 0]]
    assert out.dtype == torch.long
    with pytest.raises(ValueError, match="max_len"):
        pad_truncate([[1]], 0)


def test_length_for_coverage():
    assert length_for_coverage(list(range(1, 101)), 0.95) == 96
    assert length_for_coverage([3, 3, 3], 1.0) == 3
    with pytest.raises(ValueError, match="coverage must be in"):
        length_for_coverage([1, 2], 0)


def test_sentencepiece_learns_subwords_that_cover_unseen_word_forms():
    sp = SubwordTokenizer(REVIEWS, vocab_size=60)
    pieces = sp("영화가 정말 재밌다")
    assert "".join(pieces).replace("▁", " ").strip() == "영화가 정말 재밌다"
    train_tokens = [sp(t) for t in REVIEWS]
    vocab = build_vocabulary(train_tokens)
    ws_vocab = build_vocabulary([whitespace_tokenize(t) for t in REVIEWS])
    unseen = ["영화가 재밌다", "배우가 좋았다"]
    assert unknown_rate([sp(t) for t in unseen], vocab) < unknown_rate([whitespace_tokenize(t) for t in unseen], ws_vocab)
    assert encode_texts(unseen, sp, vocab, 8).shape == (2, 8)
    with pytest.raises(ValueError, match="non-empty"):
        SubwordTokenizer(["", ""])
    with pytest.raises(ValueError, match="raise SP_VOCAB"):
        SubwordTokenizer(["가나다라마바사아자차카타파하" * 3, "갸냐댜랴먀뱌샤야쟈챠캬탸퍄햐"], vocab_size=10)


def test_kiwi_splits_particles_and_endings():
    tokens = MorphemeTokenizer()("영화가 재밌다")
    assert tokens[:2] == ["영화", "가"]
    assert MorphemeTokenizer(with_tags=True)("영화")[0].startswith("영화/N")


def test_sample_sentences_is_a_seeded_sample_in_corpus_order():
    texts = [f"review {i}" for i in range(100)]
    assert sample_sentences(texts, 100) == texts  # few enough: every text, in order
    first, again, other = (sample_sentences(texts, 10, seed=s) for s in (0, 0, 1))
    assert len(first) == 10 and len(set(first)) == 10
    assert first == sorted(first, key=texts.index)  # corpus order
    assert first == again and first != other
    with pytest.raises(ValueError, match="SP_SENTENCES"):
        sample_sentences(texts, 0)


def test_sentencepiece_gives_the_same_model_in_separate_processes_and_uses_the_seed():
    here = subword_digest(0)
    assert digest_in_a_new_process(0) == here, "two processes with the same seed trained different SentencePiece models"
    assert subword_digest(1) != here, "a different seed gave the same SentencePiece model: the seed is not used"
