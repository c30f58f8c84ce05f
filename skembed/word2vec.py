"""``Word2VecVectorizer``: word2vec (skip-gram, CBOW) as a scikit-learn transformer."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseEmbeddingVectorizer, check_shape, make_generator, progress_bar, torch_context
from ._text import DEFAULT_TOKEN_PATTERN
from ._word2vec_kernel import Word2VecConfig, Word2VecKernel
from .vectors import WordVectors

__all__ = ["Word2VecVectorizer"]

_DEFAULT_BATCH = {"skipgram": 2048, "cbow": 6144}
# (centres per shared negative draw, draws per group): see skembed._word2vec_kernel
_NEGATIVE_SHARING = {"skipgram": (64, 12), "cbow": (32, 1)}
# tokens per piece of a document visited in random order: see skembed._word2vec_kernel
_SHUFFLE_PIECE = 1024
# most summed occurrences of a word row per batch (skip-gram; fastText's n-gram rows have their own)
_ROW_UPDATE_CAP = 16.0
# the window the skip-gram default batch is set for: wider windows get smaller batches
_BATCH_WINDOW = 5
# the largest chance that two kept tokens are the same word (the sum of squared kept-token
# shares) for which an algorithm's base batch is used as it is; more concentrated corpora
# (no subsampling) get proportionally smaller batches
_BATCH_COLLISION = {"skipgram": 1 / 512, "cbow": 1 / 768}


class Word2VecVectorizer(BaseEmbeddingVectorizer):
    """Learn word2vec embeddings from raw text and pool them into document vectors.

    ``fit`` trains skip-gram or CBOW with negative sampling on the documents
    (a torch kernel, see ``skembed._word2vec_kernel``); ``transform`` returns one
    pooled vector per document, so the vectorizer can feed any scikit-learn model.

    Parameters
    ----------
    vector_size : int, default=100
        Dimension of the word vectors.
    window : int, default=5
        Largest distance between a centre word and a context word.
    algorithm : {"skipgram", "cbow"}, default="skipgram"
    negative : int, default=5
        Negative samples per (centre, context) pair.
    ns_exponent : float, default=0.75
        Exponent of the unigram distribution negatives are drawn from, in
        [-10, 10] (beyond that the distribution is all on one word or uniform).
    sample : float, default=1e-3
        Subsampling threshold for frequent words (0 disables it).
    min_count : int, default=5
        Words seen fewer times are ignored.
    max_vocab_size : int or None, default=None
        Keep only this many most frequent words.
    epochs : int, default=5
    alpha, min_alpha : float, default=0.025, 1e-4
        Learning rate, decayed linearly from ``alpha`` to ``min_alpha``.
    shrink_windows : bool, default=True
        Draw each centre's effective window uniformly from ``1..window``.
    batch_size : int or None, default=None
        Centre words per training step (None: 2048 for skip-gram, 6144 for CBOW,
        smaller where a step would sum more stale updates of one row: skip-gram's
        shrinks as ``(5 / window) ** 2`` for windows over 5 and by
        ``((window + 1) / (2 * window)) ** 2`` with ``shrink_windows=False``, and
        both shrink when a few frequent words fill much of the kept tokens, as
        with ``sample=0``).
        Larger batches are faster but sum more stale updates per step; see
        ``benchmarks/bench_word2vec.py``.
    pooling : {"mean", "sum", "max", "mean_max", "tfidf", "sif"}, default="mean"
        How ``transform`` combines word vectors into a document vector.
    grow_vocabulary : bool, default=False
        Let ``partial_fit`` add words: a word whose count summed over all the
        calls reaches ``min_count`` gets a row, and known words' counts grow
        (gensim's ``build_vocab(update=True)``). The words still under
        ``min_count`` are kept, with their counts, in ``pending_words_``.
    corpus_max_bytes : int or None, default=2**30
        Most bytes of encoded corpus (4 per token) held in memory during
        ``fit``; a larger corpus is spilled to a memory-mapped temporary file
        (in ``TMPDIR``), so a corpus larger than memory can be fitted from a
        file or any iterable, read once. None never spills.
    lowercase, token_pattern, tokenizer
        Tokenization of raw-text documents (token lists are used as given).
    n_jobs : int or None, default=None
        Torch threads during ``fit`` (None: 1, -1: all cores); restored afterwards.
    device : str, default="cpu"
        Torch device for training, e.g. ``"cuda"``. Fitted vectors are numpy arrays.
    random_state : int, RandomState or None, default=None
    verbose : int, default=0
        Show a progress bar (words/s) during training.

    Attributes
    ----------
    wv_ : WordVectors
        The learned (input) word vectors.
    vocabulary_ : dict of str to int
    history_ : list of dict
        Per epoch: ``loss`` (summed negative log-likelihood, float64), ``words``,
        ``seconds`` and ``words_per_second``.
    syn1neg_ : ndarray of float32
        The output (context) vectors, kept for ``partial_fit``.
    pending_words_ : dict of str to [int, int]
        With ``grow_vocabulary=True``: each word seen but still under
        ``min_count``, with its count and document frequency.
    n_features_out_ : int

    Notes
    -----
    ``partial_fit`` trains one epoch on new text with the existing vocabulary;
    the learning rate decays from ``alpha`` to ``min_alpha`` over each call, as
    gensim's ``train`` on new text does.

    Examples
    --------
    >>> from skembed import Word2VecVectorizer
    >>> docs = ["the cat sat on the mat", "the dog sat on the log"] * 50
    >>> vec = Word2VecVectorizer(vector_size=16, min_count=1, epochs=2, random_state=0)
    >>> vec.fit_transform(docs).shape
    (100, 16)
    """

    _parameter_constraints: dict = {
        **BaseEmbeddingVectorizer._parameter_constraints,
        "window": [Interval(numbers.Integral, 1, None, closed="left")],
        "algorithm": [StrOptions({"skipgram", "cbow"})],
        "negative": [Interval(numbers.Integral, 1, None, closed="left")],
        "ns_exponent": [Interval(numbers.Real, -10, 10, closed="both")],
        "sample": [Interval(numbers.Real, 0, None, closed="left")],
        "alpha": [Interval(numbers.Real, 0, None, closed="neither")],
        "min_alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "shrink_windows": ["boolean"],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "grow_vocabulary": ["boolean"],
    }

    _default_batch = _DEFAULT_BATCH
    # whether each epoch visits the documents' pieces in a new random order (else file order)
    _shuffled = {"skipgram": True, "cbow": True}
    # most summed occurrences of an n-gram row per batch (0: none; word2vec has no n-gram rows)
    _ngram_update_cap = {"skipgram": 0.0, "cbow": 0.0}

    def __init__(
        self,
        vector_size=100,
        window=5,
        algorithm="skipgram",
        negative=5,
        ns_exponent=0.75,
        sample=1e-3,
        min_count=5,
        max_vocab_size=None,
        epochs=5,
        alpha=0.025,
        min_alpha=1e-4,
        shrink_windows=True,
        batch_size=None,
        pooling="mean",
        grow_vocabulary=False,
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
        self.algorithm = algorithm
        self.negative = negative
        self.ns_exponent = ns_exponent
        self.sample = sample
        self.min_count = min_count
        self.max_vocab_size = max_vocab_size
        self.epochs = epochs
        self.alpha = alpha
        self.min_alpha = min_alpha
        self.shrink_windows = shrink_windows
        self.batch_size = batch_size
        self.pooling = pooling
        self.grow_vocabulary = grow_vocabulary
        self.corpus_max_bytes = corpus_max_bytes
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.tokenizer = tokenizer
        self.n_jobs = n_jobs
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _config(self, vocab=None):
        return Word2VecConfig(
            vector_size=self.vector_size,
            window=self.window,
            algorithm=self.algorithm,
            negative=self.negative,
            alpha=self.alpha,
            min_alpha=self.min_alpha,
            shrink_windows=self.shrink_windows,
            batch_size=self.batch_size or self._default_batch_size(vocab),
            negative_group=_NEGATIVE_SHARING[self.algorithm][0],
            negative_draws=_NEGATIVE_SHARING[self.algorithm][1],
            row_update_cap=_ROW_UPDATE_CAP,
            ngram_update_cap=self._ngram_update_cap[self.algorithm],
            spread_groups=True,
            shuffle_piece=_SHUFFLE_PIECE if self._shuffled[self.algorithm] else 0,
        )

    def _default_batch_size(self, vocab=None):
        """The batch when ``batch_size`` is None: the base for the algorithm, made smaller where a
        batch's summed stale updates of one row would grow past what the base was set for.

        - Window (skip-gram): a centre sums its ``2r`` pair updates into one step and each output
          row of a batch's span sums those of up to ``2w`` centres, so the stale sums grow about as
          the window squared; past window 5 the batch shrinks by that square (at window 7 and 10 the
          base 2048 diverged on enwiki_small; this rule's 1044 and 512 trained on every seed tried).
        - Fixed windows (skip-gram, ``shrink_windows=False``): every centre uses all ``w`` words a
          side instead of ``(w + 1) / 2`` on average, so the batch shrinks by that ratio squared
          (737 at window 5; 2048 diverged on enwiki_small).
        - Frequent words (both algorithms, given the vocabulary): a kept token expects
          ``batch * c`` others of its word in the batch, where ``c`` is the sum of the squared
          kept-token shares, and those are the alike updates a step sums into its rows.
          Subsampling holds ``c`` near 1/800 on our corpora; with ``sample=0`` it is about 1/90 and
          both bases diverged or trained poorly, so the batch shrinks by ``limit / c`` where ``c``
          passes the algorithm's limit (``_BATCH_COLLISION``; CBOW's context mean spreads one update
          over all of a context's frequent words, so its limit is the tighter).
        """
        bs = self._default_batch[self.algorithm]
        if self.algorithm == "skipgram":
            if self.window > _BATCH_WINDOW:
                bs = bs * (_BATCH_WINDOW / self.window) ** 2
            if not self.shrink_windows:
                bs = bs * ((self.window + 1) / (2 * self.window)) ** 2
        if vocab is not None and len(vocab):
            kept = vocab.counts * vocab.keep_probabilities(self.sample).astype(np.float64)
            collision = float(np.sum((kept / max(kept.sum(), 1e-12)) ** 2))
            bs = bs * min(1.0, _BATCH_COLLISION[self.algorithm] / max(collision, 1e-12))
        return max(64, int(bs))

    def _make_kernel(self, vocab, device, generator, w_in, w_out, **layout):
        return Word2VecKernel(
            self._config(vocab),
            vocab.keep_probabilities(self.sample),
            vocab.negative_alias(self.ns_exponent),
            device,
            generator,
            w_in=w_in,
            w_out=w_out,
        )

    def _train(self, vocab, corpus, epochs, w_in=None, w_out=None, **layout):
        """Train on an encoded corpus; returns (input matrix, output matrix, history) as numpy."""
        with torch_context(self.n_jobs, self.device, self.random_state) as (device, seed):
            kernel = self._make_kernel(vocab, device, make_generator(device, seed), w_in, w_out, **layout)
            with progress_bar(self.verbose, corpus.n_tokens * epochs, f"{kernel._name} {self.algorithm}") as bar:
                stats = kernel.train(corpus, epochs, on_batch=bar.update)
            history = [
                {
                    "epoch": i + 1,
                    "loss": s.loss,
                    "words": s.visited,
                    "seconds": s.seconds,
                    "words_per_second": s.visited / max(s.seconds, 1e-9),
                }
                for i, s in enumerate(stats)
            ]
            return kernel.w_in.cpu().numpy(), kernel.w_out.cpu().numpy(), history

    def _fit_corpus(self, vocab, corpus, epochs, warm, pending=None):
        init = (None, None)
        if warm:  # words a growing vocabulary added get word2vec's initial rows
            init = (self._grown_rows(self.wv_.vectors, len(vocab), 0.5), self._grown_rows(self.syn1neg_, len(vocab), 0))
        w_in, w_out, history = self._train(vocab, corpus, epochs, *init)
        self._finish_fit(
            WordVectors(vocab.index_to_key, w_in, vocab.counts),
            vocab,
            corpus,
            self._history(history, warm),
            pending,
            syn1neg_=w_out,
        )

    def _check_state(self):
        super()._check_state()
        # (partial_fit continues from it: a row short would be taken for a new word's)
        check_shape(self.syn1neg_, (len(self.wv_), self.wv_.vector_size), "syn1neg_")

    def _grown_rows(self, matrix, n_rows, scale):
        """``matrix`` with rows appended up to ``n_rows``, uniform in ``[-scale/d, scale/d)`` (zero
        for ``scale=0``), drawn from ``random_state``."""
        extra = n_rows - len(matrix)
        if extra <= 0:
            return matrix
        d = matrix.shape[1]
        rng = np.random.default_rng(self._derived_seed(f"grown rows {len(matrix)}"))
        rows = ((rng.random((extra, d), dtype=np.float32) * 2 - 1) * (scale / d)).astype(np.float32)
        return np.vstack([matrix, rows])
