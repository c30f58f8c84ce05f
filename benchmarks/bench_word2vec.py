"""Word2Vec speed and quality: gensim and skembed with identical settings, in one run.

    python benchmarks/bench_word2vec.py [--corpus PATH] [--repeat N] [--threads 2] [--seeds 1,2,3]

By default it runs on both corpora of ``_common.CORPORA``: enwiki_small
(106 long articles, repeated 4x) and wordnet_glosses (117,648 short
glosses), one table each, in file order as a user would pass them.

Settings: dim 100, window 5, negative 5, sample 1e-3, min_count 5, 5 epochs.
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
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import corpus_arguments, markdown_table, mean_over_seeds, run_per_corpus  # noqa: E402

SETTINGS = dict(vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=5)


def run_gensim(docs, algorithm, threads, seed):
    from gensim.models import Word2Vec
    t0 = time.perf_counter()
    model = Word2Vec(sg=int(algorithm == "skipgram"), workers=threads, seed=seed, **SETTINGS)
    model.build_vocab(docs)
    t1 = time.perf_counter()
    model.train(docs, total_examples=len(docs), epochs=SETTINGS["epochs"])
    t2 = time.perf_counter()
    return model.wv, t2 - t1, t2 - t0


def run_skembed(docs, algorithm, threads, seed):
    from skembed import Word2VecVectorizer
    vec = Word2VecVectorizer(algorithm=algorithm, n_jobs=threads, random_state=seed, **SETTINGS)
    t0 = time.perf_counter()
    vec.fit(docs)
    total = time.perf_counter() - t0
    return vec.wv_, sum(h["seconds"] for h in vec.history_), total


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    corpus_arguments(ap)
    ap.add_argument("--algorithms", default="skipgram,cbow")
    run_per_corpus(ap.parse_args(argv), bench_corpus)


def bench_corpus(docs, args, seeds):
    """The markdown table of gensim against skembed on ``docs``, per algorithm."""
    n_words = sum(map(len, docs))
    print(f"\ncorpus: {n_words:,} tokens in {len(docs)} documents\n")
    rows = []
    for algorithm in args.algorithms.split(","):
        def timed(runner):
            def run(seed):
                wv, train_s, total_s = runner(docs, algorithm, args.threads, seed)
                return wv, {"words/s": n_words * SETTINGS["epochs"] / train_s, "train s": train_s,
                            "total s": total_s}
            return run
        gensim, ours = mean_over_seeds([(f"gensim {algorithm}", timed(run_gensim)),
                                        (f"skembed {algorithm}", timed(run_skembed))], seeds)
        rows += [gensim, ours]
        quality = {k: f"{ours[k] - gensim[k]:+.3f}" for k in ("wordsim353", "simlex999", "analogy")}
        rows.append({"model": f"ratio {algorithm}", "words/s": f"{ours['words/s'] / gensim['words/s']:.2f}x",
                     "train s": "", "total s": "", **quality})
    return markdown_table(rows, ["model", "words/s", "train s", "total s", "wordsim353", "simlex999", "analogy"])


if __name__ == "__main__":
    main()
