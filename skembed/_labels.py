"""Labels and sample weights of a classifier's ``fit``: checked with messages that name the
problem, encoded as class indices."""

from __future__ import annotations

import math

import numpy as np
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, column_or_1d

__all__ = ["check_targets", "encode_labels", "given_classes", "sample_weights"]


def check_targets(y, n_docs):
    """``y`` as a 1-d array of ``n_docs`` labels of one type, none of them missing."""
    if y is None:
        raise ValueError("y is required: the classifier needs one label per document")
    y = column_or_1d(np.asarray(y, dtype=object) if not isinstance(y, np.ndarray) else y, warn=True)
    if len(y) != n_docs:
        raise ValueError(f"X has {n_docs} documents but y has {len(y)} labels")
    missing = [i for i, v in enumerate(y) if v is None or (isinstance(v, float) and math.isnan(v))]
    if missing:
        raise ValueError(
            f"y holds {len(missing)} missing labels (None or NaN), the first at position "
            f"{missing[0]}; drop those documents or give them a label"
        )
    if y.dtype == object and len({type(v) for v in y}) > 1:
        kinds = sorted({type(v).__name__ for v in y})
        raise ValueError(f"y mixes label types ({', '.join(kinds)}); use one type, e.g. all strings")
    if y.dtype == object:
        # labels of one Python type in their natural dtype (int64, bool, str...), as scikit-learn
        # holds them: an object array of ints reads as an "unknown" target type to it
        natural = np.asarray(y.tolist())
        if natural.dtype != object and natural.shape == y.shape:
            y = natural
    check_classification_targets(y)
    return y


def encode_labels(y, classes, incremental):
    """``(classes, y as class indices)``: the classes of ``y`` for a full fit; for an
    incremental one the given (or fitted) ``classes``, which must hold every label of ``y``."""
    if not incremental:
        encoder = LabelEncoder().fit(y)
        if len(encoder.classes_) < 2:
            raise ValueError(f"y has only one class ({encoder.classes_[0]!r}); a classifier needs at least two")
        return encoder.classes_, encoder.transform(y)
    classes = given_classes(classes)
    if len(classes) < 2:
        raise ValueError("classes must hold at least two labels")
    unknown = set(np.unique(y)) - set(classes)
    if unknown:
        raise ValueError(f"y holds labels not in classes_: {sorted(map(str, unknown))}")
    return classes, np.searchsorted(classes, y)


def given_classes(classes):
    """``partial_fit``'s ``classes`` as sorted distinct labels in their natural dtype."""
    return np.unique(check_targets(classes, len(classes)) if not isinstance(classes, np.ndarray) else classes)


def sample_weights(y, y_enc, classes, sample_weight, class_weight):
    """Per-document weights: ``sample_weight`` (non-negative) times ``class_weight``'s
    (scikit-learn's "balanced" or a dict, with its clear errors for unknown labels)."""
    sw = _check_sample_weight(sample_weight, np.empty((len(y), 1)), dtype=np.float64)
    if np.any(sw < 0):
        raise ValueError("sample_weight must be non-negative")
    if class_weight is not None:
        sw = sw * compute_class_weight(class_weight, classes=classes, y=y)[y_enc]
    return sw
