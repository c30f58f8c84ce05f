"""Diagnosis of skip-gram's SimLex-999 gap (issue #17): the shipped step against variants.

    python benchmarks/skipgram_step_variants.py VARIANT [--seeds 1,2,3,4] [--corpus enwiki_small]
        [--model word2vec|fasttext]

Quality only, with ``bench_word2vec.py``'s settings (``bench_fasttext.py``'s with
``--model fasttext``); prints each seed's WordSim353, SimLex-999, analogy accuracy and fit
seconds, then their means. A variant replaces
``Word2VecKernel._sg_step`` in this process only (nothing here is shipped):

- ``default``: the shipped step. Each centre sums its ``2r`` pair updates from one stale
  input vector, each output row of the span sums the updates of up to ``2w`` centres, and
  groups of 64 centres spread over the batch share 60 negatives whose rows are capped at
  16 summed occurrences per batch.
- ``offsets``: each window offset is a step of its own, one after another, each reading the
  last one's updates, with its own negative draws (shared and capped as shipped). No centre
  sums pairs from one stale vector and no output row takes more than one centre's pair per
  step: how word2vec's sequential updates look to one offset.
- ``offsets-uncapped``: ``offsets`` with the drawn rows uncapped.
- ``offsets-pair-negatives``: ``offsets`` with five fresh negatives per pair, each at weight
  1 and uncapped, as word2vec draws them (``-capped``: with the shipped cap on drawn rows).
- ``offsets-positives``: the negatives once per batch as shipped, the positive pairs one
  offset at a time.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from _common import CORPORA, DATA, evaluate, load_corpus

import skembed
import skembed.word2vec as w2v
from skembed._word2vec_kernel import Word2VecKernel

SETTINGS = dict(vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=5)
SUBWORDS = dict(min_n=3, max_n=6, bucket=2_000_000)  # bench_fasttext.py's, with --model fasttext


def _positive_pair(self, centres, context, pair, lr):
    """One offset's pairs from the current rows: the centres' input vectors ``h``, the
    contexts' output vectors ``e``, the learning-rate-scaled score derivative ``g`` and the
    pairs' loss (``pair``: (n, 1), whether each centre has a context at this offset)."""
    h = self._gather_input(centres, out=torch.empty(len(centres), self.w_in.shape[1], device=self.device))
    e = self.w_out.index_select(0, context)
    score = (h * e).sum(1, keepdim=True)
    return h, e, torch.sigmoid(-score) * pair * lr, -(F.logsigmoid(score) * pair).sum()


def offsets_step(self, ids_ext, codes, start, n, lr, negs=None, capped_negatives=True):
    """One step per window offset; fresh negatives for each (``negs`` is not used)."""
    w = self.cfg.window
    span_ids = ids_ext[start : start + n + 2 * w]
    centres = span_ids[w : w + n]
    mask = self._window_rows(codes)[:, : 2 * w + 1]
    damp_centres = self._damping(centres).unsqueeze(1)
    loss = torch.zeros((), device=self.device)
    for j in (j for j in range(2 * w + 1) if j != w):
        pair, context = mask[:, j : j + 1], span_ids[j : j + n]
        h, e, g, pos_loss = _positive_pair(self, centres, context, pair, lr)
        drawn, neg_h, neg_u, neg_loss = self._negative_step(h, pair, lr)
        loss = loss + neg_loss + pos_loss
        if capped_negatives:
            neg_u = neg_u * self._damping(drawn).unsqueeze(1)
        self._scatter_add(self.w_out, context, (g * h) * self._damping(context).unsqueeze(1))
        self._scatter_add(self.w_out, drawn, neg_u)
        self._add_input(centres, (g * e + neg_h.reshape(n, -1)) * damp_centres)
    return loss


def offsets_positives_step(self, ids_ext, codes, start, n, lr, negs=None):
    """The negatives once per batch, weighted by each centre's pairs; positives one offset at a time."""
    w = self.cfg.window
    span_ids = ids_ext[start : start + n + 2 * w]
    centres = span_ids[w : w + n]
    rows = self._window_rows(codes)
    mask, n_pairs = rows[:, : 2 * w + 1], rows[:, 2 * w + 1 :]
    damp_centres = self._damping(centres).unsqueeze(1)
    h = self._gather_input(centres, out=torch.empty(n, self.w_in.shape[1], device=self.device))
    drawn, neg_h, neg_u, loss = self._negative_step(h, n_pairs, lr, negs)
    self._scatter_add(self.w_out, drawn, neg_u * self._damping(drawn).unsqueeze(1))
    self._add_input(centres, neg_h.reshape(n, -1) * damp_centres)
    for j in (j for j in range(2 * w + 1) if j != w):
        pair, context = mask[:, j : j + 1], span_ids[j : j + n]
        h, e, g, pos_loss = _positive_pair(self, centres, context, pair, lr)
        loss = loss + pos_loss
        self._scatter_add(self.w_out, context, (g * h) * self._damping(context).unsqueeze(1))
        self._add_input(centres, (g * e) * damp_centres)
    return loss


VARIANTS = [
    "default",
    "offsets",
    "offsets-uncapped",
    "offsets-pair-negatives",
    "offsets-pair-negatives-capped",
    "offsets-positives",
]


def install(variant):
    """Patch the kernel (this process only) for ``variant``."""
    if variant == "offsets":
        Word2VecKernel._sg_step = offsets_step
    elif variant == "offsets-uncapped":
        Word2VecKernel._sg_step = lambda self, *a, **k: offsets_step(self, *a, capped_negatives=False)
    elif variant.startswith("offsets-pair-negatives"):
        w2v._NEGATIVE_SHARING["skipgram"] = (1, 1)  # each centre of a step (one pair) draws its own five
        capped = variant.endswith("-capped")
        Word2VecKernel._sg_step = lambda self, *a, **k: offsets_step(self, *a, capped_negatives=capped)
    elif variant == "offsets-positives":
        Word2VecKernel._sg_step = offsets_positives_step
    elif variant != "default":
        raise SystemExit(f"unknown variant {variant!r}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("variant", choices=VARIANTS)
    ap.add_argument("--seeds", default="1,2,3,4")
    ap.add_argument("--corpus", default="enwiki_small", choices=sorted(CORPORA))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default="word2vec", choices=["word2vec", "fasttext"])
    args = ap.parse_args(argv)
    install(args.variant)
    file, repeat = CORPORA[args.corpus]
    docs = load_corpus(DATA / file, repeat)
    rows, label = [], (args.model, args.variant, args.corpus)
    for seed in (int(s) for s in args.seeds.split(",")):
        t0 = time.perf_counter()
        if args.model == "fasttext":  # (its kernel is the word2vec kernel with subword hooks)
            vec = skembed.FastTextVectorizer(
                algorithm="skipgram", n_jobs=args.threads, random_state=seed, **SETTINGS, **SUBWORDS
            )
        else:
            vec = skembed.Word2VecVectorizer(algorithm="skipgram", n_jobs=args.threads, random_state=seed, **SETTINGS)
        vec.fit(docs)
        row = {**evaluate(vec.wv_), "seconds": time.perf_counter() - t0}
        rows.append(row)
        print(*label, f"seed {seed}", {k: round(float(v), 4) for k, v in row.items()}, flush=True)
    print(*label, "mean", {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]})


if __name__ == "__main__":
    main()
