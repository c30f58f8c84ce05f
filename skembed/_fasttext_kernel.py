"""Subword (fastText) training: the word2vec kernel with composite input vectors.

Knows nothing of scikit-learn. The input matrix holds one row per vocabulary
word followed by one row per used n-gram bucket (``skembed._subwords``); a
word's input vector is the mean of its own row and its n-gram rows, as in
Bojanowski et al. (2017). Everything else (subsampling, shuffled pieces,
windows as views, shared negatives, the learning-rate schedule, divergence
checks) is :class:`~skembed._word2vec_kernel.Word2VecKernel`'s: this kernel only
overrides how input vectors are read and how their steps are written back.

Reading is one ``embedding_bag`` over each word's rows; writing adds a
word's step to every one of its rows unscaled, as fastText's
``Model::update`` and gensim do for their unsupervised models. CBOW reads the
mean of the rows. Skip-gram reads what gensim's FastText trains on: the sum of
a word's rows divided by its number of n-gram rows, not counting its own row
(fastText itself divides by all of them). That is the mean scaled by
``rows / (rows - 1)``, 7/6 for a three-letter word and 2 for a one-letter one,
so short words count for more. On both benchmark corpora it read higher
SimLex-999 than the plain mean, over 8 seeds on enwiki_small and 6 on the
glosses (README, "FastText"). The fitted vectors are the true mean in both
cases, as they are in gensim and fastText. CBOW's hidden layer is
the mean of all the context words' rows, as in fastText and gensim, so each
context word weighs its number of rows (``_context_weights``). The rows of a batch's words
are looked up from a CSR table built once (``starts``, ``lengths``, ``rows``)
and reused between the read and the write of the same ids.

Row layout while training: the n-gram rows arrive sorted by bucket id, i.e. in hash order,
so the rows of the frequent words (most of every batch) lie all over a matrix of hundreds of
thousands of rows, and each read and write misses the caches. ``train`` therefore moves the
n-gram rows in place so that those used first by the frequency-sorted vocabulary come first
(``hot_first_swaps``), and moves them back when it returns: the same rows are read and written
in the same order, so the result is the same, in less time, the more so as the model grows
(README, "FastText"; moving costs a pass over the swapped rows, before and after).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ._sparse import csr_rows
from ._word2vec_kernel import Word2VecKernel

__all__ = ["SubwordKernel", "hot_first_swaps", "apply_swaps"]

_HOT_REGION = 4096  # rows below which the hot-first layout stops refining (a few caches' worth)
_SWAP_CHUNK = 1 << 12  # row pairs swapped at a time (two (chunk, d) temporaries: 3 MB at d = 100)


class SubwordKernel(Word2VecKernel):
    """Word2vec training whose input vectors are means of a word's row and its n-gram rows.

    Parameters
    ----------
    config, keep_prob, neg_alias, device, generator
        As for :class:`Word2VecKernel`.
    sub_offsets : ndarray of int64, (n_words + 1,)
    sub_rows : ndarray of int64
        Word ``i``'s input rows are ``sub_rows[sub_offsets[i]:sub_offsets[i + 1]]``
        (its own row ``i`` first, then ``n_words + j`` for its n-gram rows ``j``).
    n_ngram_rows : int
    w_in, w_out : ndarray, optional
        Existing weights (``partial_fit``); ``w_in`` has ``n_words + n_ngram_rows`` rows.
    """

    _name = "fastText"

    def __init__(
        self,
        config,
        keep_prob,
        neg_alias,
        device,
        generator,
        sub_offsets,
        sub_rows,
        n_ngram_rows,
        w_in=None,
        w_out=None,
    ):
        n_words, d = len(keep_prob), config.vector_size
        # the layout first: its temporaries (a few per table entry) are gone before the matrix exists
        sub_rows = np.asarray(sub_rows, dtype=np.int64)
        self._swaps, position = hot_first_swaps(sub_rows, n_words, n_words + n_ngram_rows)
        sub_rows = position[sub_rows]
        del position
        if w_in is None:
            # fastText's and gensim's initialisation: every input row uniform in [-1/d, 1/d), output zero
            w_in = torch.rand(n_words + n_ngram_rows, d, generator=generator, device=device).mul_(2).sub_(1).div_(d)
            w_out = torch.zeros(n_words, d, device=device)
        super().__init__(config, keep_prob, neg_alias, device, generator, w_in=w_in, w_out=w_out)
        offsets = torch.as_tensor(sub_offsets, dtype=torch.int64, device=device)
        self.sub_start, self.sub_len = offsets[:-1], offsets[1:] - offsets[:-1]
        self.sub_rows = torch.as_tensor(sub_rows, dtype=torch.int64, device=device)
        self._layout_of = (None, None)
        self._seen = torch.zeros(n_words, dtype=torch.bool, device=device)
        self._position = torch.zeros(n_words, dtype=torch.int64, device=device)
        self._row_total = torch.zeros(self.w_in.shape[0], device=device)

    def train(self, corpus, epochs, on_batch=None):
        """``Word2VecKernel.train`` in the hot-first row layout (see the module docstring);
        ``w_in`` is in the caller's layout again when it returns, or raises. The two moves
        count in the first and the last epoch's seconds."""
        t0 = time.perf_counter()
        apply_swaps(self.w_in, self._swaps)
        moved = time.perf_counter() - t0
        try:
            history = super().train(corpus, epochs, on_batch)
        finally:
            t0 = time.perf_counter()
            apply_swaps(self.w_in, self._swaps[::-1])
        if history:
            history[0].seconds += moved
            history[-1].seconds += time.perf_counter() - t0
        return history

    def _distinct(self, ids):
        """Sorted distinct ids and each id's position among them, in time linear in the batch
        (two scratch arrays over the vocabulary instead of a sort)."""
        seen, position = self._seen, self._position
        seen[ids] = True
        words = seen.nonzero().squeeze(1)
        seen[words] = False
        position[words] = torch.arange(words.shape[0], device=self.device)
        return words, position.index_select(0, ids)

    def _layout(self, ids):
        """(distinct words, each id's position among them, their flat rows, bag offsets, bag
        lengths) for words ``ids``; kept for the write that follows the read of the same ids."""
        if self._layout_of[0] is ids:
            return self._layout_of[1]
        words, inverse = self._distinct(ids)
        positions, offsets, lengths = csr_rows(self.sub_start, self.sub_len, words)
        flat = self.sub_rows.index_select(0, positions)
        layout = (words, inverse, flat, offsets, lengths)
        self._layout_of = (ids, layout)
        return layout

    def _gather_input(self, ids, out):
        # each distinct word is composed once, then read per token
        _, inverse, flat, offsets, lengths = self._layout(ids)
        if self.cfg.algorithm != "skipgram":
            composed = torch.embedding_bag(self.w_in, flat, offsets, False, 1)[0]  # mode 1: the bag's mean
            return torch.index_select(composed, 0, inverse, out=out)
        # skip-gram trains on gensim's composition: the bag's sum over its number of n-gram rows
        # (the word's own row not counted), i.e. the mean scaled by rows / (rows - 1); see the
        # module docstring. A word without n-gram rows is its own row.
        composed = torch.embedding_bag(self.w_in, flat, offsets, False, 0)[0]  # mode 0: the bag's sum
        composed.div_((lengths - 1).clamp_(min=1).unsqueeze(1).to(composed.dtype))
        return torch.index_select(composed, 0, inverse, out=out)

    def _add_input(self, ids, steps):
        # a word's steps are summed once, then added to each of its rows
        words, inverse, flat, offsets, lengths = self._layout(ids)
        summed = steps.new_zeros(words.shape[0], steps.shape[1]).index_add_(0, inverse, steps)
        spread = summed.repeat_interleave(lengths, 0)
        if self.cfg.ngram_update_cap:
            spread.mul_(self._ngram_damping(inverse, flat, offsets, lengths).unsqueeze(1))
        self.w_in.index_add_(0, flat, spread)

    def _context_weights(self, span_ids, mask, mean_weights):
        # fastText's CBOW hidden layer is the mean of *all* the context words' rows (word and
        # n-gram rows alike, as fastText's and gensim's code average them), so a context word
        # weighs as many rows as it has, not 1 / count: with composed (mean) vectors, slot j's
        # weight is mask_j * rows_j / sum(mask * rows).
        n_rows = self.sub_len.index_select(0, span_ids).to(mask.dtype)
        weights = n_rows.unfold(0, mask.shape[1], 1) * mask
        return weights.div_(weights.sum(1, keepdim=True).clamp_(min=1.0))

    def _ngram_damping(self, inverse, flat, offsets, lengths):
        """Scale of each (word, row) update so that an n-gram row's summed weight in a batch is
        at most ``ngram_update_cap`` occurrences: ``min(1, T / c)`` with ``c`` the occurrences
        of the words that share the row.

        An n-gram row is shared by every word holding the n-gram ("the" by "the", "there",
        "other", ...), so a batch can sum hundreds of alike updates into it from stale values,
        which made skip-gram diverge on long documents. A word's own row is left to the word
        kernel's rule (skip-gram's centre damping; none in CBOW), so it scales by 1.
        """
        cap = self.cfg.ngram_update_cap
        occurrences = torch.bincount(inverse, minlength=lengths.shape[0]).to(self.w_in.dtype)
        if self.cfg.algorithm == "skipgram" and self.cfg.row_update_cap:
            occurrences.clamp_(max=self.cfg.row_update_cap)  # the centre damping capped each word already
        per_row = occurrences.repeat_interleave(lengths)
        total = self._row_total.index_add_(0, flat, per_row)
        scale = (cap / total.index_select(0, flat)).clamp_(max=1.0)
        total.index_fill_(0, flat, 0.0)  # the buffer is all zeros again
        scale[offsets] = 1.0  # each word's own row comes first in its bag
        return scale


