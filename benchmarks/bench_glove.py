"""GloVe end to end: skembed, Stanford's C GloVe and gensim skip-gram, in one run.

    python benchmarks/build_stanford_glove.py /tmp/stanford_glove   # once
    python benchmarks/bench_glove.py --stanford /tmp/stanford_glove [--corpus PATH] [--repeat N] [--threads 2]
        [--seeds 1,2,3] [--reference] [--x-max 100]

By default it runs on both corpora of ``_common.CORPORA`` (enwiki_small x4,
long documents; wordnet_glosses, short documents), one table each.

Settings (both GloVe implementations): window 10, symmetric, 1/d weighting,
min_count 5, x_max 100 (``--x-max``), alpha 0.75, learning rate 0.05, 25 iterations,
100 dimensions. Times are end to end: vocabulary + co-occurrence (+ shuffle
for Stanford) + training. With ``--reference``, gensim's skip-gram (dim 100,
window 5, 5 epochs) is a second quality reference. ``--seeds`` averages over
several runs of every model (Stanford's threads update without locks, so its
figures move a little from run to run too).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import corpus_arguments, markdown_table, mean_over_seeds, run_per_corpus  # noqa: E402

DIM, WINDOW, ITER, X_MAX, MIN_COUNT = 100, 10, 25, 100.0, 5


def run_stanford(bin_dir, docs, threads):
    """One run of Stanford's four programs in a temporary folder, removed afterwards
    (its co-occurrence files take about 100 MB per run here)."""
    with tempfile.TemporaryDirectory(prefix="stanford_glove_") as workdir:
        return _run_stanford_in(Path(bin_dir), docs, threads, Path(workdir))


def _run_stanford_in(b, docs, threads, work):
    from skembed import WordVectors

    corpus = work / "corpus.txt"
    corpus.write_text("\n".join(" ".join(d) for d in docs) + "\n", encoding="utf-8")

    def run(*args):
        subprocess.run([str(a) for a in args], check=True, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)

    t0 = time.perf_counter()
    run(b / "vocab_count", corpus, work / "vocab.txt", MIN_COUNT)
    run(b / "cooccur", corpus, work / "vocab.txt", work / "cooc.bin", WINDOW, 1, work / "overflow", 4.0)
    run(b / "shuffle", work / "cooc.bin", work / "cooc.shuf.bin", work / "temp_shuffle", 4.0)
    t1 = time.perf_counter()
    run(
        b / "glove", work / "cooc.shuf.bin", work / "vocab.txt", work / "vectors", threads, ITER, DIM, X_MAX, 0.75, 0.05
    )
    t2 = time.perf_counter()
    return WordVectors.load_glove_format(work / "vectors.txt"), t1 - t0, t2 - t1


def run_skembed(docs, threads, seed):
    from skembed import GloVeVectorizer

    vec = GloVeVectorizer(
        vector_size=DIM, window=WINDOW, min_count=MIN_COUNT, x_max=X_MAX, epochs=ITER, n_jobs=threads, random_state=seed
    )
    t0 = time.perf_counter()
    vec.fit(docs)
    total = time.perf_counter() - t0
    train = sum(h["seconds"] for h in vec.history_)
    return vec.wv_, total - train, train


def run_gensim(docs, threads, seed):
    from gensim.models import Word2Vec

    t0 = time.perf_counter()
    model = Word2Vec(docs, vector_size=DIM, window=5, min_count=MIN_COUNT, epochs=5, sg=1, workers=threads, seed=seed)
    return model.wv, 0.0, time.perf_counter() - t0


def main(argv=None):
    global X_MAX
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    corpus_arguments(
        ap,
        "comma-separated seeds, one run each; the table shows means "
        "(Stanford's C code takes no seed and simply runs again)",
    )
    ap.add_argument("--stanford", help="folder with Stanford GloVe's vocab_count, cooccur, shuffle, glove")
    ap.add_argument("--reference", action="store_true", help="also run gensim's skip-gram")
    ap.add_argument("--x-max", type=float, default=X_MAX, help="x_max of both GloVe implementations")
    args = ap.parse_args(argv)
    X_MAX = args.x_max
    run_per_corpus(args, bench_corpus)


def bench_corpus(docs, args, seeds):
    """The markdown table of Stanford's GloVe against skembed's on ``docs``."""
    print(f"\ncorpus: {sum(map(len, docs)):,} tokens in {len(docs)} documents\n")
    runners = [("skembed GloVe", lambda seed: run_skembed(docs, args.threads, seed))]
    if args.stanford:
        runners.insert(0, ("Stanford GloVe (C)", lambda seed: run_stanford(args.stanford, docs, args.threads)))
    if args.reference:
        runners.append(("gensim skip-gram", lambda seed: run_gensim(docs, args.threads, seed)))

    def timed(runner):
        def run(seed):
            wv, prep, train = runner(seed)
            return wv, {"prep s": prep, "train s": train, "total s": prep + train}

        return run

    rows = mean_over_seeds([(name, timed(runner)) for name, runner in runners], seeds)
    if args.stanford:
        c, ours = rows[0], rows[1]
        rows.append(
            {
                "model": "skembed vs C",
                "prep s": f"{c['prep s'] / ours['prep s']:.1f}x",
                "train s": f"{c['train s'] / ours['train s']:.2f}x",
                "total s": f"{c['total s'] / ours['total s']:.2f}x faster",
                **{k: f"{ours[k] - c[k]:+.3f}" for k in ("wordsim353", "simlex999", "analogy")},
            }
        )
    return markdown_table(rows, ["model", "prep s", "train s", "total s", "wordsim353", "simlex999", "analogy"])


if __name__ == "__main__":
    main()
