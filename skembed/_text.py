"""Tokenization and the input checks shared by every skembed estimator.

A document is either a ``str`` (tokenized here) or a sequence of ``str`` tokens
(pre-tokenized input, used exactly as given). Every estimator funnels its input
through :func:`iter_token_lists`, so the error messages are the same everywhere.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

# Runs of word characters. Without the \b anchors of scikit-learn's pattern, but it finds
# the same tokens: a greedy \w+ scan only ever starts and ends at word boundaries.
# About a quarter faster.
DEFAULT_TOKEN_PATTERN = r"(?u)\w+"
CLASSIFIER_TOKEN_PATTERN = r"(?u)\w+|[^\w\s]"  # words and single punctuation marks
# the patterns skembed's estimators default to: skembed.load accepts these from a file without trusted=True
SKEMBED_TOKEN_PATTERNS = frozenset({DEFAULT_TOKEN_PATTERN, CLASSIFIER_TOKEN_PATTERN})

__all__ = [
    "Tokenizer",
    "NgramTokenizer",
    "DEFAULT_TOKEN_PATTERN",
    "CLASSIFIER_TOKEN_PATTERN",
    "check_documents",
    "iter_token_lists",
]


class Tokenizer:
    """Turn raw text into a list of tokens.

    Parameters
    ----------
    lowercase : bool, default=True
        Lowercase raw text before matching tokens. Pre-tokenized documents are
        never changed.
    token_pattern : str, default=r"(?u)\\w+"
        Regular expression whose matches are the tokens (as in scikit-learn's
        ``CountVectorizer``). If it has one capturing group, the group is the token.
    tokenizer : callable or None, default=None
        A function ``str -> list[str]`` that replaces ``token_pattern``.
    max_document_chars : int or None, default=None
        Raw documents longer than this are truncated before tokenization, which
        bounds the memory and time a single huge document can take.
    """

    def __init__(self, lowercase=True, token_pattern=DEFAULT_TOKEN_PATTERN, tokenizer=None, max_document_chars=None):
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.tokenizer = tokenizer
        self.max_document_chars = max_document_chars
        limit = max_document_chars
        if limit is not None and (not isinstance(limit, numbers.Integral) or isinstance(limit, bool) or limit < 1):
            # (-1 once cut the last character off every document)
            raise ValueError(f"max_document_chars must be None or an int >= 1, got {max_document_chars!r}")
        if tokenizer is not None and not callable(tokenizer):
            raise TypeError(f"tokenizer must be callable or None, got {type(tokenizer).__name__}")
        if tokenizer is None:
            try:
                regex = re.compile(token_pattern)
            except (re.error, TypeError) as exc:
                raise ValueError(f"token_pattern {token_pattern!r} is not a valid regular expression: {exc}") from None
            if regex.groups > 1:
                raise ValueError(
                    f"token_pattern {token_pattern!r} has {regex.groups} capturing groups; at most one is allowed"
                )
            if regex.search("") is not None:
                raise ValueError(
                    f"token_pattern {token_pattern!r} matches the empty string, so every gap between "
                    "tokens would be an empty token; use + where it has *, e.g. r'(?u)\\w+'"
                )
            self._findall = regex.findall
        else:
            self._findall = None

    def __call__(self, doc: str) -> list[str]:
        if self.max_document_chars is not None and len(doc) > self.max_document_chars:
            doc = doc[: self.max_document_chars]
        if self.lowercase:
            doc = doc.lower()
        if self._findall is not None:
            return self._findall(doc)
        tokens = self.tokenizer(doc)
        if isinstance(tokens, str) or not isinstance(tokens, Iterable):
            raise TypeError(f"the tokenizer callable must return a list of str tokens, got {type(tokens).__name__}")
        tokens = list(tokens)
        at = next((i for i, t in enumerate(tokens) if not isinstance(t, str)), -1)
        if at >= 0:
            odd = tokens[at]
            raise TypeError(
                f"the tokenizer callable returned a token of type {type(odd).__name__} ({odd!r}); tokens must be str"
            )
        return tokens

    def from_tokens(self, tokens) -> list[str]:
        """A pre-tokenized document (already checked to hold str only), used as given."""
        return list(tokens)

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_findall", None)
        return state

    def __setstate__(self, state):
        self.__init__(state["lowercase"], state["token_pattern"], state["tokenizer"], state.get("max_document_chars"))


def check_documents(X, *, allow_generator=True):
    """Reject inputs that cannot be a collection of documents.

    Returns ``X`` unchanged (still lazy when it is an iterator).
    """
    if isinstance(X, (str, bytes)):
        raise TypeError(
            "Iterable over raw text documents expected, string object received. "
            "Wrap a single document in a list: [text]."
        )
    if X is None:
        raise TypeError("X must be an iterable of documents (str or lists of str tokens), got None")
    if isinstance(X, np.ndarray) and X.ndim != 1:
        raise ValueError(f"X must be a 1-D collection of documents, got an array of shape {X.shape}")
    if hasattr(X, "iloc") and getattr(X, "ndim", 1) == 2:  # a pandas DataFrame
        if X.shape[1] != 1:
            raise ValueError(f"X must be one column of documents, got a DataFrame with {X.shape[1]} columns")
        X = X.iloc[:, 0]
    if not isinstance(X, Iterable):
        raise TypeError(f"X must be an iterable of documents, got {type(X).__name__}")
    if not allow_generator and not hasattr(X, "__len__"):
        raise TypeError("X must be a sized collection of documents here (a list or array), not a generator")
    return X


def _as_tokens(doc, position: int, tokenizer: Tokenizer) -> list[str]:
    if isinstance(doc, str):
        return tokenizer(doc)
    if isinstance(doc, bytes):
        try:
            return tokenizer(doc.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ValueError(f"document {position} is bytes that are not valid UTF-8: {exc}") from None
    if doc is None:
        raise ValueError(f"document {position} is None; every document must be a str or a list of str tokens")
    if isinstance(doc, np.str_):
        return tokenizer(str(doc))
    if type(doc) is list or isinstance(doc, Sequence) or (isinstance(doc, np.ndarray) and doc.ndim == 1):
        if not set(map(type, doc)) <= {str}:  # C-level check; the loop below only runs on error
            tok = next(t for t in doc if not isinstance(t, str))
            raise TypeError(
                f"document {position} is a token list holding a {type(tok).__name__} ({tok!r}); tokens must be str"
            )
        return tokenizer.from_tokens(doc)
    if isinstance(doc, float) and doc != doc:
        raise ValueError(f"document {position} is NaN (a missing value); fill or drop missing texts first")
    raise TypeError(
        f"document {position} is a {type(doc).__name__} ({doc!r:.40}); every document must be a str "
        "or a list of str tokens"
    )


def iter_token_lists(X, tokenizer: Tokenizer, *, allow_empty=False) -> Iterator[list[str]]:
    """Yield one token list per document, with clear errors for bad documents.

    Raises ``ValueError`` for an empty collection once it has been consumed,
    unless ``allow_empty`` (transform and predict accept zero documents).
    """
    X = check_documents(X)
    n = 0
    for n, doc in enumerate(X, start=1):
        yield _as_tokens(doc, n - 1, tokenizer)
    if n == 0 and not allow_empty:
        raise ValueError("X is empty: at least one document is needed")


class NgramTokenizer(Tokenizer):
    """Tokens, then their joined word n-grams up to ``n`` (as fastText adds bigrams),
    cut to the first ``max_length`` (None: all); pre-tokenized documents get the same
    treatment."""

    def __init__(self, base: Tokenizer, n: int, max_length: int):
        self.base, self.n, self.max_length = base, n, max_length

    def __call__(self, doc):
        return self.from_tokens(self.base(doc))

    def from_tokens(self, tokens):
        if self.n == 1:
            out = tokens[: self.max_length]  # a new list: the caller's is never aliased
            return out if type(out) is list else list(out)
        out = list(tokens)
        for k in range(2, self.n + 1):
            out += map(" ".join, zip(*(tokens[i:] for i in range(k))))
        return out[: self.max_length]

    def __getstate__(self):
        return self.__dict__.copy()

    def __setstate__(self, state):
        self.__dict__.update(state)
