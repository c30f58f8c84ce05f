import numpy as np
import pytest
import torch

from skembed._corpus import Corpus, IdSpool, encode_corpus, kept_offsets, scan_corpus
from skembed._text import Tokenizer, iter_token_lists
from skembed._vocab import Vocabulary


def tokens(X, **kw):
    return list(iter_token_lists(X, Tokenizer(**kw)))


def test_default_tokenizer_lowercases_and_splits_unicode():
    assert tokens(["Héllo, Wörld! Ünïcode ß 東京 2024"]) == [["héllo", "wörld", "ünïcode", "ß", "東京", "2024"]]


def test_emoji_and_punctuation_are_dropped_by_default_but_pattern_can_keep_them():
    assert tokens(["great 😀 stuff!!"]) == [["great", "stuff"]]
    assert tokens(["great 😀 stuff!!"], token_pattern=r"\w+|[^\w\s]") == [["great", "😀", "stuff", "!", "!"]]


@pytest.mark.parametrize("ours, anchored", [(r"(?u)\w+", r"(?u)\b\w+\b"), (r"(?u)\w+|[^\w\s]", r"(?u)\b\w+\b|[^\w\s]")])
def test_default_patterns_find_the_same_tokens_as_their_word_boundary_forms(ours, anchored):
    """The defaults drop scikit-learn's \\b anchors for speed; the tokens must not change."""
    import re

    from skembed import AttentionPoolingClassifier
    from skembed._text import DEFAULT_TOKEN_PATTERN

    assert ours in (DEFAULT_TOKEN_PATTERN, AttentionPoolingClassifier().token_pattern)
    texts = [
        "don't stop-me now!! x2 _a_ é½ 東京2024 😀ok",
        "a.b,c;d  e\tf__g-h",
        "",
        "!!!",
        "__",
        "½¾ ok9 9ok",
        "ünï-cödé's \u0301x ǅ ⅷ ١٢٣",
    ]
    for text in texts:
        assert re.findall(ours, text) == re.findall(anchored, text), text


def test_empty_and_whitespace_documents_give_empty_token_lists():
    assert tokens(["", "   ", "\n\t"]) == [[], [], []]


def test_lowercase_false_and_callable_tokenizer():
    assert tokens(["A b"], lowercase=False) == [["A", "b"]]
    assert tokens(["a-b c"], tokenizer=lambda s: s.split("-")) == [["a", "b c"]]


def test_pattern_with_one_group_returns_the_group():
    assert tokens(["x=1 y=2"], token_pattern=r"(\w)=\d") == [["x", "y"]]


def test_pretokenized_input_is_used_unchanged_and_not_mutated():
    doc = ["Keep", "CASE", "as-is"]
    before = list(doc)
    assert tokens([doc]) == [["Keep", "CASE", "as-is"]]
    assert doc == before


def test_max_document_chars_truncates():
    assert tokens(["aaa bbb ccc"], max_document_chars=5) == [["aaa", "b"]]


@pytest.mark.parametrize("bad", ["a single string", b"bytes too"])
def test_bare_string_is_rejected(bad):
    with pytest.raises(TypeError, match="string object received"):
        tokens(bad)


def test_none_document_names_its_position():
    with pytest.raises(ValueError, match="document 1 is None"):
        tokens(["ok", None])


@pytest.mark.parametrize("bad", [3, 2.5, {"a": 1}])
def test_non_text_document_names_its_position(bad):
    with pytest.raises(TypeError, match="document 2 is a"):
        tokens(["ok", "fine", bad])


def test_non_str_token_in_token_list():
    with pytest.raises(TypeError, match="document 0 is a token list holding a int"):
        tokens([["a", 1]])


def test_nan_document_is_called_missing():
    with pytest.raises(ValueError, match="NaN"):
        tokens(["a", float("nan")])


