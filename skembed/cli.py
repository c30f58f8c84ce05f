"""The ``skembed`` command line: train, evaluate and query word vectors, or run the demo.

    skembed train word2vec|glove CORPUS --out vectors.txt [--vector-size 100 --epochs 5 ...]
    skembed evaluate vectors.txt [--binary | --glove]
    skembed similar vectors.txt WORD [--topn 10]
    skembed demo

CORPUS is a text file with one document per line (read once, as a stream). evaluate and
similar read fastText ``.bin`` models (told by their magic number) as well as word2vec files.
Errors are one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
import time


class CliError(Exception):
    pass


def _load_vectors(path, binary=False, glove=False):
    from ._fasttext_format import is_fasttext_bin
    from .vectors import WordVectors

    try:
        if is_fasttext_bin(path):  # (what `skembed train fasttext ... --out x.bin` writes)
            from .subword_vectors import SubwordVectors

            return SubwordVectors.load_facebook_format(path)
        if glove:
            return WordVectors.load_glove_format(path)
        return WordVectors.load_word2vec_format(path, binary=binary)
    except FileNotFoundError:
        raise CliError(f"no such file: {path}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from None


def _lines(path):
    try:
        fh = open(path, encoding="utf-8", errors="replace")
    except OSError as exc:
        raise CliError(f"cannot open corpus {path}: {exc.strerror}") from None
    with fh:
        yield from fh


def _check_writable(path):
    from ._io import check_writable

    try:
        check_writable(path)
    except OSError as exc:
        raise CliError(f"{exc.strerror}: {exc.filename}") from None


def cmd_train(args):
    from .fasttext import FastTextVectorizer
    from .glove import GloVeVectorizer
    from .word2vec import Word2VecVectorizer

    common = dict(
        vector_size=args.vector_size,
        min_count=args.min_count,
        n_jobs=args.threads,
        verbose=1,
        random_state=args.seed,
        corpus_max_bytes=None if args.memory_mb < 0 else int(args.memory_mb * 2**20),
    )
    if args.model in ("word2vec", "fasttext"):
        cls = Word2VecVectorizer if args.model == "word2vec" else FastTextVectorizer
        est = cls(algorithm=args.algorithm, window=args.window or 5, epochs=args.epochs or 5, **common)
    else:
        est = GloVeVectorizer(window=args.window or 10, epochs=args.epochs or 25, **common)
    _check_writable(args.out)  # before the fit, not after minutes of training
    t0 = time.perf_counter()
    est.fit(_lines(args.corpus))
    seconds = time.perf_counter() - t0
    if args.model == "fasttext" and str(args.out).endswith(".bin"):
        est.save_facebook_model(args.out)  # fastText's own format: n-grams kept, unseen words answered
    else:
        est.wv_.save_word2vec_format(args.out, binary=args.binary)
    words = sum(h.get("words", 0) for h in est.history_)
    rate = f", {words / sum(h['seconds'] for h in est.history_):,.0f} words/s" if words else ""
    print(f"{len(est.wv_):,} words x {est.wv_.vector_size} dims in {seconds:.1f} s{rate} -> {args.out}")


def cmd_evaluate(args):
    from .datasets import analogies_path, word_pairs_path

    wv = _load_vectors(args.vectors, args.binary, args.glove)
    for name in ("wordsim353", "simlex999"):
        try:
            pearson, spearman, oov = wv.evaluate_word_pairs(word_pairs_path(name))
        except ValueError as exc:  # too few of the set's words: say so, and go on to the next set
            print(f"{name:12s} no score: {exc}")
            continue
        print(f"{name:12s} Spearman {spearman.statistic:.3f}  Pearson {pearson.statistic:.3f}  OOV {oov:.1f}%")
    score, sections = wv.evaluate_word_analogies(analogies_path())
    n = len(sections[-1]["correct"]) + len(sections[-1]["incorrect"])
    print(f"{'analogies':12s} accuracy {score:.3f} on {n:,} questions with known words")


def cmd_similar(args):
    wv = _load_vectors(args.vectors, args.binary, args.glove)
    if args.word not in wv:
        raise CliError(f"{args.word!r} is not in the vocabulary of {args.vectors}")
    for word, sim in wv.most_similar(args.word, topn=args.topn):
        print(f"{sim:.3f}  {word}")


def cmd_demo(args):
    from .datasets import load_enwiki_small
    from .word2vec import Word2VecVectorizer

    print("Training word2vec (skip-gram) on 453k tokens of Wikipedia...")
    vec = Word2VecVectorizer(n_jobs=args.threads, random_state=0, verbose=1).fit(load_enwiki_small())
    for word in ("king", "france", "war", "music"):
        print(f"  {word:8s} -> " + ", ".join(w for w, _ in vec.wv_.most_similar(word, topn=6)))
    from .datasets import word_pairs_path

    print(f"  WordSim353 Spearman: {vec.wv_.evaluate_word_pairs(word_pairs_path('wordsim353'))[1].statistic:.3f}")
    print("For a full tour run: python examples/spam_pipeline.py")


def build_parser():
    from . import __version__

    p = argparse.ArgumentParser(prog="skembed", description="Word embeddings with skembed.")
    p.add_argument("--version", action="version", version=f"skembed {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="learn word vectors from a text file (one document per line)")
    t.add_argument("model", choices=["word2vec", "fasttext", "glove"])
    t.add_argument("corpus")
    t.add_argument(
        "--out",
        required=True,
        help="output file (word2vec format; for fasttext, a .bin path writes fastText's own format)",
    )
    t.add_argument("--binary", action="store_true", help="write the binary word2vec format")
    t.add_argument("--vector-size", type=int, default=100)
    t.add_argument("--epochs", type=int, help="default 5 (word2vec) or 25 (GloVe)")
    t.add_argument("--window", type=int, help="default 5 (word2vec) or 10 (GloVe)")
    t.add_argument("--min-count", type=int, default=5)
    t.add_argument("--algorithm", choices=["skipgram", "cbow"], default="skipgram")
    t.add_argument("--threads", type=int, default=-1, help="torch threads (default: all cores)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument(
        "--memory-mb",
        type=float,
        default=1024,
        help="MB of encoded corpus held in memory; a larger corpus is memory-mapped from a temporary "
        "file in TMPDIR (default 1024; -1: no limit)",
    )
    t.set_defaults(func=cmd_train)
    for name, func, help_ in (
        ("evaluate", cmd_evaluate, "WordSim353, SimLex-999 and analogy scores"),
        ("similar", cmd_similar, "nearest words by cosine similarity"),
    ):
        c = sub.add_parser(name, help=help_)
        c.add_argument("vectors")
        if name == "similar":
            c.add_argument("word")
            c.add_argument("--topn", type=int, default=10)
        fmt = c.add_mutually_exclusive_group()
        fmt.add_argument("--binary", action="store_true", help="binary word2vec format")
        fmt.add_argument("--glove", action="store_true", help="GloVe text format (no header)")
        c.set_defaults(func=func)
    d = sub.add_parser("demo", help="train on bundled Wikipedia text and show neighbours")
    d.add_argument("--threads", type=int, default=-1)
    d.set_defaults(func=cmd_demo)
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except CliError as exc:
        print(f"skembed: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"skembed: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("skembed: interrupted", file=sys.stderr)
        return 130
    return 0
