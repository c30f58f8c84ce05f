"""The word2vec training kernel (skip-gram and CBOW with negative sampling) in torch.

Knows nothing of scikit-learn: it takes a flat id array with document offsets,
a vocabulary's tables and plain numbers, and updates two weight matrices.

How a batch is done
-------------------
Each epoch subsamples frequent words (word2vec's keep probabilities), then walks
the kept tokens in batches of ``batch_size`` consecutive centre positions. The
rows of the span ``[start - window, stop + window)`` are gathered once; each
window offset ``j`` is then a shifted *view* of that block, so gathers and
scatter-adds cost about one row per token instead of one per (centre, context)
pair. Window offsets are masked by the centre's shrunk window (``b`` uniform in
``[0, window)`` as in word2vec) and by document boundaries. A mask depends only
on how far the window reaches left and right, so each centre gets a shape code
and its mask (with pair count or CBOW mean weights) is one row of a small table:
per batch one gather replaces a dozen elementwise passes, each of which costs
a few microseconds of dispatch on top of its work.

Each torch call costs microseconds of dispatch whatever its size, so what can be
drawn ahead is drawn for ``_CHUNK`` batches at once (window codes, negatives),
and a batch's loss stays a tensor until the epoch ends.

Negatives: each group of ``negative_group`` centres shares one draw of
``negative * negative_draws`` words from the unigram^0.75 distribution, each
term weighted ``1 / negative_draws`` (Ji et al., 2016, share negatives across a
window the same way), so scores and gradients are batched (group x d) @
(d x draws) products instead of per-pair gathers. In skip-gram a centre's
negative term is weighted by its number of context pairs, so that the expected
gradient equals word2vec's ``negative`` draws per pair; CBOW predicts once per
centre, as word2vec does. The expectation is word2vec's whatever the sharing;
the variance is not: word2vec gives a skip-gram centre ``negative`` fresh words
for each of its pairs, so a centre that sees fewer distinct negatives than that
learns from a noisier estimate (analogy accuracy is what suffers first). The
estimator therefore lets skip-gram groups share many draws (about as many
distinct words per centre as word2vec's pairs give it), which also means fewer
gathered rows per batch than small groups with few draws.

Both algorithms spread each group over the batch (``spread_groups``: of ``n``
centres, group ``k`` holds centres ``k, k + m, k + 2m, ...`` with
``m = n / negative_group``). Consecutive centres share a topic, so a shared
draw would push related words the same way: correlated noise that makes them
more alike. CBOW's hidden-layer gradient comes back from the batched product in
group order; it is read through a transposed view by the one elementwise op
that consumes it, so spreading costs no copy. (One draw shared by a whole batch
is unstable: each drawn row then receives thousands of summed updates in one
step.)

Pieces in random order (``shuffle_piece``): a batch sums its updates from the
values before the batch, where word2vec applies each pair's update before the
next. That is harmless while a row's updates in one batch are few and point in
different directions, and harmful when they are many and alike: the sum
overshoots where the sequential updates would have saturated, the overshoot
feeds back through the rows it pairs with, and the vectors blow up. How many
alike updates a row collects depends on the corpus *order*, not on its word
frequencies: a batch of consecutive positions covers hundreds of neighbouring
short documents, and corpora are often sorted (a dictionary's glosses of one
lemma's senses in a row, a crawl by site, a log by day), so a word that is rare
overall can fill a batch. Each epoch therefore visits the corpus in pieces of
at most ``shuffle_piece`` tokens of one document, in a new random order: a
batch then mixes pieces from all over the corpus, and a row's summed updates
come from unrelated places, as its corpus frequency predicts. Pieces keep
their inner order, so windows stay views of one span; a window stops at a
piece's edge as at a document's (pairs across the cut of a long document are
lost: about ``(window + 1) / (2 * kept tokens per piece)`` of them).

Memory: the corpus is an int32 array (memory-mapped when it is larger than
the estimator's budget) that an epoch never copies whole. The pieces' starts
and lengths are one entry per piece; an epoch gathers the next chunk of
``_CHUNK_TOKENS`` tokens in the shuffled piece order, subsamples it and trains
on it, so the per-token temporaries (int64 ids, masks, window codes) are a
chunk's, whatever the corpus size. A corpus over ``_SHUFFLE_BLOCK`` tokens is
shuffled a block at a time (``skembed._pieces.shuffled_order``), so that a
memory-mapped one larger than the page cache is read a block at a time, not in
random pages all over the file.

Weighted sums over windows (CBOW's context means, skip-gram's centre
gradients) and the scatter of the span's gradients (each row gets contributions
from up to ``2 * window`` centres: an overlap-add, whose weights are a strided
diagonal view of the window weights) are both ``embedding_bag`` sums over the
span's rows, with one bag of ``2w + 1`` consecutive positions per output row.
On CPU that kernel is faster than the equivalent batched product of
(1, 2w+1) x (2w+1, d) matrices, whose per-matrix overhead dominates.

Gradients of a batch are summed and applied with ``scatter_add_`` at the end
of the batch, with the linearly decaying learning rate of word2vec. In skip-gram,
where even in shuffled batches a frequent word collects dozens of contributions
per batch, each row's summed weight is capped at ``row_update_cap`` occurrences
(rows seen fewer times, the vast majority, are untouched).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ._malloc import release_free_memory
from ._pieces import corpus_pieces, piece_chunks, shuffled_order
from ._training import EpochStats, largest_magnitude

__all__ = ["Word2VecConfig", "Word2VecKernel"]

_CHUNK = 16  # batches whose windows are drawn in one go
_MIN_STEPS = 16  # steps an epoch takes at the least (see Word2VecKernel._epoch_batch)
_DIVERGED = 1e3  # a weight this large means training diverged (trained ones stay near 10 at most)
_TABLE_LIMIT = 1 << 22  # most entries of a window-shape table (16 MB of float32)
_CHUNK_TOKENS = 1 << 17  # corpus tokens an epoch gathers at a time (at least 32 batches' worth)
_FILE_ORDER_PIECE = _CHUNK_TOKENS  # without shuffling, long documents are still cut into runs this long
_SHUFFLE_BLOCK = 1 << 24  # tokens (64 MB of ids) an epoch's shuffle stays within at a time (see _pieces)


@dataclass
class Word2VecConfig:
    """Everything a kernel needs besides the vocabulary's tables; no defaults of its own (the
    estimators' are in ``skembed.word2vec`` and ``skembed.fasttext``).

    ``row_update_cap``: most summed occurrences of a word row per skip-gram batch (0: none);
    ``ngram_update_cap``: the same for an n-gram row of a subword kernel (0: none);
    ``negative_group`` centres share ``negative * negative_draws`` negatives, spread over the
    batch with ``spread_groups``; ``shuffle_piece``: tokens per piece visited in random
    order (0: file order). See the module docstring for each.
    """

    vector_size: int
    window: int
    algorithm: str
    negative: int
    alpha: float
    min_alpha: float
    shrink_windows: bool
    batch_size: int
    row_update_cap: float
    ngram_update_cap: float
    negative_group: int
    negative_draws: int
    spread_groups: bool
    shuffle_piece: int


class Word2VecKernel:
    """Holds the input and output matrices and trains them on corpora.

    Parameters
    ----------
    config : Word2VecConfig
    keep_prob : ndarray of float32, (n_words,)
        Subsampling keep probability of each word.
    neg_alias : (ndarray of float32, ndarray of int64)
        Alias tables of the unigram^0.75 distribution (``Vocabulary.negative_alias``).
    device : torch.device
    generator : torch.Generator on ``device``
    w_in, w_out : ndarray, optional
        Existing weights to continue from (``partial_fit``).
    """

    _name = "word2vec"  # (what the progress bar and a divergence error call the training)

    def __init__(self, config, keep_prob, neg_alias, device, generator, w_in=None, w_out=None, seed=0):
        self.cfg = config
        self.device = device
        self.gen = generator
        n_words = len(keep_prob)
        d = config.vector_size
        if w_in is None:
            # word2vec's initialisation: input uniform in [-0.5/d, 0.5/d), output zero
            w_in = torch.rand(n_words, d, generator=generator, device=device).sub_(0.5).div_(d)
            w_out = torch.zeros(n_words, d, device=device)
        else:
            w_in = torch.as_tensor(w_in, dtype=torch.float32, device=device).clone()
            w_out = torch.as_tensor(w_out, dtype=torch.float32, device=device).clone()
        self.w_in, self.w_out = w_in, w_out
        self.keep_prob = torch.as_tensor(keep_prob, dtype=torch.float32, device=device)
        self.neg_prob = torch.as_tensor(neg_alias[0], dtype=torch.float32, device=device)
        self.neg_alias = torch.as_tensor(neg_alias[1], dtype=torch.int64, device=device)
        self._buffers = {}
        self._window_table = None
        self._window_positions = None
        n_shapes = (config.window + 1) ** 2
        if n_shapes * (4 * config.window + 3) <= _TABLE_LIMIT:  # windows up to about 100
            self._window_table = self._window_rows(torch.arange(n_shapes, device=device))

    # ------------------------------------------------------------------ helpers
    def _subsample(self, ids, doc, keep_prob=None):
        """Kept tokens and their documents; ``keep_prob``: per token (default: looked up per word)."""
        if keep_prob is None:
            keep_prob = self.keep_prob[ids]
        keep = torch.rand(ids.shape[0], generator=self.gen, device=self.device) < keep_prob
        kept = keep.nonzero().squeeze(1)  # (one pass, not one per array)
        return ids.index_select(0, kept), doc.index_select(0, kept)

    def _pieces(self, offsets):
        """The corpus's pieces (``skembed._pieces.corpus_pieces``): runs of at most
        ``shuffle_piece`` tokens of one document, or without shuffling of
        ``_FILE_ORDER_PIECE`` (which only bounds a chunk), kept in file order (also when
        the shuffle goes block by block, which needs them sorted)."""
        size = self.cfg.shuffle_piece or _FILE_ORDER_PIECE
        by_position = not self.cfg.shuffle_piece or int(offsets[-1]) > _SHUFFLE_BLOCK
        return corpus_pieces(offsets, size, by_position=by_position)

    def _chunks(self, ids_all, starts, lengths, limit):
        """One epoch's tokens a chunk at a time (``skembed._pieces.piece_chunks``): with
        ``shuffle_piece`` the pieces come in a new random order each epoch, so that a
        batch mixes pieces from all over the corpus (see the module docstring for why),
        or from all over a block of ``_SHUFFLE_BLOCK`` tokens of a larger corpus."""
        order = None
        if self.cfg.shuffle_piece:
            order = shuffled_order(starts, ids_all.shape[0], _SHUFFLE_BLOCK, self.gen, self.device)
        return piece_chunks(ids_all, starts, lengths, limit, order, self.device)

    def _padded(self, ids):
        pad = torch.zeros(self.cfg.window, dtype=ids.dtype, device=self.device)
        return torch.cat([pad, ids, pad])

    def _window_rows(self, codes):
        """Per window shape code, its context-slot mask and derived figures.

        A centre's valid context slots are offsets ``-left .. right`` except 0,
        where ``left = min(r, slots to its document's start)`` and ``right`` the
        same towards the end (``r`` its shrunk window); its shape code is
        ``left * (w + 1) + right``. The rows of every code are built once into a
        table, so a batch gets its masks with one row gather instead of a dozen
        elementwise passes over (n, 2w+1) arrays (for huge windows, whose table
        would not fit in memory, they are computed per batch).

        Returns (n, 2w+2) rows ``[mask | pairs]`` for skip-gram and (n, 4w+3)
        rows ``[mask | mask / count | count > 0]`` for CBOW.
        """
        if self._window_table is not None:
            return self._window_table.index_select(0, codes)
        w = self.cfg.window
        left, right = (codes // (w + 1)).unsqueeze(1), (codes % (w + 1)).unsqueeze(1)
        offs = torch.arange(-w, w + 1, device=self.device)
        mask = ((offs >= -left) & (offs <= right) & (offs != 0)).to(self.w_in.dtype)
        count = (left + right).to(self.w_in.dtype)
        if self.cfg.algorithm == "skipgram":
            return torch.cat([mask, count], 1)
        return torch.cat([mask, mask / count.clamp(min=1), (count > 0).to(count.dtype)], 1)

    def _doc_limits(self, doc):
        """Per kept token (document ids ``doc``, sorted), ``min(w, slots to its document's
        start)`` and ``min(w, slots to its end)``: an int32 (2, n) array."""
        w = self.cfg.window
        doc = doc.int()
        lengths = torch.bincount(doc).int()
        first = torch.cumsum(lengths, 0, dtype=torch.int32) - lengths
        pos = torch.arange(doc.shape[0], dtype=torch.int32, device=self.device) - first[doc]
        return torch.stack([pos, lengths[doc] - 1 - pos]).clamp_(max=w)

    def _window_codes(self, limits):
        """Shape codes (int32) of centres with document limits ``limits``: draws their shrunk windows."""
        w = self.cfg.window
        left, right = limits[0], limits[1]
        if self.cfg.shrink_windows:
            # word2vec's reduced window: r = w - b, b uniform in [0, w)
            r = w - torch.randint(0, w, left.shape, generator=self.gen, device=self.device, dtype=torch.int32)
            left, right = torch.minimum(left, r), torch.minimum(right, r)
        return (left * (w + 1)).add_(right)

    def _buffer(self, name, rows):
        """``rows`` rows of a named (batch_size + 4w, d) scratch matrix kept across batches.

        Reusing the same memory batch after batch, instead of fresh tensors,
        keeps the step's footprint small and in cache. A new matrix starts zeroed.
        """
        buf = self._buffers.get(name)
        if buf is None or buf.shape[0] < rows:
            buf = self._buffers[name] = self.w_in.new_zeros(
                max(rows, self.cfg.batch_size + 4 * self.cfg.window), self.w_in.shape[1]
            )
        return buf[:rows]

    def _positions(self, rows):
        """``window_positions`` of at least ``rows`` bags of ``2w + 1`` rows, kept across batches."""
        if self._window_positions is None or self._window_positions[1].shape[0] < rows:
            self._window_positions = window_positions(
                max(rows, self.cfg.batch_size + 2 * self.cfg.window), 2 * self.cfg.window + 1, self.device
            )
        return self._window_positions

    def _padded_rows(self, n):
        """An (n + 4w, d) buffer, reused across batches, whose first and last 2w rows are zero.

        A step writes its (n, d) rows into the middle, so that ``overlap_add_padded``
        needs no freshly padded copy. (The overlap-add gives the edge rows zero
        weight, so only their finiteness matters; rows a longer batch left there
        are cleared anyway, which costs 2w rows.)
        """
        w = self.cfg.window
        view = self._buffer("padded", n + 4 * w)
        view[2 * w + n :].zero_()
        return view

    def _epoch_batch(self, n_kept):
        """Centres per step in an epoch of ``n_kept`` tokens: ``batch_size``, or fewer so that
        the epoch takes at least ``_MIN_STEPS`` steps. The output vectors start at zero, so a
        first step cannot move the input vectors: a corpus of one batch would end where it
        began."""
        return max(1, min(self.cfg.batch_size, -(-n_kept // _MIN_STEPS)))

    def _check_diverged(self, loss, batch):
        """Raise ``FloatingPointError`` when the loss or the weights left sane bounds."""
        peak = largest_magnitude(self.w_in, self.w_out)
        if math.isfinite(loss) and math.isfinite(peak) and peak <= _DIVERGED:
            return
        what = (
            "non-finite loss or vectors"
            if not (math.isfinite(loss) and math.isfinite(peak))
            else f"vector entries reached {peak:.3g}"
        )
        raise FloatingPointError(
            f"{self._name} training diverged ({what}); lower alpha (now {self.cfg.alpha}), or batch_size "
            f"(now {batch}) if a few words fill much of every batch (sample=0, long runs of one word)"
        )

    # ------------------------------------------------------------------ training
    def train(self, corpus, epochs, on_batch=None):
        """Train ``epochs`` passes over ``corpus`` (``ids``, ``offsets``); one EpochStats each.

        ``corpus.ids`` (int32, in memory or memory-mapped) stays where it is; each epoch
        gathers it a chunk at a time (``_chunks``). The learning rate decays linearly from
        ``alpha`` to ``min_alpha`` over all the epochs (a ``partial_fit`` call starts again).
        """
        ids_all = torch.from_numpy(np.ascontiguousarray(corpus.ids, dtype=np.int32))
        starts, lengths = self._pieces(corpus.offsets)
        n_raw = int(corpus.offsets[-1])
        total_words, words_done = n_raw * epochs, 0.0
        bs = self._epoch_batch(self._expected_kept(ids_all))
        limit = max(_CHUNK_TOKENS, 32 * bs)
        history = []
        for _ in range(epochs):
            t0 = time.perf_counter()
            losses = []  # per chunk, float32 per batch; summed in float64
            for ids, piece in self._chunks(ids_all, starts, lengths, limit):
                release_free_memory()  # the last chunk's temporaries (see skembed._malloc)
                n_chunk = int(ids.shape[0])
                kept, doc = self._subsample(ids, piece)
                # the steps read only the padded kept ids and their window limits, so nothing
                # else of the chunk is held through its batches (about 2 MB at the peak)
                del ids, piece
                n_kept = int(kept.shape[0])
                ids_ext, limits = self._padded(kept), self._doc_limits(doc)
                del kept, doc
                raw_per_kept = n_chunk / max(n_kept, 1)
                words_done = self._train_chunk(
                    ids_ext, limits, n_kept, bs, raw_per_kept, total_words, words_done, losses, on_batch
                )
                del ids_ext, limits
                if n_kept == 0:
                    words_done += n_chunk
            loss = float(torch.cat(losses).double().sum()) if losses else 0.0
            self._check_diverged(loss, bs)
            history.append(EpochStats(loss=loss, seconds=time.perf_counter() - t0, visited=n_raw))
        return history

    def _expected_kept(self, ids_all):
        """How many tokens an epoch keeps on average (subsampling), counted a chunk at a time."""
        counts = np.zeros(self.keep_prob.shape[0], dtype=np.int64)
        ids = ids_all.numpy()
        for a in range(0, len(ids), _CHUNK_TOKENS):
            counts += np.bincount(ids[a : a + _CHUNK_TOKENS], minlength=len(counts))
        return int(counts @ self.keep_prob.cpu().numpy().astype(np.float64))

    def _train_chunk(self, ids_ext, limits, n_kept, bs, raw_per_kept, total_words, words_done, losses, on_batch):
        """The steps over one chunk's ``n_kept`` kept tokens (``ids_ext``: padded by ``_padded``;
        ``limits``: their ``_doc_limits``), in batches of ``bs`` centres; appends the chunk's
        batch losses to ``losses`` and returns the updated words done."""
        cfg = self.cfg
        step = self._sg_step if cfg.algorithm == "skipgram" else self._cbow_step
        neg_rows = -(-bs // cfg.negative_group)  # negative groups per batch
        batches = range(0, n_kept, bs)
        # one slot per batch, made before the batches: a batch's loss kept as a tensor of its
        # own would sit among the next batch's freed temporaries and fragment the heap
        chunk_losses = torch.zeros(len(batches), device=self.device)
        losses.append(chunk_losses)
        for first in range(0, len(batches), _CHUNK):
            # the windows and negatives of a run of batches are drawn at once
            run = batches[first : first + _CHUNK]
            c0 = run[0]
            codes = self._window_codes(limits[:, c0 : c0 + _CHUNK * bs])
            negs = self._negatives(len(run) * neg_rows).view(len(run), -1)
            for i, start in enumerate(run):
                n = min(bs, n_kept - start)
                raw = n * raw_per_kept  # raw words this batch stands for (learning rate, progress)
                progress = min(words_done / max(total_words, 1), 1.0)
                lr = cfg.alpha - (cfg.alpha - cfg.min_alpha) * progress
                chunk_losses[first + i] = step(ids_ext, codes[start - c0 : start - c0 + n], start, n, lr, negs[i])
                words_done += raw
                if on_batch is not None:
                    on_batch(raw)
        return words_done

    def _negatives(self, n):
        k = self.cfg.negative * self.cfg.negative_draws
        pick = torch.randint(0, self.neg_prob.shape[0], (n * k,), generator=self.gen, device=self.device)
        coin = torch.rand(n * k, generator=self.gen, device=self.device)
        return torch.where(coin < self.neg_prob.index_select(0, pick), pick, self.neg_alias.index_select(0, pick))

    def _gather_input(self, ids, out):
        """The input vectors of words ``ids``, written into ``out`` (the hook a subword kernel
        overrides: there a word's input vector is the mean of several rows)."""
        return torch.index_select(self.w_in, 0, ids, out=out)

    def _context_weights(self, span_ids, mask, mean_weights):
        """CBOW's weight of each context slot in the hidden layer (the third hook): here the
        mean of the context words' vectors, ``mask / count`` from the window table."""
        return mean_weights

    def _add_input(self, ids, steps):
        """Add ``steps`` (n, d) to the input vectors of words ``ids`` (the other hook)."""
        self._scatter_add(self.w_in, ids, steps)

    @staticmethod
    def _scatter_add(matrix, rows, values):
        # scatter_add_ is about twice as fast as index_add_ on CPU
        matrix.scatter_add_(0, rows.unsqueeze(1).expand(-1, values.shape[1]), values)

    def _damping(self, rows):
        """Scale for each update of a row drawn ``c`` times in a batch: ``min(1, T / c)``.

        Sequential word2vec updates of a row saturate as it moves; a batch sums
        them from stale values. Capping a row's summed weight at ``T`` draws keeps
        large batches stable (rare rows, the great majority, are untouched).
        """
        cap = self.cfg.row_update_cap
        if not cap:
            return torch.ones_like(rows, dtype=self.w_in.dtype)
        # (one count per word, not up to the batch's largest id: a table whose size changed
        # from batch to batch fragmented the heap, which grew by 20 MB over a chunk)
        counts = torch.bincount(rows, minlength=self.w_out.shape[0]).to(self.w_in.dtype)
        return (cap / counts[rows]).clamp(max=1.0)

    def _negative_step(self, h, weight, lr, negs=None, out=None):
        """Negative sampling for centres ``h`` (n, d), one draw per group of centres.

        The ``n`` centres form ``m = ceil(n / negative_group)`` groups, of
        consecutive centres or, with ``spread_groups``, of centres ``m``
        positions apart (``k, k + m, k + 2m, ...``); each group shares
        ``negative * negative_draws`` draws (each term weighted
        ``1 / negative_draws``), so scores and gradients are batched
        (G, d) x (d, k) products.
        ``weight`` (n, 1) scales each centre's term (its number of pairs in
        skip-gram; None: 1 for every centre). ``negs`` holds at least ``m`` groups'
        draws (None: drawn here). Returns the drawn ids, the gradient step for
        ``h`` (in centre order: (n, d), or a (g, m, d) view when written into
        ``out`` with spread groups), the step for the drawn rows and the loss term.
        """
        n, d = h.shape
        g = self.cfg.negative_group
        m = -(-n // g)
        pad = m * g - n
        spread = self.cfg.spread_groups

        def grouped(x):
            x = F.pad(x, (0, 0, 0, pad)) if pad else x  # (F.pad always copies)
            if spread:
                # group k holds centres k, k + m, k + 2m, ...: a strided view, read in place by bmm
                return x.view(g, m, x.shape[1]).transpose(0, 1)  # (m, g, .)
            return x.view(m, g, x.shape[1])  # consecutive centres

        hg = grouped(h)
        k = self.cfg.negative * self.cfg.negative_draws
        negs = self._negatives(m) if negs is None else negs[: m * k]
        u = torch.index_select(self.w_out, 0, negs, out=self._buffer("negatives", m * k)).view(m, k, d)
        s_neg = torch.bmm(hg, u.transpose(1, 2))  # (m, g, k)
        if weight is None:
            # unit weights (CBOW): cheaper scalar products; a pad row (h = 0) adds k terms of log 2
            loss = (F.logsigmoid(-s_neg).sum() + pad * k * math.log(2)) / -self.cfg.negative_draws
            g_neg = torch.sigmoid(s_neg).mul_(-lr / self.cfg.negative_draws)
        else:
            wg = grouped(weight)
            if self.cfg.negative_draws != 1:
                wg = wg / self.cfg.negative_draws
            # (m, g, k) products scaled in place: each fresh one is a step's largest temporary
            loss = -F.logsigmoid(s_neg.neg()).mul_(wg).sum()  # (softplus is slower here)
            g_neg = torch.sigmoid(s_neg).mul_(wg * -lr)
        if out is not None and not pad:
            # written into ``out`` in group order; with spread groups the returned
            # (g, m, d) view reads it in centre order, for an elementwise consumer (no copy)
            step_h = torch.bmm(g_neg, u, out=out.view(m, g, d))
            step_h = step_h.transpose(0, 1) if self.cfg.spread_groups else step_h.view(n, d)
        else:
            step_h = torch.bmm(g_neg, u)  # (m, g, d)
            if self.cfg.spread_groups:
                step_h = step_h.transpose(0, 1)  # back in centre order (a copy)
            step_h = step_h.reshape(m * g, d)[:n]
        step_u = torch.bmm(g_neg.transpose(1, 2), hg, out=self._buffer("negative steps", m * k).view(m, k, d))
        step_u = step_u.view(-1, d)  # (m * k, d)
        return negs, step_h, step_u, loss

    def _sg_step(self, ids_ext, codes, start, n, lr, negs=None):
        """Skip-gram: the centre's input vector predicts each context's output vector.

        ``codes`` are the window shape codes of centres ``start .. start + n``;
        ``negs`` the batch's negative draws (None: drawn here). Returns the
        batch's loss (a float32 scalar tensor).
        """
        w = self.cfg.window
        span_ids = ids_ext[start : start + n + 2 * w]
        centres = span_ids[w : w + n]
        rows = self._window_rows(codes)
        mask, n_pairs = rows[:, : 2 * w + 1], rows[:, 2 * w + 1 :]  # (n, 2w+1), (n, 1)
        h_pad = self._padded_rows(n)
        h = self._gather_input(centres, out=h_pad[2 * w : 2 * w + n])  # (n, d)
        e = self.w_out.index_select(0, span_ids)  # (n+2w, d)
        e_win = e.unfold(0, 2 * w + 1, 1)  # (n, d, 2w+1) view
        scores = torch.bmm(h.unsqueeze(1), e_win).squeeze(1)  # (n, 2w+1)
        negs, neg_h, neg_u, neg_loss = self._negative_step(h, n_pairs, lr, negs, out=self._buffer("centre", n))
        loss = neg_loss - (F.logsigmoid(scores) * mask).sum()
        # learning-rate-scaled derivatives of the log-likelihood w.r.t. the scores
        g_pos = torch.sigmoid(-scores) * mask * lr
        pos = self._positions(n + 2 * w)
        # the steps are fresh or scratch tensors, so they are scaled in place (fewer (n, d) temporaries)
        g_h = window_sum(e, g_pos, pos)
        g_h.view(neg_h.shape).add_(neg_h)  # (neg_h: (n, d), or a (g, m, d) view in centre order)
        g_h.mul_(self._damping(centres).unsqueeze(1))
        g_e = overlap_add_padded(h_pad, g_pos, w, pos)
        self._scatter_add(self.w_out, span_ids, g_e.mul_(self._damping(span_ids).unsqueeze(1)))
        self._scatter_add(self.w_out, negs, neg_u.mul_(self._damping(negs).unsqueeze(1)))
        self._add_input(centres, g_h)
        return loss

    def _cbow_step(self, ids_ext, codes, start, n, lr, negs=None):
        """CBOW: the mean of the context input vectors predicts the centre's output vector."""
        w = self.cfg.window
        width = 2 * w + 1
        span_ids = ids_ext[start : start + n + 2 * w]
        centres = span_ids[w : w + n]
        rows = self._window_rows(codes)
        mask, mean_weights, valid = rows[:, :width], rows[:, width : 2 * width], rows[:, 2 * width :]
        mean_weights = self._context_weights(span_ids, mask, mean_weights)
        # (n + 2w, d) scratch rows, reused: the span's vectors, then each (n, d) step in turn
        scratch = self._buffer("scratch", n + 2 * w)
        e = self._gather_input(span_ids, out=scratch)
        pos = self._positions(n + 2 * w)
        h = window_sum(e, mean_weights, pos)  # context means
        u_c = torch.index_select(self.w_out, 0, centres, out=self._buffer("centre", n))
        s_pos = torch.bmm(h.unsqueeze(1), u_c.unsqueeze(2)).view(n, 1)  # one pass, no (n, d) product
        # A centre with no context (a one-word document) has h = 0: its scores are 0 and its
        # updates vanish (h is 0, its context mask is empty), so only the loss must leave out
        # its 1 + k terms of log 2 each; nothing else needs weighting by ``valid``.
        negs, neg_h, neg_u, neg_loss = self._negative_step(h, None, lr, negs, out=scratch[:n])
        no_context = n - valid.sum()
        loss = neg_loss - F.logsigmoid(s_pos).sum() - no_context * ((1 + self.cfg.negative) * math.log(2))
        g_pos = torch.sigmoid(-s_pos).mul_(lr)  # (n, 1)
        g_h_pad = self._padded_rows(n)
        shape = neg_h.shape  # (n, d) or (g, m, d)
        torch.addcmul(neg_h, g_pos.view(*shape[:-1], 1), u_c.view(shape), out=g_h_pad[2 * w : 2 * w + n].view(shape))
        self._scatter_add(self.w_out, centres, h.mul_(g_pos))  # (h is not needed after this)
        self._scatter_add(self.w_out, negs, neg_u)
        # word2vec adds the hidden error to every context word unscaled (cbow_mean=1)
        self._add_input(span_ids, overlap_add_padded(g_h_pad, mask, w, pos))
        return loss


def window_positions(rows, width, device=None):
    """Bags ``p = 0 .. rows - 1`` of rows ``p .. p + width - 1``, as ``embedding_bag`` wants them.

    Returns (flat indices, offsets): the ``rows * width`` indices, bag by bag,
    and where each bag starts.
    """
    flat = torch.arange(rows + width - 1, device=device).unfold(0, width, 1).reshape(-1)
    return flat, torch.arange(0, rows * width, width, device=device)


def window_sum(x, weights, positions=None):
    """``out[t] = sum_j weights[t, j] * x[t + j]`` for ``t < n``; ``weights`` is (n, width), x has n + width - 1 rows.

    One ``embedding_bag`` sum whose bag ``t`` is rows ``t .. t + width - 1``
    (``positions``, from ``window_positions``, may hold more bags than needed).
    """
    n, width = weights.shape
    flat, offsets = window_positions(n, width, x.device) if positions is None else positions
    # torch.embedding_bag itself: F.embedding_bag would rebuild the offsets on every call
    return torch.embedding_bag(x, flat[: n * width], offsets[:n], False, 0, False, weights.reshape(-1))[0]


def overlap_add(x, weights, w):
    """``out[t + j] += weights[t, j] * x[t]`` for t < n, j <= 2w; out has n + 2w rows.

    Row ``p`` of the result is the weighted sum of the rows ``x[p - 2w .. p]``
    (a window of zero-padded ``x``) with the weights ``weights[p - 2w + i, 2w - i]``
    (a strided view of the padded weight matrix along its anti-diagonals).
    """
    return overlap_add_padded(F.pad(x, (0, 0, 2 * w, 2 * w)), weights, w)


def overlap_add_padded(x_pad, weights, w, positions=None):
    """``overlap_add`` of ``x = x_pad[2w:-2w]``, whose 2w rows either side are zero."""
    n = x_pad.shape[0] - 4 * w
    width = 2 * w + 1
    w_pad = F.pad(weights, (0, 0, 2 * w, 2 * w))  # (n+4w, width), contiguous
    diag = w_pad.as_strided((n + 2 * w, width), (width, width - 1), w_pad.storage_offset() + 2 * w)
    return window_sum(x_pad, diag, positions)