def test_empty_corpus_is_an_error_at_fit_but_not_at_transform():
    with pytest.raises(ValueError, match="X is empty"):
        tokens([])
    assert list(iter_token_lists([], Tokenizer(), allow_empty=True)) == []


def test_invalid_pattern_and_tokenizer():
    with pytest.raises(ValueError, match="not a valid regular expression"):
        Tokenizer(token_pattern="(")
    with pytest.raises(ValueError, match="capturing groups"):
        Tokenizer(token_pattern=r"(a)(b)")
    with pytest.raises(TypeError, match="callable"):
        Tokenizer(tokenizer="split")
    for bad in (-1, 0, "5", 2.5):
        with pytest.raises(ValueError, match="max_document_chars must be None or an int >= 1"):
            Tokenizer(max_document_chars=bad)
    # a pattern that matches "" once made '' a vocabulary word (every gap between tokens)
    for pattern in (r"\w*", r"[a-z]*|\d+"):
        with pytest.raises(ValueError, match="matches the empty string"):
            Tokenizer(token_pattern=pattern)
    # a callable's tokens must be str: ints once failed deep inside the vocabulary scan
    for bad in ([1, 2], ["a", None]):
        with pytest.raises(TypeError, match="tokens must be str"):
            Tokenizer(tokenizer=lambda doc, bad=bad: bad)("some text")


def test_tokenizer_pickles():
    import pickle

    tok = pickle.loads(pickle.dumps(Tokenizer(lowercase=False)))
    assert tok("Ab cd") == ["Ab", "cd"]


def test_numpy_and_pandas_inputs():
    pd = pytest.importorskip("pandas")
    assert tokens(np.array(["a b", "c"])) == [["a", "b"], ["c"]]
    assert tokens(pd.Series(["a b", "c"])) == [["a", "b"], ["c"]]
    with pytest.raises(ValueError, match="1-D"):
        tokens(np.array([["a", "b"]]))


# ---------------------------------------------------------------- vocabulary


TEXT = ["the cat sat on the mat", "the dog sat", "a cat", ""]


def test_vocabulary_counts_match_a_hand_count():
    vocab, corpus = scan_corpus(TEXT, Tokenizer(), min_count=1)
    assert vocab.index_to_key[:3] == ["the", "cat", "sat"]  # by frequency, ties by first sight
    hand = {"the": 3, "cat": 2, "sat": 2, "on": 1, "mat": 1, "dog": 1, "a": 1}
    assert dict(zip(vocab.index_to_key, vocab.counts.tolist())) == hand
    assert dict(zip(vocab.index_to_key, vocab.doc_freq.tolist()))["the"] == 2
    assert vocab.n_docs == 4 and vocab.total_words == 11
    assert corpus.n_docs == 4 and corpus.lengths.tolist() == [6, 3, 2, 0]
    decoded = [[vocab.index_to_key[i] for i in corpus.ids[a:b]] for a, b in zip(corpus.offsets, corpus.offsets[1:])]
    assert decoded == [d.split() for d in TEXT]


def test_min_count_and_max_vocab_size_prune_and_drop_from_corpus():
    vocab, corpus = scan_corpus(TEXT, Tokenizer(), min_count=2)
    assert vocab.index_to_key == ["the", "cat", "sat"]
    assert corpus.lengths.tolist() == [4, 2, 1, 0]
    vocab, _ = scan_corpus(TEXT, Tokenizer(), max_vocab_size=2)
    assert vocab.index_to_key == ["the", "cat"]


def test_special_tokens_come_first_and_never_occur_in_the_corpus():
    vocab, corpus = scan_corpus(TEXT, Tokenizer(), min_count=2, specials=("<pad>",))
    assert vocab.index_to_key == ["<pad>", "the", "cat", "sat"] and vocab.counts[0] == 0
    assert corpus.lengths.tolist() == [4, 2, 1, 0] and corpus.ids.min() >= 1
    with pytest.raises(ValueError, match="also occur as words"):
        scan_corpus(["<pad> x"], Tokenizer(token_pattern=r"\S+"), specials=("<pad>",))


