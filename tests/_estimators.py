"""The public estimators with small, fast settings, shared by the compatibility tests."""

import numpy as np

from skembed import (
    AttentionPoolingClassifier,
    FastTextVectorizer,
    GloVeVectorizer,
    PretrainedVectorizer,
    Word2VecVectorizer,
    WordVectors,
)

TEXTS = [
    "the cat sat on the mat",
    "a dog chased the cat",
    "free prize call now",
    "win cash now",
    "lunch at noon",
    "see you at lunch",
    "claim your free prize",
    "the dog sat on the log",
] * 6
LABELS = np.array(["pets", "pets", "spam", "spam", "ham", "ham", "spam", "pets"] * 6)
_WORDS = sorted({w for t in TEXTS for w in t.split()} - {"noon"})  # (one word the vectors lack)
VECTORS = WordVectors(_WORDS, np.random.default_rng(0).normal(size=(len(_WORDS), 8)).astype(np.float32))


def factories():
    return {
        "word2vec": lambda **kw: Word2VecVectorizer(
            **{"vector_size": 8, "min_count": 1, "epochs": 1, "random_state": 0, **kw}
        ),
        "fasttext": lambda **kw: FastTextVectorizer(
            **{"vector_size": 8, "min_count": 1, "epochs": 1, "bucket": 1000, "random_state": 0, **kw}
        ),
        "glove": lambda **kw: GloVeVectorizer(
            **{"vector_size": 8, "min_count": 1, "epochs": 2, "random_state": 0, **kw}
        ),
        "attention": lambda **kw: AttentionPoolingClassifier(
            **{"epochs": 2, "embedding_dim": 8, "hidden_dim": 8, "random_state": 0, **kw}
        ),
    }


def all_factories():
    """``factories()`` and the estimators that train nothing (no training parameters)."""
    return {**factories(), "pretrained": lambda **kw: PretrainedVectorizer(**{"vectors": VECTORS, **kw})}


def fit(est, X=TEXTS, y=LABELS):
    return est.fit(X, y)


def output(est, X=TEXTS):
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.transform(X)
