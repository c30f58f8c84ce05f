"""The classifier's optimizers: lazy Adam on embedding rows, and AdamW.

``RowAdam``: ``torch.optim.SparseAdam`` takes a sparse COO gradient and
coalesces it on every step (a sort of all touched indices). The classifier
already knows the distinct rows of a batch (it embeds them once, see
``AttentionPoolingNet``), so their gradient arrives as a small dense
``(n_rows, dim)`` tensor and the update is three gathers and three scatters.
The arithmetic is SparseAdam's: moments of untouched rows are left alone and
the bias correction uses the global step.

``AdamW``: ``torch.optim.AdamW``'s arithmetic for the few small dense layers.
Constructing any ``torch.optim`` optimizer imports ``torch._dynamo`` the first
time, which took 2 s on the 2-core machine: the first ``fit`` in a process was
2.6 s instead of 0.6 s on SMS spam.
"""

from __future__ import annotations

import math

import torch

__all__ = ["RowAdam", "AdamW"]


class AdamW:
    """Adam with decoupled weight decay (Loshchilov and Hutter), as ``torch.optim.AdamW``."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.params = list(params)
        self.lr, self.betas, self.eps = float(lr), tuple(betas), float(eps)
        self.weight_decay = float(weight_decay)
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self.steps = [0] * len(self.params)  # per parameter, as torch counts them

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        """One update of every parameter that has a gradient, in a few ``torch._foreach``
        calls (one per operation for all parameters, not one per parameter)."""
        groups = {}  # parameters with equal step counts share their bias corrections
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            if self.exp_avg[i].device != p.device:  # the module moved since the last step
                self.exp_avg[i] = self.exp_avg[i].to(p.device)
                self.exp_avg_sq[i] = self.exp_avg_sq[i].to(p.device)
            self.steps[i] += 1
            groups.setdefault(self.steps[i], []).append(i)
        beta1, beta2 = self.betas
        for step, index in groups.items():
            params = [self.params[i] for i in index]
            grads = [p.grad for p in params]
            m = [self.exp_avg[i] for i in index]
            v = [self.exp_avg_sq[i] for i in index]
            if self.weight_decay:
                torch._foreach_mul_(params, 1 - self.lr * self.weight_decay)
            torch._foreach_mul_(m, beta1)
            torch._foreach_add_(m, grads, alpha=1 - beta1)
            torch._foreach_mul_(v, beta2)
            torch._foreach_addcmul_(v, grads, grads, value=1 - beta2)
            denom = torch._foreach_sqrt(v)
            torch._foreach_div_(denom, math.sqrt(1 - beta2**step))
            torch._foreach_add_(denom, self.eps)
            torch._foreach_addcdiv_(params, m, denom, value=-self.lr / (1 - beta1**step))


class RowAdam:
    """Adam restricted to given rows of one 2-d parameter.

    Parameters
    ----------
    param : torch.nn.Parameter
        The table, updated in place outside autograd (kept as the Parameter, so
        that moving its module to another device is followed).
    lr, betas, eps : as ``torch.optim.SparseAdam``.
    frozen : bool tensor of shape (n_rows,) or None
        Rows never updated (the padding row; pretrained rows kept fixed).
    """

    def __init__(self, param, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, frozen=None):
        self.param = param
        self.lr, self.betas, self.eps = float(lr), tuple(betas), float(eps)
        self.frozen = frozen
        self.exp_avg = torch.zeros_like(param)
        self.exp_avg_sq = torch.zeros_like(param)
        self.steps = 0

    @torch.no_grad()
    def step(self, rows, grad):
        """Apply one update to ``param[rows]``; ``rows`` must be distinct."""
        if self.exp_avg.device != self.param.device:  # the module moved since the last step
            self.exp_avg = self.exp_avg.to(self.param.device)
            self.exp_avg_sq = self.exp_avg_sq.to(self.param.device)
            self.frozen = None if self.frozen is None else self.frozen.to(self.param.device)
        if self.frozen is not None:
            # a zero gradient keeps the row's moments at zero, so its update is exactly 0;
            # cheaper than filtering the rows out (a data-dependent shape)
            grad = grad.masked_fill(self.frozen.index_select(0, rows).unsqueeze(1), 0.0)
        self.steps += 1
        beta1, beta2 = self.betas
        m = self.exp_avg.index_select(0, rows).mul_(beta1).add_(grad, alpha=1 - beta1)
        v = self.exp_avg_sq.index_select(0, rows).mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        self.exp_avg.index_copy_(0, rows, m)
        self.exp_avg_sq.index_copy_(0, rows, v)
        bias1 = 1 - beta1**self.steps
        bias2 = 1 - beta2**self.steps
        denom = v.sqrt_().add_(self.eps)
        update = m.div_(denom).mul_(-self.lr * bias2**0.5 / bias1)
        self.param.index_add_(0, rows, update)
