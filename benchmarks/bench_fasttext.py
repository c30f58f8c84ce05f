"""FastText (subword) speed, quality and unseen-word quality: gensim 4's FastText and skembed's.

    python benchmarks/bench_fasttext.py [--corpus PATH] [--repeat N] [--threads 2] [--seeds 1,2,3]
                                        [--algorithms skipgram] [--oov-seed 0]

Both corpora of ``_common.CORPORA`` by default, one table each. Settings are
gensim's FastText defaults except the algorithm: dim 100, window 5, negative 5,
sample 1e-3, min_count 5, 5 epochs, n-grams of 3 to 6 characters in 2,000,000
buckets. words/s is corpus words x epochs / training seconds; "total s" adds
the vocabulary and n-gram tables. "added MB" is the largest resident set seen
during a fit minus the one at its start (``_common.PeakRSS``), the corpus
already in memory as token lists for both.

The unseen-word test (``oov`` rows): a fixed random 20% of the words of
WordSim353 and SimLex-999 (``--oov-seed``) are removed from the corpus
wherever they occur; both libraries train on what is left (once per seed),
and the pairs holding a removed word are scored by Spearman correlation of
the cosine of the two words' vectors (n-gram vectors for removed words) with
the human scores; the rows show means over the seeds (one run's figures move
by 0.03-0.05: the sets hold about 110 and 365 such pairs).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    DATA,
    corpus_arguments,
    fit_gensim,
    fit_skembed,
    gensim_vs_skembed,
    markdown_table,
    run_per_corpus,
)

SETTINGS = dict(
    vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=5, min_n=3, max_n=6, bucket=2_000_000
)


def run_gensim(docs, algorithm, threads, seed):
    from gensim.models import FastText

    return fit_gensim(FastText, docs, algorithm, threads, seed, SETTINGS)


def run_skembed(docs, algorithm, threads, seed):
    from skembed import FastTextVectorizer

    return fit_skembed(FastTextVectorizer, docs, algorithm, threads, seed, SETTINGS)


def pair_words():
    """(word1, word2, score) of WordSim353 and SimLex-999, lower-cased, per benchmark."""
    from skembed._word_files import read_word_pairs

    return {
        name: [(a.lower(), b.lower(), s) for a, b, s in read_word_pairs(DATA / file)]
        for name, file in (("wordsim353", "wordsim353.tsv"), ("simlex999", "simlex999.txt"))
    }


def oov_rows(docs, algorithm, threads, seeds, oov_seed):
    """Train both libraries without a random 20% of the benchmark words (once per seed); score
    the pairs holding one. Returns one row of means per library."""
    pairs = pair_words()
    words = sorted({w for rows in pairs.values() for a, b, _ in rows for w in (a, b)})
    removed = set(np.random.default_rng(oov_seed).choice(words, size=len(words) // 5, replace=False).tolist())
    kept_docs = [[t for t in doc if t.lower() not in removed] for doc in docs]
    unseen = {bench: [(a, b, s) for a, b, s in items if a in removed or b in removed] for bench, items in pairs.items()}
    runs = {"gensim": [], "skembed": []}
    for seed in seeds:
        for name, runner in (("gensim", run_gensim), ("skembed", run_skembed)):
            wv = runner(kept_docs, algorithm, threads, seed)[0]
            scores = {
                bench: stats.spearmanr(
                    [s for *_, s in items], [float(wv.similarity(a, b)) for a, b, _ in items]
                ).statistic
                for bench, items in unseen.items()
            }
            runs[name].append(scores)
            print(f"{name} {algorithm} oov seed {seed}", {k: round(float(v), 4) for k, v in scores.items()}, flush=True)
    return [
        {
            "model": f"{name} {algorithm} oov",
            **{b: float(np.mean([r[b] for r in rs])) for b in unseen},
            **{f"{b} pairs": len(items) for b, items in unseen.items()},
        }
        for name, rs in runs.items()
    ]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    corpus_arguments(ap)
    ap.add_argument("--algorithms", default="skipgram")
    ap.add_argument("--oov-seed", type=int, default=0)
    run_per_corpus(ap.parse_args(argv), bench_corpus)


def bench_corpus(docs, args, seeds):
    """The markdown table of gensim's FastText against skembed's on ``docs``."""
    n_words = sum(map(len, docs))
    print(f"\ncorpus: {n_words:,} tokens in {len(docs)} documents\n")
    rows = []
    for algorithm in args.algorithms.split(","):
        rows += gensim_vs_skembed(
            docs, algorithm, args.threads, seeds, run_gensim, run_skembed, SETTINGS["epochs"], measure_memory=True
        )
        for row in oov_rows(docs, algorithm, args.threads, seeds, args.oov_seed):
            rows.append(
                {
                    "model": row["model"],
                    "words/s": "",
                    "train s": "",
                    "total s": "",
                    "added MB": "",
                    "wordsim353": row["wordsim353"],
                    "simlex999": row["simlex999"],
                    "analogy": f"{row['wordsim353 pairs']} / {row['simlex999 pairs']} pairs",
                }
            )
    return markdown_table(
        rows, ["model", "words/s", "train s", "total s", "added MB", "wordsim353", "simlex999", "analogy"]
    )


if __name__ == "__main__":
    main()