def test_vocabulary_emptied_by_min_count_is_a_clear_error():
    with pytest.raises(ValueError, match="vocabulary is empty.*min_count=5"):
        scan_corpus(["a b c"], Tokenizer(), min_count=5)


def test_streaming_generator_is_read_once_and_matches_list():
    consumed = []

    def gen():
        for d in TEXT * 5000:
            consumed.append(1)
            yield d

    v1, c1 = scan_corpus(gen(), Tokenizer(), min_count=1)
    v2, c2 = scan_corpus(TEXT * 5000, Tokenizer(), min_count=1)
    assert len(consumed) == 20000
    assert v1.index_to_key == v2.index_to_key and np.array_equal(c1.ids, c2.ids)
    assert c1.ids.dtype == np.int32


def test_keep_probabilities_follow_word2vec_formula():
    vocab = Vocabulary(["a", "b", "c"], [1000, 100, 1])
    p = vocab.keep_probabilities(1e-2)
    t = 1e-2 * 1101
    expected = np.minimum((np.sqrt(np.array([1000, 100, 1]) / t) + 1) * t / np.array([1000, 100, 1]), 1)
    np.testing.assert_allclose(p, expected, rtol=1e-6)
    assert vocab.keep_probabilities(0).tolist() == [1, 1, 1]


def test_negative_distribution_and_alias_tables():
    with pytest.raises(ValueError, match="non-negative"):  # (its keep probability was NaN)
        Vocabulary(["a", "b"], [16, -1])
    vocab = Vocabulary(["a", "b"], [16, 1])
    np.testing.assert_allclose(vocab.negative_distribution(0.75), np.array([8, 1]) / 9)
    counts = np.random.default_rng(0).zipf(1.3, 500) % 10_000 + 1
    vocab = Vocabulary([f"w{i}" for i in range(500)], counts)
    p = vocab.negative_distribution(0.75)
    prob, alias = vocab.negative_alias(0.75)
    # probability of drawing j: its own column's share plus what other columns pass to it
    implied = (prob + np.bincount(alias, weights=1.0 - prob, minlength=500)) / 500
    np.testing.assert_allclose(implied, p, rtol=1e-5, atol=1e-9)
    # the kernel's draw follows it
    from dataclasses import replace

    from skembed import Word2VecVectorizer
    from skembed._word2vec_kernel import Word2VecKernel

    config = replace(Word2VecVectorizer(negative=1)._config(), negative_draws=1)
    kernel = Word2VecKernel(
        config, np.ones(500, np.float32), (prob, alias), torch.device("cpu"), torch.Generator().manual_seed(0)
    )
    freq = np.bincount(kernel._negatives(400_000).numpy(), minlength=500) / 400_000
    top = p > 0.01
    assert np.abs(freq - p).max() < 1e-3 and freq[top] == pytest.approx(p[top], rel=0.06)


def test_encode_corpus_with_and_without_unknown_id():
    k2i = {"a": 0, "b": 1}
    c = encode_corpus(["a x b", "x", ""], Tokenizer(), k2i)
    assert c.ids.tolist() == [0, 1] and c.lengths.tolist() == [2, 0, 0]
    c = encode_corpus(["a x b"], Tokenizer(), k2i, unknown_id=7, max_length=2)
    assert c.ids.tolist() == [0, 7]
    assert encode_corpus([], Tokenizer(), k2i).n_docs == 0


def test_corpus_select_and_concatenate():
    c = Corpus(np.array([1, 2, 3, 4], np.int32), np.array([0, 2, 2, 4]))
    s = c.select(np.array([True, False, True, True]))
    assert s.ids.tolist() == [1, 3, 4] and s.offsets.tolist() == [0, 1, 1, 3]
    both = Corpus.concatenate([c, s])
    assert both.offsets.tolist() == [0, 2, 2, 4, 5, 5, 7]
    assert c.doc_index().tolist() == [0, 0, 2, 2]


