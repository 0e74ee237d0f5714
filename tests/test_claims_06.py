"""Claims of lesson 06 (word vectors) checked against its committed full run, each test named for its sentence."""
from __future__ import annotations

from committed import markdown, results

NAME = "06_word_vectors"


def test_from_scratch_skip_gram_agrees_with_gensim_far_more_than_chance_but_far_from_identically():
    r = results(NAME)
    assert r["scratch_gensim_neighbour_overlap"] > 10 * r["scratch_neighbour_overlap_chance"]
    assert r["scratch_gensim_neighbour_overlap"] < 0.5
    assert r["scratch_gensim_similarity_correlation"] > 0.3


def test_kiwi_leaves_the_fewest_unknown_tokens_with_vocabularies_from_the_same_reviews():
    rates = results(NAME)["unk_rate_sample_vocab"]
    assert rates["Kiwi"] < rates["SentencePiece"] < rates["whitespace"] / 2
    # "SentencePiece's fixed pieces come close": far nearer Kiwi's rate than whitespace's
    assert rates["SentencePiece"] - rates["Kiwi"] < (rates["whitespace"] - rates["SentencePiece"]) / 5


def test_subwords_shrink_the_vocabulary_and_nearly_remove_unknown_tokens():
    r = results(NAME)
    assert r["vocab_whitespace"] > 3 * r["vocab_sentencepiece"] and r["unk_rate_sentencepiece"] < 0.01


def test_the_slides_word2vec_slips_are_pointed_out_with_their_own_words():
    text = markdown(NAME)
    assert "벡터들의 평균을 output layer에 전달" in text and "nothing to average" in text
    assert "계산 후 normalization을 수행" in text and "no normalisation" in text


def test_skip_gram_took_longer_than_cbow():
    seconds = results(NAME)["w2v_seconds"]
    assert seconds["skip-gram"] > seconds["CBOW"]


def test_no_training_review_occurs_verbatim_in_the_test_split():
    r = results(NAME)
    assert r["train_test_overlap_after"] == 0
    assert r["train_test_overlap"]["training_rows_in_test"] > 0  # the NSMC-style set does share short reviews
