"""Sparse CSR matrices over layouts the kernels build themselves.

The attention step and the GloVe step both turn "sum these rows per group"
into a CSR x dense product; the layouts are correct by construction, so
torch's O(nnz) invariant checks are skipped.
"""

from __future__ import annotations

import warnings

import torch

__all__ = ["csr", "csr_rows"]

_warned = False


def csr(row_ptr, cols, values, shape):
    """A CSR matrix from its row pointers, column indices and values."""
    global _warned
    if _warned:
        return torch.sparse_csr_tensor(row_ptr, cols, values, shape, check_invariants=False)
    with warnings.catch_warnings():  # torch says once per process that sparse CSR is "beta"
        warnings.simplefilter("ignore", UserWarning)
        _warned = True
        return torch.sparse_csr_tensor(row_ptr, cols, values, shape, check_invariants=False)


def csr_rows(starts, lengths, ids):
    """Where the entries of rows ``ids`` of a CSR table lie, bag by bag.

    ``starts``/``lengths`` give each row's first entry and entry count. Returns
    ``(positions, offsets, counts)``: the entries of ``ids[0]``, then of ``ids[1]``, ...
    (indices into the table's flat arrays), where each bag starts, and its length;
    ``embedding_bag`` takes the gathered entries with those offsets.
    """
    counts = lengths.index_select(0, ids)
    offsets = torch.cumsum(counts, 0).sub_(counts)
    total = int(offsets[-1] + counts[-1]) if ids.shape[0] else 0
    # entry p of bag b is flat entry starts[ids[b]] + p - offsets[b]
    shift = torch.repeat_interleave(starts.index_select(0, ids) - offsets, counts, output_size=total)
    return shift.add_(torch.arange(total, device=ids.device)), offsets, counts
