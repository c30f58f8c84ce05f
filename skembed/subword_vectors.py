"""``SubwordVectors``: word vectors that answer for any string through character n-grams.

gensim's ``FastTextKeyedVectors`` and Facebook fastText define a word's vector
as the mean of its own row (for a vocabulary word) and the rows of its hashed
character n-grams (``skembed._subwords``). A word never seen in training gets
the mean of its n-gram rows alone, so misspellings and inflections land near
the words they resemble. A word without any n-gram (``max_n`` 0, or too short)
that is not in the vocabulary gets a zero vector.
"""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp

from ._fasttext_format import LOSS, MODEL, read_facebook_bin, write_facebook_bin
from ._subwords import NgramIndex, subword_table
from .vectors import WordVectors

__all__ = ["SubwordVectors"]


class SubwordVectors(WordVectors):
    """Word vectors plus hashed character n-gram vectors (fastText's model of words).

    ``vectors`` holds the composed vector of each vocabulary word (what gensim's
    ``wv.vectors`` holds); ``vectors_vocab`` and ``vectors_ngrams`` are the
    trained rows it is composed of. ``word in sv`` says whether the word was in
    the training vocabulary; ``sv[word]``, :meth:`most_similar` and
    :meth:`similarity` answer for every string.

    Parameters
    ----------
    index_to_key : list of str
    vectors_vocab : array-like of shape (n_words, d)
        The words' own rows.
    vectors_ngrams : array-like of shape (n_rows, d)
        The n-gram rows: row ``i`` is bucket ``ngram_buckets[i]`` (or bucket ``i``
        when ``ngram_buckets`` is None, as in a fastText ``.bin`` file).
    min_n, max_n : int
        Lengths (in characters) of the n-grams.
    bucket : int
        Number of hash buckets.
    ngram_buckets : array-like of int, optional
        Sorted distinct buckets that have a row; the others are zero rows.
    counts : array-like of int, optional

    Examples
    --------
    >>> import numpy as np
    >>> sv = SubwordVectors(["cat"], np.ones((1, 2)), np.ones((10, 2)), 3, 4, 10)
    >>> "cats" in sv, sv["cats"].shape
    (False, (2,))
    """

    def __init__(
        self, index_to_key, vectors_vocab, vectors_ngrams, min_n, max_n, bucket, ngram_buckets=None, counts=None
    ):
        words = self._setup(index_to_key, vectors_vocab, vectors_ngrams, min_n, max_n, bucket, ngram_buckets)
        super().__init__(words, self._compose(words, self.vectors_vocab), counts)

    @classmethod
    def from_rows(cls, index_to_key, w_in, offsets, rows, min_n, max_n, index, counts=None):
        """From a subword kernel's input matrix (the words' rows, then the n-gram rows of
        ``index``) and its layout (``_subwords.vocabulary_rows``): each word's vector is the
        mean of its layout's rows, so no n-gram is hashed again."""
        n = len(index_to_key)
        self = cls.__new__(cls)
        words = self._setup(index_to_key, w_in[:n], w_in[n:], min_n, max_n, index.bucket, index.buckets)
        # the layout lists each word's own row first, then its n-gram rows (n + r)
        is_own = np.zeros(len(rows), bool)
        is_own[offsets[:-1]] = True
        ngram_offsets = offsets - np.arange(n + 1)
        WordVectors.__init__(self, words, self._mean(ngram_offsets, rows[~is_own] - n, self.vectors_vocab), counts)
        return self

    def _setup(self, index_to_key, vectors_vocab, vectors_ngrams, min_n, max_n, bucket, ngram_buckets):
        """Check and store the trained rows and the n-gram settings; returns the words."""
        vectors_vocab = np.asarray(vectors_vocab, dtype=np.float32)
        vectors_ngrams = np.asarray(vectors_ngrams, dtype=np.float32)
        min_n, max_n, bucket = int(min_n), int(max_n), int(bucket)
        if min_n < 0 or not 0 <= max_n <= 64:
            raise ValueError(f"min_n and max_n must be in [0, 64] (max_n < min_n: no n-grams), got {min_n}, {max_n}")
        if vectors_vocab.ndim != 2 or vectors_ngrams.ndim != 2 or vectors_ngrams.shape[1] != vectors_vocab.shape[1]:
            raise ValueError(
                f"vectors_vocab {vectors_vocab.shape} and vectors_ngrams {vectors_ngrams.shape} "
                "must be matrices with the same number of columns"
            )
        index = NgramIndex(bucket, ngram_buckets)
        index.check(vectors_ngrams.shape[0])
        self.vectors_vocab, self.vectors_ngrams = vectors_vocab, vectors_ngrams
        self.min_n, self.max_n, self.bucket, self._index = min_n, max_n, bucket, index
        words = list(index_to_key)
        if len(words) != vectors_vocab.shape[0]:
            raise ValueError(f"vectors_vocab has {vectors_vocab.shape[0]} rows for {len(words)} words")
        return words

    @property
    def ngram_buckets(self):
        """The buckets that have a row (None: all of them)."""
        return self._index.buckets

    def _compose(self, words, own=None):
        """Vectors of ``words``: the mean of the own row (where ``own`` gives one) and the n-gram rows."""
        offsets, buckets = subword_table(words, self.min_n, self.max_n, self.bucket)
        return self._mean(offsets, self._index.rows(buckets), own)

    def _mean(self, offsets, rows, own=None):
        """Per word (n-gram rows ``rows[offsets[i]:offsets[i + 1]]``, -1 for a bucket without a
        row, which counts as a zero vector): the mean of those rows and its ``own`` row."""
        n, d = len(offsets) - 1, self.vectors_ngrams.shape[1]
        counts = np.diff(offsets).astype(np.float32)
        found = rows >= 0
        owner = np.repeat(np.arange(n), np.diff(offsets))
        # one sparse (words x n-gram rows) product sums every word's rows; a repeated n-gram counts twice
        member = sp.csr_matrix(
            (np.ones(int(found.sum()), np.float32), (owner[found], rows[found])),
            shape=(n, self.vectors_ngrams.shape[0]),
        )
        sums = np.asarray(member @ self.vectors_ngrams, dtype=np.float32).reshape(n, d)
        if own is not None:
            sums += own
            counts += 1
        return sums / np.maximum(counts, 1)[:, None]

    def ngram_vectors(self, words):
        """The vectors ``words`` would get from their n-grams alone (how an unseen word is answered)."""
        return self._compose(list(words))

    def _row(self, key):
        """Row of a vocabulary word or an int row index (``WordVectors.get_index``); None for
        any other string, which is answered by its n-grams."""
        if isinstance(key, str):
            return self.key_to_index.get(key)
        return self.get_index(key)  # (an int in range, or a clear KeyError / TypeError)

    def get_vector(self, key, norm=False):
        idx = self._row(key)
        if idx is not None:
            return self.get_normed_vectors()[idx] if norm else self.vectors[idx]
        vec = self._compose([key])[0]
        return vec / max(float(np.linalg.norm(vec)), 1e-12) if norm else vec

    def __getitem__(self, keys):
        if isinstance(keys, str) or not hasattr(keys, "__iter__"):  # one key (a word or a row index)
            return self.get_vector(keys)
        keys = list(keys)
        idx = [-1 if (i := self._row(k)) is None else i for k in keys]
        out = self.vectors[np.maximum(idx, 0)] if keys else np.zeros((0, self.vector_size), np.float32)
        unseen = [i for i, j in enumerate(idx) if j < 0]
        if unseen:
            out[unseen] = self._compose([keys[i] for i in unseen])
        return out

    def vectors_for_all(self, keys, allow_inference=True, copy_vecattrs=False):
        """A ``WordVectors`` of ``keys`` (repeats dropped, order kept), as gensim's
        ``FastTextKeyedVectors.vectors_for_all``: unseen words get their n-gram vectors, or
        are left out without ``allow_inference``; ``copy_vecattrs`` copies the counts (0 for
        unseen words)."""
        keys = list(dict.fromkeys(self._as_list(keys)))
        if not allow_inference:
            keys = [k for k in keys if k in self.key_to_index]
        vectors = self[keys] if keys else np.zeros((0, self.vector_size), np.float32)
        counts = None
        if copy_vecattrs and self.counts is not None:
            counts = [int(self.counts[self.key_to_index[k]]) if k in self.key_to_index else 0 for k in keys]
        return WordVectors(keys, np.array(vectors, dtype=np.float32), counts)

    def _unit_vector(self, key):
        idx = self._row(key)
        if idx is not None:
            return self.get_normed_vectors()[idx], idx
        return self.get_vector(key, norm=True), None

    # ------------------------------------------------------------------ gensim objects
    @classmethod
    def _from_gensim_fasttext(cls, kv, counts):
        """``WordVectors.from_gensim`` of a ``FastTextKeyedVectors``: its words' own rows and
        all its bucket rows (gensim hashes n-grams as fastText does, and so does skembed)."""
        if not getattr(kv, "compatible_hash", True):
            raise ValueError("these gensim FastText vectors use gensim's old n-gram hash, which skembed does not")
        return cls(kv.index_to_key, kv.vectors_vocab, kv.vectors_ngrams, kv.min_n, kv.max_n, kv.bucket, counts=counts)

    def to_gensim(self):
        """A gensim ``FastTextKeyedVectors`` with these words' rows and every bucket's row (the
        buckets no word used are zero), so gensim answers unseen words as skembed does. Like
        gensim's own, it holds ``bucket x vector_size`` floats: 800 MB at 2,000,000 x 100."""
        from gensim.models.fasttext import FastTextKeyedVectors

        kv = FastTextKeyedVectors(self.vector_size, self.min_n, self.max_n, self.bucket, count=0)
        kv.add_vectors(list(self.index_to_key), self.vectors.copy())
        self._copy_counts_to(kv)
        kv.vectors_vocab = self.vectors_vocab.copy()
        kv.vectors_ngrams = np.zeros((self.bucket, self.vector_size), np.float32)
        buckets = self._index.buckets
        kv.vectors_ngrams[np.arange(self.bucket) if buckets is None else buckets] = self.vectors_ngrams
        kv.recalc_char_ngram_buckets()
        kv.adjust_vectors()
        return kv

    # ------------------------------------------------------------------ fastText files
    @classmethod
    def load_facebook_format(cls, path):
        """Read the word and n-gram vectors of a fastText ``.bin`` model (Facebook's format, as
        the ``fasttext`` package and gensim's ``save_facebook_model`` write it).

        Labels of a supervised model are left out; its word vectors are read as they are.
        Quantized ``.ftz`` models are refused with a ``ValueError``.
        """
        model = read_facebook_bin(path)
        n, args = len(model["words"]), model["args"]
        try:
            return cls(
                model["words"],
                model["input"][:n],
                model["input"][n:],
                args["minn"],
                args["maxn"],
                args["bucket"],
                counts=model["counts"],
            )
        except ValueError as exc:
            raise ValueError(f"{os.fspath(path)!r}: {exc}") from None

    def save_facebook_format(
        self,
        path,
        output_vectors=None,
        *,
        window=5,
        epochs=5,
        min_count=1,
        negative=5,
        algorithm="skipgram",
        sample=1e-4,
    ):
        """Write a fastText ``.bin`` model that ``fasttext.load_model`` and gensim's
        ``load_facebook_model`` read, with the same vector for every string as here.

        ``output_vectors`` (the output matrix, e.g. ``FastTextVectorizer.syn1neg_``) lets fastText
        continue training or answer ``predict``-free queries that need it; zeros by default.
        The other arguments are recorded in the file's header only.
        """
        output = np.zeros_like(self.vectors_vocab) if output_vectors is None else np.asarray(output_vectors)
        if output.shape != self.vectors_vocab.shape:
            raise ValueError(f"output_vectors must have shape {self.vectors_vocab.shape}, got {output.shape}")
        counts = self.counts if self.counts is not None else np.ones(len(self), np.int64)
        args = {
            "ws": window,
            "epoch": epochs,
            "min_count": min_count,
            "neg": negative,
            "word_ngrams": 1,
            "loss": LOSS["ns"],
            "model": MODEL[algorithm],
            "minn": self.min_n,
            "maxn": self.max_n,
            "lr_update_rate": 100,
            "t": sample,
        }
        write_facebook_bin(
            path,
            self.index_to_key,
            counts,
            self.vectors_vocab,
            self.vectors_ngrams,
            self._index.buckets,
            self.bucket,
            output,
            args,
        )

    def _has_vector(self, key) -> bool:
        return isinstance(key, str) or super()._has_vector(key)  # (any string; a row index in range)

    def add_vectors(self, keys, weights, replace=False):
        raise TypeError(
            "SubwordVectors compose their vectors from trained rows; add words to a "
            "WordVectors(sv.index_to_key, sv.vectors) copy instead"
        )

    def __getstate__(self):
        return {
            "index_to_key": self.index_to_key,
            "vectors_vocab": self.vectors_vocab,
            "vectors_ngrams": self.vectors_ngrams,
            "min_n": self.min_n,
            "max_n": self.max_n,
            "bucket": self.bucket,
            "ngram_buckets": self._index.buckets,
            "counts": self.counts,
        }

    def __setstate__(self, state):
        # through __init__'s checks, as WordVectors does: a file is untrusted input
        try:
            self.__init__(
                state["index_to_key"],
                state["vectors_vocab"],
                state["vectors_ngrams"],
                state["min_n"],
                state["max_n"],
                state["bucket"],
                state.get("ngram_buckets"),
                state.get("counts"),
            )
        except KeyError as exc:
            raise ValueError(f"SubwordVectors state lacks {exc}") from None

    def __repr__(self):
        return (
            f"SubwordVectors(n_words={len(self)}, vector_size={self.vector_size}, "
            f"ngram_rows={self.vectors_ngrams.shape[0]}, min_n={self.min_n}, max_n={self.max_n}, "
            f"bucket={self.bucket})"
        )
