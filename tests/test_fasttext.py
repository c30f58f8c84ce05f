"""FastTextVectorizer and SubwordVectors: n-grams and hashes as fastText makes them, unseen
words, fastText .bin files both ways, and the estimator in scikit-learn tooling."""

import os
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

import skembed
from skembed import FastTextVectorizer, SubwordVectors, WordVectors
from skembed._subwords import NgramIndex, ngram_hashes, vocabulary_rows, word_ngrams

WORDS = ["cat", "naïve", "東京", "straße", "a", "", "aaaaaaa", "</s>", "fr33", "😀x"]


def reference_hash(text):
    """fastText's Dictionary::hash, byte by byte: FNV-1a over bytes sign-extended from int8."""
    h = 2166136261
    for byte in text.encode("utf-8"):
        signed = byte - 256 if byte >= 128 else byte
        h = ((h ^ (signed & 0xFFFFFFFF)) * 16777619) & 0xFFFFFFFF
    return h


def reference_ngrams(word, min_n, max_n):
    """fastText's computeSubwords over code points, written plainly."""
    if word == "</s>":
        return []
    chars = ["<"] + list(word) + [">"]
    out = []
    for i in range(len(chars)):
        for n in range(1, max_n + 1):
            if i + n > len(chars):
                break
            if n >= min_n and not (n == 1 and (i == 0 or i + n == len(chars))):
                out.append("".join(chars[i : i + n]))
    return out


@pytest.mark.parametrize("word", WORDS)
@pytest.mark.parametrize("span", [(3, 6), (1, 3), (2, 2), (5, 4)])
def test_ngrams_and_hashes_match_a_plain_reference(word, span):
    grams = word_ngrams(word, *span)
    assert grams == reference_ngrams(word, *span)
    assert ngram_hashes(grams).tolist() == [reference_hash(g) for g in grams]


def test_hash_of_non_ascii_differs_from_textbook_fnv():
    # the sign extension is what makes fastText's hash its own; a textbook FNV-1a would differ here
    textbook = 2166136261
    for byte in "é".encode():
        textbook = ((textbook ^ byte) * 16777619) & 0xFFFFFFFF
    assert int(ngram_hashes(["é"])[0]) != textbook
    assert int(ngram_hashes(["e"])[0]) == ((2166136261 ^ ord("e")) * 16777619) & 0xFFFFFFFF


def test_bucket_ids_match_fasttext(tmp_path):
    fasttext = pytest.importorskip("fasttext")
    model = _train_fasttext(fasttext, tmp_path, bucket=5000)
    n_words = len(model.words)
    for word in WORDS[:4] + ["zzqunknown", "é", model.words[7]]:
        subwords, ids = model.get_subwords(word)
        in_vocab = word in model.words
        expected = ids[1:] if in_vocab else ids
        ours = word_ngrams(word, 3, 6)
        assert list(subwords[1:] if in_vocab else subwords) == ours
        assert (ngram_hashes(ours) % 5000).tolist() == (expected - n_words).tolist()


def _subword_vectors(rng=None, words=("cat", "cats", "dog")):
    rng = rng or np.random.default_rng(0)
    index, _, rows = vocabulary_rows(list(words), 3, 5, 97)
    return SubwordVectors(
        list(words), rng.normal(size=(len(words), 4)), rng.normal(size=(index.n_rows, 4)), 3, 5, 97, index.buckets
    )


def test_vectors_are_the_documented_means():
    sv = _subword_vectors()
    index = NgramIndex(97, sv.ngram_buckets)

    def ngram_sum(word):
        rows = index.rows(ngram_hashes(word_ngrams(word, 3, 5)) % 97)
        return sum((sv.vectors_ngrams[r] if r >= 0 else np.zeros(4) for r in rows), np.zeros(4)), len(rows)

    total, n = ngram_sum("cats")
    np.testing.assert_allclose(sv["cats"], (sv.vectors_vocab[1] + total) / (n + 1), rtol=1e-5)
    total, n = ngram_sum("catz")  # unseen: the mean of its n-grams alone
    np.testing.assert_allclose(sv["catz"], total / n, rtol=1e-5)
    assert "catz" not in sv and "cats" in sv
    assert not np.any(sv["qqqqq"])  # no n-gram with a row: a zero vector
    np.testing.assert_allclose(sv[["dog", "catz"]], np.stack([sv["dog"], sv["catz"]]))
    np.testing.assert_allclose(sv.ngram_vectors(["catz"])[0], sv["catz"])
    # an int is a row index, as in WordVectors (and gensim), not a string to compose
    np.testing.assert_array_equal(sv[1], sv[sv.index_to_key[1]])
    np.testing.assert_array_equal(sv[[0, "catz"]], np.stack([sv[sv.index_to_key[0]], sv["catz"]]))
    with pytest.raises(TypeError, match="a word must be a str"):
        sv[[None]]


