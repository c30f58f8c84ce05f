"""Sparse CSR matrices over layouts the kernels build themselves.

The attention step and the GloVe step both turn "sum these rows per group"
into a CSR x dense product; the layouts are correct by construction, so
torch's O(nnz) invariant checks are skipped.
"""

from __future__ import annotations

import warnings

import torch

__all__ = ["csr"]

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
