"""``GloVeVectorizer``: GloVe embeddings as a scikit-learn transformer."""

from __future__ import annotations

import numbers
from dataclasses import replace

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseEmbeddingVectorizer, check_shape, make_generator, progress_bar, torch_context
from ._cooccurrence import cooccurrence_matrix
from ._corpus import Corpus
from ._glove_kernel import GloVeConfig, GloVeKernel, stable_batch_size, visit_probability
from ._text import DEFAULT_TOKEN_PATTERN
from ._vocab import Vocabulary
from .vectors import WordVectors

__all__ = ["GloVeVectorizer"]

_DEFAULT_BATCH = 32768  # entries per step with batch_size=None, at most (see GloVeVectorizer._config)


class GloVeVectorizer(BaseEmbeddingVectorizer):
    """Learn GloVe embeddings from raw text and pool them into document vectors.

    ``fit`` counts word co-occurrences (vectorized, see ``skembed._cooccurrence``)
    and fits GloVe's weighted least-squares model with AdaGrad (Pennington,
    Socher and Manning, 2014). Same surface as :class:`Word2VecVectorizer`.

    Parameters
    ----------
    vector_size : int, default=100
    window : int, default=10
        Context window for co-occurrence counting.
    symmetric : bool, default=True
        Count right contexts as well as left ones.
    distance_weighting : bool, default=True
        A pair ``d`` words apart adds ``1/d`` (else 1).
    min_count : int, default=5
    max_vocab_size : int or None, default=None
    x_max : float, default=100.0
        Co-occurrence count at which the weighting function reaches 1.
    alpha : float, default=0.75
        Exponent of the weighting function.
    learning_rate : float, default=0.05
        AdaGrad's learning rate (Stanford's default). AdaGrad here divides by
        the accumulator that already holds the current gradients' squares, so
        a step stays bounded whatever the rate. On short documents over a large
        vocabulary 0.1 learns markedly better vectors; on a small corpus of long
        documents it trades SimLex-999 for WordSim353 (README's GloVe tables
        give both). Non-finite vectors raise ``FloatingPointError``.
    x_sample : float or None, default=10.0
        Entry sampling: an epoch visits an entry whose count ``x`` is below
        ``x_sample`` with probability ``f(x) / f(x_sample)`` and weighs it
        ``f(x_sample)`` when it does, so every epoch's gradient is an unbiased
        estimate of the full pass's at a fraction of its cost. Rare pairs, most
        of the matrix, carry little weight, so an epoch visits a fraction of
        the entries (README's GloVe tables give it per corpus). None or 0 visits every
        entry every epoch, as Stanford's code does; so does a matrix with at
        most ``batch_size`` non-zeros (32,768 when it is None), where sampling
        would save little and could skip most of the entries of a tiny corpus.
    epochs : int, default=25
    batch_size : int or None, default=None
        Co-occurrence entries per AdaGrad step. None: 32,768, or fewer where
        a batch would sum so many of a frequent word's entries from stale
        vectors that its steps grow past what that batch was set for (small
        corpora, and entry sampling, which keeps every entry of the frequent
        words; ``skembed._glove_kernel.stable_batch_size``). The two benchmark
        corpora keep 32,768; the bundled 453k-token Wikipedia sample gets
        about 18,000.
    output : {"sum", "word", "concat"}, default="sum"
        Word vectors are ``W + W~`` (as in the paper), ``W``, or both concatenated.
    keep_cooccurrence : bool, default=False
        Keep the co-occurrence matrix as ``cooccurrence_`` (also lets
        ``partial_fit`` add counts to it).
    corpus_max_bytes : int or None, default=2**30
        Most bytes of encoded corpus (4 per token) held in memory during
        ``fit``; a larger corpus is spilled to a memory-mapped temporary file
        (in ``TMPDIR``), so a corpus larger than memory can be fitted from a
        file or any iterable, read once. None never spills.
    pooling, lowercase, token_pattern, tokenizer, n_jobs, device, random_state, verbose
        As in :class:`Word2VecVectorizer`.

    Attributes
    ----------
    wv_ : WordVectors
    vocabulary_ : dict of str to int
    history_ : list of dict
        Per epoch: ``loss`` (mean weighted squared error per non-zero entry,
        float64; estimated from the visited entries when sampling),
        ``entries`` (visited), ``seconds``.
    cooccurrence_ : scipy.sparse.csr_matrix or None
    state_ : dict of ndarray
        Word and context vectors, biases and AdaGrad accumulators (for
        ``partial_fit``).
    n_features_out_ : int

    Notes
    -----
    ``partial_fit`` adds the co-occurrences of new text and trains one more
    epoch from the current vectors and AdaGrad state: on ``cooccurrence_ + new
    counts`` when ``keep_cooccurrence=True``, else on the new counts alone.

    Examples
    --------
    >>> from skembed import GloVeVectorizer
    >>> docs = ["the cat sat on the mat", "the dog sat on the log"] * 50
    >>> GloVeVectorizer(vector_size=8, min_count=1, epochs=2, random_state=0).fit_transform(docs).shape
    (100, 8)
    """

    _parameter_constraints: dict = {
        **BaseEmbeddingVectorizer._parameter_constraints,
        "window": [Interval(numbers.Integral, 1, None, closed="left")],
        "symmetric": ["boolean"],
        "distance_weighting": ["boolean"],
        "x_max": [Interval(numbers.Real, 0, None, closed="neither")],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "x_sample": [Interval(numbers.Real, 0, None, closed="left"), None],
        "output": [StrOptions({"sum", "word", "concat"})],
        "keep_cooccurrence": ["boolean"],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        vector_size=100,
        window=10,
        symmetric=True,
        distance_weighting=True,
        min_count=5,
        max_vocab_size=None,
        x_max=100.0,
        alpha=0.75,
        learning_rate=0.05,
        x_sample=10.0,
        epochs=25,
        batch_size=None,
        output="sum",
        keep_cooccurrence=False,
        pooling="mean",
        corpus_max_bytes=2**30,
        lowercase=True,
        token_pattern=DEFAULT_TOKEN_PATTERN,
        tokenizer=None,
        n_jobs=None,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.vector_size = vector_size
        self.window = window
        self.symmetric = symmetric
        self.distance_weighting = distance_weighting
        self.min_count = min_count
        self.max_vocab_size = max_vocab_size
        self.x_max = x_max
        self.alpha = alpha
        self.learning_rate = learning_rate
        self.x_sample = x_sample
        self.epochs = epochs
        self.batch_size = batch_size
        self.output = output
        self.keep_cooccurrence = keep_cooccurrence
        self.pooling = pooling
        self.corpus_max_bytes = corpus_max_bytes
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.tokenizer = tokenizer
        self.n_jobs = n_jobs
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _cooccur(self, corpus, n_words):
        return cooccurrence_matrix(
            corpus, n_words, window=self.window, symmetric=self.symmetric, distance_weighting=self.distance_weighting
        )

    def _config(self, coo):
        """The kernel's settings for entries ``coo`` and each entry's visit probability (None:
        all visited): with ``batch_size=None``, whether to sample is decided at the largest
        batch, ``_DEFAULT_BATCH`` (a matrix that fits in it is visited whole), and the batch is
        then the largest stable one up to it."""
        cfg = GloVeConfig(
            vector_size=self.vector_size,
            x_max=self.x_max,
            alpha=self.alpha,
            learning_rate=self.learning_rate,
            batch_size=self.batch_size or _DEFAULT_BATCH,
            x_sample=float(self.x_sample or 0.0),
        )
        visit = visit_probability(coo.data, cfg)
        if self.batch_size is not None:
            return cfg, visit
        if visit is None:
            cfg = replace(cfg, x_sample=0.0)
        return replace(cfg, batch_size=stable_batch_size(coo.row, coo.col, visit, _DEFAULT_BATCH)), visit

    def _train(self, matrix, epochs, state=None):
        coo = matrix.tocoo()
        cfg, visit = self._config(coo)
        with torch_context(self.n_jobs, self.device, self.random_state) as (device, seed):
            kernel = GloVeKernel(cfg, matrix.shape[0], device, make_generator(device, seed), state=state)
            per_epoch = coo.nnz if visit is None else int(visit.sum())
            with progress_bar(self.verbose, per_epoch * epochs, "GloVe", unit="entry") as bar:
                stats = kernel.train(coo, epochs, on_batch=bar.update)
            history = [
                {"epoch": i + 1, "loss": s.loss / max(coo.nnz, 1), "entries": s.visited, "seconds": s.seconds}
                for i, s in enumerate(stats)
            ]
            return kernel.vectors(self.output), kernel.state(), history

    def _install(self, vocab, corpus, matrix, vectors, state, history):
        wv = WordVectors(vocab.index_to_key, vectors, vocab.counts)
        self._finish_fit(
            wv, vocab, corpus, history, state_=state, cooccurrence_=matrix if self.keep_cooccurrence else None
        )

    def _fit_corpus(self, vocab, corpus, epochs, warm, pending=None):
        matrix = self._cooccur(corpus, len(vocab))
        if warm and self.cooccurrence_ is not None:
            matrix = (self.cooccurrence_ + matrix).tocsr()
        if matrix.nnz == 0:
            if warm:
                return
            raise ValueError(
                "no two vocabulary words co-occur within the window; give longer documents or lower min_count"
            )
        vectors, state, history = self._train(matrix, epochs, state=self.state_ if warm else None)
        self._install(vocab, corpus, matrix, vectors, state, self._history(history, warm))

    def _check_state(self):
        super()._check_state()
        # partial_fit continues from these: a row per word, each the trained vector and its bias
        n, width = len(self.wv_), self._fitted_vector_size() + 1
        state = self.state_ if isinstance(self.state_, dict) else {}
        for key in ("w", "c", "gradsq_w", "gradsq_c"):
            check_shape(state.get(key), (n, width), f"state_[{key!r}]")
        if self.cooccurrence_ is not None:
            if not sp.issparse(self.cooccurrence_) or self.cooccurrence_.shape != (n, n):
                raise ValueError(f"cooccurrence_ must be a sparse matrix of shape ({n}, {n}) or None")

    def fit_cooccurrence(self, matrix, vocabulary):
        """Fit GloVe on a co-occurrence matrix the caller already has.

        Parameters
        ----------
        matrix : scipy sparse matrix or 2-d array of shape (n_words, n_words)
            Non-negative co-occurrence counts (zeros are not training entries).
        vocabulary : list of str or dict of str to int
            The word of each row (a dict maps each word to its row, rows 0 .. n - 1 once each).

        Returns
        -------
        self

        Notes
        -----
        Without a corpus, word counts for ``pooling="sif"`` are taken as the
        matrix's row sums, and ``pooling="tfidf"`` has no document frequencies
        (every idf is 1, a plain mean).
        """
        self._validate_params()
        if not sp.issparse(matrix):
            dense = np.asarray(matrix) if isinstance(matrix, (np.ndarray, list, tuple)) else None
            if dense is None or dense.ndim != 2 or not np.issubdtype(dense.dtype, np.number):
                raise TypeError(
                    f"matrix must be a scipy sparse matrix or a 2-d numeric array, got {type(matrix).__name__}"
                )
            matrix = sp.csr_matrix(dense)
        words = _row_words(vocabulary)
        if matrix.shape != (len(words), len(words)):
            raise ValueError(f"matrix has shape {matrix.shape} but the vocabulary has {len(words)} words")
        matrix = sp.csr_matrix(matrix, dtype=np.float64, copy=True)  # the caller's matrix stays as it was
        matrix.sum_duplicates()  # a non-canonical CSR may list a pair twice
        matrix.eliminate_zeros()
        if matrix.nnz == 0:
            raise ValueError("the co-occurrence matrix has no non-zero entries")
        if matrix.data.min() < 0 or not np.isfinite(matrix.data).all():
            raise ValueError("co-occurrence counts must be finite and non-negative")
        # (clipped: row sums of huge weights would wrap around in int64)
        counts = np.asarray(matrix.sum(axis=1)).ravel().round().clip(max=2.0**62).astype(np.int64)
        vocab = Vocabulary(words, counts, np.zeros(len(words), np.int64), n_docs=0)
        empty = Corpus(np.zeros(0, np.int32), np.zeros(1, np.int64))
        vectors, state, history = self._train(matrix, self.epochs)
        self._install(vocab, empty, matrix, vectors, state, history)
        return self


def _row_words(vocabulary):
    """The word of each matrix row: a list of str, or a dict of str to row numbers that are
    ``0 .. n - 1`` once each."""
    if isinstance(vocabulary, dict):
        rows = (
            sorted(vocabulary.values()) if all(isinstance(i, (int, np.integer)) for i in vocabulary.values()) else None
        )
        if rows != list(range(len(vocabulary))):
            raise ValueError(
                f"a vocabulary dict must map its {len(vocabulary)} words to the rows "
                f"0 .. {len(vocabulary) - 1}, once each"
            )
        words = [None] * len(vocabulary)
        for w, i in vocabulary.items():
            words[i] = w
    else:
        words = list(vocabulary)
    odd = next((w for w in words if not isinstance(w, str)), None)
    if odd is not None:
        raise TypeError(f"vocabulary words must be str, got {type(odd).__name__}: {odd!r}")
    return words
