"""Documents as one flat array of word ids plus document offsets.

Every trainer consumes a :class:`Corpus`. Encoding does no per-token Python work
beyond the tokenizer: ids are looked up with C-level ``map`` over dict methods
and collected with ``numpy.fromiter``, one chunk of documents at a time, so a
stream that does not fit in memory as lists of strings can still be counted.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from dataclasses import dataclass
from itertools import chain, islice, repeat

import numpy as np

from ._malloc import release_free_memory
from ._text import Tokenizer, iter_token_lists
from ._vocab import Vocabulary

__all__ = ["Corpus", "IdSpool", "scan_corpus", "encode_corpus", "encode_with_unseen", "iter_chunks", "kept_offsets"]

CHUNK_DOCS = 8192
CHUNK_TOKENS = 1 << 16  # tokens of strings a reader holds at a time


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
        return Corpus(self.ids[mask], kept_offsets(mask, self.offsets))

    def docs(self, start: int, stop: int) -> "Corpus":
        """Documents ``start`` to ``stop`` as a corpus of their own (views)."""
        lo, hi = self.offsets[start], self.offsets[stop]
        return Corpus(self.ids[lo:hi], self.offsets[start : stop + 1] - lo)

    def doc_chunks(self, max_tokens):
        """``(first document, chunk)`` over runs of whole documents, each starting where a new
        ``max_tokens`` tokens begin (a chunk's per-token temporaries stay bounded; one long
        document is a chunk of its own)."""
        starts = np.searchsorted(self.offsets, np.arange(0, self.n_tokens, max_tokens), side="right") - 1
        bounds = np.unique(np.concatenate([starts, [self.n_docs]]).astype(np.int64))
        for start, stop in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            yield start, self.docs(start, stop)

    def padded(self, docs, pad_id=0) -> np.ndarray:
        """Documents ``docs`` as a (len(docs), longest) int64 matrix, right-padded with ``pad_id``."""
        docs = np.asarray(docs, dtype=np.int64)
        lengths = self.lengths[docs]
        width = max(int(lengths.max()) if len(docs) else 0, 1)
        cols = np.arange(width)
        valid = cols[None, :] < lengths[:, None]
        where = np.where(valid, self.offsets[docs][:, None] + cols[None, :], 0)
        return np.where(valid, self.ids[where] if self.n_tokens else pad_id, pad_id).astype(np.int64)

    def length_batches(self, batch_size, rng=None, docs=None, pool=50, max_tokens=None):
        """Index batches of documents of similar length (less padding).

        With ``rng``, documents are shuffled, sorted by length within pools of
        ``pool`` batches, and the batches shuffled; without, they are sorted by
        length for inference. ``max_tokens`` also bounds each batch's padded
        size (documents x longest length), so that the few longest documents
        do not make one wide batch mostly of padding.
        """
        docs = np.arange(self.n_docs) if docs is None else np.asarray(docs)
        if rng is None:
            return self._sorted_batches(docs, batch_size, max_tokens)
        docs = docs[rng.permutation(len(docs))]
        size = batch_size * pool
        batches = []
        for start in range(0, len(docs), size):
            batches += self._sorted_batches(docs[start : start + size], batch_size, max_tokens)
        return [batches[i] for i in rng.permutation(len(batches))]

    def _sorted_batches(self, docs, batch_size, max_tokens):
        """``docs`` sorted by length and cut into consecutive batches of at most
        ``batch_size`` documents and ``max_tokens`` padded tokens (a document longer
        than the budget gets a batch of its own)."""
        order = np.argsort(self.lengths[docs], kind="stable")
        docs = docs[order]
        if max_tokens is None:
            return [docs[i : i + batch_size] for i in range(0, len(docs), batch_size)]
        width = np.maximum(self.lengths[docs], 1)
        batches, start = [], 0
        while start < len(docs):
            ends = np.arange(start + 1, min(len(docs), start + batch_size) + 1)
            fits = (ends - start) * width[ends - 1] <= max_tokens  # widths ascend: a prefix fits
            end = int(ends[fits][-1]) if fits[0] else start + 1
            batches.append(docs[start:end])
            start = end
        return batches

    @classmethod
    def concatenate(cls, parts) -> "Corpus":
        parts = list(parts)
        if not parts:
            return cls(np.zeros(0, np.int32), np.zeros(1, np.int64))
        ids = np.concatenate([p.ids for p in parts]).astype(np.int32, copy=False)
        shifts = np.cumsum([0] + [p.n_tokens for p in parts[:-1]])
        offsets = np.concatenate([[0]] + [p.offsets[1:] + s for p, s in zip(parts, shifts)])
        return cls(ids, offsets.astype(np.int64))


class DistinctIds:
    """The distinct ids of a batch, and each token's position among them.

    ``rows, inverse = DistinctIds(n_words)(ids)`` gives ``rows[inverse] == ids``
    with ``rows`` sorted, like ``np.unique(ids, return_inverse=True)``, but in
    time linear in the batch through two scratch arrays over the vocabulary
    (sorting costs about ten times more on a classifier's batch).
    """

    def __init__(self, n_words):
        self._seen = np.zeros(n_words, dtype=bool)
        self._position = np.zeros(n_words, dtype=np.int64)

    def __call__(self, ids):
        flat = np.asarray(ids).reshape(-1)
        self._seen[flat] = True
        rows = np.flatnonzero(self._seen)
        self._seen[rows] = False
        self._position[rows] = np.arange(len(rows))
        return rows, self._position[flat].reshape(np.shape(ids))


def iter_chunks(token_lists, size=CHUNK_DOCS, max_tokens=CHUNK_TOKENS):
    """Lists of up to ``size`` consecutive token lists, ended by the document that brings
    them to ``max_tokens`` tokens, so that a chunk's strings stay few whatever the
    documents' lengths."""
    chunk, n = [], 0
    for doc in token_lists:
        chunk.append(doc)
        n += len(doc)
        if len(chunk) >= size or n >= max_tokens:
            yield chunk
            chunk, n = [], 0
    if chunk:
        yield chunk


class _Counts:
    """Counts over ids that keep growing (provisional ids), added a chunk at a time in time
    linear in the chunk (``np.add.at``; a ``bincount`` would cost the whole table)."""

    def __init__(self):
        self._values = np.zeros(1024, dtype=np.int64)

    def add(self, ids, n_ids):
        if n_ids > len(self._values):
            self._values = np.concatenate([self._values, np.zeros(max(n_ids, 2 * len(self._values)), np.int64)])
        np.add.at(self._values, ids, 1)

    def values(self, n_ids):
        return self._values[:n_ids].copy()


def _token_lists(X, tokenizer, allow_empty=False):
    """``X``'s token lists; ``tokenizer=None``: ``X`` holds token lists this package
    made and checked already, used as they are."""
    return iter(X) if tokenizer is None else iter_token_lists(X, tokenizer, allow_empty=allow_empty)


def _flatten(token_lists):
    lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    return lengths, int(lengths.sum())


def distinct_values(values):
    """Sorted distinct values by one sort (numpy 2.4's ``np.unique`` hashes, which is slower on these)."""
    values = np.sort(values)
    return values[np.concatenate([[True], values[1:] != values[:-1]])] if len(values) else values


def scan_corpus(
    X,
    tokenizer: Tokenizer | None,
    *,
    min_count=1,
    max_vocab_size=None,
    specials=(),
    keep_corpus=True,
    count_docs=None,
    max_bytes=None,
    return_pruned=False,
):
    """Read ``X`` once: count words, build the vocabulary, encode the documents.

    Provisional ids are handed out in order of first appearance while reading;
    only the int32 array of those ids is held (or spilled, see ``IdSpool``),
    never the token strings, and counts are summed chunk by chunk, so the scan
    holds 4 bytes per token plus a chunk's temporaries.

    Parameters
    ----------
    X : iterable of str or of lists of str
        May be a generator; it is consumed once.
    tokenizer : Tokenizer or None
        None when ``X`` holds token lists already made by a ``Tokenizer``.
    keep_corpus : bool
        Also return the encoded corpus (needed by trainers). Words pruned from
        the vocabulary are dropped from it.
    count_docs : array of bool, optional
        One flag per document: only flagged documents' words are counted (a
        classifier's training split), while every document is encoded, so that
        the others see unknown words as new text would.
    max_bytes : int or None
        Most bytes of encoded ids held in memory; beyond them the ids go to a
        memory-mapped temporary file (None: no limit).
    return_pruned : bool
        Also return the words left out of the vocabulary, as a dict of word to
        ``[count, document frequency]`` (a vectorizer that grows its vocabulary
        keeps counting them).

    Returns
    -------
    vocab : Vocabulary
    corpus : Corpus or None
    pruned : dict, only with ``return_pruned``
    """
    if count_docs is not None and hasattr(X, "__len__") and len(count_docs) != len(X):
        raise ValueError(f"count_docs has {len(count_docs)} flags for {len(X)} documents")
    table = defaultdict()
    table.default_factory = table.__len__  # new key -> next provisional id
    lookup = table.__getitem__
    spool = IdSpool(max_bytes)
    len_chunks = []
    counts, doc_freq, encoded = _Counts(), _Counts(), _Counts()
    n_docs = n_counted = 0
    for chunk in iter_chunks(_token_lists(X, tokenizer)):
        lengths, n = _flatten(chunk)
        ids = np.fromiter(map(lookup, chain.from_iterable(chunk)), dtype=np.int32, count=n)
        counted = ids
        doc = np.repeat(np.arange(len(chunk), dtype=np.int64), lengths)
        if count_docs is not None:
            flags = np.asarray(count_docs[n_docs : n_docs + len(chunk)], dtype=bool)
            if len(flags) < len(chunk):
                raise ValueError(f"count_docs has {len(count_docs)} flags for more documents")
            counted, doc = ids[flags[doc]], doc[flags[doc]]
            n_counted += int(flags.sum())
            encoded.add(ids, len(table))
        else:
            n_counted += len(chunk)
        # document frequency: unique (document, word) pairs of this chunk
        pairs = distinct_values((doc << 32) | counted.astype(np.int64))
        doc_freq.add(pairs & 0xFFFFFFFF, len(table))
        counts.add(counted, len(table))
        if keep_corpus:
            spool.append(ids)
        len_chunks.append(lengths)
        n_docs += len(chunk)
        if len(len_chunks) % 16 == 0:
            release_free_memory()  # the last chunks' strings and temporaries (see skembed._malloc)
    chunk = None  # (the last chunk's token strings would outlive the loop, see Vocabulary.repack)
    if count_docs is not None and len(count_docs) != n_docs:
        raise ValueError(f"count_docs has {len(count_docs)} flags for {n_docs} documents")
    n_keys = len(table)
    keys = list(table)
    table.default_factory = None  # (it referred to the table: a cycle only the garbage collector frees)
    del table, lookup  # the pruned words' strings go now, before the corpus is assembled
    counts, doc_freq, encoded = counts.values(n_keys), doc_freq.values(n_keys), encoded.values(n_keys)
    vocab, kept = Vocabulary.from_counts(
        keys, counts, doc_freq, n_counted, min_count=min_count, max_vocab_size=max_vocab_size, specials=specials
    )
    pruned = {}
    if return_pruned:
        out = np.ones(n_keys, dtype=bool)
        out[kept] = False
        pruned = {keys[i]: [int(counts[i]), int(doc_freq[i])] for i in np.flatnonzero(out).tolist()}
    del keys
    if len(vocab) == vocab.n_specials:
        raise ValueError(
            f"the vocabulary is empty: no word occurs at least min_count={min_count} times "
            f"in {n_counted} document(s); lower min_count or give more text"
        )
    corpus = None
    if keep_corpus:
        remap = np.full(n_keys, -1, dtype=np.int32)
        remap[kept] = np.arange(vocab.n_specials, len(vocab), dtype=np.int32)
        n_kept = int((encoded if count_docs is not None else counts)[kept].sum())
        corpus = spool.assemble(len_chunks, n_kept, remap)
    # the words' strings were made amid the chunks' temporaries, and so were the per-chunk
    # arrays and sizes: each small survivor keeps a memory arena (see Vocabulary.repack)
    del spool, len_chunks
    vocab.repack()
    release_free_memory()
    return (vocab, corpus, pruned) if return_pruned else (vocab, corpus)


def encode_corpus(
    X,
    tokenizer: Tokenizer | None,
    key_to_index: dict,
    *,
    unknown_id=None,
    max_length=None,
    allow_empty=True,
    max_bytes=None,
) -> Corpus:
    """Encode documents with a fixed vocabulary (``tokenizer``: as in ``scan_corpus``).

    Unknown words are dropped (``unknown_id=None``) or mapped to ``unknown_id``.
    ``max_length`` keeps only the first tokens of each document; ``max_bytes``
    as in ``scan_corpus``.
    """
    get = key_to_index.get
    spool, len_chunks = IdSpool(max_bytes), []
    for chunk in iter_chunks(_token_lists(X, tokenizer, allow_empty=allow_empty)):
        if max_length is not None:
            chunk = [doc[:max_length] for doc in chunk]
        lengths, n = _flatten(chunk)
        ids = np.fromiter(map(get, chain.from_iterable(chunk), repeat(-1)), dtype=np.int32, count=n)
        if unknown_id is None:
            known = ids >= 0
            ids, lengths = ids[known], np.diff(kept_offsets(known, _offsets(lengths)))
        else:
            ids[ids < 0] = unknown_id
        spool.append(ids)
        len_chunks.append(lengths)
    return spool.assemble(len_chunks, spool.n_tokens)


def _offsets(lengths):
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def kept_offsets(mask, offsets, chunk=1 << 20):
    """The offsets of a corpus of the tokens where ``mask`` is true: the number of true
    entries before each offset, counted a chunk of tokens at a time (no int64 per token)."""
    out = np.zeros(len(offsets), dtype=np.int64)
    running = 0
    for a in range(0, len(mask), chunk):
        b = min(a + chunk, len(mask))
        cum = np.cumsum(mask[a:b], dtype=np.int64)
        lo, hi = np.searchsorted(offsets, [a, b], side="right")  # offsets in (a, b]
        out[lo:hi] = running + cum[offsets[lo:hi] - a - 1]
        running += int(cum[-1])
    return out


def id_array(n, max_bytes=None):
    """An int32 array of ``n`` ids: in memory, or memory-mapped on an unnamed temporary file
    (in ``tempfile``'s folder: ``TMPDIR``) when it would take more than ``max_bytes``."""
    if max_bytes is None or 4 * n <= max_bytes or n == 0:
        return np.empty(n, dtype=np.int32)
    with tempfile.TemporaryFile(prefix="skembed-ids-") as fh:
        # the mapping keeps the file alive after it is closed; the system deletes it when unmapped
        return np.memmap(fh, dtype=np.int32, mode="w+", shape=(n,))


class IdSpool:
    """Chunks of int32 ids in order: held in memory up to ``max_bytes`` in all, then appended
    to an unnamed temporary file (the corpus larger than memory case), and assembled once
    into a corpus.

    ``assemble`` hands the chunks out in order and releases each as it goes, so that
    assembling needs no second copy of the ids at any time.
    """

    def __init__(self, max_bytes=None):
        self.max_bytes = max_bytes
        self.n_tokens = 0
        self._held, self._sizes, self._file = [], [], None

    @property
    def spilled(self) -> bool:
        return self._file is not None

    def append(self, ids):
        ids = np.ascontiguousarray(ids, dtype=np.int32)
        if self._file is None and self.max_bytes is not None and 4 * (self.n_tokens + len(ids)) > self.max_bytes:
            self._file = tempfile.TemporaryFile(prefix="skembed-spool-")
            for held in self._held:
                held.tofile(self._file)
            self._held = []
        if self._file is None:
            self._held.append(ids)
        else:
            ids.tofile(self._file)
        self._sizes.append(len(ids))
        self.n_tokens += len(ids)

    def _drain(self):
        if self._file is None:
            held, self._held = self._held[::-1], []
            while held:
                yield held.pop()
            return
        self._file.seek(0)
        for size in self._sizes:
            yield np.fromfile(self._file, dtype=np.int32, count=size)
        self._file.close()
        self._file = None

    def assemble(self, len_chunks, n_out, remap=None) -> Corpus:
        """One corpus of the chunks (document lengths ``len_chunks``, one array per chunk);
        with ``remap``, ids become ``remap[ids]`` and those mapped below 0 are dropped. The
        result holds ``n_out`` tokens, in memory or memory-mapped (see ``id_array``)."""
        out = id_array(n_out, self.max_bytes)
        lengths, pos = [], 0
        for ids, doc_lengths in zip(self._drain(), len_chunks):
            if remap is not None:
                ids = remap[ids]
                keep = ids >= 0
                ids, doc_lengths = ids[keep], np.diff(kept_offsets(keep, _offsets(doc_lengths)))
            out[pos : pos + len(ids)] = ids
            pos += len(ids)
            lengths.append(doc_lengths)
            del ids
            if len(lengths) % 16 == 0:
                release_free_memory()  # the chunks just copied
        if pos != n_out:
            raise RuntimeError(f"assembled {pos} ids where {n_out} were counted")
        offsets = _offsets(np.concatenate(lengths)) if lengths else np.zeros(1, np.int64)
        del lengths
        release_free_memory()
        return Corpus(out, offsets)


def encode_with_unseen(X, tokenizer: Tokenizer | None, key_to_index: dict) -> tuple[Corpus, list]:
    """Encode documents keeping unseen words: they get ids ``len(key_to_index)`` onwards in
    order of first sight (C-level lookups, as in ``scan_corpus``).

    Returns the corpus and the unseen words, so that a caller can give each a vector.
    """
    table = defaultdict(None, key_to_index)  # (its ids are 0 .. n - 1: the callers' fitted state checks that)
    table.default_factory = table.__len__
    lookup = table.__getitem__
    parts = []
    for chunk in iter_chunks(_token_lists(X, tokenizer, allow_empty=True)):
        lengths, n = _flatten(chunk)
        ids = np.fromiter(map(lookup, chain.from_iterable(chunk)), dtype=np.int32, count=n)
        parts.append(Corpus(ids, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)))
    table.default_factory = None  # (a cycle through the table, see scan_corpus)
    return Corpus.concatenate(parts), list(islice(table, len(key_to_index), None))
