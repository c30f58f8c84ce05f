"""What every skembed estimator shares: text parameters, input checks, the
torch context (threads, device, seed), progress bars, fitted-state handling and
pickling. Only this module touches torch's thread count, devices and seeds.
"""

from __future__ import annotations

import contextlib
import copy
import numbers
import warnings
import zlib

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._corpus import Corpus, encode_corpus, encode_with_unseen, scan_corpus
from ._text import Tokenizer
from ._vocab import Vocabulary
from .pooling import POOLING_MODES, DocumentPooler

__all__ = ["SkembedVersionWarning", "BaseTextEstimator", "BaseEmbeddingVectorizer", "torch_context"]


class SkembedVersionWarning(UserWarning):
    """A pickled estimator was made by another skembed version than the one loading it."""


def _version():
    from . import __version__

    return __version__


def resolve_n_jobs(n_jobs) -> int:
    """Torch threads for ``n_jobs``: None means 1 (as in scikit-learn), -1 all cores,
    -2 all but one, and so on; never more than the machine's cores (more threads
    than cores only slow torch down, and a huge count aborts its OpenMP runtime)."""
    if n_jobs is None:
        return 1
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, a positive number or -1")
    import joblib

    cores = joblib.cpu_count()
    if n_jobs < 0:
        return max(cores + 1 + n_jobs, 1)
    return min(n_jobs, cores)


