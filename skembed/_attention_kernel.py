"""The attention classifier's training step without an encoder, derived by hand.

Knows nothing of scikit-learn: it takes an ``AttentionPoolingNet`` and one
batch. Without an encoder a token's vector is its word's embedding, so the
model is a weighted bag of words: with ``a[b, t]`` the attention weight of
token ``t`` of document ``b`` and ``V`` the embeddings of the batch's distinct
words, the pooled vector is ``M @ V`` where ``M[b, r]`` sums ``a[b, t]`` over the
tokens of word ``r``. ``M`` is a sparse (documents x distinct words) matrix
with one entry per token (a word repeated in a document gives duplicate
entries, which the product sums), so pooling and its gradient
``M.T @ grad_pooled`` are two sparse-dense products; a (B, T, dim) tensor of
token vectors exists only once, to get the gradient of the weights.

On a CPU a small batch is dominated by per-operation costs (5-100 us each on
the 2-core machine, whatever the size): autograd through
``AttentionPoolingNet`` takes about 30 operations forward and as many nodes
back, several of them batched matrix products over (B, T, dim). This step
computes the same loss and gradients (a test compares them with autograd's)
in fewer and cheaper operations; the batch layouts it needs (masks, tokens
grouped by word) are computed in numpy, where small operations cost less.
It is used on the CPU only: on a GPU per-operation costs do not dominate, and
sparse products with duplicate entries are not something cuSPARSE promises.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._sparse import csr

__all__ = ["BagBatch", "bag_batch", "bag_attention_step", "bag_features", "supports_bag_step"]


@dataclass
class BagBatch:
    """One batch in the layouts the step needs (all tensors on one device).

    Attributes
    ----------
    ids : (B, T) int64, padded word ids
    rows : (R,) int64, the distinct ids
    inverse : (B, T) int64, each token's position in ``rows``
    blocked : (B, 1, T) bool, the positions attention must not see: padding,
        except in a document without any token, which attends to its padding
    row_ptr : (R + 1,) int64, ``inverse``'s tokens grouped by row: CSR offsets
    order : (B * T,) int64, flat token positions sorted by row (stable)
    order_doc : (B * T,) int64, the document of each position in ``order``
    """

    ids: torch.Tensor
    rows: torch.Tensor
    inverse: torch.Tensor
    blocked: torch.Tensor
    row_ptr: torch.Tensor | None = None
    order: torch.Tensor | None = None
    order_doc: torch.Tensor | None = None


def bag_batch(ids, rows, inverse, device, grouped=True, pad_id=0):
    """A :class:`BagBatch` from numpy ``ids``, ``rows`` and ``inverse``; the layouts
    are computed in numpy, where small operations cost a fraction of torch's.

    ``grouped=False`` leaves ``row_ptr``, ``order`` and ``order_doc`` out (None):
    inference and the autograd path do not need them.
    """
    padding = ids == pad_id
    blocked = (padding & ~padding.all(1, keepdims=True))[:, None, :]
    arrays = [ids, rows, inverse, blocked]
    if grouped:
        flat = inverse.reshape(-1)
        row_ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(np.bincount(flat, minlength=len(rows)), out=row_ptr[1:])
        # a stable sort of 16-bit keys is a radix sort, much faster than one on int64
        order = np.argsort(flat.astype(np.uint16) if len(rows) <= 1 << 16 else flat, kind="stable")
        arrays += [row_ptr, order, order // ids.shape[1]]
    return BagBatch(*(torch.as_tensor(a, device=device) for a in arrays))


def supports_bag_step(net):
    """Whether ``bag_attention_step`` and ``bag_features`` serve ``net``: no encoder, on the CPU."""
    return net.encoder.kind is None and net.embedding.weight.device.type == "cpu"


def _score_weight(pool):
    """(heads, H): the additive scorer's weight, or the scaled queries."""
    return pool.score.weight if pool.kind == "additive" else pool.query * pool.scale


def _forward(net, batch):
    """Embedded rows V (R, D), their attention activations (R, H), the weights
    (B, heads, T) and the pooled vectors (B, heads * D), without autograd."""
    pool = net.pool
    lin = pool.proj if pool.kind == "additive" else pool.keys
    score_w = _score_weight(pool)
    ids, inverse = batch.ids, batch.inverse
    B, T = ids.shape
    heads = score_w.shape[0]
    V = net.word_vectors(batch.rows)  # (R, D)
    R, D = V.shape
    act = torch.addmm(lin.bias, V, lin.weight.t())  # (R, H)
    if pool.kind == "additive":
        act.tanh_()
    scores = act @ score_w.t()  # (R, heads)
    if heads == 1:
        token_scores = scores.view(-1).index_select(0, inverse.view(-1)).view(B, 1, T)
    else:
        token_scores = scores.index_select(0, inverse.view(-1)).view(B, T, heads).transpose(1, 2)
    a = torch.softmax(token_scores.masked_fill(batch.blocked, float("-inf")), -1)  # (B, heads, T)
    if heads > 1:
        a = a.contiguous()
    # pooled = M @ V, M: (B * heads, R) with one entry per token and head
    cols = inverse.unsqueeze(1).expand(B, heads, T).reshape(-1)
    tok_ptr = torch.arange(0, B * heads * T + 1, T, device=ids.device)
    pooled = csr(tok_ptr, cols, a.view(-1), (B * heads, R)) @ V
    return V, act, a, pooled.view(B, heads * D)


