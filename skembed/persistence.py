"""Saving fitted estimators without pickle: ``skembed.save`` / ``skembed.load``.

Why: ``pickle`` and ``joblib`` files run code when loaded, so a model file from
an untrusted place is a security risk. skembed's own format is one zip file
holding ``skembed.json`` (parameters and fitted state as JSON, every value
tagged with its type) and ``.npy`` arrays read with ``allow_pickle=False``.
Loading rebuilds only skembed's own classes (a fixed list) from plain data:
a tampered or foreign file can fail to load, but it cannot run code.

Pickle/joblib remain supported (tensors are stored as CPU arrays there too);
use them for estimators with custom callables (a ``tokenizer`` function),
which this format refuses to store.
"""

from __future__ import annotations

import inspect
import io
import json
import math
import numbers
import os
import warnings
import zipfile
import zlib

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils._param_validation import InvalidParameterError, validate_parameter_constraints

from ._io import atomic_write
from ._text import SKEMBED_TOKEN_PATTERNS

__all__ = ["save", "load"]

FORMAT = "skembed-safe"
FORMAT_VERSION = 1
_MANIFEST = "skembed.json"
MAX_BYTES = 4 << 30  # what load's entries may inflate to, all together, unless the caller says more


def _classes():
    from .attention import AttentionPoolingClassifier
    from .fasttext import FastTextVectorizer
    from .glove import GloVeVectorizer
    from .pooling import DocumentPooler
    from .pretrained import PretrainedVectorizer
    from .subword_vectors import SubwordVectors
    from .vectors import WordVectors
    from .word2vec import Word2VecVectorizer

    return {
        c.__name__: c
        for c in (
            Word2VecVectorizer,
            GloVeVectorizer,
            FastTextVectorizer,
            PretrainedVectorizer,
            AttentionPoolingClassifier,
            WordVectors,
            SubwordVectors,
            DocumentPooler,
        )
    }


class _Writer:
    def __init__(self):
        self.arrays = {}
        self._names = {}  # id of an array already written -> its entry (the object is kept alive)

    def array(self, arr):
        if isinstance(arr, np.ndarray) and id(arr) in self._names:
            # the same array twice (a PretrainedVectorizer's vectors are its parameter and its wv_)
            return {"__array__": self._names[id(arr)][0]}
        ref = self._array(arr)
        if isinstance(arr, np.ndarray) and "__array__" in ref:
            self._names[id(arr)] = (ref["__array__"], arr)
        return ref

    def _array(self, arr):
        arr = np.asarray(arr)
        if arr.dtype == object:
            if all(isinstance(v, str) for v in arr.ravel()):
                return {"__strings__": arr.tolist()}
            if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in arr.ravel()):
                arr = arr.astype(np.int64)
            else:
                raise TypeError("an array of mixed Python objects cannot be stored in the safe format")
        name = f"arrays/{len(self.arrays)}.npy"
        self.arrays[name] = arr
        return {"__array__": name}

    def encode(self, value, where="value"):
        classes = _classes()
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, (float, np.floating)):
            value = float(value)
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, np.ndarray):
            return self.array(value)
        if isinstance(value, torch.Tensor):
            return self.array(value.detach().cpu().numpy())
        if isinstance(value, torch.device):
            return str(value)
        if sp.issparse(value):
            m = sp.csr_matrix(value)
            return {
                "__csr__": {
                    "data": self.array(m.data),
                    "indices": self.array(m.indices),
                    "indptr": self.array(m.indptr),
                    "shape": list(m.shape),
                }
            }
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v, where) for v in value]}
        if isinstance(value, list):
            return [self.encode(v, where) for v in value]
        if isinstance(value, dict):
            if all(isinstance(k, str) for k in value):
                return {"__dict__": {k: self.encode(v, f"{where}.{k}") for k, v in value.items()}}
            return {"__items__": [[self.encode(k, where), self.encode(v, where)] for k, v in value.items()]}
        if type(value).__name__ in classes and type(value) is classes[type(value).__name__]:
            state = value.__getstate__() if hasattr(value, "__getstate__") else vars(value)
            return {"__object__": type(value).__name__, "state": self.encode(dict(state), where)}
        if callable(value):
            raise TypeError(
                f"{where} is a callable ({value!r}); the safe format stores data only. "
                "Use joblib or pickle for estimators with custom callables."
            )
        hint = ""
        if hasattr(value, "index_to_key") and hasattr(value, "vectors"):
            hint = "; give skembed.WordVectors.from_gensim(...) of it instead, or use joblib"
        raise TypeError(f"{where} of type {type(value).__name__} cannot be stored in the safe format{hint}")


