"""course_utils.text_prep: cleaning, tokenizers, vocabulary, unknown rate, padding."""
from __future__ import annotations

import pandas as pd
import pytest
import torch

from course_utils.text_prep import (
    MorphemeTokenizer, SubwordTokenizer, build_vocabulary, clean_text, encode_texts, length_for_coverage,
    pad_truncate, prepare_frame, unknown_rate, whitespace_tokenize,
)

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
    with pytest.raises(ValueError):
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
