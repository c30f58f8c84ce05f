"""Word2Vec speed and quality: gensim and skembed with identical settings, in one run.

    python benchmarks/bench_word2vec.py [--corpus PATH] [--repeat N] [--threads 2] [--seeds 1,2,3]
                                        [--set sample=0 ...]

By default it runs on both corpora of ``_common.CORPORA``: enwiki_small
(106 long articles, repeated 4x) and wordnet_glosses (117,648 short
glosses), one table each, in file order as a user would pass them.

Settings: dim 100, window 5, negative 5, sample 1e-3, min_count 5, 5 epochs;
``--set name=value`` changes one for both libraries (a parameter both share, such
as ``sample=0`` or ``shrink_windows=False``).
words/s is corpus words x epochs / training seconds (vocabulary building is
timed apart, as "total s"). Quality: WordSim353 and SimLex-999 Spearman,
Google analogy accuracy (3CosAdd), all with gensim's evaluation code on the
gensim side and skembed's (tested equal) on ours. With several seeds, each
library trains once per seed (the two alternate) and the table shows means: one
run's quality figures move by up to 0.05 (WordSim353) and 0.03 (SimLex-999)
from seed to seed, for gensim and skembed alike.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    corpus_arguments,
    fit_gensim,
    fit_skembed,
    gensim_vs_skembed,
    markdown_table,
    run_per_corpus,
)

SETTINGS = dict(vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=5)


def run_gensim(docs, algorithm, threads, seed):
    from gensim.models import Word2Vec

    return fit_gensim(Word2Vec, docs, algorithm, threads, seed, SETTINGS)


def run_skembed(docs, algorithm, threads, seed):
    from skembed import Word2VecVectorizer

    return fit_skembed(Word2VecVectorizer, docs, algorithm, threads, seed, SETTINGS)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    corpus_arguments(ap)
    ap.add_argument("--algorithms", default="skipgram,cbow")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="change a setting for both")
    args = ap.parse_args(argv)
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep or name not in SETTINGS and name != "shrink_windows":
            ap.error(f"--set takes NAME=VALUE with NAME one of {sorted(SETTINGS)} or shrink_windows, got {item!r}")
        SETTINGS[name] = ast.literal_eval(value)
    run_per_corpus(args, bench_corpus)


def bench_corpus(docs, args, seeds):
    """The markdown table of gensim against skembed on ``docs``, per algorithm."""
    n_words = sum(map(len, docs))
    print(f"\ncorpus: {n_words:,} tokens in {len(docs)} documents\n")
    rows = []
    for algorithm in args.algorithms.split(","):
        rows += gensim_vs_skembed(docs, algorithm, args.threads, seeds, run_gensim, run_skembed, SETTINGS["epochs"])
    return markdown_table(rows, ["model", "words/s", "train s", "total s", "wordsim353", "simlex999", "analogy"])


if __name__ == "__main__":
    main()
