"""skembed: scikit-learn-compatible text embeddings and attention classifiers on PyTorch."""

__version__ = "0.1.0"

from . import datasets  # noqa: E402  (skembed.datasets is part of the public API)
from ._base import SkembedVersionWarning
from ._text import Tokenizer
from ._vocab import Vocabulary
from .attention import AttentionPoolingClassifier
from .fasttext import FastTextVectorizer
from .glove import GloVeVectorizer
from .persistence import load, save
from .pooling import DocumentPooler, pool
from .pretrained import PretrainedVectorizer
from .subword_vectors import SubwordVectors
from .vectors import WordVectors
from .word2vec import Word2VecVectorizer

__all__ = [
    "__version__",
    "AttentionPoolingClassifier",
    "DocumentPooler",
    "FastTextVectorizer",
    "GloVeVectorizer",
    "PretrainedVectorizer",
    "SkembedVersionWarning",
    "SubwordVectors",
    "Tokenizer",
    "Vocabulary",
    "Word2VecVectorizer",
    "WordVectors",
    "datasets",
    "load",
    "pool",
    "save",
]