def resolve_device(device) -> torch.device:
    """A ``torch.device`` for ``device``, with a clear error when it is not available."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a device torch knows: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but torch finds no CUDA GPU; use device='cpu'")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} was requested but MPS is not available; use device='cpu'")
    return dev


@contextlib.contextmanager
def torch_context(n_jobs, device, random_state, seed_torch=False):
    """Set torch's threads for the duration of a fit and restore them afterwards.

    Yields ``(device, seed)``: ``seed`` is an int drawn from ``random_state``
    that seeds every generator the fit uses, so that the same ``random_state``
    and ``n_jobs`` give the same result. With ``seed_torch``, torch's global
    generators (on the CPU and ``device``), which module initialisation and an
    encoder's dropout draw from, are forked for the duration and seeded with
    ``seed``: the fit is reproducible and the caller's stream is left as it was.
    """
    dev = resolve_device(device)
    seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    threads = resolve_n_jobs(n_jobs)
    previous = torch.get_num_threads()
    forked = torch.random.fork_rng(devices=[dev.index or 0] if dev.type == "cuda" else [], enabled=seed_torch)
    try:
        torch.set_num_threads(threads)
        with forked:
            if seed_torch:
                torch.manual_seed(seed)
            yield dev, seed
    finally:
        torch.set_num_threads(previous)


def make_generator(device: torch.device, seed: int) -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


def check_unchanged(name, value, fitted):
    """``partial_fit`` continues a fitted model: a parameter that shaped it and has been set to
    another value since is a ``ValueError`` naming both values, not silently ignored."""
    if value != fitted:
        raise ValueError(
            f"{name}={value!r} differs from the fitted model's {fitted!r}; partial_fit continues the "
            f"fitted model, so set {name}={fitted!r} again or call fit to start a new one"
        )


def progress_bar(verbose, total, desc, unit="word"):
    """A tqdm bar when ``verbose`` is truthy, else a no-op stand-in."""
    if verbose:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, leave=verbose > 1)
    return contextlib.nullcontext(_NoBar())


class _NoBar:
    def update(self, n=1):
        pass

    def set_postfix(self, *args, **kwargs):
        pass


_TEXT_CONSTRAINTS = {
    "lowercase": ["boolean"],
    "token_pattern": [str],
    "tokenizer": [callable, None],
    "n_jobs": [Interval(numbers.Integral, None, None, closed="neither"), None],
    "device": [str, torch.device],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


class BaseTextEstimator(BaseEstimator):
    """Base of every skembed estimator: parameters, tags, fitted state and pickling."""

    _parameter_constraints: dict = dict(_TEXT_CONSTRAINTS)

    def _make_tokenizer(self) -> Tokenizer:
        return Tokenizer(lowercase=self.lowercase, token_pattern=self.token_pattern, tokenizer=self.tokenizer)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.non_deterministic = False
        return tags

    def _set_fitted(self, **attrs):
        """Install all fitted attributes at once, at the end of a fit, so that a
        fit interrupted earlier (KeyboardInterrupt) leaves the previous state."""
        self.__dict__.update(attrs)

    def _check_fitted(self):
        check_is_fitted(self, self._fitted_marker)

    def get_feature_names_out(self, input_features=None):
        """``<classname><i>`` for each column of ``transform``, as scikit-learn's decompositions
        name theirs."""
        self._check_fitted()
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(self.n_features_out_)], dtype=object)

    @property
    def _n_features_out(self):
        return self.n_features_out_

    def _base_seed(self):
        """An int drawn from a copy of ``random_state`` (so the estimator's own state is left
        alone): the same on every call for an int seed, fresh each call for None."""
        return int(check_random_state(copy.deepcopy(self.random_state)).randint(np.iinfo(np.int32).max))

    def _derived_seed(self, stream):
        """An int seed drawn from ``random_state`` (None when it is None), one per ``stream``
        name, so that nested estimators are reproducible but not correlated with the rest."""
        if self.random_state is None:
            return None
        seq = np.random.SeedSequence([self._base_seed(), zlib.crc32(stream.encode())])
        return int(seq.generate_state(1)[0] >> 1)

    def __getstate__(self):
        # object.__getstate__ returns the live __dict__ on Python 3.11+: copy before changing it
        state = dict(super().__getstate__())
        state["_skembed_version"] = _version()
        return state

    def __setstate__(self, state):
        version = state.pop("_skembed_version", None)
        if version is not None and version != _version():
            warnings.warn(
                f"this {type(self).__name__} was saved with skembed {version} and is loaded with "
                f"skembed {_version()}; results may differ",
                SkembedVersionWarning,
                stacklevel=2,
            )
        super().__setstate__(state)
        if hasattr(self, self._fitted_marker):
            self._check_state()

    def _check_state(self):
        """Raise ``ValueError`` if the fitted state's parts disagree (a loaded file is
        untrusted input: ids out of range would index past arrays)."""


def check_shape(array, shape, what):
    """``array`` is a numeric array of ``shape`` (a fitted part read from a file must agree with
    the rest: a shorter one would be padded silently, or fail deep inside torch, at ``partial_fit``)."""
    got = getattr(array, "shape", None)
    if got != tuple(shape) or not np.issubdtype(array.dtype, np.number):
        raise ValueError(
            f"{what} must be a numeric array of shape {tuple(shape)}, got {got if got else type(array).__name__}"
        )


def _is_count(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0


def check_ids(vocabulary, n_rows, what):
    """``vocabulary`` (word -> id) holds distinct ids in ``[0, n_rows)``."""
    ids = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(vocabulary)) if vocabulary else np.zeros(0, int)
    if ids.size and (ids.min() < 0 or ids.max() >= n_rows or np.unique(ids).size != ids.size):
        raise ValueError(f"vocabulary_ ids must be distinct and within the {n_rows} rows of {what}")


class BaseEmbeddingVectorizer(TransformerMixin, BaseTextEstimator):
    """Shared face of the word-embedding vectorizers (Word2Vec, GloVe).

    Subclasses train word vectors in ``fit``; this class turns documents into
    pooled document vectors and names the output features.
    """

    _parameter_constraints: dict = {
        **_TEXT_CONSTRAINTS,
        "vector_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "min_count": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_vocab_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "pooling": [StrOptions(set(POOLING_MODES))],
        "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "corpus_max_bytes": [Interval(numbers.Integral, 0, None, closed="left"), None],
    }
    _fitted_marker = "wv_"

    def fit(self, X, y=None):
        """Learn the vocabulary and the word vectors from documents.

        Parameters
        ----------
        X : iterable of str or of lists of str
            Raw documents or token lists; a generator (e.g. a file's lines) is
            read exactly once.
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        vocab, corpus, pending = self._scan(X)
        self._fit_corpus(vocab, corpus, self.epochs, warm=False, pending=pending)
        return self

    def partial_fit(self, X, y=None):
        """Train one more epoch on new documents.

        The first call on an unfitted vectorizer builds the vocabulary from
        ``X``. Later calls keep it, unless ``grow_vocabulary=True``: words not in
        it are skipped and their counts are not added; training continues from
        the current state (see the class's notes on what that means for each
        model). With ``grow_vocabulary=True`` (Word2Vec, FastText) the counts of
        known words grow by the new text's, and words whose count, summed over
        every call, reaches ``min_count`` get new rows (as gensim's
        ``build_vocab(update=True)``); subsampling and negative sampling use
        the updated counts. A ``vector_size`` changed since the fit is a
        ``ValueError`` (``fit`` starts again).

        Returns
        -------
        self
        """
        self._validate_params()
        if not hasattr(self, "wv_"):
            vocab, corpus, pending = self._scan(X)
            self._fit_corpus(vocab, corpus, 1, warm=False, pending=pending)
            return self
        check_unchanged("vector_size", self.vector_size, self._fitted_vector_size())  # (the matrices keep their width)
        if getattr(self, "grow_vocabulary", False):
            vocab, corpus, pending = self._grown(X)
        else:
            vocab, pending = Vocabulary(self.wv_.index_to_key, self.wv_.counts, self.doc_freq_, self.n_docs_), None
            corpus = encode_corpus(
                X, self._make_tokenizer(), self.wv_.key_to_index, allow_empty=False, max_bytes=self.corpus_max_bytes
            )
        if corpus.n_tokens:
            self._fit_corpus(vocab, corpus, 1, warm=True, pending=pending)
        return self

    def _scan(self, X):
        """The vocabulary and corpus of ``X``, and (growing vocabularies only, else None) the
        words under ``min_count`` with their counts."""
        grow = getattr(self, "grow_vocabulary", False)
        scanned = scan_corpus(
            X,
            self._make_tokenizer(),
            min_count=self.min_count,
            max_vocab_size=self.max_vocab_size,
            max_bytes=self.corpus_max_bytes,
            return_pruned=grow,
        )
        return scanned if grow else (*scanned, None)

    def _grown(self, X):
        """The fitted vocabulary grown by ``X`` (``Vocabulary.grown``), ``X`` encoded with it (read
        once), and the words still pending."""
        new, corpus, _ = scan_corpus(X, self._make_tokenizer(), max_bytes=self.corpus_max_bytes, return_pruned=True)
        old = Vocabulary(self.wv_.index_to_key, self.wv_.counts, self.doc_freq_, self.n_docs_)
        vocab, pending = old.grown(
            new, getattr(self, "pending_words_", {}), min_count=self.min_count, max_vocab_size=self.max_vocab_size
        )
        remap = np.asarray([vocab.key_to_index.get(w, -1) for w in new.index_to_key], dtype=np.int32)
        ids = remap[corpus.ids]
        return vocab, Corpus(ids, corpus.offsets).select(ids >= 0), pending

    def _fit_corpus(self, vocab, corpus, epochs, warm, pending=None):
        """Train on an encoded corpus (continuing from the fitted state when ``warm``) and
        install the result (with ``pending``, the words a growing vocabulary still counts)."""
        raise NotImplementedError

    def _history(self, new, warm):
        """``new`` epochs appended to ``history_`` (renumbered) when continuing, else ``new``."""
        if not warm:
            return new
        previous = [dict(h) for h in self.history_]
        return previous + [{**h, "epoch": len(previous) + i + 1} for i, h in enumerate(new)]

    def _fitted_vector_size(self):
        """The trained width (GloVe's ``output="concat"`` installs word and context vectors side by side)."""
        return self.wv_.vector_size // (2 if getattr(self, "output", None) == "concat" else 1)

    def _check_state(self):
        n = len(self.wv_)
        check_ids(self.vocabulary_, n, "wv_")
        check_shape(self.doc_freq_, (n,), "doc_freq_")
        if not _is_count(self.n_docs_):
            raise ValueError(f"n_docs_ must be a non-negative int, got {self.n_docs_!r}")
        pending = getattr(self, "pending_words_", {})
        if not isinstance(pending, dict) or not all(
            isinstance(w, str) and isinstance(c, list) and len(c) == 2 and all(map(_is_count, c))
            for w, c in pending.items()
        ):
            raise ValueError("pending_words_ must map words to [count, document count], both non-negative ints")
        weights = getattr(self.pooler_, "word_weights_", None)
        if weights is not None and len(weights) != n:
            raise ValueError(f"pooler_ has {len(weights)} word weights for {n} words")
        if self.n_features_out_ != self._n_out(self.wv_.vector_size):
            raise ValueError("n_features_out_ does not match the vectors and the pooling")

    def _finish_fit(self, wv, vocab, corpus, history, pending=None, **extra):
        """Fit the pooler on the training corpus and install the fitted state."""
        pooler = DocumentPooler(self.pooling).fit(corpus, wv.vectors, vocab.counts, vocab.doc_freq, vocab.n_docs)
        if pending is not None:
            extra["pending_words_"] = pending
        self._set_fitted(
            wv_=wv,
            vocabulary_=dict(vocab.key_to_index),
            history_=history,
            pooler_=pooler,
            n_features_out_=self._n_out(wv.vector_size),
            doc_freq_=vocab.doc_freq,
            n_docs_=vocab.n_docs,
            **extra,
        )

    def _n_out(self, d):
        return 2 * d if self.pooling == "mean_max" else d

    def transform(self, X):
        """Pool each document's known word vectors into one vector; with subword vectors
        (and ``oov_vectors=True``) words unseen in training get their n-gram vectors.

        Parameters
        ----------
        X : iterable of str or of lists of str

        Returns
        -------
        ndarray of float32, shape (n_documents, n_features_out_)
            Zero rows for documents without words that have a vector.
        """
        self._check_fitted()
        if not (getattr(self, "oov_vectors", False) and hasattr(self.wv_, "ngram_vectors")):
            corpus = encode_corpus(X, self._make_tokenizer(), self.wv_.key_to_index)
            return self.pooler_.transform(corpus, self.wv_.vectors)
        corpus, unseen = encode_with_unseen(X, self._make_tokenizer(), self.wv_.key_to_index)
        vectors = self.wv_.vectors
        if unseen:
            extra = self.wv_.ngram_vectors(unseen)
            # an unseen word none of whose n-grams was trained has a zero vector: it is dropped,
            # as an unknown word is, rather than diluting its document's mean
            has = np.any(extra != 0, axis=1)
            if not has.all():
                known = np.concatenate([np.ones(len(vectors), bool), has])
                corpus = corpus.select(known[corpus.ids])
            vectors = np.vstack([vectors, extra])
        return self.pooler_.transform(corpus, vectors)
