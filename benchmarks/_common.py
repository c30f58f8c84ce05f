"""Helpers shared by the benchmarks: data paths, corpus loading, evaluation."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

DATA = Path(os.environ.get("SKEMBED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


# The corpora every embedding benchmark runs on by default, with their repeat counts:
# long documents and a small vocabulary, then short documents and a large one.
CORPORA = {"enwiki_small": ("enwiki_small.txt", 4), "wordnet_glosses": ("wordnet_glosses.txt", 1)}


def load_corpus(path=None, repeat=1, doc_tokens=1000):
    """Documents of a whitespace-tokenized text file (one per line), repeated.

    Lines keep their boundaries and their order (both shape what a model
    learns); lines longer than ``doc_tokens`` are cut because gensim silently
    truncates sentences longer than 10,000 words, so both libraries see the
    same text.
    """
    path = Path(path) if path else DATA / "enwiki_small.txt"
    docs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        tokens = line.split()
        docs += [tokens[i : i + doc_tokens] for i in range(0, len(tokens), doc_tokens)]
    return docs * repeat


def corpus_arguments(ap, seeds_help="comma-separated seeds; the table shows means"):
    """Add the options every embedding benchmark takes: corpus, repeat, threads, seeds."""
    ap.add_argument(
        "--corpus",
        help="whitespace-tokenized text, one document per line "
        "(default: enwiki_small x4 and wordnet_glosses from ../shared/data)",
    )
    ap.add_argument("--repeat", type=int, help="repeat the corpus this many times")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seeds", default="1,2,3", help=seeds_help)


def run_per_corpus(args, bench_corpus):
    """Print one markdown table per corpus: ``bench_corpus(docs, args, seeds)`` makes each,
    and all are printed again together at the end."""
    seeds = [int(s) for s in args.seeds.split(",")]
    print(machine(), f"{args.threads} threads")
    tables = [(name, bench_corpus(docs, args, seeds)) for name, docs in corpora(args.corpus, args.repeat)]
    for name, table in tables:
        print(f"\n{name}\n\n{table}")


def corpora(path=None, repeat=None):
    """``(name, documents)`` of ``path`` alone, or of every corpus in ``CORPORA``."""
    if path:
        return [(Path(path).stem, load_corpus(path, repeat or 1))]
    return [(name, load_corpus(DATA / file, repeat or n)) for name, (file, n) in CORPORA.items()]


def evaluate(wv):
    """WordSim353 / SimLex-999 Spearman and analogy accuracy (gensim or skembed vectors)."""
    ws = wv.evaluate_word_pairs(str(DATA / "wordsim353.tsv"))[1].statistic
    sl = wv.evaluate_word_pairs(str(DATA / "simlex999.txt"))[1].statistic
    an = wv.evaluate_word_analogies(str(DATA / "questions-words.txt"))[0]
    return {"wordsim353": ws, "simlex999": sl, "analogy": an}


def fit_gensim(model_class, docs, algorithm, threads, seed, settings):
    """Train a gensim ``Word2Vec`` or ``FastText`` as its users do (build_vocab, then train).
    Returns (vectors, training seconds, total seconds)."""
    t0 = time.perf_counter()
    model = model_class(sg=int(algorithm == "skipgram"), workers=threads, seed=seed, **settings)
    model.build_vocab(docs)
    t1 = time.perf_counter()
    model.train(docs, total_examples=len(docs), epochs=settings["epochs"])
    t2 = time.perf_counter()
    return model.wv, t2 - t1, t2 - t0


def fit_skembed(vectorizer_class, docs, algorithm, threads, seed, settings):
    """Fit a skembed vectorizer with the same settings. Returns (vectors, training seconds as
    its history_ records them, total seconds)."""
    vec = vectorizer_class(algorithm=algorithm, n_jobs=threads, random_state=seed, **settings)
    t0 = time.perf_counter()
    vec.fit(docs)
    total = time.perf_counter() - t0
    return vec.wv_, sum(h["seconds"] for h in vec.history_), total


def gensim_vs_skembed(docs, algorithm, threads, seeds, run_gensim, run_skembed, epochs, measure_memory=False):
    """Both libraries once per seed on ``docs`` (alternating), as three table rows: gensim's
    means, skembed's, and their ratio (words/s) and differences (quality). ``run_*(docs,
    algorithm, threads, seed)`` return (vectors, training seconds, total seconds); with
    ``measure_memory`` each fit's added resident memory is an "added MB" column."""
    n_words = sum(map(len, docs))

    def timed(runner):
        def run(seed):
            with PeakRSS() as rss:
                wv, train_s, total_s = runner(docs, algorithm, threads, seed)
            timings = {"words/s": n_words * epochs / train_s, "train s": train_s, "total s": total_s}
            return wv, {**timings, **({"added MB": rss.added_mb} if measure_memory else {})}

        return run

    gensim, ours = mean_over_seeds(
        [(f"gensim {algorithm}", timed(run_gensim)), (f"skembed {algorithm}", timed(run_skembed))], seeds
    )
    ratio = {
        "model": f"ratio {algorithm}",
        "words/s": f"{ours['words/s'] / gensim['words/s']:.2f}x",
        "train s": "",
        "total s": "",
        "added MB": "",
        **{k: f"{ours[k] - gensim[k]:+.3f}" for k in ("wordsim353", "simlex999", "analogy")},
    }
    return [gensim, ours, ratio]


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
    return [
        {"model": name, **{k: float(np.mean([r[k] for r in rows])) for k in rows[0]}} for name, rows in runs.items()
    ]


