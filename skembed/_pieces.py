"""An epoch's walk over a corpus in pieces, a chunk of tokens at a time.

A piece is a run of at most ``size`` consecutive tokens of one document: one int64
start and one int32 length, none per token, so a corpus of any size costs one entry per
piece. An epoch visits the pieces in some order (the word2vec kernel shuffles them; see
``skembed._word2vec_kernel``) and gathers them a chunk of about ``limit`` tokens at a
time, so the per-token arrays a step needs are a chunk's, never the corpus's.

A corpus larger than memory is a memory-mapped file, read through the page cache. A
random order over all of its pieces would make every chunk read a few tokens from
pages all over the file, so that once the file outgrows the cache each chunk waits on
thousands of random reads. ``shuffled_order`` therefore shuffles within blocks of
consecutive tokens and visits the blocks in random order: the chunks of one block read
only its pages, which stay cached while they are used. A corpus of one block (the
default block is 16M tokens, 64 MB of ids) is shuffled whole.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["corpus_pieces", "piece_chunks", "shuffled_order"]


def corpus_pieces(offsets, size, by_position=False):
    """Each piece's first token (int64 tensor) and length (int32 tensor), for documents
    ``offsets``. Documents no longer than ``size`` (most, in a corpus of short documents)
    are pieces as they are; longer ones are cut into runs of ``size`` (the last shorter).
    Empty documents have no piece. ``by_position``: pieces sorted by their start (file
    order); otherwise whole documents come first, then the cut ones."""
    offsets = np.asarray(offsets, dtype=np.int64)
    lengths = np.diff(offsets).astype(np.int32) if offsets[-1] < 2**31 else np.diff(offsets)
    if lengths.min(initial=1) > 0 and lengths.max(initial=0) <= size:  # every document is one piece
        return torch.from_numpy(offsets[:-1]), torch.from_numpy(lengths.astype(np.int32, copy=False))
    whole = np.flatnonzero((lengths > 0) & (lengths <= size))
    starts, piece_len = offsets[whole], lengths[whole].astype(np.int32)
    cut = np.flatnonzero(lengths > size)
    if len(cut):
        n_pieces = -(-lengths[cut] // size)
        doc = np.repeat(cut, n_pieces)
        rank = np.arange(len(doc)) - np.repeat(np.cumsum(n_pieces) - n_pieces, n_pieces)
        cut_starts = offsets[doc] + rank * size
        cut_len = np.minimum(offsets[doc + 1] - cut_starts, size).astype(np.int32)
        starts, piece_len = np.concatenate([starts, cut_starts]), np.concatenate([piece_len, cut_len])
        if by_position:
            order = np.argsort(starts, kind="stable")
            starts, piece_len = starts[order], piece_len[order]
    return torch.from_numpy(starts), torch.from_numpy(piece_len)


def shuffled_order(starts, n_tokens, block, generator, device=None):
    """A random order of the pieces (an int32 permutation, on the CPU) that stays within one
    block of ``block`` consecutive corpus tokens at a time: the blocks in random order, each
    block's pieces in random order. ``starts`` must be sorted when the corpus spans more than
    one block; a corpus of one block gets ``torch.randperm`` over all its pieces."""
    n = len(starts)
    if n_tokens <= block:
        return torch.randperm(n, generator=generator, device=device, dtype=torch.int32).cpu()
    edges = np.searchsorted(starts.numpy(), np.arange(0, n_tokens + block, block, dtype=np.int64))
    edges[-1] = n
    order = torch.empty(n, dtype=torch.int32)
    pos = 0
    blocks = torch.randperm(len(edges) - 1, generator=generator, device=device).tolist()
    for b in blocks:
        lo, hi = int(edges[b]), int(edges[b + 1])
        if hi > lo:
            inner = torch.randperm(hi - lo, generator=generator, device=device, dtype=torch.int32).cpu()
            order[pos : pos + hi - lo] = inner.add_(lo)
            pos += hi - lo
    return order


def piece_chunks(ids_all, starts, lengths, limit, order=None, device=None):
    """The tokens of the pieces, in ``order`` (an int32 permutation of the pieces; None:
    as they are), a chunk of at most ``limit`` tokens (or one piece) at a time: yields
    (ids, piece) on ``device``, int64 ids and sorted int32 piece numbers within the chunk,
    which take the place of document ids so that windows stop at piece edges."""
    n = len(starts)
    pos = 0
    while pos < n:
        sel = order[pos : pos + limit] if order is not None else torch.arange(pos, min(pos + limit, n))
        # this frame lives on while the caller trains on the chunk, so it keeps none of the
        # chunk's arrays (they held about 3 MB through every batch): the box is empty once
        # the chunk is handed over
        box = list(_gathered(ids_all, starts, lengths, sel, limit, device))
        k = box.pop()
        yield box.pop(0), box.pop(0)
        pos += k


def _gathered(ids_all, starts, lengths, sel, limit, device):
    """The chunk that the pieces ``sel`` start (as many as fit in ``limit`` tokens, at least
    one): its int64 ids and int32 piece numbers on ``device``, and how many pieces it took."""
    ends = torch.cumsum(lengths[sel], 0, dtype=torch.int64)
    k = max(1, int(torch.searchsorted(ends, limit, right=True)))
    sel, ends = sel[:k], ends[:k]
    size, piece_len = int(ends[-1]), lengths[sel].long()
    # token t of the chunk is corpus token t - (its piece's place in the chunk) + its piece's start
    shift = torch.repeat_interleave(starts[sel] - (ends - piece_len), piece_len, output_size=size)
    ids = ids_all.index_select(0, shift.add_(torch.arange(size)))
    piece = torch.repeat_interleave(torch.arange(k, dtype=torch.int32), piece_len, output_size=size)
    return ids.to(device, torch.int64), piece.to(device), k
