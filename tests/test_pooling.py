import numpy as np
import pytest

from skembed._corpus import Corpus
from skembed.pooling import DocumentPooler, pool

RNG = np.random.default_rng(0)
VECTORS = RNG.normal(size=(6, 4)).astype(np.float32)
DOCS = [[0, 1, 1], [], [5], [2, 3, 4, 0]]


def corpus(docs=DOCS):
    ids = np.array([i for d in docs for i in d], dtype=np.int32)
    return Corpus(ids, np.concatenate([[0], np.cumsum([len(d) for d in docs])]))


def reference(mode, weights=None):
    out = []
    for d in DOCS:
        if not d:
            out.append(np.zeros(8 if mode == "mean_max" else 4))
            continue
        v = VECTORS[d]
        if mode == "mean":
            out.append(v.mean(0))
        elif mode == "sum":
            out.append(v.sum(0))
        elif mode == "max":
            out.append(v.max(0))
        elif mode == "mean_max":
            out.append(np.concatenate([v.mean(0), v.max(0)]))
        elif mode == "weighted":
            w = weights[d]
            out.append((w[:, None] * v).sum(0) / w.sum())
    return np.array(out)


@pytest.mark.parametrize("mode", ["mean", "sum", "max", "mean_max"])
def test_pool_matches_numpy_reference(mode):
    got = pool(corpus(), VECTORS, mode)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, reference(mode), rtol=1e-5, atol=1e-6)


def test_tfidf_pooling_is_idf_weighted_mean():
    counts = np.array([5, 2, 1, 1, 1, 1])
    df = np.array([2, 1, 1, 1, 1, 1])
    p = DocumentPooler("tfidf").fit(corpus(), VECTORS, counts, df, n_docs=4)
    idf = np.log(5 / (1 + df)) + 1
    np.testing.assert_allclose(p.transform(corpus(), VECTORS), reference("weighted", idf), rtol=1e-5, atol=1e-6)


def test_sif_pooling_weights_and_removes_first_component():
    counts = np.array([50, 20, 1, 1, 1, 5])
    p = DocumentPooler("sif", sif_alpha=1e-2).fit(corpus(), VECTORS, counts, counts, n_docs=4)
    w = 1e-2 / (1e-2 + counts / counts.sum())
    base = reference("weighted", w)
    u = np.linalg.svd(base, full_matrices=False)[2][0]
    expected = base - np.outer(base @ u, u)
    np.testing.assert_allclose(p.transform(corpus(), VECTORS), expected, rtol=1e-4, atol=1e-5)
    assert not np.any(p.transform(corpus(), VECTORS)[1])  # empty document stays zero


def test_empty_documents_and_empty_corpus_are_zero_not_nan():
    for mode in ["mean", "max", "mean_max", "sum"]:
        out = pool(corpus([[], []]), VECTORS, mode)
        assert out.shape[0] == 2 and not out.any() and np.isfinite(out).all()
        assert pool(corpus([]), VECTORS, mode).shape[0] == 0


def test_max_pooling_across_chunks(monkeypatch):
    import skembed.pooling as pooling

    monkeypatch.setattr(pooling, "_MAX_CHUNK_TOKENS", 2)
    np.testing.assert_allclose(pool(corpus(), VECTORS, "max"), reference("max"), rtol=1e-6)


def test_unknown_mode():
    with pytest.raises(ValueError, match="pooling must be one of"):
        DocumentPooler("median")