class _Reader:
    """Decodes a manifest, reading each array entry once, within a byte budget.

    Before an entry is inflated its declared size (which ``zipfile`` never reads past)
    is checked against what is left of ``max_bytes``; before an array is built its
    ``.npy`` header's shape and dtype are checked against the entry's size, so neither
    a zip bomb nor a header claiming a huge shape allocates more than the budget.
    """

    def __init__(self, zf, max_bytes, trusted):
        self.zf = zf
        self.left = max_bytes
        self.trusted = trusted
        self.infos = {info.filename: info for info in zf.infolist()}
        self.cache = {}

    def array(self, name):
        if not isinstance(name, str) or not name.startswith("arrays/") or name not in self.infos:
            raise ValueError(f"the file refers to a missing array {name!r}")
        if name not in self.cache:
            size = self.infos[name].file_size
            if size > self.left:
                raise ValueError(
                    f"array {name!r} would take {size:,} bytes, over the load budget (max_bytes; {self.left:,} left)"
                )
            self.left -= size
            self.cache[name] = _npy(self.zf.read(name), name)
        return self.cache[name]

    def decode(self, value):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict) or len(value) not in (1, 2):
            raise ValueError(f"unexpected entry in the file: {str(value)[:80]}")
        tag = next(iter(value))
        body = value[tag]
        if tag == "__array__":
            return self.array(body)
        if tag == "__strings__":
            return np.array(body, dtype=object)
        if tag == "__float__":
            if body not in ("nan", "inf", "-inf"):
                raise ValueError(f"bad float {body!r}")
            return float(body)
        if tag == "__tuple__":
            return tuple(self.decode(v) for v in body)
        if tag == "__dict__":
            return {str(k): self.decode(v) for k, v in body.items()}
        if tag == "__items__":
            return {self._key(self.decode(k)): self.decode(v) for k, v in body}
        if tag == "__csr__":
            return sp.csr_matrix(
                (self.decode(body["data"]), self.decode(body["indices"]), self.decode(body["indptr"])),
                shape=tuple(body["shape"]),
            )
        if tag == "__object__":
            classes = _classes()
            if body not in classes:
                raise ValueError(
                    f"the file asks for class {body!r}, which is not one of skembed's "
                    f"({', '.join(sorted(classes))}); refusing to load it"
                )
            obj = classes[body].__new__(classes[body])
            state = self.decode(value["state"])
            if not isinstance(state, dict):
                raise ValueError(f"the state of a {body} must be a mapping")
            if hasattr(obj, "get_params"):
                self._check_params(obj, state)
            if hasattr(obj, "__setstate__"):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # versions are checked once, for the whole file
                    obj.__setstate__(state)
            else:
                obj.__dict__.update(state)
            return obj
        raise ValueError(f"unknown entry type {tag!r} in the file")

    def _check_params(self, est, state):
        """An estimator's stored parameters must pass its own constraints, and its
        ``token_pattern`` must be one of skembed's unless the caller trusts the file;
        checked before the estimator (and any network it holds) is built."""
        params = {}
        defaults = inspect.signature(type(est).__init__).parameters
        for name in type(est)._get_param_names():
            # a parameter added after the file was written takes its default, which keeps the
            # old behaviour (e.g. a classifier saved before ``subwords`` existed)
            params[name] = state.setdefault(name, defaults[name].default)
        try:
            validate_parameter_constraints(type(est)._parameter_constraints, params, type(est).__name__)
        except InvalidParameterError as exc:
            raise ValueError(str(exc)) from None
        pattern = params.get("token_pattern")
        if pattern is not None and pattern not in SKEMBED_TOKEN_PATTERNS and not self.trusted:
            raise ValueError(
                f"its {type(est).__name__} uses token_pattern {pattern!r}, which is not one of "
                "skembed's; a regular expression can be made to run for hours on a short text, "
                "so load it with trusted=True only if you trust where the file came from"
            )

    @staticmethod
    def _key(k):
        if isinstance(k, np.ndarray):
            raise ValueError("an array cannot be a dictionary key")
        return k


def _npy(data, name):
    """The array of ``.npy`` bytes, once its header agrees with their length (no pickle)."""
    buf = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(buf)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(buf, max_header_size=10000)
    except (ValueError, SyntaxError, TypeError) as exc:
        raise ValueError(f"array {name!r} has no valid .npy header: {exc}") from None
    if dtype.hasobject:
        raise ValueError(f"array {name!r} holds Python objects, which cannot be read without pickle")
    count = math.prod(shape)
    if count * dtype.itemsize != len(data) - buf.tell():
        raise ValueError(
            f"array {name!r} claims shape {shape} of {dtype} but holds {len(data) - buf.tell():,} bytes of data"
        )
    buf.seek(0)
    try:
        array = np.load(buf, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"array {name!r} cannot be read without pickle: {exc}") from None
    # every array skembed saves (vectors, weights, idf, counts) is finite: a NaN or an infinity
    # is damage, which would otherwise come out of transform and predict as NaN
    if np.issubdtype(array.dtype, np.inexact) and not np.isfinite(array).all():
        raise ValueError(f"array {name!r} holds NaN or infinity")
    return array


