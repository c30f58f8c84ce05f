import numpy as np
import pytest

from skembed import WordVectors


@pytest.fixture
def wv():
    rng = np.random.default_rng(0)
    words = ["king", "queen", "man", "woman", "apple", "pear", "日本", "naïve"]
    return WordVectors(words, rng.normal(size=(len(words), 8)).astype(np.float32), counts=np.arange(8, 0, -1))


def test_lookups(wv):
    assert len(wv) == 8 and "king" in wv and "zzz" not in wv
    assert wv["king"].shape == (8,) and wv[["king", "queen"]].shape == (2, 8)
    assert wv.index_to_key[wv.key_to_index["pear"]] == "pear"
    with pytest.raises(KeyError, match="not in vocabulary"):
        wv["zzz"]


def test_most_similar_against_brute_force(wv):
    n = wv.vectors / np.linalg.norm(wv.vectors, axis=1, keepdims=True)
    q = n[0] + n[3] - n[2]
    q /= np.linalg.norm(q)
    sims = n @ (q * 3)  # scale does not matter for the ranking
    order = [i for i in np.argsort(-sims) if i not in (0, 2, 3)]
    got = wv.most_similar(positive=["king", "woman"], negative=["man"], topn=3)
    assert [w for w, _ in got] == [wv.index_to_key[i] for i in order[:3]]
    assert wv.most_similar("king", topn=100)[0][0] != "king" and len(wv.most_similar("king", topn=100)) == 7


def test_get_vector_and_similar_by_vector(wv):
    np.testing.assert_allclose(np.linalg.norm(wv.get_vector("king", norm=True)), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(wv.get_vector("king"), wv["king"])
    assert wv.similar_by_vector(wv["queen"], topn=1)[0][0] == "queen"  # a vector query excludes no word


def test_similarity_and_doesnt_match():
    wv = WordVectors(["a", "b", "c"], np.array([[1, 0], [0.9, 0.1], [-1, 0.2]], np.float32))
    assert wv.similarity("a", "a") == pytest.approx(1.0)
    assert wv.doesnt_match(["a", "b", "c", "unknown"]) == "c"
    with pytest.raises(ValueError):
        WordVectors(["a", "a"], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="shape"):
        WordVectors(["a"], np.zeros((2, 2)))


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_format_round_trip(wv, tmp_path, binary):
    path = tmp_path / "v.bin"
    wv.save_word2vec_format(path, binary=binary)
    back = WordVectors.load_word2vec_format(path, binary=binary)
    assert back.index_to_key == wv.index_to_key
    np.testing.assert_allclose(back.vectors, wv.vectors, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("binary", [False, True])
def test_files_interoperate_with_gensim_both_ways(wv, tmp_path, binary):
    KeyedVectors = pytest.importorskip("gensim.models").KeyedVectors
    ours = tmp_path / "ours"
    wv.save_word2vec_format(ours, binary=binary)
    kv = KeyedVectors.load_word2vec_format(ours, binary=binary)
    assert kv.index_to_key == wv.index_to_key
    np.testing.assert_allclose(kv.vectors, wv.vectors, rtol=1e-5, atol=1e-6)
    theirs = tmp_path / "theirs"
    kv.save_word2vec_format(theirs, binary=binary)
    back = WordVectors.load_word2vec_format(theirs, binary=binary)
    assert back.index_to_key == wv.index_to_key
    np.testing.assert_allclose(back.vectors, wv.vectors, rtol=1e-5, atol=1e-6)


def test_gensim_keyed_vectors_convert_both_ways():
    """A gensim model's vectors and counts come over as they are, and go back to gensim."""
    Word2Vec = pytest.importorskip("gensim.models").Word2Vec
    docs = [["cash", "prize", "now"], ["lunch", "at", "noon"], ["win", "cash", "now"]] * 20
    model = Word2Vec(docs, vector_size=8, min_count=1, epochs=1, seed=0, workers=1)
    for given in (model, model.wv):  # a model or its .wv
        wv = WordVectors.from_gensim(given)
        assert type(wv) is WordVectors and wv.index_to_key == model.wv.index_to_key
        np.testing.assert_array_equal(wv.vectors, model.wv.vectors)
        assert wv.counts.tolist() == [model.wv.get_vecattr(k, "count") for k in model.wv.index_to_key]
    kv = wv.to_gensim()
    assert kv.index_to_key == wv.index_to_key and kv.get_vecattr("cash", "count") == 40
    np.testing.assert_array_equal(kv.vectors, wv.vectors)
    assert [k for k, _ in kv.most_similar("cash", topn=3)] == [k for k, _ in wv.most_similar("cash", topn=3)]
    kv.vectors[0] = 7.0  # a copy, not a view of ours
    assert not np.any(wv.vectors[0] == 7.0)
    with pytest.raises(TypeError, match="needs gensim KeyedVectors"):
        WordVectors.from_gensim(wv.vectors)


def test_word_pairs_without_a_correlation_are_an_error(tmp_path):
    """Pairs whose scores or cosines are all equal have no correlation: a clear error, not NaN."""
    wv = WordVectors(["cash", "money", "bank"], np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0]], dtype=np.float32))
    same_score = tmp_path / "same_score.tsv"
    same_score.write_text("cash\tmoney\t9.0\nmoney\tbank\t9.0\nzzz\tbank\t1.0\n")
    with pytest.raises(ValueError, match="same human scores"):
        wv.evaluate_word_pairs(same_score)
    same_pair = tmp_path / "same_pair.tsv"
    same_pair.write_text("money\tcash\t9.15\nmoney\tcash\t9.08\n")  # (WordSim353 has both)
    with pytest.raises(ValueError, match="same cosine similarities"):
        wv.evaluate_word_pairs(same_pair)
    varied = tmp_path / "varied.tsv"
    varied.write_text("cash\tmoney\t9.0\nmoney\tbank\t5.0\ncash\tbank\t2.0\n")
    assert wv.evaluate_word_pairs(varied)[1].statistic == pytest.approx(1.0)


