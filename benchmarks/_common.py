"""Helpers shared by the benchmarks: data paths, corpus loading, evaluation."""

from __future__ import annotations

import os
import platform
from pathlib import Path

DATA = Path(os.environ.get("SKEMBED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def load_corpus(path=None, repeat=1, doc_tokens=1000):
    """Tokens of a whitespace-tokenized text file, repeated, cut into documents.

    Documents are cut at ``doc_tokens`` because gensim silently truncates
    sentences longer than 10,000 words; both libraries then see the same text.
    """
    path = Path(path) if path else DATA / "enwiki_small.txt"
    tokens = path.read_text(encoding="utf-8").split() * repeat
    return [tokens[i:i + doc_tokens] for i in range(0, len(tokens), doc_tokens)]


def evaluate(wv):
    """WordSim353 / SimLex-999 Spearman and analogy accuracy (gensim or skembed vectors)."""
    ws = wv.evaluate_word_pairs(str(DATA / "wordsim353.tsv"))[1].statistic
    sl = wv.evaluate_word_pairs(str(DATA / "simlex999.txt"))[1].statistic
    an = wv.evaluate_word_analogies(str(DATA / "questions-words.txt"))[0]
    return {"wordsim353": ws, "simlex999": sl, "analogy": an}


def mean_over_seeds(runners, seeds):
    """Run every ``(name, runner)`` pair once per seed, print each run, return the means.

    ``runner(seed)`` returns ``(word vectors, dict of timings)``; quality
    figures are added with :func:`evaluate`. The runners alternate seed by
    seed, so that a slow spell of a shared machine falls on all of them rather
    than on one. Returns one row of means per runner, in the given order.
    """
    import numpy as np
    runs = {name: [] for name, _ in runners}
    for seed in seeds:
        for name, runner in runners:
            wv, timings = runner(seed)
            runs[name].append({**timings, **evaluate(wv)})
            print(name, f"seed {seed}", {k: round(float(v), 4) for k, v in runs[name][-1].items()}, flush=True)
    return [{"model": name, **{k: float(np.mean([r[k] for r in rows])) for k in rows[0]}}
            for name, rows in runs.items()]


def machine():
    import torch
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"


def markdown_table(rows, columns):
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    fmt = lambda v: f"{v:.3f}" if isinstance(v, float) and abs(v) < 10 else (f"{v:,.0f}" if isinstance(v, float) else str(v))
    return head + "".join("| " + " | ".join(fmt(r[c]) for c in columns) + " |\n" for r in rows)
