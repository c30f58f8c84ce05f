"""``PretrainedVectorizer``: given word vectors (pretrained, or another model's) as a transformer.

Nothing is trained: ``fit`` only counts what the pooling modes need (document
frequencies for ``tfidf``, word frequencies and the removed direction for
``sif``) over the words of the vectors, so that vectors downloaded once (GloVe,
fastText's ``.bin`` or ``.vec``, a gensim model) go into a scikit-learn
``Pipeline`` as ``TfidfVectorizer`` does.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import HasMethods, StrOptions

from ._base import _TEXT_CONSTRAINTS, BaseEmbeddingVectorizer
from ._corpus import distinct_values, encode_corpus
from ._text import DEFAULT_TOKEN_PATTERN
from ._vocab import Vocabulary
from ._word_files import nonfinite_row
from .pooling import POOLING_MODES
from .vectors import WordVectors

__all__ = ["PretrainedVectorizer"]

_CHUNK_TOKENS = 1 << 20  # tokens whose document frequencies are counted at a time


def _no_partial_fit(self):
    raise AttributeError(
        "PretrainedVectorizer has no partial_fit: its vectors are not trained; fit it again to recount the pooling"
    )


class PretrainedVectorizer(BaseEmbeddingVectorizer):
    """Pool given word vectors into document vectors, with no training.

    Parameters
    ----------
    vectors : WordVectors, SubwordVectors or gensim KeyedVectors
        The word vectors, used as they are: ``WordVectors.load_word2vec_format``,
        ``load_glove_format``, ``SubwordVectors.load_facebook_format``, another
        vectorizer's ``wv_``, or a gensim model's ``.wv`` (read through
        ``WordVectors.from_gensim`` at fit). Clones share skembed's vectors rather
        than copy them (``WordVectors`` are data to scikit-learn's ``clone``); gensim's
        objects are deep-copied by ``clone``, so for a grid search over large vectors
        convert them once with ``WordVectors.from_gensim``.
    pooling : {"mean", "sum", "max", "mean_max", "tfidf", "sif"}, default="mean"
        As for the other vectorizers; ``tfidf`` and ``sif`` take their
        statistics from the documents given to ``fit``.
    oov_vectors : bool, default=True
        With subword vectors, words they do not hold get their n-gram vectors
        in ``transform``; False drops them, as any vectors drop unknown words.
    lowercase, token_pattern, tokenizer
        How documents become tokens, as for the other vectorizers; match them
        to how the vectors were made (GloVe's are lower-cased, fastText's
        crawl vectors are not).

    Attributes
    ----------
    wv_ : WordVectors
        The vectors (the ``vectors`` parameter itself, or its gensim conversion).
    vocabulary_ : dict
        Word to row of ``wv_``.
    doc_freq_ : ndarray of int64
        Per word of ``wv_``, the number of ``fit`` documents holding it.
    n_docs_ : int
    pooler_ : DocumentPooler
    n_features_out_ : int

    Notes
    -----
    No randomness, threads, device or progress bar are involved (``fit`` is
    a count and, for ``sif``, one SVD), so this estimator has no
    ``random_state``, ``n_jobs``, ``device`` or ``verbose``, and no
    ``partial_fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from skembed import PretrainedVectorizer, WordVectors
    >>> wv = WordVectors(["good", "bad"], np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32))
    >>> PretrainedVectorizer(wv).fit(["good good", "bad"]).transform(["good bad", "unknown"])
    array([[0.5, 0.5],
           [0. , 0. ]], dtype=float32)
    """

    _parameter_constraints: dict = {
        **{k: _TEXT_CONSTRAINTS[k] for k in ("lowercase", "token_pattern", "tokenizer")},
        "vectors": [WordVectors, HasMethods(["get_vector", "most_similar"]), None],
        "pooling": [StrOptions(set(POOLING_MODES))],
        "oov_vectors": ["boolean"],
    }

    def __init__(
        self,
        vectors=None,
        *,
        pooling="mean",
        oov_vectors=True,
        lowercase=True,
        token_pattern=DEFAULT_TOKEN_PATTERN,
        tokenizer=None,
    ):
        self.vectors = vectors
        self.pooling = pooling
        self.oov_vectors = oov_vectors
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.tokenizer = tokenizer

    def fit(self, X, y=None):
        """Count the pooling statistics of documents ``X`` over the vectors' words.

        Parameters
        ----------
        X : iterable of str or of lists of str
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        wv = self._word_vectors()
        corpus = encode_corpus(X, self._make_tokenizer(), wv.key_to_index, allow_empty=False)
        if corpus.n_tokens == 0:
            raise ValueError(
                f"none of the {corpus.n_docs} documents' tokens is a word of the vectors; check lowercase "
                "and token_pattern against how the vectors were made"
            )
        counts, doc_freq = _word_statistics(corpus, len(wv))
        vocab = Vocabulary(wv.index_to_key, counts, doc_freq, corpus.n_docs)
        self._finish_fit(wv, vocab, corpus, history=[])
        return self

    partial_fit = available_if(_no_partial_fit)(BaseEmbeddingVectorizer.partial_fit)

    def _word_vectors(self):
        """The ``vectors`` parameter as skembed vectors, checked to be finite."""
        if self.vectors is None:
            raise ValueError("PretrainedVectorizer needs vectors, e.g. WordVectors.load_word2vec_format(path)")
        wv = self.vectors if isinstance(self.vectors, WordVectors) else WordVectors.from_gensim(self.vectors)
        bad = nonfinite_row(wv.vectors)
        if bad is not None:
            raise ValueError(f"vectors: the vector of {wv.index_to_key[bad]!r} holds NaN or infinity")
        return wv


def _word_statistics(corpus, n_words):
    """Per word, its number of tokens and of documents holding it, counted a chunk of whole
    documents at a time (a (document, word) pair per token is int64)."""
    counts = np.bincount(corpus.ids, minlength=n_words).astype(np.int64)
    doc_freq = np.zeros(n_words, np.int64)
    for _, part in corpus.doc_chunks(_CHUNK_TOKENS):
        pairs = distinct_values((part.doc_index() << 32) | part.ids.astype(np.int64))  # (as scan_corpus counts)
        doc_freq += np.bincount(pairs & 0xFFFFFFFF, minlength=n_words)
    return counts, doc_freq