def test_glove_text_format(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("the 0.1 0.2 0.3\nof -1 0 2.5\n", encoding="utf-8")
    g = WordVectors.load_glove_format(path)
    assert g.index_to_key == ["the", "of"] and g.vectors.shape == (2, 3)
    with pytest.raises(ValueError, match="load_glove_format"):
        WordVectors.load_word2vec_format(path)


def test_projector_tsv(wv, tmp_path):
    v, m = wv.save_projector_tsv(tmp_path / "vectors.tsv", tmp_path / "metadata.tsv")
    rows = (tmp_path / "vectors.tsv").read_text().splitlines()
    assert len(rows) == 8 and len(rows[0].split("\t")) == 8
    assert (tmp_path / "metadata.tsv").read_text(encoding="utf-8").splitlines() == wv.index_to_key


def test_evaluation_matches_gensim(shared_data):
    """On the real WordSim353, SimLex-999 and analogy files, our scores equal gensim's."""
    KeyedVectors = pytest.importorskip("gensim.models").KeyedVectors
    rng = np.random.default_rng(1)
    words = set()
    for name in ("wordsim353.tsv", "simlex999.txt"):
        for line in (shared_data / name).read_text(encoding="utf-8").splitlines():
            if not line.startswith("#"):
                words.update(w.lower() for w in line.split("\t")[:2])
    for line in (shared_data / "questions-words.txt").read_text().splitlines()[:3000]:
        if not line.startswith(":"):
            words.update(w.lower() for w in line.split())
    words = sorted(words)[:-40]  # leave some out of vocabulary
    wv = WordVectors(words, rng.normal(size=(len(words), 20)).astype(np.float32))
    kv = KeyedVectors(20)
    kv.add_vectors(words, wv.vectors)
    for name in ("wordsim353.tsv", "simlex999.txt"):
        ours, theirs = wv.evaluate_word_pairs(shared_data / name), kv.evaluate_word_pairs(shared_data / name)
        assert ours[1].statistic == pytest.approx(theirs[1].statistic, abs=1e-6)
        assert ours[0].statistic == pytest.approx(theirs[0].statistic, abs=1e-5)
        assert ours[2] == pytest.approx(theirs[2])
    ours, theirs = (m.evaluate_word_analogies(shared_data / "questions-words.txt") for m in (wv, kv))
    assert ours[0] == pytest.approx(theirs[0])
    assert [len(s["correct"]) for s in ours[1]] == [len(s["correct"]) for s in theirs[1]]


# ---------------------------------------------------------------- gensim's KeyedVectors queries
@pytest.fixture(scope="module")
def paired_vectors():
    """The same random vectors as skembed WordVectors and as gensim KeyedVectors."""
    kv_module = pytest.importorskip("gensim.models.keyedvectors")
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(60)]
    vectors = rng.normal(size=(60, 8)).astype(np.float32)
    kv = kv_module.KeyedVectors(8)
    kv.add_vectors(words, vectors)
    return WordVectors(words, vectors.copy()), kv, rng.normal(size=8).astype(np.float32)