# what reading a damaged or hostile archive can raise (inflating, bad headers, huge claims)
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, MemoryError, OverflowError)


def save(obj, path):
    """Write a skembed estimator (fitted or not) or ``WordVectors`` to one safe file.

    Parameters
    ----------
    obj : a skembed vectorizer, AttentionPoolingClassifier or WordVectors
    path : str or path-like

    Raises
    ------
    TypeError
        If ``obj`` is not a skembed object, or holds a custom callable.
    """
    from . import __version__

    classes = _classes()
    if type(obj).__name__ not in classes or type(obj) is not classes[type(obj).__name__]:
        raise TypeError(f"skembed.save stores skembed's estimators and WordVectors, not {type(obj).__name__}")
    writer = _Writer()
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "skembed_version": __version__,
        "object": writer.encode(obj, type(obj).__name__),
    }
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or path-like, not {type(path).__name__}")
    # written whole to a temporary file, then renamed over ``path``: an interrupted save
    # leaves the previous file as it was
    with atomic_write(path, compress=False) as fh, zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_MANIFEST, json.dumps(payload))
        for name, arr in writer.arrays.items():
            buf = io.BytesIO()
            np.save(buf, arr, allow_pickle=False)
            zf.writestr(name, buf.getvalue())


def load(path, *, max_bytes=MAX_BYTES, trusted=False):
    """Read an object written by :func:`save`; never unpickles or runs code from the file.

    The file is untrusted input: see the README's "Saving" section for what is
    checked before anything is built.

    Parameters
    ----------
    path : str or path-like
    max_bytes : int, default=4 GiB
        The most bytes the file's entries may inflate to, all together (each is
        read once, and its declared size checked before it is inflated).
    trusted : bool, default=False
        Accept a ``token_pattern`` that is not one of skembed's own. A regular
        expression from a file can be written to backtrack for hours on a short
        text, so by default such a file is refused.

    Raises
    ------
    ValueError
        If the file is not a skembed file, names a class that is not skembed's,
        holds data that cannot be read safely, parts that disagree, parameters
        outside their estimator's constraints, or goes over ``max_bytes``.
    """
    from . import SkembedVersionWarning, __version__

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or path-like, not {type(path).__name__}")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, numbers.Integral) or max_bytes <= 0:
        raise ValueError(f"max_bytes must be a positive number of bytes, got {max_bytes!r}")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise ValueError(f"{path!r} is not a skembed file (not a readable zip archive: {exc})") from None
    with zf:
        if _MANIFEST not in zf.namelist():
            raise ValueError(f"{path!r} is not a skembed file (no {_MANIFEST})")
        reader = _Reader(zf, max_bytes, trusted)
        if zf.getinfo(_MANIFEST).file_size > max_bytes:
            raise ValueError(
                f"{path!r}: {_MANIFEST} would take {zf.getinfo(_MANIFEST).file_size:,} bytes, "
                f"over max_bytes={max_bytes:,}"
            )
        reader.left -= zf.getinfo(_MANIFEST).file_size
        try:
            payload = json.loads(zf.read(_MANIFEST))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, *_READ_ERRORS) as exc:
            raise ValueError(f"{path!r}: {_MANIFEST} is not valid JSON: {exc}") from None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ValueError(f"{path!r} is not a skembed file")
        if payload.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"{path!r} has format version {payload.get('format_version')}; "
                f"this skembed reads version {FORMAT_VERSION}"
            )
        if payload.get("skembed_version") != __version__:
            warnings.warn(
                f"{path!r} was saved with skembed {payload.get('skembed_version')} and is loaded "
                f"with skembed {__version__}; results may differ",
                SkembedVersionWarning,
                stacklevel=2,
            )
        obj = payload.get("object")
        if not isinstance(obj, dict) or "__object__" not in obj:
            raise ValueError(f"{path!r} holds no skembed object")
        try:
            return reader.decode(obj)
        except ValueError as exc:
            raise ValueError(f"{path!r}: {exc}") from None
        except (KeyError, TypeError, AttributeError, IndexError, RecursionError, *_READ_ERRORS) as exc:
            raise ValueError(f"{path!r} is damaged or not a skembed file: {exc!r}") from None