def hot_first_swaps(rows, first, n_rows):
    """Row swaps that bring the rows ``first .. n_rows - 1`` used first in ``rows`` (in that
    order of first use) to the front of that region, and each row's position afterwards.

    A full reordering would need a second copy of the matrix to undo; swaps undo in place.
    Level by level, the region's front half receives the region's hotter half of the rows
    (each hot row in the back half swaps with a cold one in the front half; the two counts
    are equal), and the next level refines the front half, down to ``_HOT_REGION`` rows:
    every row ends in the power-of-two band of its rank. Rows below ``first`` (the word rows,
    already in frequency order) stay where they are; rows that no entry of ``rows`` uses rank
    last, in row order.

    Returns ``(swaps, position)``: a list of (a, b) pairs of int32 position arrays, each level
    a set of disjoint swaps applied in list order (``apply_swaps``, undone in reverse order),
    and ``position[r]``, row ``r``'s position once they are applied.
    """
    m = n_rows - first
    used = np.flatnonzero(rows >= first)
    first_use = np.full(m, len(rows), dtype=np.int64)  # unused rows rank last, in row order
    np.minimum.at(first_use, rows[used] - first, used)
    del used
    rank = np.empty(m, dtype=np.int64)
    rank[np.argsort(first_use, kind="stable")] = np.arange(m)
    del first_use
    at = np.arange(m)  # at[p]: the row now at position p of the region
    dtype = np.int32 if n_rows < 2**31 else np.int64  # (the pairs are held through the fit)
    swaps, size = [], m
    while size > _HOT_REGION:
        half = size // 2
        front_cold = np.flatnonzero(rank[at[:half]] >= half)
        back_hot = half + np.flatnonzero(rank[at[half:size]] < half)
        if len(front_cold):
            at[front_cold], at[back_hot] = at[back_hot], at[front_cold].copy()
            swaps.append(((front_cold + first).astype(dtype), (back_hot + first).astype(dtype)))
        size = half
    position = np.arange(n_rows)
    position[first + at] = first + np.arange(m)
    return swaps, position


def apply_swaps(matrix, swaps):
    """Swap the rows of ``matrix`` in place, pair by pair (``hot_first_swaps``), a chunk at a time."""
    for a, b in swaps:
        for i in range(0, len(a), _SWAP_CHUNK):
            ia = torch.as_tensor(a[i : i + _SWAP_CHUNK], dtype=torch.int64, device=matrix.device)
            ib = torch.as_tensor(b[i : i + _SWAP_CHUNK], dtype=torch.int64, device=matrix.device)
            rows_a = matrix.index_select(0, ia)
            matrix.index_copy_(0, ia, matrix.index_select(0, ib))
            matrix.index_copy_(0, ib, rows_a)
