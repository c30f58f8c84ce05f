"""PretrainedVectorizer: given vectors as a transformer, pooled as the trained vectorizers pool."""

import zipfile

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

import skembed
from skembed import FastTextVectorizer, PretrainedVectorizer, Word2VecVectorizer, WordVectors
from skembed.datasets import load_sms_spam

SMS, SPAM = load_sms_spam(return_X_y=True)
SMS, SPAM = list(SMS[:600]), SPAM[:600]


@pytest.fixture(scope="module")
def w2v():
    return Word2VecVectorizer(vector_size=16, min_count=2, epochs=1, random_state=0).fit(SMS)


def test_mean_and_tfidf_pooling_equal_a_plain_reference():
    wv = WordVectors(["cash", "prize", "lunch"], np.array([[1, 0], [0, 1], [3, 3]], dtype=np.float32))
    docs = ["cash prize prize", "lunch", "cash lunch unknown", "nothing known"]
    mean = PretrainedVectorizer(wv).fit(docs).transform(docs)
    np.testing.assert_allclose(mean, [[1 / 3, 2 / 3], [3, 3], [2, 1.5], [0, 0]], rtol=1e-6)
    tfidf = PretrainedVectorizer(wv, pooling="tfidf").fit(docs)
    df = np.array([2, 1, 2])  # documents holding each word
    idf = np.log((1 + 4) / (1 + df)) + 1  # scikit-learn's smooth idf
    assert tfidf.doc_freq_.tolist() == df.tolist() and tfidf.n_docs_ == 4
    first = (idf[0] * wv["cash"] + 2 * idf[1] * wv["prize"]) / (idf[0] + 2 * idf[1])
    np.testing.assert_allclose(tfidf.transform(docs[:1])[0], first, rtol=1e-5)


def test_document_frequencies_counted_in_chunks_equal_one_count(monkeypatch):
    import skembed.pretrained as pretrained

    wv = WordVectors(["a", "b", "c"], np.eye(3, dtype=np.float32))
    docs = ["a a b", "", "c", "a b c a", "b"]
    whole = PretrainedVectorizer(wv).fit(docs)
    monkeypatch.setattr(pretrained, "_CHUNK_TOKENS", 2)  # chunks of whole documents, from 2 tokens on
    chunked = PretrainedVectorizer(wv).fit(docs)
    assert whole.doc_freq_.tolist() == chunked.doc_freq_.tolist() == [2, 3, 2]
    assert chunked.wv_.counts is None and chunked.n_docs_ == 5


@pytest.mark.parametrize("pooling", ["mean", "tfidf", "sif", "mean_max"])
def test_a_trained_vectorizers_vectors_pool_as_it_does(pooling):
    """Given a fitted vectorizer's vectors and its training text, the counts and the pooling
    are the vectorizer's own (the same document frequencies, the same SIF direction)."""
    trained = Word2VecVectorizer(vector_size=16, min_count=2, epochs=1, pooling=pooling, random_state=0).fit(SMS)
    ours = PretrainedVectorizer(trained.wv_, pooling=pooling).fit(SMS)
    np.testing.assert_array_equal(ours.doc_freq_, trained.doc_freq_)
    np.testing.assert_allclose(ours.transform(SMS[:50]), trained.transform(SMS[:50]), rtol=1e-5, atol=1e-6)


def test_subword_vectors_give_unseen_words_their_ngram_vectors():
    ft = FastTextVectorizer(vector_size=16, min_count=2, epochs=1, bucket=5000, random_state=0).fit(SMS)
    given = PretrainedVectorizer(ft.wv_).fit(SMS)
    np.testing.assert_allclose(given.transform(["priize"])[0], ft.wv_["priize"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(given.transform(SMS[:20]), ft.transform(SMS[:20]), rtol=1e-5, atol=1e-6)
    assert not PretrainedVectorizer(ft.wv_, oov_vectors=False).fit(SMS).transform(["priize"]).any()


def test_gensim_keyed_vectors_are_read_as_their_conversion():
    Word2Vec = pytest.importorskip("gensim.models").Word2Vec
    model = Word2Vec([t.lower().split() for t in SMS], vector_size=8, min_count=2, epochs=1, seed=0, workers=1)
    given = PretrainedVectorizer(model.wv).fit(SMS)
    converted = PretrainedVectorizer(WordVectors.from_gensim(model.wv)).fit(SMS)
    np.testing.assert_array_equal(given.transform(SMS[:30]), converted.transform(SMS[:30]))


def test_grid_search_over_the_pooling_shares_the_vectors(w2v):
    pipe = make_pipeline(PretrainedVectorizer(w2v.wv_), LogisticRegression(max_iter=500))
    grid = GridSearchCV(pipe, {"pretrainedvectorizer__pooling": ["mean", "tfidf"]}, cv=3).fit(SMS, SPAM)
    best = grid.best_estimator_[0]
    assert best.vectors is w2v.wv_ and best.wv_ is w2v.wv_  # cloned, not copied
    assert grid.best_score_ > 0.85


def test_safe_format_stores_the_vectors_once(w2v, tmp_path):
    vec = PretrainedVectorizer(w2v.wv_, pooling="tfidf").fit(SMS)
    skembed.save(vec, tmp_path / "p.skembed")
    back = skembed.load(tmp_path / "p.skembed")
    np.testing.assert_array_equal(back.transform(SMS[:20]), vec.transform(SMS[:20]))
    assert back.vectors.index_to_key == w2v.wv_.index_to_key
    with zipfile.ZipFile(tmp_path / "p.skembed") as zf:
        sizes = [zf.getinfo(n).file_size for n in zf.namelist() if n.endswith(".npy")]
    assert sum(s >= w2v.wv_.vectors.nbytes for s in sizes) == 1  # parameter and wv_: one array


def test_bad_vectors_and_text_are_named():
    wv = WordVectors(["cash"], np.ones((1, 3), np.float32))
    with pytest.raises(ValueError, match="needs vectors"):
        PretrainedVectorizer().fit(SMS)
    with pytest.raises(InvalidParameterError, match="vectors"):
        PretrainedVectorizer({"cash": [1.0, 2.0]}).fit(SMS)
    bad = WordVectors(["cash", "prize"], np.array([[1, 2], [np.nan, 0]], dtype=np.float32))
    with pytest.raises(ValueError, match="vector of 'prize' holds NaN"):
        PretrainedVectorizer(bad).fit(SMS)
    with pytest.raises(ValueError, match="none of the 2 documents' tokens is a word of the vectors"):
        PretrainedVectorizer(wv, lowercase=False).fit(["CASH", "Cash now"])
    assert not hasattr(PretrainedVectorizer(wv), "partial_fit")
