"""Character n-grams of words and their hashed rows, exactly as Facebook's fastText makes them.

A word ``w`` is wrapped as ``"<" + w + ">"``; its n-grams are the runs of
``min_n .. max_n`` *characters* (code points) of the wrapped word, except the
lone ``"<"`` and ``">"``. An n-gram's row is ``n_words + fnv1a(utf8(g)) % bucket``,
where fastText's FNV-1a xors each byte *sign-extended* from a C ``int8`` (bytes
of 0x80 and above become 0xFFFFFF80..0xFFFFFFFF before the xor): non-ASCII
n-grams hash differently from textbook FNV-1a, and matching it is what makes
``.bin`` files interchangeable with fastText and gensim.

A :class:`NgramIndex` keeps only the bucket rows some vocabulary word uses
(typically a fraction of ``bucket``): those rows are trained, and a bucket no
word used is a zero row that is never stored.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "word_ngrams",
    "ngram_hashes",
    "NgramIndex",
    "subword_table",
    "vocabulary_rows",
    "mean_weights",
    "unseen_rows",
    "TokenSubwords",
]

_FNV_OFFSET = np.uint32(2166136261)
_FNV_PRIME = np.uint32(16777619)


EOS = "</s>"  # fastText's end-of-line token, which has no n-grams


def word_ngrams(word: str, min_n: int, max_n: int) -> list[str]:
    """fastText's n-grams of ``word`` (in fastText's order: by start, then by length)."""
    if max_n < min_n or max_n <= 0 or word == EOS:
        return []
    wrapped = "<" + word + ">"
    size = len(wrapped)
    out = []
    for i in range(size):
        for n in range(max(min_n, 1), min(max_n, size - i) + 1):
            if n == 1 and (i == 0 or i + n == size):
                continue
            out.append(wrapped[i : i + n])
    return out


def ngram_hashes(ngrams) -> np.ndarray:
    """fastText's 32-bit hash of each string (FNV-1a over sign-extended UTF-8 bytes), as uint32."""
    encoded = [g.encode("utf-8") for g in ngrams]
    if not encoded:
        return np.zeros(0, np.uint32)
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    width = int(lengths.max())
    # one row of bytes per string, padded; columns are hashed in turn (a few dozen vector passes)
    buf = np.frombuffer(b"".join(e.ljust(width, b"\0") for e in encoded), dtype=np.int8).reshape(-1, width)
    h = np.full(len(encoded), _FNV_OFFSET, dtype=np.uint32)
    for j in range(width):
        live = lengths > j
        byte = buf[:, j].astype(np.int32).view(np.uint32)  # int8 -> uint32, sign-extended
        h = np.where(live, (h ^ byte) * _FNV_PRIME, h)
    return h


def subword_table(words, min_n, max_n, bucket):
    """Each word's n-gram buckets as a CSR layout: ``(offsets int64, buckets int64)``."""
    grams = [word_ngrams(w, min_n, max_n) for w in words]
    lengths = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    flat = [g for gs in grams for g in gs]
    buckets = (ngram_hashes(flat) % np.uint32(bucket)).astype(np.int64) if bucket else np.zeros(0, np.int64)
    return offsets, buckets


class NgramIndex:
    """Which buckets have a stored row: ``buckets`` sorted, row ``i`` of the n-gram matrix is
    bucket ``buckets[i]`` (None: every bucket has its row, ``0 .. bucket - 1``)."""

    def __init__(self, bucket, buckets=None):
        self.bucket = int(bucket)
        self.buckets = None if buckets is None else np.asarray(buckets, dtype=np.int64)

    @classmethod
    def used_by(cls, bucket_ids, bucket):
        """The index of the distinct buckets in ``bucket_ids``."""
        ids = np.sort(np.asarray(bucket_ids, dtype=np.int64))
        keep = np.concatenate([[True], ids[1:] != ids[:-1]]) if len(ids) else np.zeros(0, bool)
        return cls(bucket, ids[keep])

    @property
    def n_rows(self) -> int:
        return self.bucket if self.buckets is None else len(self.buckets)

    def rows(self, bucket_ids):
        """Row of each bucket id, -1 for a bucket without a stored row (a zero vector)."""
        bucket_ids = np.asarray(bucket_ids, dtype=np.int64)
        if self.buckets is None:
            return bucket_ids
        if not len(self.buckets):
            return np.full(bucket_ids.shape, -1, np.int64)
        pos = np.searchsorted(self.buckets, bucket_ids).clip(max=len(self.buckets) - 1)
        return np.where(self.buckets[pos] == bucket_ids, pos, -1)

    def check(self, n_rows):
        """Raise ``ValueError`` unless the index fits a matrix of ``n_rows`` rows."""
        if self.bucket < 0:
            raise ValueError(f"bucket must be >= 0, got {self.bucket}")
        if self.buckets is None:
            if n_rows != self.bucket:
                raise ValueError(f"{n_rows} n-gram rows for {self.bucket} buckets")
            return
        b = self.buckets
        if b.ndim != 1 or len(b) != n_rows:
            raise ValueError(f"{n_rows} n-gram rows but {b.size} bucket ids")
        if len(b) and (b[0] < 0 or b[-1] >= self.bucket or np.any(b[1:] <= b[:-1])):
            raise ValueError(f"the bucket ids must be sorted, distinct and within [0, {self.bucket})")


