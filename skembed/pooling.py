"""Document vectors from word vectors: segment reductions over a flat corpus.

Weighted modes (``mean``, ``sum``, ``tfidf``, ``sif``) are one sparse
document-by-word matrix times the word-vector matrix; ``max`` is
``numpy.maximum.reduceat`` over the gathered rows. No Python loop runs per
document, and a document without known words pools to a zero vector.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._corpus import Corpus

__all__ = ["POOLING_MODES", "DocumentPooler", "pool"]

POOLING_MODES = ("mean", "sum", "max", "mean_max", "tfidf", "sif")
_MAX_CHUNK_TOKENS = 1 << 20


def _doc_word_matrix(corpus: Corpus, n_words: int, token_weights=None) -> sp.csr_matrix:
    data = np.ones(corpus.n_tokens, np.float32) if token_weights is None else token_weights
    return sp.csr_matrix((data, corpus.ids, corpus.offsets), shape=(corpus.n_docs, n_words))


def _weighted_mean(corpus, vectors, word_weights=None, normalize=True):
    """Sum (or weighted mean) of each document's word vectors.

    float32 throughout: converting the (possibly large) vector table per call
    would cost more than the product itself.
    """
    w = None if word_weights is None else word_weights[corpus.ids].astype(np.float32)
    m = _doc_word_matrix(corpus, len(vectors), w)
    out = np.asarray(m @ vectors, dtype=np.float32)
    if normalize:
        total = np.asarray(m.sum(axis=1, dtype=np.float64)).ravel()
        out /= np.where(total > 0, total, 1.0).astype(np.float32)[:, None]
    return out


def _segment_max(corpus, vectors):
    out = np.zeros((corpus.n_docs, vectors.shape[1]), dtype=np.float32)
    lengths = corpus.lengths
    # whole documents in chunks of about _MAX_CHUNK_TOKENS tokens, to bound memory
    for start, part in corpus.doc_chunks(_MAX_CHUNK_TOKENS):
        nonempty = np.flatnonzero(lengths[start : start + part.n_docs] > 0)
        if len(nonempty) == 0:
            continue
        rows = vectors[part.ids]
        out[start + nonempty] = np.maximum.reduceat(rows, part.offsets[nonempty], axis=0)
    return out


def pool(corpus: Corpus, vectors: np.ndarray, mode="mean", word_weights=None) -> np.ndarray:
    """Pool word vectors into one vector per document.

    Parameters
    ----------
    corpus : Corpus
        Documents as word ids into ``vectors`` (unknown words already dropped).
    vectors : ndarray of shape (n_words, d)
    mode : {"mean", "sum", "max", "mean_max", "weighted"}
        ``"weighted"`` is the ``word_weights``-weighted mean.

    Returns
    -------
    ndarray of float32, shape (n_docs, d) or (n_docs, 2 * d) for ``mean_max``.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    if mode == "mean":
        return _weighted_mean(corpus, vectors)
    if mode == "sum":
        return _weighted_mean(corpus, vectors, normalize=False)
    if mode == "weighted":
        return _weighted_mean(corpus, vectors, word_weights)
    if mode == "max":
        return _segment_max(corpus, vectors)
    if mode == "mean_max":
        return np.hstack([_weighted_mean(corpus, vectors), _segment_max(corpus, vectors)])
    raise ValueError(f"unknown pooling mode {mode!r}; expected one of {POOLING_MODES}")


class DocumentPooler:
    """Pooling with the statistics some modes learn at fit time.

    Parameters
    ----------
    mode : {"mean", "sum", "max", "mean_max", "tfidf", "sif"}
        ``tfidf`` is the idf-weighted mean (smooth idf as in scikit-learn's
        ``TfidfTransformer``); ``sif`` is smooth inverse frequency weighting,
        ``a / (a + p(w))``, with the first singular direction of the training
        documents removed (Arora, Liang and Ma, 2017).
    sif_alpha : float, default=1e-3
        The ``a`` of SIF.
    """

    def __init__(self, mode="mean", sif_alpha=1e-3):
        if mode not in POOLING_MODES:
            raise ValueError(f"pooling must be one of {POOLING_MODES}, got {mode!r}")
        self.mode = mode
        self.sif_alpha = sif_alpha
        self.word_weights_ = None
        self.component_ = None

    def fit(self, corpus: Corpus, vectors: np.ndarray, counts: np.ndarray, doc_freq: np.ndarray, n_docs: int):
        if self.mode == "tfidf":
            self.word_weights_ = (np.log((1.0 + n_docs) / (1.0 + doc_freq)) + 1.0).astype(np.float32)
            self.unseen_weight_ = float(np.log(1.0 + n_docs) + 1.0)
        elif self.mode == "sif":
            self.unseen_weight_ = 1.0
            p = counts / max(counts.sum(), 1)
            self.word_weights_ = (self.sif_alpha / (self.sif_alpha + p)).astype(np.float32)
            docs = pool(corpus, vectors, "weighted", self.word_weights_)
            if docs.shape[0] > 1 and np.any(docs):
                _, _, vt = np.linalg.svd(docs.astype(np.float64), full_matrices=False)
                self.component_ = vt[0].astype(np.float32)
        return self

    def transform(self, corpus: Corpus, vectors: np.ndarray) -> np.ndarray:
        """Pool ``corpus``; rows of ``vectors`` past the fitted words are words unseen at fit
        time (subword vectors give them one), weighted as a word of document frequency 0."""
        if self.mode in ("tfidf", "sif"):
            weights = self.word_weights_
            if len(vectors) > len(weights):
                unseen = np.float32(getattr(self, "unseen_weight_", weights.max(initial=1.0)))
                weights = np.concatenate([weights, np.full(len(vectors) - len(weights), unseen, np.float32)])
            out = pool(corpus, vectors, "weighted", weights)
            if self.component_ is not None:
                out -= np.outer(out @ self.component_, self.component_)
            return out
        return pool(corpus, vectors, self.mode)
