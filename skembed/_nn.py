"""Torch modules of the attention classifier: embedding, encoders, attention pooling.

Plain ``nn.Module`` classes built from plain numbers, with no scikit-learn in
sight; ``skembed.attention`` builds them inside ``fit`` (as skorch does).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._sparse import csr_rows

__all__ = ["AttentionPooling", "TextEncoder", "AttentionPoolingNet", "attention_penalty", "members"]


class AttentionPooling(nn.Module):
    """Pool a padded sequence (B, T, H) into (B, n_heads * H) with learned attention.

    ``kind="additive"``: scores ``v^T tanh(W h)`` per head (Yang et al., 2016).
    ``kind="scaled_dot"``: a learned query per head against projected keys,
    divided by ``sqrt(attention_dim)``. Padding never gets weight; a row with no
    token at all attends uniformly to its padding (zero vectors when the encoder
    leaves padding at zero), so it still has a defined output.
    """

    def __init__(self, input_dim, attention_dim, n_heads=1, kind="additive"):
        super().__init__()
        self.kind = kind
        self.n_heads = n_heads
        if kind == "additive":
            self.proj = nn.Linear(input_dim, attention_dim)
            self.score = nn.Linear(attention_dim, n_heads, bias=False)
        elif kind == "scaled_dot":
            self.keys = nn.Linear(input_dim, attention_dim)
            self.query = nn.Parameter(torch.randn(n_heads, attention_dim) / math.sqrt(attention_dim))
        else:
            raise ValueError(f"unknown attention {kind!r}")
        self.scale = 1.0 / math.sqrt(attention_dim)

    def scores(self, h):
        """Unnormalised scores (..., n_heads) of vectors (..., H)."""
        if self.kind == "additive":
            return self.score(torch.tanh(self.proj(h)))
        return self.keys(h) @ self.query.T * self.scale

    @staticmethod
    def normalise(scores, mask):
        """Softmax of token scores (B, T, heads) over unmasked tokens, as (B, heads, T)."""
        scores = scores.transpose(1, 2)
        empty = ~mask.any(1)
        allowed = mask | empty.unsqueeze(1)  # empty rows: uniform over padding
        scores = scores.masked_fill(~allowed.unsqueeze(1), float("-inf"))
        return torch.softmax(scores, dim=-1)

    def weights(self, h, mask):
        """Attention weights (B, n_heads, T); rows sum to 1 over unmasked tokens."""
        return self.normalise(self.scores(h), mask)

    def forward(self, h, mask):
        a = self.weights(h, mask)  # (B, heads, T)
        pooled = a @ h  # (B, heads, H)
        return pooled.flatten(1), a

    def pool_words(self, vectors, inverse, mask):
        """As ``forward`` for ``h = vectors[inverse]``, scoring each distinct vector once.

        Without an encoder a token's score depends on its word alone, so the
        projection (the costly part) runs on the batch's distinct words, and only
        scalars and one gather are per token.
        """
        a = self.normalise(gather_rows(self.scores(vectors), inverse), mask)
        return (a @ gather_rows(vectors, inverse)).flatten(1), a


class TextEncoder(nn.Module):
    """Contextual token vectors: none (the embeddings), a BiGRU, a CNN or a transformer layer."""

    def __init__(self, kind, input_dim, hidden_dim, max_length, dropout):
        super().__init__()
        self.kind = kind
        if kind is None:
            self.output_dim = input_dim
        elif kind == "bigru":
            self.rnn = nn.GRU(input_dim, hidden_dim, batch_first=True, bidirectional=True)
            self.output_dim = 2 * hidden_dim
        elif kind == "cnn":
            self.conv = nn.Conv1d(input_dim, hidden_dim, kernel_size=3, padding=1)
            self.output_dim = hidden_dim
        elif kind == "transformer":
            heads = next(h for h in (4, 2, 1) if input_dim % h == 0)
            self.position = nn.Embedding(max_length, input_dim)
            self.layer = nn.TransformerEncoderLayer(
                input_dim, heads, dim_feedforward=max(hidden_dim, 4), dropout=dropout, batch_first=True
            )
            self.output_dim = input_dim
        else:
            raise ValueError(f"unknown encoder {kind!r}")

    def forward(self, x, mask):
        if self.kind is None:
            return x
        keep = mask.unsqueeze(2).to(x.dtype)
        if self.kind == "bigru":
            lengths = mask.sum(1).clamp(min=1).cpu()
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, _ = self.rnn(packed)
            out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
            return out * keep
        if self.kind == "cnn":
            return F.relu(self.conv((x * keep).transpose(1, 2))).transpose(1, 2) * keep
        positions = torch.arange(x.shape[1], device=x.device)
        padding = ~mask
        padding[:, 0] &= mask.any(1)  # an all-padding row keeps one key, so attention stays finite
        return self.layer(x + self.position(positions), src_key_padding_mask=padding) * keep


class AttentionPoolingNet(nn.Module):
    """Embedding -> encoder -> attention pooling -> dropout -> linear classifier.

    Dropout acts on the pooled vector (and inside the transformer layer): on
    every token embedding it cost more than the rest of a CPU training step.

    Documents of any length: an encoder sees segments of at most ``max_length``
    consecutive tokens (the transformer's position table has that many rows),
    each encoded on its own, and the attention then pools over the tokens of
    all of a document's segments together. The cost is linear in the length;
    without an encoder every token is pooled directly.
    """

    def __init__(
        self,
        n_words,
        embedding_dim,
        n_classes,
        encoder=None,
        attention="additive",
        n_heads=1,
        hidden_dim=64,
        attention_dim=None,
        dropout=0.0,
        max_length=256,
        padding_idx=0,
        init_scale=0.1,
        n_subword_rows=0,
    ):
        super().__init__()
        # rows 0 .. n_words - 1: the words; then the character n-gram rows (see set_subwords)
        self.embedding = nn.Embedding(n_words + n_subword_rows, embedding_dim, padding_idx=padding_idx)
        self.n_words = n_words
        self._subwords = None
        with torch.no_grad():  # small start (as fastText): learned signal dominates after a few steps
            self.embedding.weight.uniform_(-init_scale, init_scale)
            self.embedding.weight[padding_idx] = 0.0
        self.encoder = TextEncoder(encoder, embedding_dim, hidden_dim, max_length, dropout)
        h = self.encoder.output_dim
        self.pool = AttentionPooling(h, attention_dim or hidden_dim, n_heads, attention)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(n_heads * h, n_classes)
        self.padding_idx = padding_idx
        self.segment_length = max_length

    # ------------------------------------------------------------------ subwords
    def set_subwords(self, offsets, rows, weights):
        """Compose id ``i``'s vector as ``sum(weights[k] * table[rows[k]])`` over
        ``k in offsets[i]:offsets[i + 1]`` (a word's own row and its n-gram rows, each
        weighted 1/count: their mean). Ids past ``n_words`` are words unseen in training
        (set per prediction by the caller), composed of n-gram rows alone. None: plain
        rows, as without subwords."""
        if offsets is None:
            self._subwords = None
            return
        offsets = torch.as_tensor(offsets, dtype=torch.int64)
        self._subwords = (
            offsets[:-1],
            offsets[1:] - offsets[:-1],
            torch.as_tensor(rows, dtype=torch.int64),
            torch.as_tensor(weights, dtype=torch.float32),
        )

    @property
    def n_ids(self):
        """How many ids the tokens may take: the words, and unseen words given subwords."""
        return self.embedding.num_embeddings if self._subwords is None else self._subwords[0].shape[0]

    def _subword_tables(self):
        device = self.embedding.weight.device
        if self._subwords[0].device != device:
            self._subwords = tuple(t.to(device) for t in self._subwords)
        return self._subwords

    def word_vectors(self, ids):
        """The vectors of (distinct) ids: table rows, or their subword compositions."""
        table = self.embedding.weight
        if self._subwords is None:
            return self.embedding(ids)
        starts, lengths, rows, weights = self._subword_tables()
        positions, offsets, _ = csr_rows(starts, lengths, ids)
        return F.embedding_bag(
            rows.index_select(0, positions),
            table,
            offsets,
            mode="sum",
            per_sample_weights=weights.index_select(0, positions).to(table.dtype),
        )

    def row_gradients(self, ids, grad):
        """The gradient of the table rows behind ``word_vectors(ids)`` given the gradient
        ``grad`` of those vectors: ``(distinct rows, their gradients)``, as ``RowAdam`` takes."""
        if self._subwords is None:
            return ids, grad
        starts, lengths, rows, weights = self._subword_tables()
        positions, _, counts = csr_rows(starts, lengths, ids)
        flat = rows.index_select(0, positions)
        parts = grad.repeat_interleave(counts, 0).mul_(weights.index_select(0, positions).unsqueeze(1))
        distinct, inverse = torch.unique(flat, return_inverse=True)
        return distinct, grad.new_zeros(distinct.shape[0], grad.shape[1]).index_add_(0, inverse, parts)

    def embed(self, ids):
        """The batch's distinct ids, each token's position among them, and their vectors."""
        rows, inverse = torch.unique(ids, return_inverse=True)
        return rows, inverse, self.word_vectors(rows)

    def features(self, ids, embedded=None):
        """Pooled document vectors and attention weights for padded ids (B, T).

        ``embedded``: ``embed(ids)``'s result, given by a trainer that updates
        the embedding rows itself (see ``skembed._optim.RowAdam``).
        """
        mask = ids != self.padding_idx
        _, inverse, vectors = self.embed(ids) if embedded is None else embedded
        if self.encoder.kind is None:
            return self.pool.pool_words(vectors, inverse, mask)
        h = gather_rows(vectors, inverse)
        n, length = ids.shape
        seg = self.segment_length
        if length <= seg:
            return self.pool(self.encoder(h, mask), mask)
        # segments of ``seg`` tokens encoded apart (as a batch of n * n_seg rows), pooled together
        n_seg = -(-length // seg)
        pad = n_seg * seg - length
        h, mask = F.pad(h, (0, 0, 0, pad)), F.pad(mask, (0, pad))
        encoded = self.encoder(h.view(n * n_seg, seg, -1), mask.view(n * n_seg, seg)).reshape(n, n_seg * seg, -1)
        pooled, attn = self.pool(encoded, mask)
        return pooled, attn[..., :length]

    def forward(self, ids, embedded=None):
        pooled, attn = self.features(ids, embedded)
        return self.output(self.dropout(pooled)), attn


def gather_rows(table, index):
    """``table[index]`` for a 2-d table, through ``index_select``: its backward is an
    ``index_add_``, several times faster on the CPU than advanced indexing's
    accumulating ``index_put_``."""
    return table.index_select(0, index.reshape(-1)).view(*index.shape, table.shape[1])


def attention_penalty(attn):
    """Lin et al. (2017): mean over the batch of ``||A A^T - I||_F^2`` for (B, heads, T) weights."""
    eye = torch.eye(attn.shape[1], device=attn.device, dtype=attn.dtype)
    return ((attn @ attn.transpose(1, 2) - eye) ** 2).sum((1, 2)).mean()


def members(net):
    """The networks of a classifier: an ensemble's (``torch.nn.ModuleList``), or ``[net]``."""
    return list(net) if isinstance(net, nn.ModuleList) else [net]
