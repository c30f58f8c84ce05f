"""``FastTextVectorizer``: subword (fastText) embeddings as a scikit-learn transformer."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval

from ._fasttext_kernel import SubwordKernel
from ._subwords import vocabulary_rows
from ._text import DEFAULT_TOKEN_PATTERN
from .subword_vectors import SubwordVectors
from .word2vec import Word2VecVectorizer

__all__ = ["FastTextVectorizer"]


class FastTextVectorizer(Word2VecVectorizer):
    """Learn fastText subword embeddings from raw text and pool them into document vectors.

    A word's input vector is the mean of its own row and the rows of its
    character n-grams (``min_n`` to ``max_n`` characters of ``"<word>"``, hashed
    into ``bucket`` rows as Facebook's fastText hashes them), trained by
    skip-gram or CBOW with negative sampling on the word2vec kernel's batches
    (Bojanowski et al., 2017). Any string then has a vector, so words never seen
    in training (misspellings, inflections, "fr33") still count in ``transform``.

    Parameters
    ----------
    min_n, max_n : int, default=3, 6
        Shortest and longest n-grams, in characters; ``max_n < min_n`` trains
        plain word vectors.
    bucket : int, default=2_000_000
        Hash buckets for n-grams (fastText's and gensim's default). Only buckets
        that some vocabulary word uses get a row, so memory grows with the
        vocabulary's distinct n-grams, not with ``bucket``.
    oov_vectors : bool, default=True
        ``transform`` gives a word unseen in training the mean of its n-gram
        vectors (one none of whose n-grams was trained is dropped, as an unknown
        word is); False drops every unseen word, as the other vectorizers do.
    batch_size : int or None, default=None
        Centre words per training step (None: 2048 for both algorithms, made
        smaller by the rules of :class:`~skembed.Word2VecVectorizer` for wide or
        fixed windows and for a few frequent words filling much of a batch;
        CBOW's word2vec default of 6144 sums too many alike updates into the
        n-gram rows a batch shares).
    vector_size, window, algorithm, negative, ns_exponent, sample, min_count, max_vocab_size, epochs, \
alpha, min_alpha, shrink_windows, pooling, grow_vocabulary, corpus_max_bytes, lowercase, token_pattern, \
tokenizer, n_jobs, device, random_state, verbose
        As for :class:`~skembed.Word2VecVectorizer`.

    Attributes
    ----------
    wv_ : SubwordVectors
        The composed vectors of the vocabulary, with the rows they are made of;
        ``wv_["anyword"]`` answers for unseen words too.
    vocabulary_ : dict of str to int
    history_ : list of dict
        Per epoch: ``loss``, ``words``, ``seconds``, ``words_per_second``.
    syn1neg_ : ndarray of float32
        The output vectors, kept for ``partial_fit``.
    n_features_out_ : int

    Notes
    -----
    ``partial_fit`` trains one epoch on new text with the existing vocabulary
    and n-gram rows, as for :class:`~skembed.Word2VecVectorizer`.

    Examples
    --------
    >>> from skembed import FastTextVectorizer
    >>> docs = ["the cat sat on the mat", "the dog sat on the log"] * 50
    >>> vec = FastTextVectorizer(vector_size=16, min_count=1, epochs=2, random_state=0).fit(docs)
    >>> vec.transform(["the cats sat"]).shape, "cats" in vec.wv_
    ((1, 16), False)
    """

    _parameter_constraints: dict = {
        **Word2VecVectorizer._parameter_constraints,
        "min_n": [Interval(numbers.Integral, 0, 64, closed="both")],
        "max_n": [Interval(numbers.Integral, 0, 64, closed="both")],
        "bucket": [Interval(numbers.Integral, 1, 1 << 31, closed="both")],
        "oov_vectors": ["boolean"],
    }

    _default_batch = {"skipgram": 2048, "cbow": 2048}
    # CBOW reads the documents in file order, as fastText and gensim do: the shuffled order cost
    # it SimLex-999 on the dictionary-ordered glosses at every batch size tried (so it is the
    # order, not the batch) and did not help on enwiki_small; README's fastText section has the
    # figures. Skip-gram keeps the shuffle (in file order it diverged on enwiki_small).
    _shuffled = {"skipgram": True, "cbow": False}
    # An n-gram row's summed weight per batch, in word occurrences: skip-gram's is a stability
    # margin (64 blew up on some seeds); CBOW's is higher because in file order neighbouring
    # documents share n-grams and 32 held its similarity down (docs/architecture.md).
    _ngram_update_cap = {"skipgram": 32.0, "cbow": 128.0}

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
        min_n=3,
        max_n=6,
        bucket=2_000_000,
        oov_vectors=True,
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
        super().__init__(
            vector_size=vector_size,
            window=window,
            algorithm=algorithm,
            negative=negative,
            ns_exponent=ns_exponent,
            sample=sample,
            min_count=min_count,
            max_vocab_size=max_vocab_size,
            epochs=epochs,
            alpha=alpha,
            min_alpha=min_alpha,
            shrink_windows=shrink_windows,
            batch_size=batch_size,
            pooling=pooling,
            grow_vocabulary=grow_vocabulary,
            corpus_max_bytes=corpus_max_bytes,
            lowercase=lowercase,
            token_pattern=token_pattern,
            tokenizer=tokenizer,
            n_jobs=n_jobs,
            device=device,
            random_state=random_state,
            verbose=verbose,
        )
        self.min_n = min_n
        self.max_n = max_n
        self.bucket = bucket
        self.oov_vectors = oov_vectors

    def _make_kernel(self, vocab, device, generator, w_in, w_out, index, offsets, rows):
        return SubwordKernel(
            self._config(vocab),
            vocab.keep_probabilities(self.sample),
            vocab.negative_alias(self.ns_exponent),
            device,
            generator,
            offsets,
            rows,
            index.n_rows,
            w_in=w_in,
            w_out=w_out,
        )

    def _fit_corpus(self, vocab, corpus, epochs, warm, pending=None):
        # partial_fit continues with the fitted n-gram settings and rows
        span = (self.wv_.min_n, self.wv_.max_n, self.wv_.bucket) if warm else (self.min_n, self.max_n, self.bucket)
        index, offsets, rows = vocabulary_rows(vocab.index_to_key, *span)
        init = (None, None)
        if warm:
            init = (self._warm_input(vocab, index), self._grown_rows(self.syn1neg_, len(vocab), 0))
        w_in, w_out, history = self._train(vocab, corpus, epochs, *init, index=index, offsets=offsets, rows=rows)
        # composed from the kernel's layout, so the vocabulary's n-grams are not hashed twice
        wv = SubwordVectors.from_rows(vocab.index_to_key, w_in, offsets, rows, *span[:2], index, vocab.counts)
        self._finish_fit(wv, vocab, corpus, self._history(history, warm), pending, syn1neg_=w_out)

    def _warm_input(self, vocab, index):
        """The fitted input rows laid out for ``vocab`` and its n-gram ``index``: a growing
        vocabulary's new words and the buckets only they use get fastText's initial rows
        (uniform in ``[-1/d, 1/d)``); every fitted bucket keeps its row."""
        words = self._grown_rows(self.wv_.vectors_vocab, len(vocab), 1.0)
        ngrams = self.wv_.vectors_ngrams
        if index.n_rows != len(ngrams):
            fitted = self.wv_._index
            fresh = self._grown_rows(ngrams[:0], index.n_rows, 1.0)
            fresh[index.rows(fitted.buckets)] = ngrams  # (a grown vocabulary uses every fitted bucket)
            ngrams = fresh
        return np.vstack([words, ngrams])

    def save_facebook_model(self, path):
        """Write the fitted model as a fastText ``.bin`` file (input and output matrices), which
        ``fasttext.load_model`` and gensim's ``load_facebook_model`` read."""
        self._check_fitted()
        self.wv_.save_facebook_format(
            path,
            self.syn1neg_,
            window=self.window,
            epochs=self.epochs,
            min_count=self.min_count,
            negative=self.negative,
            algorithm=self.algorithm,
            sample=self.sample,
        )

    def _check_state(self):
        super()._check_state()
        if not isinstance(self.wv_, SubwordVectors):
            raise ValueError("a FastTextVectorizer's wv_ must be SubwordVectors")