def machine():
    import torch

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"


def markdown_table(rows, columns):
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    return head + "".join("| " + " | ".join(_cell(r[c]) for c in columns) + " |\n" for r in rows)


def _cell(v):
    """A table cell: small floats to 3 decimals, large ones as grouped integers."""
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 10 else f"{v:,.0f}"
    return str(v)


class PeakRSS:
    """Context manager: the largest resident set (MB) seen while its block runs, above the
    resident set at its start (``added_mb``), sampled every 10 ms by a thread (Linux).

    ``anonymous=True`` counts only anonymous memory (the heap, arrays: resident minus
    file-backed pages), leaving out the code pages a library's first calls map in
    (libtorch's kernels are tens of MB of shared, reclaimable file pages)."""

    def __init__(self, anonymous=False):
        self.anonymous = anonymous

    def __enter__(self):
        import threading

        self._page = os.sysconf("SC_PAGE_SIZE")
        self.start_mb = self.peak_mb = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _rss(self):
        with open("/proc/self/statm") as fh:
            fields = fh.read().split()
        pages = int(fields[1]) - (int(fields[2]) if self.anonymous else 0)
        return pages * self._page / 2**20

    def _watch(self):
        while not self._stop.wait(0.01):
            self.peak_mb = max(self.peak_mb, self._rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._rss())

    @property
    def added_mb(self):
        return self.peak_mb - self.start_mb


READY, DONE = "#skembed-bench-ready", "#skembed-bench-done"


def wait_to_be_measured(marker=READY):
    """In a child run by ``peak_of_child``: say ``marker`` and wait until the parent answers
    (call it with ``READY`` once imported, with ``DONE`` once the measured work is over)."""
    import sys

    print(marker, flush=True)
    sys.stdin.readline()


def peak_of_child(cmd, preexec_fn=None, interval=0.002):
    """Run ``cmd`` (a child that calls ``wait_to_be_measured`` before and after its measured
    work) and sample its memory from this process between the two calls.

    A sampling thread inside the measured process allocates small objects all through the
    fit, and they land amid the fit's own temporaries: each that outlives them keeps a
    1 MiB arena of Python's small-object allocator. That made skembed's 1M-token fit read
    6-8 MB more than a fit sampled from outside, and gensim's (whose work is in C) none.

    Returns ``({"added_mb", "added_rss_mb", "peak_mb"}, the child's last stdout line)``:
    the peaks of anonymous memory (the resident set without its file-backed pages, see
    ``PeakRSS``) and of the whole resident set over the measured work, minus the figures at
    its start, and the anonymous peak itself.
    """
    import subprocess
    import threading

    page = os.sysconf("SC_PAGE_SIZE") / 2**20
    child = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=preexec_fn
    )
    lines, done = [], threading.Event()

    def read():
        for line in child.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith(DONE) or not line:
                done.set()
        done.set()

    def sample(fd):
        fields = os.pread(fd, 200, 0).split()
        total, shared = int(fields[1]), int(fields[2])
        return (total - shared) * page, total * page

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    while READY not in lines and reader.is_alive():
        time.sleep(0.01)
    fd = os.open(f"/proc/{child.pid}/statm", os.O_RDONLY)
    try:
        start = peak = sample(fd)
        child.stdin.write("\n")
        child.stdin.flush()
        while not done.is_set():
            now = sample(fd)
            peak = (max(peak[0], now[0]), max(peak[1], now[1]))
            time.sleep(interval)
        if child.poll() is None:
            now = sample(fd)
            peak = (max(peak[0], now[0]), max(peak[1], now[1]))
    finally:
        os.close(fd)
    if child.poll() is None:
        child.stdin.write("\n")
        child.stdin.flush()
    err = child.stderr.read()
    reader.join()
    if child.wait():
        raise RuntimeError(f"{' '.join(map(str, cmd[1:4]))} failed (rc {child.returncode}):\n{err[-3000:]}")
    return {"added_mb": peak[0] - start[0], "added_rss_mb": peak[1] - start[1], "peak_mb": peak[0]}, lines[-1]