def test_queries_answer_unseen_words():
    sv = _subword_vectors()
    assert isinstance(sv.similarity("catz", "cats"), float)
    words = [w for w, _ in sv.most_similar("catz", topn=3)]
    assert set(words) == {"cat", "cats", "dog"}  # an unseen query word is not left out of anything
    with pytest.raises(TypeError, match="compose"):
        sv.add_vectors(["new"], np.zeros((1, 4)))


def test_subword_vectors_refuse_inconsistent_parts():
    with pytest.raises(ValueError, match="bucket ids"):
        SubwordVectors(["a"], np.zeros((1, 2)), np.zeros((3, 2)), 3, 6, 10, [1, 2])
    with pytest.raises(ValueError, match="sorted, distinct"):
        SubwordVectors(["a"], np.zeros((1, 2)), np.zeros((2, 2)), 3, 6, 10, [5, 50])
    with pytest.raises(ValueError, match="rows for 2 words"):
        SubwordVectors(["a", "b"], np.zeros((1, 2)), np.zeros((10, 2)), 3, 6, 10)


DOCS = [
    "the cat sat on the mat",
    "the dog sat on the log",
    "cats and dogs are friendly pets",
    "a kitten is a young cat",
    "puppies are young dogs",
] * 40


def _fit(**kw):
    return FastTextVectorizer(
        **{"vector_size": 16, "min_count": 1, "epochs": 3, "bucket": 5000, "random_state": 0, **kw}
    ).fit(DOCS)


@pytest.mark.parametrize("algorithm", ["skipgram", "cbow"])
def test_fit_gives_composed_vectors_and_unseen_words_count_in_transform(algorithm):
    vec = _fit(algorithm=algorithm)
    wv = vec.wv_
    assert isinstance(wv, SubwordVectors) and len(vec.history_) == 3
    assert wv.vectors_ngrams.shape[0] < 5000  # only the buckets the vocabulary uses have rows
    own = wv.vectors_vocab[wv.get_index("cat")]
    assert not np.allclose(wv["cat"], own)  # the vector is the mean with the n-grams
    with_oov = vec.transform(["catz dogz"])
    assert np.any(with_oov)
    without = clone(vec).set_params(oov_vectors=False).fit(DOCS).transform(["catz dogz"])
    assert not np.any(without)  # the old behaviour: unseen words dropped
    np.testing.assert_allclose(with_oov[0], (wv["catz"] + wv["dogz"]) / 2, rtol=1e-5)
    assert np.all(np.isfinite(vec.transform(["", "zzzz qqqq"])))


@pytest.mark.parametrize("pooling", ["tfidf", "sif", "max"])
def test_unseen_words_in_weighted_pooling(pooling):
    vec = _fit(pooling=pooling)
    out = vec.transform(["the catz", "the"])
    assert out.shape == (2, vec.n_features_out_) and np.all(np.isfinite(out))
    assert not np.allclose(out[0], out[1])


def test_same_seed_same_vectors_and_partial_fit_continues():
    a, b = _fit(), _fit()
    np.testing.assert_array_equal(a.wv_.vectors, b.wv_.vectors)
    before = a.wv_.vectors_ngrams.copy()
    a.partial_fit(DOCS[:50])
    assert len(a.history_) == 4 and a.wv_.vectors_ngrams.shape == before.shape
    assert not np.allclose(a.wv_.vectors_ngrams, before)


