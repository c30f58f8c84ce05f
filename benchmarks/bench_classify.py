"""Text classification: TF-IDF + LogisticRegression, fastText and AttentionPoolingClassifier.

    python benchmarks/bench_classify.py [--splits 5] [--repeats 3]

On ../shared/data/sms_spam.tsv and tweets_sentiment.tsv, with stratified 75/25
splits (seeds 0..splits-1), one run measures accuracy, macro-F1, fit seconds
and predict throughput of:

- TF-IDF + LogisticRegression as its users tune it: word 1-2 grams and
  ``char_wb`` 2-5 grams, both with ``sublinear_tf=True``, and ``C`` chosen by
  3-fold cross-validation over 1, 10, 100 on the training split only, 2 jobs
  (``GridSearchCV``; "fit s" is the refit with the chosen ``C``, the search's
  own time is "tune s");
- fastText supervised as its tutorial prepares the text (lower-cased,
  punctuation split from words), with bigrams (``wordNgrams=2``), 25 epochs and
  learning rate 0.5 (the tutorial's advice for small data), 2 threads;
- skembed's AttentionPoolingClassifier with its DEFAULT parameters (one
  network), as an ensemble of three (``ensemble_size=3``), and with character
  n-grams (``subwords=(3, 6)``).

Every model is fitted once on a tiny set first so that one-off warm-up (torch's
lazy initialisation, imports) is not counted as fit time. Each split is fitted
``--repeats`` times (default 3) after a ``gc.collect()``; fit time is the median
of all fits, accuracy and F1 the mean over splits of the first fit. Split ``i``
also seeds the models (``random_state=i``): a trained model's accuracy moves by a
few thousandths with its seed alone, so one seed for every split would report
that seed's luck.
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA, machine, markdown_table  # noqa: E402


def load(name):
    with open(DATA / name, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    return [r[1] for r in rows], np.array([r[0] for r in rows])


def fasttext_tokens(text):
    """Lower-cased, with punctuation split from words, as fastText's tutorial prepares text."""
    return " ".join(re.findall(r"\w+|[^\w\s]", text.lower()))


class FastText:
    """fastText's supervised classifier behind fit/predict, on ``fasttext_tokens``."""

    def __init__(self, **params):
        self.params = params

    def fit(self, X, y):
        import fasttext

        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as fh:
            for text, label in zip(X, y):
                fh.write(f"__label__{label} {fasttext_tokens(text)}\n")
        try:
            self.model = fasttext.train_supervised(fh.name, verbose=0, **self.params)
        finally:
            os.unlink(fh.name)
        return self

    def predict(self, X):
        labels, _ = self.model.predict([fasttext_tokens(t) for t in X])
        return np.array([lab[0].replace("__label__", "") for lab in labels])


def models(params):
    from skembed import AttentionPoolingClassifier

    def tuned_tfidf(**tfidf):
        pipe = make_pipeline(TfidfVectorizer(sublinear_tf=True, **tfidf), LogisticRegression(max_iter=1000))
        return lambda seed: GridSearchCV(pipe, {"logisticregression__C": [1.0, 10.0, 100.0]}, cv=3, n_jobs=2)

    out = {
        "TF-IDF word 1-2g sublinear + LogReg, C by CV": tuned_tfidf(ngram_range=(1, 2)),
        "TF-IDF char_wb 2-5 sublinear + LogReg, C by CV": tuned_tfidf(analyzer="char_wb", ngram_range=(2, 5)),
        "skembed AttentionPooling (defaults)": lambda seed: AttentionPoolingClassifier(random_state=seed, **params),
        "skembed AttentionPooling, ensemble_size=3": lambda seed: AttentionPoolingClassifier(
            random_state=seed, **{"ensemble_size": 3, **params}
        ),
        "skembed AttentionPooling, subwords=(3, 6)": lambda seed: AttentionPoolingClassifier(
            random_state=seed, **{"subwords": (3, 6), **params}
        ),
    }
    try:
        import fasttext  # noqa: F401

        out["fastText normalized, bigrams, 25 epochs, lr 0.5"] = lambda seed: FastText(
            wordNgrams=2, epoch=25, lr=0.5, thread=2, seed=seed
        )
    except ImportError:
        print("fastText is not installed (pip install fasttext-numpy2-wheel); skipping it")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--splits", type=int, default=5)
    ap.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="fits per split; fit time is the median of all fits (this VM's timings vary by 10-30%%)",
    )
    ap.add_argument("--datasets", default="sms_spam.tsv,tweets_sentiment.tsv")
    ap.add_argument("--models", help="comma-separated substrings of model names to run")
    ap.add_argument("--params", default="", help="extra AttentionPoolingClassifier parameters, e.g. 'batch_size=64'")
    args = ap.parse_args(argv)
    print(f"{machine()}; {args.splits} stratified 75/25 splits, {args.repeats} fits each (median fit time)\n")
    factories = models(eval(f"dict({args.params})"))
    if args.models:
        factories = {k: v for k, v in factories.items() if any(m in k for m in args.models.split(","))}
    warm_X, warm_y = ["good movie", "bad movie", "great film", "awful film"] * 10, ["p", "n", "p", "n"] * 10
    for make in factories.values():
        make(0).fit(warm_X, np.array(warm_y))
    rows = []
    for name in args.datasets.split(","):
        X, y = load(name)
        for model, make in factories.items():
            acc, f1, fit_s, tune_s, pred_rate = [], [], [], [], []
            for seed in range(args.splits):
                Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
                for repeat in range(args.repeats):
                    est = make(seed)
                    gc.collect()  # a full collection of the process's objects is not the model's cost
                    t0 = time.perf_counter()
                    est.fit(Xtr, ytr)
                    elapsed = time.perf_counter() - t0
                    if hasattr(est, "refit_time_"):  # a search: the single fit is its refit
                        tune_s.append(elapsed - est.refit_time_)
                        elapsed = est.refit_time_
                    fit_s.append(elapsed)
                    if repeat:
                        continue
                    t1 = time.perf_counter()
                    pred = est.predict(Xte)
                    t2 = time.perf_counter()
                    acc.append(accuracy_score(yte, pred))
                    f1.append(f1_score(yte, pred, average="macro"))
                    pred_rate.append(len(Xte) / (t2 - t1))
            row = {
                "data": name.split(".")[0],
                "model": model,
                "accuracy": float(np.mean(acc)),
                "macro-F1": float(np.mean(f1)),
                "fit s": float(np.median(fit_s)),
                "tune s": float(np.median(tune_s)) if tune_s else "",
                "predict docs/s": float(np.mean(pred_rate)),
            }
            rows.append(row)
            print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    print()
    print(markdown_table(rows, ["data", "model", "accuracy", "macro-F1", "fit s", "tune s", "predict docs/s"]))


if __name__ == "__main__":
    main()
