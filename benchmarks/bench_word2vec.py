"""Word2Vec speed and quality: gensim and skembed with identical settings, in one run.

    python benchmarks/bench_word2vec.py [--corpus PATH] [--repeat 4] [--threads 2] [--seeds 1,2,3]

Settings: dim 100, window 5, negative 5, sample 1e-3, min_count 5, 5 epochs.
words/s is corpus words x epochs / training seconds (vocabulary building is
timed apart, as "total s"). Quality: WordSim353 and SimLex-999 Spearman,
Google analogy accuracy (3CosAdd), all with gensim's evaluation code on the
gensim side and skembed's (tested equal) on ours. With several seeds, each
library trains once per seed (the two alternate) and the table shows means: on this small corpus
the quality figures of one run move by up to 0.05 (WordSim353) and 0.03
(SimLex-999) from seed to seed, for gensim and skembed alike.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_corpus, machine, markdown_table, mean_over_seeds  # noqa: E402

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
    ap.add_argument("--corpus", help="whitespace-tokenized text (default: ../shared/data/enwiki_small.txt)")
    ap.add_argument("--repeat", type=int, default=4, help="repeat the corpus this many times")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seeds", default="1", help="comma-separated seeds; the table shows means")
    ap.add_argument("--algorithms", default="skipgram,cbow")
    args = ap.parse_args(argv)
    docs = load_corpus(args.corpus, args.repeat)
    n_words = sum(map(len, docs))
    print(f"corpus: {n_words:,} tokens in {len(docs)} documents; {machine()}; {args.threads} threads\n")
    rows = []
    seeds = [int(s) for s in args.seeds.split(",")]
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
    print()
    print(markdown_table(rows, ["model", "words/s", "train s", "total s", "wordsim353", "simlex999", "analogy"]))


if __name__ == "__main__":
    main()