def test_pipeline_grid_search_over_ngram_lengths():
    y = np.array([i % 5 in (0, 3) for i in range(len(DOCS))])
    pipe = make_pipeline(
        FastTextVectorizer(vector_size=8, min_count=1, epochs=1, bucket=2000, random_state=0), LogisticRegression()
    )
    search = GridSearchCV(pipe, {"fasttextvectorizer__max_n": [4, 5]}, cv=2).fit(DOCS, y)
    assert search.best_params_["fasttextvectorizer__max_n"] in (4, 5)


def test_pickle_and_safe_format_keep_unseen_word_vectors(tmp_path):
    vec = _fit()
    expected = vec.transform(["catz sat"])
    np.testing.assert_allclose(pickle.loads(pickle.dumps(vec)).transform(["catz sat"]), expected)
    skembed.save(vec, tmp_path / "ft.skembed")
    loaded = skembed.load(tmp_path / "ft.skembed")
    np.testing.assert_allclose(loaded.transform(["catz sat"]), expected)
    skembed.save(vec.wv_, tmp_path / "wv.skembed")
    np.testing.assert_allclose(skembed.load(tmp_path / "wv.skembed")["catz"], vec.wv_["catz"])


def _train_fasttext(fasttext, tmp_path, **kw):
    """A small fastText model; its trainer now and then stops with 'Encountered NaN' on tiny
    data, so a few attempts are allowed."""
    path = tmp_path / "train.txt"
    path.write_text("\n".join(DOCS * 5 + ["naïve café straße 東京 über"] * 20), encoding="utf-8")
    for _ in range(8):
        try:
            return fasttext.train_unsupervised(
                str(path), model="skipgram", dim=16, epoch=2, minCount=1, thread=1, verbose=0, **kw
            )
        except RuntimeError:
            continue
    pytest.skip("the fasttext package failed to train (Encountered NaN) eight times")


def test_reads_fasttext_bin_with_the_same_vectors(tmp_path):
    fasttext = pytest.importorskip("fasttext")
    model = _train_fasttext(fasttext, tmp_path, bucket=3000)
    model.save_model(str(tmp_path / "m.bin"))
    sv = SubwordVectors.load_facebook_format(tmp_path / "m.bin")
    assert sv.index_to_key == model.words and sv.bucket == 3000
    for word in ["cat", "kittens", "naïve", "東京", "zzqunknown", "</s>"]:
        np.testing.assert_allclose(sv[word], model.get_word_vector(word), rtol=1e-4, atol=1e-6)


