"""Lazy Adam on the rows of an embedding table that a batch touched.

``torch.optim.SparseAdam`` takes a sparse COO gradient and coalesces it on
every step (a sort of all touched indices). The classifier already knows the
distinct rows of a batch (it embeds them once, see ``AttentionPoolingNet``), so
their gradient arrives as a small dense ``(n_rows, dim)`` tensor and the update
is three gathers and three scatters. The arithmetic is SparseAdam's: moments
of untouched rows are left alone and the bias correction uses the global step.
"""

from __future__ import annotations

import torch

__all__ = ["RowAdam"]


class RowAdam:
    """Adam restricted to given rows of one 2-d parameter.

    Parameters
    ----------
    param : torch.nn.Parameter
        The table, updated in place outside autograd (kept as the Parameter, so
        that moving its module to another device is followed).
    lr, betas, eps : as ``torch.optim.SparseAdam``.
    skip_row : int or None
        A row never updated (the padding row).
    """

    def __init__(self, param, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, skip_row=None):
        self.param = param
        self.lr, self.betas, self.eps = float(lr), tuple(betas), float(eps)
        self.skip_row = skip_row
        self.exp_avg = torch.zeros_like(param)
        self.exp_avg_sq = torch.zeros_like(param)
        self.steps = 0

    @torch.no_grad()
    def step(self, rows, grad):
        """Apply one update to ``param[rows]``; ``rows`` must be distinct."""
        if self.skip_row is not None:
            keep = rows != self.skip_row
            rows, grad = rows[keep], grad[keep]
        if self.exp_avg.device != self.param.device:  # the module moved since the last step
            self.exp_avg = self.exp_avg.to(self.param.device)
            self.exp_avg_sq = self.exp_avg_sq.to(self.param.device)
        self.steps += 1
        beta1, beta2 = self.betas
        m = self.exp_avg.index_select(0, rows).mul_(beta1).add_(grad, alpha=1 - beta1)
        v = self.exp_avg_sq.index_select(0, rows).mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        self.exp_avg.index_copy_(0, rows, m)
        self.exp_avg_sq.index_copy_(0, rows, v)
        bias1 = 1 - beta1 ** self.steps
        bias2 = 1 - beta2 ** self.steps
        denom = v.sqrt_().add_(self.eps)
        update = m.div_(denom).mul_(-self.lr * bias2 ** 0.5 / bias1)
        self.param.index_add_(0, rows, update)