def _same_ranking(ours, theirs):
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5, atol=1e-6)


def test_most_similar_and_cosmul_equal_gensims(paired_vectors):
    wv, kv, vec = paired_vectors
    for pos, neg in [(["w1", "w2"], ["w3"]), (["w4"], []), ([vec, "w5"], ["w6"]), ([("w7", 2.0), "w8"], [])]:
        _same_ranking(wv.most_similar(pos, neg, topn=7), kv.most_similar(pos, neg, topn=7))
    _same_ranking(
        wv.most_similar_cosmul(["w1", "w2"], ["w3"], topn=7), kv.most_similar_cosmul(["w1", "w2"], ["w3"], topn=7)
    )
    _same_ranking(wv.most_similar_cosmul("w9", topn=5), kv.most_similar_cosmul("w9", topn=5))
    np.testing.assert_allclose(wv.most_similar("w1", topn=None), kv.most_similar("w1", topn=None), atol=1e-6)
    np.testing.assert_allclose(
        wv.most_similar_cosmul(["w1"], ["w2"], topn=None), kv.most_similar_cosmul(["w1"], ["w2"], topn=None), rtol=1e-5
    )
    assert wv.most_similar("w1", topn=0) == [] == kv.most_similar("w1", topn=0)


def test_int_keys_are_row_indices_as_in_gensim(paired_vectors):
    wv, kv, _ = paired_vectors
    np.testing.assert_array_equal(wv[3], kv[3])
    np.testing.assert_array_equal(wv[[np.int64(5), "w1"]], kv[[np.int64(5), "w1"]])
    assert wv.get_index(7) == kv.get_index(7) == 7
    assert wv.similarity(2, "w9") == pytest.approx(kv.similarity(2, "w9"), abs=1e-6)
    # row indices in queries too, excluded from the results as the words they stand for
    _same_ranking(wv.most_similar(3, topn=4), kv.most_similar(3, topn=4))
    _same_ranking(wv.most_similar([3, "w5"], [7], topn=4), kv.most_similar([3, "w5"], [7], topn=4))
    assert wv.n_similarity([1, 2], ["w3"]) == pytest.approx(kv.n_similarity([1, 2], ["w3"]), abs=1e-6)
    keyed_by_int = WordVectors([10, 11, 12], np.eye(3, dtype=np.float32))  # keys come before row indices
    np.testing.assert_array_equal(keyed_by_int[11], [0, 1, 0])
    with pytest.raises(KeyError, match="outside the 60 words"):
        wv[60]
    for bad in (2.5, None, True):  # not a word, not a row: a TypeError that says so
        with pytest.raises(TypeError, match="a word must be a str"):
            wv[bad]


def test_more_of_gensims_lookups_answer_as_gensim_does(paired_vectors):
    wv, kv, _ = paired_vectors
    _same_ranking(wv.similar_by_key("w3", topn=5), kv.similar_by_key("w3", topn=5))
    _same_ranking(
        wv.similar_by_word("w3", topn=5, restrict_vocab=30), kv.similar_by_word("w3", topn=5, restrict_vocab=30)
    )
    for a, b in [("w1", "w2"), ("w5", "w40")]:
        assert wv.relative_cosine_similarity(a, b) == pytest.approx(kv.relative_cosine_similarity(a, b), rel=1e-5)
    for key in ["w4", "missing", 3, 60, -1]:
        assert wv.has_index_for(key) == kv.has_index_for(key)
        assert wv.get_index(key, default=-7) == kv.get_index(key, default=-7)
    with pytest.raises(ValueError, match="at least one similar word"):
        wv.relative_cosine_similarity("w1", "w2", topn=0)