def test_written_bin_loads_in_fasttext_and_gensim_with_equal_unseen_vectors(tmp_path):
    fasttext = pytest.importorskip("fasttext")
    gensim_fasttext = pytest.importorskip("gensim.models.fasttext")
    vec = _fit(bucket=2000)
    path = tmp_path / "ours.bin"
    vec.save_facebook_model(path)
    theirs = fasttext.load_model(str(path))
    gensim_model = gensim_fasttext.load_facebook_model(str(path))
    for word in ["cat", "dogs", "catz", "kittenz", "naïve", "aaaaaaa"]:
        np.testing.assert_allclose(theirs.get_word_vector(word), vec.wv_[word], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(gensim_model.wv[word], vec.wv_[word], rtol=1e-5, atol=1e-7)
    back = SubwordVectors.load_facebook_format(path)
    np.testing.assert_allclose(back["catz"], vec.wv_["catz"], rtol=1e-6)
    np.testing.assert_allclose(back.vectors, vec.wv_.vectors, rtol=1e-6)
    np.testing.assert_array_equal(gensim_model.wv.vectors_vocab, vec.wv_.vectors_vocab)


def test_vectors_for_all_answers_as_gensim_does(tmp_path):
    gensim_fasttext = pytest.importorskip("gensim.models.fasttext")
    vec = _fit(bucket=2000)
    vec.save_facebook_model(tmp_path / "m.bin")
    theirs = gensim_fasttext.load_facebook_model(str(tmp_path / "m.bin")).wv
    keys = ["cat", "catz", "dogs", "cat", "kittenz"]
    for allow in (True, False):
        ours, gensims = vec.wv_.vectors_for_all(keys, allow), theirs.vectors_for_all(keys, allow)
        assert ours.index_to_key == gensims.index_to_key
        np.testing.assert_allclose(ours.vectors, gensims.vectors, rtol=1e-5, atol=1e-7)
    counted = vec.wv_.vectors_for_all(["cat", "catz"], copy_vecattrs=True)
    assert counted.get_vecattr("cat", "count") == vec.wv_.get_vecattr("cat", "count") > 0
    assert counted.get_vecattr("catz", "count") == 0
    assert len(vec.wv_.vectors_for_all(["catz"], allow_inference=False)) == 0


def test_gensim_fasttext_vectors_convert_both_ways():
    """gensim's FastTextKeyedVectors become SubwordVectors that answer unseen words as gensim
    does, and ours go to gensim with every bucket's row, so gensim answers them as we do."""
    gensim_models = pytest.importorskip("gensim.models")
    docs = [d.split() for d in DOCS]
    model = gensim_models.FastText(docs, vector_size=16, min_count=1, epochs=1, bucket=3000, seed=0, workers=1)
    ours = WordVectors.from_gensim(model.wv)
    assert type(ours) is SubwordVectors and (ours.min_n, ours.max_n, ours.bucket) == (3, 6, 3000)
    words = ["cat", "catz", "dogs", "qqqqq", "ünïcode"]
    np.testing.assert_allclose(ours[words], model.wv[words], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ours.vectors, model.wv.vectors, rtol=1e-5, atol=1e-7)
    with pytest.raises(TypeError, match="FastTextKeyedVectors"):
        SubwordVectors.from_gensim(gensim_models.Word2Vec(docs, vector_size=4, min_count=1, epochs=1).wv)
    model.wv.compatible_hash = False  # (gensim 3's models: another hash, other buckets)
    with pytest.raises(ValueError, match="old n-gram hash"):
        WordVectors.from_gensim(model.wv)

    vec = _fit(bucket=2000)  # only the used buckets have rows here
    theirs = vec.wv_.to_gensim()
    assert type(theirs).__name__ == "FastTextKeyedVectors" and theirs.vectors_ngrams.shape == (2000, 16)
    np.testing.assert_allclose(theirs[words], vec.wv_[words], rtol=1e-5, atol=1e-7)
    assert theirs.get_vecattr("cat", "count") == vec.wv_.counts[vec.wv_.key_to_index["cat"]]
    np.testing.assert_allclose(SubwordVectors.from_gensim(theirs)[words], vec.wv_[words], rtol=1e-5, atol=1e-7)


def test_vec_text_files_both_ways(tmp_path):
    vec = _fit()
    vec.wv_.save_word2vec_format(tmp_path / "v.vec")
    back = skembed.WordVectors.load_word2vec_format(tmp_path / "v.vec")
    np.testing.assert_allclose(back.vectors, vec.wv_.vectors, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "load",
    [
        lambda p: skembed.WordVectors.load_word2vec_format(p, binary=True),
        lambda p: skembed.WordVectors.load_word2vec_format(p),
        skembed.WordVectors.load_glove_format,
    ],
    ids=["word2vec binary", "word2vec text", "glove"],
)
def test_word_vector_loaders_name_a_fasttext_bin_and_its_loader(tmp_path, load):
    """A fastText .bin read as word2vec or GloVe vectors: an error that says what the file is
    (before, its binary header showed up as a garbled first line, or a decoding error)."""
    _fit().save_facebook_model(tmp_path / "ft.bin")
    with pytest.raises(ValueError, match="is a fastText .bin model.*load_facebook_format"):
        load(tmp_path / "ft.bin")


@pytest.mark.parametrize("damage", ["truncated", "magic", "huge_dictionary", "huge_matrix", "quantized", "nan"])
def test_hostile_bin_files_fail_cleanly(tmp_path, damage):
    vec = _fit(bucket=500)
    path = tmp_path / "m.bin"
    vec.save_facebook_model(path)
    data = bytearray(path.read_bytes())
    n, d = len(vec.wv_), vec.wv_.vector_size
    # layout: magic and version (8 bytes), 12 int32 and a float64 of arguments (56), then the
    # dictionary's counts (28); the input matrix's flag and shape sit before its rows
    input_flag = len(data) - (17 + n * d * 4) - (n + 500) * d * 4 - 17
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "magic":
        data[0] ^= 0xFF
    elif damage == "huge_dictionary":
        data[64:72] = (2**31 - 1).to_bytes(4, "little") * 2  # entries and words
    elif damage == "huge_matrix":
        data[40:44] = (2**31 - 1).to_bytes(4, "little")  # bucket
        data[input_flag + 1 : input_flag + 9] = (n + 2**31 - 1).to_bytes(8, "little")
    elif damage == "quantized":
        data[input_flag] = 1
    elif damage == "nan":  # the input matrix's first value (after its flag and shape)
        data[input_flag + 17 : input_flag + 21] = np.float32("nan").tobytes()
    path.write_bytes(bytes(data))
    message = "input matrix holds NaN" if damage == "nan" else os.path.basename(path)
    with pytest.raises(ValueError, match=message):
        SubwordVectors.load_facebook_format(path)


def test_misspelled_word_lands_near_its_correct_form(gloss_docs):
    vec = FastTextVectorizer(min_count=5, epochs=2, n_jobs=2, random_state=0).fit(gloss_docs[:40000])
    wv = vec.wv_
    for typo, word in [("plantz", "plant"), ("liquidd", "liquid"), ("bactería", "bacteria")]:
        assert typo not in wv and word in wv
        neighbours = [w for w, _ in wv.most_similar(typo, topn=10)]
        assert word in neighbours, (typo, neighbours)


def test_classifier_starts_from_subword_vectors_and_a_bin_file(tmp_path):
    from skembed import AttentionPoolingClassifier
    from skembed._embedding_start import initial_rows

    vec = _fit(bucket=2000)
    vec.save_facebook_model(tmp_path / "ft.bin")
    y = np.array([i % 5 in (0, 3) for i in range(len(DOCS))])
    for embeddings in (vec, SubwordVectors.load_facebook_format(tmp_path / "ft.bin")):
        clf = AttentionPoolingClassifier(embeddings=embeddings, ngram_range=(1, 2), epochs=30, random_state=0)
        words = ["<pad>", "cat", "the cat", "catz"]
        start = initial_rows(words, clf._resolve_embeddings(DOCS), np.zeros((4, 16), np.float32))
        np.testing.assert_allclose(start[1], vec.wv_["cat"], rtol=1e-6)
        np.testing.assert_allclose(start[2], vec.wv_["the cat"], rtol=1e-6)  # not a word: its n-grams
        np.testing.assert_allclose(start[3], vec.wv_["catz"], rtol=1e-6)
        assert clf.fit(DOCS, y).score(DOCS, y) > 0.9


SPAM_HAM = (
    ["free prize call now", "see you at lunch", "win cash now", "lunch at noon", "claim your free prize"] * 30,
    ["spam", "ham", "spam", "ham", "spam"] * 30,
)


def test_classifier_subwords_let_unseen_and_misspelled_tokens_count():
    from skembed import AttentionPoolingClassifier

    X, y = SPAM_HAM
    clf = AttentionPoolingClassifier(subwords=(3, 5), epochs=10, random_state=0).fit(X, y)
    plain = AttentionPoolingClassifier(epochs=10, random_state=0).fit(X, y)
    typos = ["fr33 priize calll", "lunchh noonn"]
    assert list(clf.predict(typos)) == ["spam", "ham"]
    np.testing.assert_allclose(plain.predict_proba(typos)[0], plain.predict_proba(typos)[1])  # both unknown
    explained = clf.explain(typos)
    assert [t for t, _ in explained[0]] == ["fr33", "priize", "calll"]
    assert all(w > 0 for _, w in explained[1])  # unseen tokens get attention
    assert np.all(np.isfinite(clf.predict_proba(["", "zzzzq"])))
    n_words = clf.net_config_["n_words"]
    assert all(net.embedding.num_embeddings == n_words + clf.net_config_["n_subword_rows"] for net in clf.module_)


def test_classifier_subwords_survive_saving_and_are_reproducible(tmp_path):
    from skembed import AttentionPoolingClassifier

    X, y = SPAM_HAM
    clf = AttentionPoolingClassifier(subwords=(2, 4), ngram_range=(1, 2), epochs=3, random_state=0).fit(X, y)
    again = AttentionPoolingClassifier(subwords=(2, 4), ngram_range=(1, 2), epochs=3, random_state=0).fit(X, y)
    probe = ["fr33 priize calll", "lunchh at noon"]
    np.testing.assert_array_equal(clf.predict_proba(probe), again.predict_proba(probe))
    skembed.save(clf, tmp_path / "clf.skembed")
    np.testing.assert_allclose(skembed.load(tmp_path / "clf.skembed").predict_proba(probe), clf.predict_proba(probe))
    np.testing.assert_allclose(pickle.loads(pickle.dumps(clf)).predict_proba(probe), clf.predict_proba(probe))
    clf.partial_fit(X[:20], y[:20])
    assert clf.predict_proba(probe).shape == (2, 2)


@pytest.mark.parametrize("bad", [(0, 3), (4, 2), (3,), ("a", 3)])
def test_classifier_subwords_must_be_a_span(bad):
    from skembed import AttentionPoolingClassifier

    with pytest.raises(ValueError, match="subwords must be"):
        AttentionPoolingClassifier(subwords=bad, epochs=1).fit(*SPAM_HAM)


@pytest.mark.parametrize("encoder", ["cnn", "bigru"])
def test_classifier_subwords_with_an_encoder(encoder):
    from skembed import AttentionPoolingClassifier

    X, y = SPAM_HAM
    clf = AttentionPoolingClassifier(subwords=(3, 5), encoder=encoder, epochs=4, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.9 and clf.predict_proba(["fr33 priize"]).shape == (1, 2)


def test_unseen_words_without_any_trained_ngram_are_dropped_not_averaged_in():
    """A zero vector would halve a two-word document's mean; such a word counts as unknown."""
    vec = _fit(bucket=2_000_000)  # (5000 buckets could collide with a used one)
    assert not np.any(vec.wv_["qqqqq"])
    np.testing.assert_allclose(vec.transform(["cat qqqqq"]), vec.transform(["cat"]), rtol=1e-6)
    plain = _fit(min_n=5, max_n=3)  # no n-grams at all: plain word vectors
    assert plain.wv_.vectors_ngrams.shape[0] == 0
    np.testing.assert_allclose(plain.transform(["cat catz"]), plain.transform(["cat"]), rtol=1e-6)
    assert not np.any(plain.transform(["catz"]))


def test_vectors_from_the_kernel_layout_equal_the_composed_ones():
    """FastTextVectorizer builds its SubwordVectors from the training layout (no second
    hashing); a SubwordVectors built from the same rows by hashing agrees."""
    vec = _fit()
    wv = vec.wv_
    again = SubwordVectors(wv.index_to_key, wv.vectors_vocab, wv.vectors_ngrams, 3, 6, 5000, wv.ngram_buckets)
    np.testing.assert_array_equal(wv.vectors, again.vectors)


_TINY_ROWS = [[0], [1, 5, 6], [2, 7], [3, 5, 7, 8], [4]]  # each word's own row, then its n-gram rows
_TINY_IDS = np.array([0, 1, 2, 3, 4, 1, 3])  # one document, window 2, two negatives per centre


def _log_sigmoid(x):
    return -np.log1p(np.exp(-x))


def _tiny_step_loss(algorithm):
    """One step of a tiny SubwordKernel over ``_TINY_IDS`` (no caps, no sharing, fixed windows,
    learning rate 0): its loss, the input and output weights it started from, and the negatives."""
    import torch

    from skembed._fasttext_kernel import SubwordKernel
    from skembed._word2vec_kernel import Word2VecConfig

    cfg = Word2VecConfig(
        vector_size=4, window=2, algorithm=algorithm, negative=2, alpha=0.025, min_alpha=1e-4,
        shrink_windows=False, batch_size=64, row_update_cap=0, ngram_update_cap=0,
        negative_group=1, negative_draws=1, spread_groups=False, shuffle_piece=0,
    )  # fmt: skip
    offsets = np.cumsum([0] + [len(r) for r in _TINY_ROWS])
    rng = np.random.default_rng(0)
    w_in = rng.normal(scale=0.5, size=(9, 4)).astype(np.float32)
    w_out = rng.normal(scale=0.5, size=(5, 4)).astype(np.float32)
    uniform = (np.ones(5, np.float32), np.arange(5))
    k = SubwordKernel(
        cfg, np.ones(5, np.float32), uniform, torch.device("cpu"), torch.Generator().manual_seed(0),
        offsets, np.concatenate(_TINY_ROWS), 4, w_in=w_in, w_out=w_out,
    )  # fmt: skip
    n = len(_TINY_IDS)
    codes = k._window_codes(k._doc_limits(torch.zeros(n, dtype=torch.int64)))
    negs = torch.as_tensor(rng.integers(0, 5, size=n * cfg.negative))
    step = k._sg_step if algorithm == "skipgram" else k._cbow_step
    loss = float(step(k._padded(torch.as_tensor(_TINY_IDS, dtype=torch.int32)), codes, 0, n, 0.0, negs))
    return loss, w_in, w_out, negs.tolist()


def _tiny_contexts(t):
    n = len(_TINY_IDS)
    return [_TINY_IDS[j] for j in range(max(0, t - 2), min(n, t + 3)) if j != t]


def test_cbow_hidden_layer_is_the_mean_of_all_context_rows():
    """fastText's and gensim's CBOW average every row of every context word (word and n-gram
    rows alike), so a word with more n-grams weighs more; the step's loss is checked against
    that plain reference (a mean of the words' composed vectors would give another loss)."""
    loss, w_in, w_out, negs = _tiny_step_loss("cbow")
    expected = 0.0
    for t, centre in enumerate(_TINY_IDS):
        h = np.mean(np.concatenate([w_in[_TINY_ROWS[c]] for c in _tiny_contexts(t)]), axis=0)
        expected -= _log_sigmoid(h @ w_out[centre])
        expected -= sum(_log_sigmoid(-h @ w_out[i]) for i in negs[t * 2 : t * 2 + 2])
    assert loss == pytest.approx(expected, rel=1e-5)


def test_skipgram_trains_on_gensims_composition():
    """gensim's FastText skip-gram trains each centre on the sum of its rows divided by its
    number of n-gram rows (its own row not counted), not on their mean; the step's loss is
    checked against that plain reference, and the mean would give another loss. (Words 0 and
    4 have no n-gram rows: their vector is their own row under both rules.)"""
    loss, w_in, w_out, negs = _tiny_step_loss("skipgram")

    def reference(compose):
        total = 0.0
        for t, centre in enumerate(_TINY_IDS):
            h = compose(w_in[_TINY_ROWS[centre]])
            context = _tiny_contexts(t)
            total -= sum(_log_sigmoid(h @ w_out[c]) for c in context)
            total -= len(context) * sum(_log_sigmoid(-h @ w_out[i]) for i in negs[t * 2 : t * 2 + 2])
        return total

    gensim_rule = reference(lambda r: r.sum(0) / max(len(r) - 1, 1))
    assert loss == pytest.approx(gensim_rule, rel=1e-5)
    assert abs(reference(lambda r: r.mean(0)) - gensim_rule) > 1e-3 * abs(gensim_rule)


def test_cbow_reads_documents_in_file_order_and_skipgram_shuffles_them(monkeypatch):
    """fastText's CBOW trains on the documents in file order, as fastText and gensim do (the
    shuffled order cost it SimLex-999 on the sorted glosses); skip-gram and word2vec's CBOW
    visit them in a new random order each epoch."""
    import skembed._word2vec_kernel as kernel

    calls = []
    real = kernel.shuffled_order
    monkeypatch.setattr(kernel, "shuffled_order", lambda *a, **k: calls.append(1) or real(*a, **k))
    docs = [["alpha", "beta", "gamma", "delta"][i % 4 :] + ["omega"] * 3 for i in range(40)]
    kw = dict(vector_size=8, min_count=1, epochs=2, random_state=0)
    FastTextVectorizer(algorithm="cbow", **kw).fit(docs)
    assert calls == []
    FastTextVectorizer(algorithm="skipgram", **kw).fit(docs)
    assert len(calls) == 2  # one order per epoch
    skembed.Word2VecVectorizer(algorithm="cbow", **kw).fit(docs)
    assert len(calls) == 4


def test_cbow_caps_shared_ngram_rows_less_tightly_than_skipgram():
    """In file order neighbouring documents share n-grams, and skip-gram's cap (a stability
    margin) held CBOW's similarity down, so CBOW's cap is higher; word2vec has no n-gram rows."""
    cbow, sg = (FastTextVectorizer(algorithm=a)._config().ngram_update_cap for a in ("cbow", "skipgram"))
    assert cbow > sg > 0
    assert skembed.Word2VecVectorizer(algorithm="cbow")._config().ngram_update_cap == 0


def test_hot_first_swaps_bring_the_first_used_rows_forward(monkeypatch):
    """The training layout: at every level of the halving, the rows ranked in the front half
    (by first use in the layout, words in frequency order) sit in the front half; applying
    the swaps moves each row to the position returned, and the swaps in reverse restore it."""
    import torch

    import skembed._fasttext_kernel as kernel

    monkeypatch.setattr(kernel, "_HOT_REGION", 4)
    rng = np.random.default_rng(0)
    n_words, n_ngrams = 7, 100
    rows = np.concatenate([[i, *(n_words + rng.choice(n_ngrams, 5, replace=False))] for i in range(n_words)])
    swaps, position = kernel.hot_first_swaps(rows, n_words, n_words + n_ngrams)
    assert sorted(position) == list(range(n_words + n_ngrams))
    assert (position[:n_words] == np.arange(n_words)).all()  # word rows stay where they are
    used = list(dict.fromkeys(r for r in rows.tolist() if r >= n_words))  # n-gram rows by first use
    ranked = used + [r for r in range(n_words, n_words + n_ngrams) if r not in used]
    size = n_ngrams
    while size > 4:
        half = size // 2
        assert set(position[ranked[:half]] - n_words) == set(range(half))
        size = half
    matrix = torch.arange(n_words + n_ngrams, dtype=torch.float32).repeat(3, 1).T.contiguous()
    kernel.apply_swaps(matrix, swaps)
    assert (matrix[position, 0] == torch.arange(n_words + n_ngrams, dtype=torch.float32)).all()
    kernel.apply_swaps(matrix, swaps[::-1])
    assert (matrix[:, 0] == torch.arange(n_words + n_ngrams, dtype=torch.float32)).all()


def test_training_layout_changes_no_result_and_is_undone_on_error(monkeypatch):
    """Training in the hot-first layout gives the very same vectors as in bucket order, and a
    fit that raises leaves the input matrix in bucket order."""
    import torch

    import skembed._fasttext_kernel as kernel
    from skembed._word2vec_kernel import Word2VecKernel

    docs = [f"the {w} sat on the mat with another {w}er".split() for w in ["cat", "dog", "bird", "fish"] * 10]
    kw = dict(vector_size=8, min_count=1, epochs=2, random_state=0, n_jobs=1)
    monkeypatch.setattr(kernel, "_HOT_REGION", 2)  # (the corpus has far fewer n-gram rows than a real one)
    hot = FastTextVectorizer(**kw).fit(docs)
    real = kernel.hot_first_swaps
    monkeypatch.setattr(kernel, "hot_first_swaps", lambda rows, first, n: ([], np.arange(n)))
    plain = FastTextVectorizer(**kw).fit(docs)
    np.testing.assert_array_equal(hot.wv_.vectors_ngrams, plain.wv_.vectors_ngrams)
    np.testing.assert_array_equal(hot.wv_.vectors, plain.wv_.vectors)

    monkeypatch.setattr(kernel, "hot_first_swaps", real)
    seen = {}

    def failing(self, corpus, epochs, on_batch=None):
        seen["moved"] = not torch.equal(self.w_in, seen["start"])
        raise FloatingPointError("diverged")

    original_init = kernel.SubwordKernel.__init__

    def spy(self, *a, **k):
        original_init(self, *a, **k)
        seen["start"] = self.w_in.clone()
        seen["kernel"] = self

    monkeypatch.setattr(kernel.SubwordKernel, "__init__", spy)
    monkeypatch.setattr(Word2VecKernel, "train", failing)
    with pytest.raises(FloatingPointError):
        FastTextVectorizer(**kw).fit(docs)
    assert seen["moved"]  # the layout was in use during training
    assert torch.equal(seen["kernel"].w_in, seen["start"])
