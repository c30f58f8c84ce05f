"""Word-word co-occurrence counts over a flat corpus, as a scipy sparse matrix.

For each window offset ``d`` the (later word, earlier word) pairs at distance
``d`` inside one document are two shifted slices of the id array; each offset
becomes one COO block summed into CSR. The corpus is processed in chunks of
tokens (a chunk's pairs are its only per-token temporaries), and the chunks'
matrices are summed into the total only when their entries outnumber the
total's, so counting stays near-linear in the corpus and memory bounded. Semantics follow Stanford
GloVe's ``cooccur``: words outside the vocabulary are skipped (they do not count
as positions), a pair at distance ``d`` adds ``1/d`` (or 1), rows are the focal
word and columns its left context, and ``symmetric`` adds the right context too.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._corpus import Corpus
from ._malloc import release_free_memory

__all__ = ["cooccurrence_matrix"]


def cooccurrence_matrix(
    corpus: Corpus,
    n_words: int,
    window: int = 10,
    symmetric: bool = True,
    distance_weighting: bool = True,
    chunk_tokens: int = 1 << 17,
    dtype=np.float64,
) -> sp.csr_matrix:
    """Count co-occurrences of word ids within ``window`` tokens.

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n_words, n_words)
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    ids = corpus.ids
    n = len(ids)
    # no pair is further apart than the longest document: a larger window only adds empty passes
    window = min(window, max(int(corpus.lengths.max(initial=1)) - 1, 1))
    total = sp.csr_matrix((n_words, n_words), dtype=dtype)
    pending = []  # counted chunks not yet summed into ``total``
    for start in range(0, max(n, 1), chunk_tokens):
        stop = min(start + chunk_tokens, n)
        span = np.asarray(ids[start : min(stop + window, n)])
        # the document of each token of the chunk and its window: per chunk, never per corpus token
        doc = np.searchsorted(corpus.offsets, np.arange(start, start + len(span)), side="right")
        release_free_memory()  # the last chunk's temporaries (see skembed._malloc)
        rows, cols, vals = [], [], []
        for d in range(1, window + 1):
            hi = min(stop, n - d) - start  # earlier word at t in [0, hi), later word at t + d
            if hi <= 0:
                continue
            same = doc[:hi] == doc[d : hi + d]
            rows.append(span[d : hi + d][same])
            cols.append(span[:hi][same])
            vals.append(np.full(rows[-1].shape[0], 1.0 / d if distance_weighting else 1.0, dtype=dtype))
        if not rows:
            continue
        pending.append(
            sp.coo_matrix(
                (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_words, n_words)
            ).tocsr()
        )
        # merge once the chunks' entries outgrow the total's: each entry is merged O(log) times
        if sum(b.nnz for b in pending) >= max(total.nnz, 1 << 22):
            total = _merged(total, pending)
    total = _merged(total, pending)
    if symmetric:
        total = total + total.T.tocsr()
    total.sum_duplicates()
    total.eliminate_zeros()
    return total.tocsr()


def _merged(total, pending):
    """``total`` plus the matrices of ``pending`` (emptied)."""
    for block in pending:
        total = total + block
    pending.clear()
    return total