def test_distinct_ids_match_numpy_unique():
    from skembed._corpus import DistinctIds

    rng = np.random.default_rng(0)
    distinct = DistinctIds(50)
    for _ in range(3):  # the scratch tables are reset between batches
        ids = rng.integers(0, 50, size=(7, 9))
        rows, inverse = distinct(ids)
        ref_rows, ref_inverse = np.unique(ids, return_inverse=True)
        assert rows.tolist() == ref_rows.tolist()
        assert (inverse == ref_inverse.reshape(ids.shape)).all()


def test_inference_batches_are_bounded_in_padded_tokens():
    lengths = np.array([1, 30, 2, 2, 3, 1, 50, 4])
    c = Corpus(np.zeros(lengths.sum(), np.int32), np.concatenate([[0], np.cumsum(lengths)]))
    batches = c.length_batches(4, max_tokens=8)
    assert sorted(np.concatenate(batches).tolist()) == list(range(8))
    for b in batches:  # within the budget, or a single document too long for it
        assert len(b) * lengths[b].max() <= 8 or len(b) == 1
        assert len(b) <= 4
    assert max(map(len, batches)) == 4  # short documents still share batches


def test_scan_corpus_counts_only_flagged_documents_but_encodes_all():
    docs = ["a b b", "c c c a", "b d"]
    vocab, corpus = scan_corpus(docs, Tokenizer(), count_docs=np.array([True, False, True]))
    assert vocab.index_to_key == ["b", "a", "d"] and vocab.counts.tolist() == [3, 1, 1]
    assert vocab.n_docs == 2 and vocab.doc_freq.tolist() == [2, 1, 1]
    # "c" was only seen in the unflagged document: unknown, dropped from its encoding
    assert corpus.n_docs == 3 and corpus.docs(1, 2).ids.tolist() == [1]
    with pytest.raises(ValueError, match="count_docs has 2 flags for 3 documents"):
        scan_corpus(docs, Tokenizer(), count_docs=np.array([True, True]))


def test_training_batches_can_be_bounded_in_padded_tokens_too():
    lengths = np.array([1, 30, 2, 2, 3, 1, 50, 4, 2, 2])
    c = Corpus(np.zeros(lengths.sum(), np.int32), np.concatenate([[0], np.cumsum(lengths)]))
    batches = c.length_batches(4, np.random.default_rng(0), max_tokens=8)
    assert sorted(np.concatenate(batches).tolist()) == list(range(10))
    for b in batches:
        assert len(b) * lengths[b].max() <= 8 or len(b) == 1
    unbounded = c.length_batches(4, np.random.default_rng(0))
    assert max(len(b) * lengths[b].max() for b in unbounded) > 8  # the budget did something


# ---------------------------------------------------------------- corpora larger than memory


def _docs(n=300):
    rng = np.random.default_rng(0)
    return [" ".join(f"w{int(z)}" for z in rng.zipf(1.5, rng.integers(0, 30))) for _ in range(n)]


@pytest.mark.parametrize("max_bytes", [0, 64, 4000])
def test_a_corpus_over_the_memory_budget_is_memory_mapped_and_equal(max_bytes):
    docs = _docs()
    vocab, ref = scan_corpus(docs, Tokenizer(), min_count=2)
    spool_vocab, spilled = scan_corpus(iter(docs), Tokenizer(), min_count=2, max_bytes=max_bytes)
    assert spool_vocab.index_to_key == vocab.index_to_key
    assert isinstance(spilled.ids, np.memmap) == (4 * ref.n_tokens > max_bytes)
    np.testing.assert_array_equal(spilled.ids, ref.ids)
    np.testing.assert_array_equal(spilled.offsets, ref.offsets)
    encoded = encode_corpus(docs, Tokenizer(), vocab.key_to_index, max_bytes=max_bytes)
    np.testing.assert_array_equal(encoded.ids, ref.ids)
    np.testing.assert_array_equal(encoded.offsets, ref.offsets)


