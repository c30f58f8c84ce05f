"""Figures for embeddings, attention and training curves (matplotlib, an optional extra).

Every function draws on ``ax`` (a new figure when None) and returns the Axes,
so it works headless: save with ``ax.figure.savefig("file.png")``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_embeddings", "plot_attention", "plot_history"]


def _pyplot():
    try:
        import matplotlib

        if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "cairo") and not _has_display():
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'skembed[plot]'") from None
    return plt


def _has_display():
    import os

    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.name == "nt")


def _axes(ax, figsize):
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=figsize)
    return ax


def plot_embeddings(wv, words, method="pca", ax=None, random_state=0, annotate=True):
    """A 2-D map of chosen words (PCA, or t-SNE with ``method="tsne"``).

    Parameters
    ----------
    wv : WordVectors
    words : list of str
        Words to place; unknown ones are skipped (at least 2 must be known).

    Returns
    -------
    matplotlib.axes.Axes
    """
    known = [w for w in words if w in wv]
    if len(known) < 2:
        raise ValueError("at least two of the words must be in the vocabulary")
    vectors = wv[known].astype(np.float64)
    if method == "pca":
        from sklearn.decomposition import PCA

        xy = PCA(n_components=2, random_state=random_state).fit_transform(vectors)
    elif method == "tsne":
        from sklearn.manifold import TSNE

        xy = TSNE(
            n_components=2, perplexity=min(30.0, len(known) - 1), init="pca", random_state=random_state
        ).fit_transform(vectors)
    else:
        raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}")
    ax = _axes(ax, (7, 6))
    ax.scatter(xy[:, 0], xy[:, 1], s=18, color="tab:blue")
    if annotate:
        for (x, y), word in zip(xy, known):
            ax.annotate(word, (x, y), fontsize=9, xytext=(3, 3), textcoords="offset points")
    ax.set_title(f"Word vectors ({method.upper()})")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def plot_attention(clf, texts, ax=None, max_tokens=30):
    """Each text's tokens shaded by the attention a fitted ``AttentionPoolingClassifier`` gives them.

    Returns
    -------
    matplotlib.axes.Axes
    """
    explained = clf.explain(texts)
    predicted = clf.predict(texts)
    rows = len(explained)
    ax = _axes(ax, (12, 0.6 * rows + 1))
    cmap = _pyplot().get_cmap("Reds")
    for r, (pairs, label) in enumerate(zip(explained, predicted)):
        pairs = [(t, w) for t, w in pairs if " " not in t][:max_tokens]  # unigrams (n-gram tokens overlap them)
        top = max((w for _, w in pairs), default=1.0) or 1.0
        x = 0.0
        y = rows - r - 1
        ax.text(
            -0.01,
            y,
            str(label),
            ha="right",
            va="center",
            fontsize=9,
            fontweight="bold",
            transform=ax.get_yaxis_transform(),
        )
        for token, weight in pairs:
            ax.text(
                x,
                y,
                token,
                va="center",
                fontsize=10,
                bbox=dict(boxstyle="round,pad=0.2", fc=cmap(0.85 * weight / top), ec="none"),
            )
            x += 0.012 * (len(token) + 2)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.7, rows - 0.3)
    ax.axis("off")
    ax.set_title("Attention per token (darker = more weight); predicted label on the left")
    return ax


def plot_history(estimator, ax=None):
    """Loss per epoch from ``history_`` (and validation accuracy where recorded), one line
    per network of an ensembled classifier.

    Returns
    -------
    matplotlib.axes.Axes
    """
    history = getattr(estimator, "history_", None)
    if not history:
        raise ValueError("the estimator has no history_: fit it first")
    ax = _axes(ax, (6, 4))
    runs = {}
    for h in history:
        runs.setdefault(h.get("member", 0), []).append(h)
    key = "train_loss" if "train_loss" in history[0] else "loss"
    twin = ax.twinx() if any(h.get("val_score") is not None for h in history) else None
    for member, rows in runs.items():
        which = f" (network {member})" if len(runs) > 1 else ""
        epochs = [h["epoch"] for h in rows]
        ax.plot(epochs, [h[key] for h in rows], marker="o", label="training loss" + which)
        if twin is not None:
            twin.plot(
                epochs, [h.get("val_score") for h in rows], marker="s", ls="--", label="validation accuracy" + which
            )
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if twin is not None:
        twin.set_ylabel("validation accuracy")
        twin.legend(loc="center right")
    ax.legend(loc="upper right")
    ax.set_title(type(estimator).__name__)
    return ax
