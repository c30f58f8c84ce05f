"""How the classifier's embedding table starts from pretrained vectors, and which of its
rows stay fixed."""

from __future__ import annotations

import numpy as np

from .subword_vectors import SubwordVectors

__all__ = ["initial_rows", "frozen_rows"]


def initial_rows(vocab_words, wv, rows):
    """``rows`` (the random start) with each token's vector from ``wv`` where it has one:
    the words ``wv`` knows, and with subword vectors (fastText) the other tokens'
    n-gram vectors too, unless those are zero (no n-gram of theirs was trained)."""
    rows = rows.copy()
    known = [(i, wv.key_to_index[w]) for i, w in enumerate(vocab_words) if w in wv.key_to_index]
    if known:
        dst, src = map(list, zip(*known))
        rows[dst] = wv.vectors[src]
    if isinstance(wv, SubwordVectors):
        others = [i for i, w in enumerate(vocab_words) if i and w not in wv.key_to_index]
        vectors = wv.ngram_vectors([vocab_words[i] for i in others])
        has = np.flatnonzero(np.any(vectors != 0, axis=1))
        rows[np.asarray(others, dtype=np.int64)[has]] = vectors[has]
    return rows


def frozen_rows(vocab_words, wv, n_rows):
    """Which of ``n_rows`` table rows the optimizer never updates: the padding row (0) and the
    rows of the words ``wv`` gave vectors (None: none); n-gram rows and tokens ``wv`` lacked
    are trained."""
    frozen = np.zeros(n_rows, dtype=bool)
    frozen[0] = True
    if wv is not None:
        frozen[: len(vocab_words)] |= np.fromiter((w in wv.key_to_index for w in vocab_words), bool, len(vocab_words))
    return frozen
