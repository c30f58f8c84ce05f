"""The vocabulary: word counts, pruning, and the sampling tables trainers need."""

from __future__ import annotations

import numpy as np

__all__ = ["Vocabulary"]


class Vocabulary:
    """Words ordered by decreasing frequency, with their counts.

    Build one with :meth:`from_counts` (or with ``skembed._corpus.scan_corpus``,
    which counts a stream of documents in one pass). Special tokens such as a
    padding and an unknown-word id come first, with a count of zero.

    Attributes
    ----------
    index_to_key : list of str
    key_to_index : dict of str to int
    counts : ndarray of int64, shape (n_words,)
        Corpus frequency of each word (0 for special tokens).
    doc_freq : ndarray of int64, shape (n_words,)
        Number of documents each word occurs in.
    n_docs : int
        Number of documents the counts come from.
    n_specials : int
        Number of special tokens at the start of the vocabulary.
    """

    def __init__(self, index_to_key, counts, doc_freq=None, n_docs=0, n_specials=0):
        self._set_keys(list(index_to_key))
        if len(self.key_to_index) != len(self.index_to_key):
            raise ValueError("vocabulary keys must be unique")
        self.counts = np.asarray(counts, dtype=np.int64)
        self.doc_freq = (
            np.asarray(doc_freq, dtype=np.int64) if doc_freq is not None else (self.counts > 0).astype(np.int64)
        )
        if self.counts.shape != (len(self.index_to_key),) or self.doc_freq.shape != self.counts.shape:
            raise ValueError("counts and doc_freq must have one entry per key")
        if (self.counts < 0).any() or (self.doc_freq < 0).any():  # (a negative count makes NaN keep probabilities)
            raise ValueError("counts and doc_freq must be non-negative")
        self.n_docs = int(n_docs)
        self.n_specials = int(n_specials)

    @classmethod
    def from_counts(cls, keys, counts, doc_freq=None, n_docs=0, *, min_count=1, max_vocab_size=None, specials=()):
        """Keep words with ``count >= min_count`` (the ``max_vocab_size`` most frequent).

        Ties in frequency keep the order in which the words were first seen.

        Returns
        -------
        vocab : Vocabulary
        kept : ndarray of int64
            Positions in ``keys`` of the kept words, in vocabulary order (after
            the special tokens), so that callers can remap provisional ids.
        """
        counts = np.asarray(counts, dtype=np.int64)
        doc_freq = counts.clip(max=1) if doc_freq is None else np.asarray(doc_freq, dtype=np.int64)
        order = np.argsort(-counts, kind="stable")
        order = order[counts[order] >= min_count]
        if max_vocab_size is not None:
            order = order[: max(int(max_vocab_size) - len(specials), 0)]
        keys = list(keys)
        words = [keys[i] for i in order]
        clash = set(specials).intersection(words)
        if clash:
            raise ValueError(f"special tokens {sorted(clash)} also occur as words in the corpus")
        zeros = np.zeros(len(specials), dtype=np.int64)
        vocab = cls(
            list(specials) + words,
            np.concatenate([zeros, counts[order]]),
            np.concatenate([zeros, doc_freq[order]]),
            n_docs=n_docs,
            n_specials=len(specials),
        )
        return vocab, order

    def repack(self) -> None:
        """Re-create the words' strings side by side (in place; the caller holds no other
        reference to them).

        A scan makes each word's string amid a chunk's temporary token strings, all in
        Python's 1 MiB small-object arenas, and an arena goes back to the system only when
        all of it is free: the few strings that outlive their chunk keep nearly every arena
        the scan touched (1M tokens: 16 arenas held by 1.6 MB of words). The words are
        joined into one string, the old ones freed (so their arenas empty and go), and the
        new ones cut from it fill a few arenas. In between only large objects are made (the
        joined string, numpy arrays): a small one made then would fill a hole in an old arena
        and keep it.
        """
        keys = self.index_to_key
        ends = np.cumsum(np.fromiter(map(len, keys), dtype=np.int64, count=len(keys)))
        joined = "".join(keys)
        del keys
        self.index_to_key = self.key_to_index = None
        starts = np.concatenate([np.zeros(1, np.int64), ends[:-1]])
        self._set_keys(list(map(joined.__getitem__, map(slice, starts.tolist(), ends.tolist()))))

    def _set_keys(self, index_to_key):
        self.index_to_key = index_to_key
        self.key_to_index = {k: i for i, k in enumerate(index_to_key)}

    def grown(self, new: "Vocabulary", pending, *, min_count=1, max_vocab_size=None):
        """This vocabulary updated with the counts of new text, as gensim's
        ``build_vocab(update=True)`` does, and words appended that now reach ``min_count``.

        ``new`` holds the new text's words with their counts (a ``Vocabulary`` of it at
        ``min_count=1``); ``pending`` maps each word seen before but still under
        ``min_count`` to ``[count, document frequency]``. Known words keep their ids; a
        pending or new word whose summed count reaches ``min_count`` gets the next id (most
        frequent first, up to ``max_vocab_size`` words in all). Returns the grown
        vocabulary and the words still pending (a new dict).
        """
        counts, doc_freq = self.counts.copy(), self.doc_freq.copy()
        pending = {w: list(c) for w, c in pending.items()}
        for word, count, df in zip(new.index_to_key, new.counts.tolist(), new.doc_freq.tolist()):
            i = self.key_to_index.get(word)
            if i is not None:
                counts[i] += count
                doc_freq[i] += df
            else:
                seen = pending.setdefault(word, [0, 0])
                seen[0] += count
                seen[1] += df
        ready = sorted((w for w, (c, _) in pending.items() if c >= min_count), key=lambda w: -pending[w][0])
        if max_vocab_size is not None:
            ready = ready[: max(int(max_vocab_size) - len(self), 0)]
        added = [pending.pop(w) for w in ready]
        grown = Vocabulary(
            self.index_to_key + ready,
            np.concatenate([counts, np.asarray([c for c, _ in added], dtype=np.int64)]),
            np.concatenate([doc_freq, np.asarray([df for _, df in added], dtype=np.int64)]),
            self.n_docs + new.n_docs,
            self.n_specials,
        )
        return grown, pending

    def __len__(self):
        return len(self.index_to_key)

    def __contains__(self, key):
        return key in self.key_to_index

    @property
    def total_words(self) -> int:
        """Number of corpus tokens that are in the vocabulary."""
        return int(self.counts.sum())

    def keep_probabilities(self, sample: float) -> np.ndarray:
        """Probability of keeping each occurrence under frequent-word subsampling.

        Uses word2vec's formula: with ``t = sample * total_words``, a word seen
        ``c`` times is kept with probability ``min(1, (sqrt(c / t) + 1) * t / c)``.
        ``sample=0`` keeps everything.
        """
        counts = self.counts.astype(np.float64)
        if not sample or sample <= 0:
            return np.ones(len(self), dtype=np.float32)
        threshold = sample * max(self.total_words, 1) if sample < 1.0 else float(sample)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = (np.sqrt(counts / threshold) + 1.0) * (threshold / counts)
        p[counts == 0] = 1.0
        return np.minimum(p, 1.0).astype(np.float32)

    def negative_distribution(self, ns_exponent: float) -> np.ndarray:
        """Negative-sampling probabilities, proportional to ``count ** ns_exponent``."""
        weights = self.counts.astype(np.float64) ** ns_exponent
        weights[self.counts == 0] = 0.0
        total = weights.sum()
        if total <= 0:
            raise ValueError("cannot build a negative-sampling distribution from an empty vocabulary")
        return weights / total

    def negative_alias(self, ns_exponent: float) -> tuple[np.ndarray, np.ndarray]:
        """Walker's alias tables of the negative-sampling distribution.

        Returns ``(prob, alias)``, each of length ``n_words``: draw ``i``
        uniformly, then keep ``i`` with probability ``prob[i]``, else take
        ``alias[i]``. The draw is exact, and the tables are small enough to stay
        in cache (a lookup table of 10 million entries, as word2vec uses, made
        each draw a memory access). Built with Vose's method, O(n_words).
        """
        scaled = self.negative_distribution(ns_exponent) * len(self)
        prob = np.ones(len(self), dtype=np.float64)
        alias = np.arange(len(self), dtype=np.int64)
        small = np.flatnonzero(scaled < 1.0).tolist()
        large = np.flatnonzero(scaled >= 1.0).tolist()
        rest = scaled.tolist()
        while small and large:
            s, g = small.pop(), large.pop()
            prob[s], alias[s] = rest[s], g
            rest[g] += rest[s] - 1.0  # g gives s the share it lacks
            (small if rest[g] < 1.0 else large).append(g)
        return prob.astype(np.float32), alias  # leftovers (rounding) keep prob 1

    def __repr__(self):
        return f"Vocabulary(n_words={len(self)}, n_docs={self.n_docs}, total_words={self.total_words})"
