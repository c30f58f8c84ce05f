"""What every training kernel returns per epoch (word2vec, fastText, GloVe, the classifier).

The contract: a kernel is built from a config without defaults of its own and the
fitted arrays it continues from; ``train(data, epochs, on_batch)`` runs the epochs
and returns one ``EpochStats`` each; its state comes out as arrays. The faces turn
the stats into ``history_`` under their own column names.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["EpochStats", "largest_magnitude"]


@dataclass
class EpochStats:
    """One epoch.

    ``loss`` is the kernel's own training loss (word2vec: summed negative log-likelihood;
    GloVe: summed weighted squared error; the classifier: mean loss per document);
    ``visited`` what the epoch went through (corpus words, co-occurrence entries);
    ``val_score`` and ``val_loss`` the classifier's held-out accuracy and log-loss (None
    without a validation split, and for the other kernels).
    """

    loss: float
    seconds: float
    visited: int = 0
    val_score: float | None = None
    val_loss: float | None = None


def largest_magnitude(*tensors) -> float:
    """The largest ``|x|`` over ``tensors`` (NaN if one holds a NaN; 0 for empty ones), from
    one min/max reduction each: ``t.abs().max()`` would first allocate a copy of ``t``, as
    large as the model's matrices, at the end of every epoch."""
    peak = 0.0
    for t in tensors:
        if t.numel():
            lo, hi = torch.aminmax(t)
            if lo.isnan() or hi.isnan():
                return float("nan")
            peak = max(peak, -float(lo), float(hi))
    return peak
