"""Memory and throughput with corpus size: skembed against gensim, fitting from a text file.

    python benchmarks/bench_memory.py [--sizes 1,5,20] [--models word2vec,fasttext,glove]
                                      [--threads 2] [--workdir /tmp/skembed_memory]
                                      [--cache-mb 100 [--shuffle-block TOKENS]]  (--models '' for that alone)
                                      [--rows-per-batch]

Each corpus is ``wordnet_glosses.txt`` (short documents, a real vocabulary)
cycled to 1M, 5M and 20M tokens, each cycle in a new random line order, written
to a text file (one document per line). Every fit runs in a fresh process that
imports both libraries first; this process samples it from outside every 2 ms
(``_common.peak_of_child``: a sampler inside would perturb the heap it measures)
and records the largest anonymous resident memory (heap and arrays) seen during
the fit above the one before it: "MB". "skembed RSS MB" is the whole
resident set's growth, which adds the code pages of libtorch's kernels that the
fit maps in (shared and reclaimable, the same for any corpus size).

* word2vec: skip-gram, dim 100, window 5, negative 5, min_count 5, one epoch.
  gensim streams the file with ``LineSentence`` (its users' way to train on a
  file); skembed fits on the open file (read once, encoded to int32 ids).
* fasttext: the same with n-grams of 3-6 characters in 2,000,000 buckets
  (gensim ``FastText`` over ``LineSentence``).
* word2vec_spilled: word2vec with ``corpus_max_bytes=0``, so every encoded id
  goes to the memory-mapped temporary file (the larger-than-memory path; the
  file stays in the page cache here, so this measures the path's own cost).
* glove: skembed's counting and 5 epochs (no gensim peer; its row shows
  skembed's own bytes per token only).

``--cache-mb N`` adds a fit larger than the page cache (Linux, as root, with a
cgroup memory controller; skipped elsewhere): word2vec with its ids spilled, at
the largest size, in a memory cgroup whose limit is that fit's own peak anonymous
memory (measured unconstrained first) plus N MB, so the spilled ids file (4 bytes
per token) cannot all stay cached; words/s against the unconstrained spilled fit.
``--shuffle-block`` sets the kernel's shuffle block (tokens) in those fits, e.g.
``1e12`` for one permutation of the whole corpus (the order before blocks).

"bytes/token over gensim" is (skembed's added MB - gensim's) / tokens; "slope"
is the growth of skembed's added memory per extra token between the smallest
and the largest size, which leaves out what does not grow with the corpus (the
model's matrices). words/s is tokens x epochs / training seconds.

The vocabulary grows with these corpora (18k words at 1M tokens, 100k at 20M:
rare glosses' words reach ``min_count`` once cycled), and with it the work per
token and the matrices a step reads at random. ``--scale-min-count`` sets
``min_count`` to 5 per million tokens for both libraries, the same relative
frequency at every size, so the vocabulary stays about the same and words/s
compares the fit's own cost at each size.
``--rows-per-batch`` adds, per size, fastText skip-gram's work per batch (one epoch, seed 1,
in this process): the distinct words a batch of centres composes and the n-gram and word rows
it reads and writes, counted in the kernel; this is what grows with the vocabulary.
``transform docs/s`` is documents per second of ``transform`` on the first
100,000 lines (mean pooling) by the fitted vectorizer.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA, DONE, READY, machine, markdown_table, peak_of_child, wait_to_be_measured  # noqa: E402

SETTINGS = dict(vector_size=100, window=5, negative=5, min_count=5, epochs=1)
SUBWORDS = dict(min_n=3, max_n=6, bucket=2_000_000)


def build_corpus(workdir: Path, millions: float) -> tuple[Path, int]:
    """``wordnet_glosses.txt`` cycled (each cycle shuffled) to ``millions`` of tokens; (path, tokens)."""
    path = workdir / f"wordnet_{millions:g}M.txt"
    lines = (DATA / "wordnet_glosses.txt").read_text(encoding="utf-8").splitlines()
    target = int(millions * 1_000_000)
    if not path.exists():
        rng, out, n = random.Random(0), [], 0
        while n < target:
            order = list(range(len(lines)))
            rng.shuffle(order)
            for i in order:
                out.append(lines[i])
                n += len(lines[i].split())
                if n >= target:
                    break
        tmp = path.with_suffix(".tmp")
        tmp.write_text("\n".join(out) + "\n", encoding="utf-8")
        tmp.rename(path)
    with open(path, encoding="utf-8") as fh:
        return path, sum(len(line.split()) for line in fh)


def one(model: str, library: str, path: str, threads: int, shuffle_block=None, min_count=None) -> dict:
    """One fit in this process; the figures as a dict."""
    import gensim  # noqa: F401  (both libraries imported before the baseline)

    import skembed

    if shuffle_block:
        import skembed._word2vec_kernel as kernel

        kernel._SHUFFLE_BLOCK = int(shuffle_block)

    settings = dict(SETTINGS, **({"min_count": min_count} if min_count else {}))
    wait_to_be_measured(READY)  # the parent samples this process's memory from here
    t0 = time.perf_counter()
    if library == "gensim":
        from gensim.models import FastText, Word2Vec
        from gensim.models.word2vec import LineSentence

        cls = FastText if model == "fasttext" else Word2Vec  # (word2vec_spilled: the same peer)
        extra = SUBWORDS if model == "fasttext" else {}
        m = cls(sg=1, workers=threads, seed=1, **settings, **extra)
        m.build_vocab(LineSentence(path))
        t1 = time.perf_counter()
        m.train(LineSentence(path), total_examples=m.corpus_count, epochs=m.epochs)
        train_s = time.perf_counter() - t1
        fitted, vocabulary = None, len(m.wv)
    else:
        if model == "glove":
            vec = skembed.GloVeVectorizer(
                vector_size=100, min_count=settings["min_count"], epochs=5, n_jobs=threads, random_state=1
            )
        elif model == "fasttext":
            vec = skembed.FastTextVectorizer(n_jobs=threads, random_state=1, **settings, **SUBWORDS)
        else:
            spill = dict(corpus_max_bytes=0) if model == "word2vec_spilled" else {}
            vec = skembed.Word2VecVectorizer(n_jobs=threads, random_state=1, **settings, **spill)
        with open(path, encoding="utf-8") as fh:
            vec.fit(fh)
        train_s = sum(h["seconds"] for h in vec.history_)
        fitted, vocabulary = vec, len(vec.wv_)
    total_s = time.perf_counter() - t0
    wait_to_be_measured(DONE)  # ... to here
    out = {"train_s": train_s, "total_s": total_s, "vocabulary": vocabulary}
    if fitted is not None and model != "glove":
        with open(path, encoding="utf-8") as fh:
            docs = [line for _, line in zip(range(100_000), fh)]
        t0 = time.perf_counter()
        fitted.transform(docs)
        out["transform_docs_s"] = len(docs) / (time.perf_counter() - t0)
    return out


def run(model, library, path, threads, shuffle_block=None, cgroup=None, min_count=None):
    """One fit in a fresh process (inside memory cgroup ``cgroup``'s folder when given)."""
    cmd = [sys.executable, __file__, "--one", model, library, str(path), "--threads", str(threads)]
    if shuffle_block:
        cmd += ["--shuffle-block", str(shuffle_block)]
    if min_count:
        cmd += ["--min-count", str(min_count)]
    join = None
    if cgroup is not None:

        def join():
            (cgroup / "cgroup.procs").write_text(str(os.getpid()))

    memory, last = peak_of_child(cmd, preexec_fn=join)
    return {**json.loads(last), **memory}


def memory_cgroup(limit_bytes):
    """A new memory cgroup limited to ``limit_bytes`` (v2, else v1): its folder, or None
    where this process cannot make one (not Linux, not root, no memory controller)."""
    name = f"skembed-bench-{os.getpid()}"
    unified = Path("/sys/fs/cgroup")
    candidates = []
    controllers = unified / "cgroup.controllers"
    if controllers.exists() and "memory" in controllers.read_text().split():
        candidates.append((unified / name, "memory.max"))
    candidates.append((Path("/sys/fs/cgroup/memory") / name, "memory.limit_in_bytes"))
    for folder, knob in candidates:
        try:
            folder.mkdir()
            (folder / knob).write_text(str(int(limit_bytes)))
            return folder
        except OSError:
            if folder.exists():
                folder.rmdir()
    return None


def beyond_cache(path, n_tokens, threads, cache_mb, shuffle_block):
    """The spilled fit unconstrained, then in a cgroup that leaves ``cache_mb`` for the page
    cache: a table row, or None where no cgroup can be made."""
    free = run("word2vec_spilled", "skembed", path, threads, shuffle_block)
    group = memory_cgroup((free["peak_mb"] + cache_mb) * 2**20)
    if group is None:
        print("--cache-mb: no memory cgroup can be made here (needs Linux, root and a memory controller)")
        return None
    try:
        held = run("word2vec_spilled", "skembed", path, threads, shuffle_block, cgroup=group)
    finally:
        group.rmdir()
    return {
        "model": "word2vec, ids spilled, page cache limited",
        "tokens": f"{n_tokens:,}",
        "ids file MB": n_tokens * 4 / 2**20,
        "page cache MB": cache_mb,
        "words/s, cache unlimited": n_tokens / free["train_s"],
        "words/s, cache limited": n_tokens / held["train_s"],
        "ratio": free["train_s"] / held["train_s"],
    }


def rows_per_batch(path, threads):
    """fastText skip-gram fitted one epoch on ``path``: vocabulary, mean distinct words and rows
    per batch of centres (each distinct word's rows are read and written once per batch), words/s."""
    import skembed._fasttext_kernel as kernel
    from skembed import FastTextVectorizer

    counts = {"batches": 0, "words": 0, "rows": 0}
    layout = kernel.SubwordKernel._layout

    def counting(self, ids):
        new = self._layout_of[0] is not ids
        words, _, flat, _, _ = result = layout(self, ids)
        if new:
            counts["batches"] += 1
            counts["words"] += words.shape[0]
            counts["rows"] += flat.shape[0]
        return result

    kernel.SubwordKernel._layout = counting
    try:
        vec = FastTextVectorizer(algorithm="skipgram", min_count=5, epochs=1, n_jobs=threads, random_state=1)
        with open(path, encoding="utf-8") as lines:
            vec.fit(lines)
    finally:
        kernel.SubwordKernel._layout = layout
    b = max(counts["batches"], 1)
    return {
        "vocabulary": f"{len(vec.wv_.index_to_key):,}",
        "distinct words per batch": round(counts["words"] / b),
        "rows per batch": round(counts["rows"] / b),
        "words/s": round(vec.history_[0]["words_per_second"]),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1,5,20", help="millions of tokens, comma-separated")
    ap.add_argument("--models", default="word2vec,word2vec_spilled,fasttext,glove")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workdir", default="/tmp/skembed_memory")
    ap.add_argument("--cache-mb", type=float, help="also fit larger than a page cache of this many MB (see above)")
    ap.add_argument("--shuffle-block", type=float, help="the kernel's shuffle block in tokens (default: its own)")
    ap.add_argument("--rows-per-batch", action="store_true", help="fastText's rows per batch at each size")
    ap.add_argument(
        "--scale-min-count",
        action="store_true",
        help="min_count 5 per million tokens, so every size keeps about the same vocabulary (see above)",
    )
    ap.add_argument("--min-count", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--one", nargs=3, metavar=("MODEL", "LIBRARY", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(*args.one, args.threads, args.shuffle_block, args.min_count)))
        return
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    print(machine(), f"{args.threads} threads", flush=True)
    rows = []
    for model in filter(None, args.models.split(",")):
        first = None
        for size in [float(s) for s in args.sizes.split(",")]:
            path, n_tokens = build_corpus(workdir, size)
            mc = max(1, round(5 * n_tokens / 1e6)) if args.scale_min_count else None
            ours = run(model, "skembed", path, args.threads, min_count=mc)
            peer = run(model, "gensim", path, args.threads, min_count=mc) if model != "glove" else None
            epochs = 5 if model == "glove" else 1
            first = first or (n_tokens, ours)
            row = {
                "model": model,
                "tokens": f"{n_tokens:,}",
                **({"min_count": mc} if mc else {}),
                "vocabulary": f"{ours['vocabulary']:,}",
                "gensim MB": peer["added_mb"] if peer else "",
                "skembed MB": ours["added_mb"],
                "skembed RSS MB": ours["added_rss_mb"],
                "bytes/token over gensim": (ours["added_mb"] - peer["added_mb"]) * 2**20 / n_tokens if peer else "",
                "slope B/token": (ours["added_mb"] - first[1]["added_mb"]) * 2**20 / (n_tokens - first[0])
                if n_tokens > first[0]
                else "",
                "gensim words/s": n_tokens * epochs / peer["train_s"] if peer else "",
                "skembed words/s": n_tokens * epochs / ours["train_s"],
                "transform docs/s": ours.get("transform_docs_s", ""),
            }
            print(row, flush=True)
            rows.append(row)
    print()
    if rows:
        print(markdown_table(rows, list(rows[0])))
    if args.rows_per_batch:
        per_size = []
        for size in [float(s) for s in args.sizes.split(",")]:
            path, n_tokens = build_corpus(workdir, size)
            per_size.append({"tokens": f"{n_tokens:,}", **rows_per_batch(path, args.threads)})
            print(per_size[-1], flush=True)
        print()
        print(markdown_table(per_size, list(per_size[0])))
    if args.cache_mb:
        path, n_tokens = build_corpus(workdir, max(float(s) for s in args.sizes.split(",")))
        row = beyond_cache(path, n_tokens, args.threads, args.cache_mb, args.shuffle_block)
        if row is not None:
            print(row, flush=True)
            print()
            print(markdown_table([row], list(row)))


if __name__ == "__main__":
    main()