def test_a_zero_vector_is_similar_to_nothing():
    """A zero row (an unseen word with no n-gram rows composes to one) has cosine 0 with every
    word, where gensim divides by its zero norm; a ratio of similarities over it has no value."""
    wv = WordVectors(["zero", "b", "c"], np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32))
    assert wv.similarity("zero", "b") == 0.0
    assert [sim for _, sim in wv.most_similar("zero")] == [0.0, 0.0]
    with pytest.raises(ValueError, match="'zero' is undefined"):
        wv.relative_cosine_similarity("zero", "b")


def test_add_vector_and_count_attribute():
    wv = WordVectors(["a", "b"], np.eye(2, dtype=np.float32), counts=[3, 1])
    assert wv.add_vector("c", [0.5, 0.5]) == 2 and wv.get_vecattr("c", "count") == 0
    assert wv.add_vector("a", [9.0, 9.0]) == 0 and wv["a"].tolist() == [1.0, 0.0]  # existing: kept, as add_vectors
    assert wv.get_vecattr("a", "count") == 3
    with pytest.raises(KeyError, match="no attribute 'colour'"):
        wv.get_vecattr("a", "colour")


def test_distances_ranks_and_means_equal_gensims(paired_vectors):
    wv, kv, vec = paired_vectors
    np.testing.assert_allclose(wv.distances("w1"), kv.distances("w1"), atol=1e-6)
    np.testing.assert_allclose(wv.distances(vec, ["w2", "w3"]), kv.distances(vec, ["w2", "w3"]), atol=1e-6)
    assert wv.closer_than("w1", "w20") == kv.closer_than("w1", "w20")
    assert wv.rank("w1", "w20") == kv.rank("w1", "w20")
    assert wv.n_similarity(["w1", "w2"], ["w3", "w4"]) == pytest.approx(
        kv.n_similarity(["w1", "w2"], ["w3", "w4"]), abs=1e-6
    )
    for kwargs in [{}, {"pre_normalize": False}, {"post_normalize": True}]:
        np.testing.assert_allclose(
            wv.get_mean_vector(["w1", vec, "missing"], [1, 2, -3], **kwargs),
            kv.get_mean_vector(["w1", vec, "missing"], [1, 2, -3], **kwargs),
            atol=1e-6,
        )
    with pytest.raises(KeyError):
        wv.get_mean_vector(["missing"], ignore_missing=False)
    with pytest.raises(ValueError):
        wv.n_similarity([], ["w1"])


def test_choosing_and_centrality_answer_as_gensim_does(paired_vectors):
    wv, kv, _ = paired_vectors
    choices = ["w7", "w20", "w33", "w41"]
    assert wv.most_similar_to_given("w1", choices) == kv.most_similar_to_given("w1", choices)
    for use_norm in (True, False):
        ours, theirs = wv.rank_by_centrality(choices, use_norm), kv.rank_by_centrality(choices, use_norm)
        assert [w for _, w in ours] == [w for _, w in theirs]
        np.testing.assert_allclose([c for c, _ in ours], [c for c, _ in theirs], rtol=1e-5)
    with_missing = ["w2", "missing", "w3"]  # (left out, as gensim leaves it out)
    assert [w for _, w in wv.rank_by_centrality(with_missing)] == [w for _, w in kv.rank_by_centrality(with_missing)]
    with pytest.raises(ValueError, match="at least one word"):
        wv.rank_by_centrality(["missing"])
    with pytest.raises(ValueError, match="at least one word"):
        wv.most_similar_to_given("w1", [])


def test_add_vectors_as_gensim_does():
    wv = WordVectors(["a", "b"], np.eye(2, dtype=np.float32), counts=[3, 1])
    wv.most_similar("a")  # fills the cache that add_vectors must drop
    wv.add_vectors(["b", "c"], np.array([[5, 5], [0, 2]], np.float32))
    assert wv.index_to_key == ["a", "b", "c"] and wv.get_index("c") == 2
    np.testing.assert_array_equal(wv["b"], [0, 1])  # kept without replace
    assert wv.counts.tolist() == [3, 1, 0]
    wv.add_vectors("b", [7, 7], replace=True)
    np.testing.assert_array_equal(wv["b"], [7, 7])
    assert wv.most_similar("a", topn=2)[0][0] == "b"
    with pytest.raises(ValueError, match="twice"):
        wv.add_vectors(["d", "d"], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="weights"):
        wv.add_vectors(["d"], np.zeros((1, 3)))