def test_the_spool_writes_to_a_file_only_past_its_budget():
    spool = IdSpool(max_bytes=40)
    spool.append(np.arange(5))
    assert not spool.spilled
    spool.append(np.arange(5, 12))  # 12 ids = 48 bytes
    assert spool.spilled
    corpus = spool.assemble([np.array([5]), np.array([3, 4])], 12)
    np.testing.assert_array_equal(corpus.ids, np.arange(12))
    np.testing.assert_array_equal(corpus.offsets, [0, 5, 8, 12])


def test_kept_offsets_counts_across_chunk_edges():
    rng = np.random.default_rng(1)
    mask = rng.random(1000) < 0.4
    offsets = np.concatenate([[0, 0], np.sort(rng.integers(0, 1000, 50)), [1000, 1000]])
    expected = np.concatenate([[0], np.cumsum(mask)])[offsets]
    for chunk in (1, 7, 64, 5000):
        np.testing.assert_array_equal(kept_offsets(mask, offsets, chunk=chunk), expected)


def test_scanning_long_documents_holds_a_chunk_of_strings_at_a_time():
    from skembed._corpus import iter_chunks

    docs = [["a"] * 50_000, ["b"] * 10, ["c"] * 70_000, ["d"]]
    assert [len(c) for c in iter_chunks(docs, size=8192, max_tokens=65_536)] == [3, 1]
    assert [len(c) for c in iter_chunks(docs, size=2, max_tokens=65_536)] == [2, 1, 1]


def _pymalloc_arenas():
    """Python's small-object arenas (1 MiB each) in use, from ``sys._debugmallocstats`` (None
    where that report is missing or unlike CPython 3.11's)."""
    import os
    import re
    import sys
    import tempfile

    if not hasattr(sys, "_debugmallocstats"):
        return None
    # the report goes to file descriptor 2; a file, not a pipe, so that a long one cannot block
    with tempfile.TemporaryFile() as out:
        saved = os.dup(2)
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        report = out.read()
    found = re.search(rb"arenas allocated current\s+=\s+([\d,]+)", report)
    return int(found.group(1).replace(b",", b"")) if found else None


def test_a_scan_leaves_its_words_compact_not_spread_over_the_arenas_it_used():
    # The words' strings are made amid each chunk's temporary token strings; kept as made,
    # the few survivors (with per-chunk arrays) hold most arenas the scan touched: 11 here
    # where the repacked vocabulary (11.7k words, about 1.5 MB) holds 5.
    import gc

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(20_000)]
    docs = [" ".join(words[j] for j in rng.zipf(1.3, 15) % 20_000) for _ in range(30_000)]
    gc.collect()
    before = _pymalloc_arenas()
    if before is None:
        pytest.skip("no pymalloc statistics on this interpreter")
    vocab, corpus = scan_corpus(iter(docs), Tokenizer(), min_count=2)
    gc.collect()
    assert _pymalloc_arenas() - before <= 7
    assert vocab.index_to_key[:3] == ["w1", "w2", "w3"]
    assert all(vocab.key_to_index[w] == i for i, w in enumerate(vocab.index_to_key))
    assert corpus.n_tokens == int(vocab.counts.sum())  # pruned words dropped, the rest all there


def test_repack_keeps_every_word_and_its_id():
    vocab = Vocabulary(["<pad>", "é", "", "naïve", "x" * 300, "ß"], [0, 5, 4, 3, 2, 1], n_specials=1)
    before = list(vocab.index_to_key)
    vocab.repack()
    assert vocab.index_to_key == before
    assert vocab.key_to_index == {w: i for i, w in enumerate(before)}
    assert vocab.counts.tolist() == [0, 5, 4, 3, 2, 1] and vocab.n_specials == 1
