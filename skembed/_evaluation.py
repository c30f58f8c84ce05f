"""Word-pair similarity and analogy benchmarks of word vectors, with gensim's semantics.

``WordVectors.evaluate_word_pairs`` and ``evaluate_word_analogies`` are these functions
over their rows: the lookup is case-folded by default and limited to the first
``restrict_vocab`` words (the most frequent), unknown words are counted or scored as
gensim counts and scores them, and analogies are answered in batches of matrix products.
"""

from __future__ import annotations

from itertools import chain

import numpy as np
from scipy import stats

from ._word_files import open_text, read_word_pairs

__all__ = ["word_pairs", "word_analogies"]


def _lookup(index_to_key, restrict_vocab, case_insensitive):
    """Row of each allowed word (its first, for words equal once case-folded)."""
    allowed = index_to_key[:restrict_vocab]
    return {(w.upper() if case_insensitive else w): i for i, w in reversed(list(enumerate(allowed)))}


def word_pairs(index_to_key, normed, pairs, delimiter, restrict_vocab, case_insensitive, dummy4unknown):
    """``(pearson, spearman, oov_ratio)`` of the cosines of ``pairs``' words (rows of the
    unit vectors ``normed``) against their human scores."""
    restrict_vocab = len(index_to_key) if restrict_vocab is None else restrict_vocab
    lookup = _lookup(index_to_key, restrict_vocab, case_insensitive)
    gold, idx1, idx2, oov = [], [], [], 0
    for a, b, score in read_word_pairs(pairs, delimiter):
        if case_insensitive:
            a, b = a.upper(), b.upper()
        if a in lookup and b in lookup:
            idx1.append(lookup[a])
            idx2.append(lookup[b])
            gold.append(score)
        else:
            oov += 1
            if dummy4unknown:
                idx1.append(-1)
                idx2.append(-1)
                gold.append(score)
    total = len(gold) + (0 if dummy4unknown else oov)
    if len(gold) - (oov if dummy4unknown else 0) < 2:
        raise ValueError(f"fewer than 2 word pairs of {pairs!r} are in the vocabulary")
    i1, i2 = np.asarray(idx1), np.asarray(idx2)
    sims = np.einsum("ij,ij->i", normed[i1], normed[i2]).astype(np.float64)
    sims[i1 < 0] = 0.0
    for values, what in ((gold, "human scores"), (sims, "cosine similarities")):
        if np.ptp(np.asarray(values, dtype=np.float64)) == 0:
            # (scipy would return NaN with a warning, and a NaN mean of runs hides where it came from)
            raise ValueError(
                f"the {len(gold)} word pairs of {pairs!r} found in the vocabulary all have the same "
                f"{what}, so their correlation is undefined; the vocabulary holds too few of its words"
            )
    pearson = stats.pearsonr(gold, sims)
    spearman = stats.spearmanr(gold, sims)
    oov_ratio = 100.0 * oov / max(total, 1)
    return pearson, spearman, oov_ratio


def word_analogies(index_to_key, normed, analogies, restrict_vocab, case_insensitive, dummy4unknown, batch_size):
    """``(accuracy, sections)`` of 3CosAdd answers to ``analogies``' questions."""
    restrict_vocab = len(index_to_key) if restrict_vocab is None else restrict_vocab
    lookup = _lookup(index_to_key, restrict_vocab, case_insensitive)
    sections, questions, owners, skipped = [], [], [], []
    with open_text(analogies) as fh:
        for line in fh:
            if line.startswith(":"):
                sections.append({"section": line[1:].strip(), "correct": [], "incorrect": []})
                continue
            words = line.split()
            if len(words) != 4:
                continue
            if not sections:
                raise ValueError(f"{analogies!r}: a question comes before the first ': section' line")
            key = [w.upper() if case_insensitive else w for w in words]
            if all(w in lookup for w in key):
                questions.append([lookup[w] for w in key])
                owners.append((len(sections) - 1, tuple(key)))
            else:
                skipped.append((len(sections) - 1, tuple(key)))
    normed = normed[:restrict_vocab]
    q = np.asarray(questions, dtype=np.int64).reshape(-1, 4)
    correct = np.zeros(len(q), dtype=bool)
    for start in range(0, len(q), batch_size):
        a, b, c, d = q[start : start + batch_size].T
        query = normed[b] - normed[a] + normed[c]
        sims = query @ normed.T
        rows = np.arange(len(a))
        sims[rows, a] = sims[rows, b] = sims[rows, c] = -np.inf
        correct[start : start + batch_size] = sims.argmax(axis=1) == d
    for (sec, key), ok in zip(owners, correct):
        sections[sec]["correct" if ok else "incorrect"].append(key)
    if dummy4unknown:
        for sec, key in skipped:
            sections[sec]["incorrect"].append(key)
    all_correct = list(chain.from_iterable(s["correct"] for s in sections))
    all_incorrect = list(chain.from_iterable(s["incorrect"] for s in sections))
    total = {"section": "Total accuracy", "correct": all_correct, "incorrect": all_incorrect}
    n = len(all_correct) + len(all_incorrect)
    score = len(all_correct) / n if n else 0.0
    return score, sections + [total]