@torch.no_grad()
def bag_features(net, batch: BagBatch):
    """``net.features`` for a net without an encoder: pooled vectors (B, heads * dim)
    and attention weights (B, heads, T), pooled by one sparse product."""
    _, _, a, pooled = _forward(net, batch)
    return pooled, a


def bag_attention_step(net, batch: BagBatch, y, weight, dropout_mask=None, row_grad=True):
    """Loss of one batch; the dense layers' gradients are stored in their ``.grad``.

    Parameters
    ----------
    net : AttentionPoolingNet without an encoder
    batch : BagBatch
    y : (B,) int64 class indices
    weight : (B,) float sample weights; the loss is ``sum(weight * nll) / B``
    dropout_mask : (B, n_heads * dim) tensor or None
        Multiplies the pooled vectors (already scaled by ``1 / (1 - p)``).
    row_grad : bool
        Also return the gradient of the embedding rows ``batch.rows``.

    Returns
    -------
    loss : 0-d tensor
    grad_rows : (R, dim) tensor or None
    """
    pool, out = net.pool, net.output
    additive = pool.kind == "additive"
    lin = pool.proj if additive else pool.keys
    with torch.no_grad():
        score_w = _score_weight(pool)
        ids, inverse = batch.ids, batch.inverse
        B, T = ids.shape
        heads = score_w.shape[0]
        V, act, a, pooled = _forward(net, batch)
        R, D = V.shape
        x = pooled * dropout_mask if dropout_mask is not None else pooled
        logits = torch.addmm(out.bias, x, out.weight.t())
        log_p = torch.log_softmax(logits, 1)
        scale = weight.to(log_p.dtype) / B
        nll = log_p.gather(1, y.unsqueeze(1)).squeeze(1)
        loss = -(nll * scale).sum()

        # backward: softmax cross-entropy
        g_logits = log_p.exp_()
        g_logits[torch.arange(B, device=ids.device), y] -= 1
        g_logits.mul_(scale.unsqueeze(1))
        out.weight.grad = g_logits.t() @ x
        out.bias.grad = g_logits.sum(0)
        g_pooled = g_logits @ out.weight
        if dropout_mask is not None:
            g_pooled.mul_(dropout_mask)
        g_pooled = g_pooled.view(B * heads, D)
        # pooling: grad of V is M.T @ g_pooled; M.T's entries grouped by row via batch.order
        if row_grad:
            if heads == 1:
                t_cols, t_ptr = batch.order_doc, batch.row_ptr
                t_vals = a.view(-1).index_select(0, batch.order)
            else:
                t_cols = ((batch.order_doc * heads).unsqueeze(1) + torch.arange(heads, device=ids.device)).view(-1)
                t_vals = a.transpose(1, 2).reshape(B * T, heads).index_select(0, batch.order).view(-1)
                t_ptr = batch.row_ptr * heads
            g_V = csr(t_ptr, t_cols, t_vals, (R, B * heads)) @ g_pooled
        # grad of the weights: each token's vector . its document's pooled gradient
        # (torch.sparse.sampled_addmm would skip the gather, but M has duplicate
        # entries, a repeated word, which it rejects when they outnumber M's cells)
        tokens = V.index_select(0, inverse.view(-1)).view(B, T, D)
        g_a = torch.bmm(g_pooled.view(B, heads, D), tokens.transpose(1, 2))  # (B, heads, T)
        g_s = a * (g_a - (a * g_a).sum(-1, keepdim=True))  # softmax backward
        g_scores = torch.zeros(R, heads, dtype=V.dtype, device=V.device)
        g_scores.index_add_(0, inverse.reshape(-1), g_s.transpose(1, 2).reshape(B * T, heads))
        g_score_w = g_scores.t() @ act  # (heads, H)
        g_act = g_scores @ score_w  # (R, H)
        if additive:
            g_act.mul_(1 - act * act)
            pool.score.weight.grad = g_score_w
        else:
            pool.query.grad = g_score_w * pool.scale
        lin.weight.grad = g_act.t() @ V
        lin.bias.grad = g_act.sum(0)
        if not row_grad:
            return loss, None
        g_V.addmm_(g_act, lin.weight)
        return loss, g_V