def vocabulary_rows(words, min_n, max_n, bucket, plain=None):
    """The input rows of each vocabulary word for training: its own row ``i`` then
    ``n_words + r`` for each of its n-grams' rows ``r`` in the returned index.

    ``plain`` (bool per word, optional) marks words that get their own row only
    (padding, joined word n-grams). Returns ``(index, offsets, rows)``: word ``i``'s
    rows are ``rows[offsets[i]:offsets[i + 1]]``.
    """
    n_words = len(words)
    if plain is not None:
        words = [EOS if p else w for w, p in zip(words, plain)]  # EOS has no n-grams
    offsets, buckets = subword_table(words, min_n, max_n, bucket)
    index = NgramIndex.used_by(buckets, bucket)
    lengths = np.diff(offsets) + 1
    out_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    rows = np.empty(out_offsets[-1], dtype=np.int64)
    own = out_offsets[:-1]
    is_own = np.zeros(len(rows), bool)
    is_own[own] = True
    rows[own] = np.arange(n_words)
    rows[~is_own] = n_words + index.rows(buckets)
    return index, out_offsets, rows


def mean_weights(offsets):
    """``1 / length`` for every entry of a CSR layout: each bag's weighted sum is its mean."""
    lengths = np.diff(offsets)
    return np.repeat(1.0 / np.maximum(lengths, 1), lengths).astype(np.float32)


def unseen_rows(words, index, min_n, max_n, first_row):
    """The n-gram rows (``first_row + r``) of words unseen in training, with weights
    ``1 / (number of n-grams)``: a bucket without a row counts as a zero vector, as in
    fastText. Returns ``(offsets, rows, weights)``."""
    offsets, buckets = subword_table(words, min_n, max_n, index.bucket)
    rows = index.rows(buckets)
    weights = mean_weights(offsets)
    found = rows >= 0
    owner = np.repeat(np.arange(len(words)), np.diff(offsets))[found]
    kept = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=len(words)))]).astype(np.int64)
    return kept, first_row + rows[found], weights[found]


class TokenSubwords:
    """The classifier's token layout: each vocabulary token is the mean of its own row and
    its n-gram rows (the padding, id 0, and joined word n-grams keep their own row only);
    tokens unseen in training get ids after the vocabulary and their n-gram rows alone."""

    def __init__(self, vocab_words, min_n, max_n, bucket):
        self.span = (min_n, max_n)
        self.n_words = len(vocab_words)
        plain = np.fromiter((i == 0 or " " in w for i, w in enumerate(vocab_words)), bool, len(vocab_words))
        self.index, offsets, rows = vocabulary_rows(vocab_words, min_n, max_n, bucket, plain=plain)
        self._vocabulary = (offsets, rows, mean_weights(offsets))

    def layout(self, unseen=()):
        """``(offsets, rows, weights)`` of the vocabulary and then of ``unseen`` tokens."""
        offsets, rows, weights = self._vocabulary
        if not len(unseen):
            return offsets, rows, weights
        extra = unseen_rows(list(unseen), self.index, *self.span, self.n_words)
        return (
            np.concatenate([offsets, offsets[-1] + extra[0][1:]]),
            np.concatenate([rows, extra[1]]),
            np.concatenate([weights, extra[2]]),
        )
