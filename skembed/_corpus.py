"""Documents as one flat array of word ids plus document offsets.

Every trainer consumes a :class:`Corpus`. Encoding does no per-token Python work
beyond the tokenizer: ids are looked up with C-level ``map`` over dict methods
and collected with ``numpy.fromiter``, one chunk of documents at a time, so a
stream that does not fit in memory as lists of strings can still be counted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import chain, islice, repeat

import numpy as np

from ._text import Tokenizer, iter_token_lists
from ._vocab import Vocabulary

__all__ = ["Corpus", "scan_corpus", "encode_corpus", "iter_chunks"]

CHUNK_DOCS = 8192


@dataclass
class Corpus:
    """A tokenized, id-encoded collection of documents.

    Attributes
    ----------
    ids : ndarray of int32, shape (n_tokens,)
        Word ids of all documents, concatenated.
    offsets : ndarray of int64, shape (n_docs + 1,)
        Document ``i`` is ``ids[offsets[i]:offsets[i + 1]]``.
    """

    ids: np.ndarray
    offsets: np.ndarray

    @property
    def n_docs(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_tokens(self) -> int:
        return int(self.offsets[-1])

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def doc_index(self) -> np.ndarray:
        """Document number of every token (int64, shape (n_tokens,))."""
        return np.repeat(np.arange(self.n_docs, dtype=np.int64), self.lengths)

    def select(self, mask: np.ndarray) -> "Corpus":
        """Keep the tokens where ``mask`` is true; documents keep their places."""
        kept = np.concatenate([[0], np.cumsum(mask, dtype=np.int64)])
        return Corpus(self.ids[mask], kept[self.offsets])

    def docs(self, start: int, stop: int) -> "Corpus":
        """Documents ``start`` to ``stop`` as a corpus of their own (views)."""
        lo, hi = self.offsets[start], self.offsets[stop]
        return Corpus(self.ids[lo:hi], self.offsets[start:stop + 1] - lo)

    def padded(self, docs, pad_id=0) -> np.ndarray:
        """Documents ``docs`` as a (len(docs), longest) int64 matrix, right-padded with ``pad_id``."""
        docs = np.asarray(docs, dtype=np.int64)
        lengths = self.lengths[docs]
        width = max(int(lengths.max()) if len(docs) else 0, 1)
        cols = np.arange(width)
        valid = cols[None, :] < lengths[:, None]
        where = np.where(valid, self.offsets[docs][:, None] + cols[None, :], 0)
        return np.where(valid, self.ids[where] if self.n_tokens else pad_id, pad_id).astype(np.int64)

    def length_batches(self, batch_size, rng=None, docs=None, pool=50):
        """Index batches of documents of similar length (less padding).

        With ``rng``, documents are shuffled, sorted by length within pools of
        ``pool`` batches, and the batches shuffled; without, they are sorted by
        length for inference.
        """
        docs = np.arange(self.n_docs) if docs is None else np.asarray(docs)
        lengths = self.lengths[docs]
        if rng is None:
            order = docs[np.argsort(lengths, kind="stable")]
            return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        docs = docs[rng.permutation(len(docs))]
        size = batch_size * pool
        batches = []
        for start in range(0, len(docs), size):
            chunk = docs[start:start + size]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
        return [batches[i] for i in rng.permutation(len(batches))]

    @classmethod
    def concatenate(cls, parts) -> "Corpus":
        parts = list(parts)
        if not parts:
            return cls(np.zeros(0, np.int32), np.zeros(1, np.int64))
        ids = np.concatenate([p.ids for p in parts]).astype(np.int32, copy=False)
        shifts = np.cumsum([0] + [p.n_tokens for p in parts[:-1]])
        offsets = np.concatenate([[0]] + [p.offsets[1:] + s for p, s in zip(parts, shifts)])
        return cls(ids, offsets.astype(np.int64))


def iter_chunks(iterable, size=CHUNK_DOCS):
    """Lists of up to ``size`` consecutive items."""
    it = iter(iterable)
    while chunk := list(islice(it, size)):
        yield chunk


def _flatten(token_lists):
    lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    return lengths, int(lengths.sum())


def scan_corpus(X, tokenizer: Tokenizer, *, min_count=1, max_vocab_size=None, specials=(),
                keep_corpus=True):
    """Read ``X`` once: count words, build the vocabulary, encode the documents.

    Provisional ids are handed out in order of first appearance while reading;
    only the int32 array of those ids is held, never the token strings.

    Parameters
    ----------
    X : iterable of str or of lists of str
        May be a generator; it is consumed once.
    keep_corpus : bool
        Also return the encoded corpus (needed by trainers). Words pruned from
        the vocabulary are dropped from it.

    Returns
    -------
    vocab : Vocabulary
    corpus : Corpus or None
    """
    table = defaultdict()
    table.default_factory = table.__len__  # new key -> next provisional id
    lookup = table.__getitem__
    id_chunks, len_chunks, df_chunks = [], [], []
    n_docs = 0
    for chunk in iter_chunks(iter_token_lists(X, tokenizer)):
        lengths, n = _flatten(chunk)
        ids = np.fromiter(map(lookup, chain.from_iterable(chunk)), dtype=np.int32, count=n)
        # document frequency: unique (document, word) pairs of this chunk
        doc = np.repeat(np.arange(len(chunk), dtype=np.int64), lengths)
        pairs = np.unique((doc << 32) | ids.astype(np.int64))
        df_chunks.append((pairs & 0xFFFFFFFF).astype(np.int32))
        if keep_corpus:
            id_chunks.append(ids)
        else:
            id_chunks.append(np.bincount(ids, minlength=len(table)))
        len_chunks.append(lengths)
        n_docs += len(chunk)
    n_keys = len(table)
    if keep_corpus:
        flat = np.concatenate(id_chunks) if id_chunks else np.zeros(0, np.int32)
        counts = np.bincount(flat, minlength=n_keys)
    else:
        counts = sum(np.pad(c, (0, n_keys - len(c))) for c in id_chunks)
    doc_freq = np.bincount(np.concatenate(df_chunks), minlength=n_keys)
    vocab, kept = Vocabulary.from_counts(list(table), counts, doc_freq, n_docs, min_count=min_count,
                                         max_vocab_size=max_vocab_size, specials=specials)
    if len(vocab) == vocab.n_specials:
        raise ValueError(
            f"the vocabulary is empty: no word occurs at least min_count={min_count} times "
            f"in {n_docs} document(s); lower min_count or give more text")
    if not keep_corpus:
        return vocab, None
    remap = np.full(n_keys, -1, dtype=np.int32)
    remap[kept] = np.arange(vocab.n_specials, len(vocab), dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum(np.concatenate(len_chunks))]).astype(np.int64)
    corpus = Corpus(remap[flat], offsets)
    return vocab, corpus.select(corpus.ids >= 0)


def encode_corpus(X, tokenizer: Tokenizer, key_to_index: dict, *, unknown_id=None, max_length=None,
                  allow_empty=True) -> Corpus:
    """Encode documents with a fixed vocabulary.

    Unknown words are dropped (``unknown_id=None``) or mapped to ``unknown_id``.
    ``max_length`` keeps only the first tokens of each document.
    """
    get = key_to_index.get
    parts = []
    for chunk in iter_chunks(iter_token_lists(X, tokenizer, allow_empty=allow_empty)):
        if max_length is not None:
            chunk = [doc[:max_length] for doc in chunk]
        lengths, n = _flatten(chunk)
        ids = np.fromiter(map(get, chain.from_iterable(chunk), repeat(-1)), dtype=np.int32, count=n)
        part = Corpus(ids, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))
        if unknown_id is None:
            part = part.select(ids >= 0)
        else:
            part.ids[ids < 0] = unknown_id
        parts.append(part)
    return Corpus.concatenate(parts)
