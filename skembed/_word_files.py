"""Text and binary files of words and vectors: word2vec's C formats, GloVe's, the
TensorBoard projector's, and word-similarity pair files. Parsed once, here."""

from __future__ import annotations

import gzip
import os

import numpy as np

from ._io import atomic_write, is_gzip_path

__all__ = ["open_text", "read_word_pairs", "save_word2vec", "load_word2vec", "nonfinite_row", "save_projector_tsv"]


def open_text(path, mode="r"):
    """Open a text file for reading or writing; ``.gz`` files are decompressed."""
    errors = "strict" if "w" in mode else "replace"
    if is_gzip_path(path):
        return gzip.open(path, mode + "t", encoding="utf-8", errors=errors)
    return open(path, mode, encoding="utf-8", errors=errors)


def parse_word_pairs(lines, delimiter="\t"):
    """``(word1, word2, score)`` of each ``word1<delimiter>word2<delimiter>score`` line.

    Blank lines, ``#`` comments and rows whose score is not a number (a header
    such as ``word1 word2 SimLex999``) are skipped; a line with fewer than three
    ``delimiter`` fields is split on whitespace instead.
    """
    rows = []
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.rstrip("\n").split(delimiter)
        if len(parts) < 3:
            parts = line.split()
        try:
            rows.append((parts[0], parts[1], float(parts[2])))
        except (ValueError, IndexError):
            continue
    return rows


def read_word_pairs(path, delimiter="\t"):
    """:func:`parse_word_pairs` of a file (``.gz`` allowed)."""
    with open_text(path) as fh:
        return parse_word_pairs(fh, delimiter)


def save_word2vec(path, words, vectors, binary=False, write_header=True):
    """Write the word2vec C format (text, or binary float32 rows), atomically; ``.gz`` compressed."""
    n, dim = vectors.shape
    with atomic_write(path) as fh:
        if write_header:
            fh.write(f"{n} {dim}\n".encode())
        if binary:
            rows = vectors.astype("<f4")
            for word, row in zip(words, rows):
                fh.write(word.encode("utf-8") + b" " + row.tobytes() + b"\n")
        else:
            body = np.char.mod("%.6g", vectors)
            lines = (word + " " + " ".join(row) + "\n" for word, row in zip(words, body))
            fh.write("".join(lines).encode("utf-8"))


def load_word2vec(path, binary=False, no_header=False, limit=None):
    """``(words, vectors)`` of a word2vec C file (``no_header``: GloVe's text format).

    A file is untrusted input: a header that claims more rows than the file holds (a
    truncated file), rows of different lengths, values that are not numbers, and NaN or
    infinite values are each a ``ValueError`` naming the file and the row, never a silently
    shorter or scrambled vocabulary.
    """
    from ._fasttext_format import is_fasttext_bin  # (that module reads through this one)

    if is_fasttext_bin(path):
        raise ValueError(
            f"{path!r} is a fastText .bin model, not a word2vec file; read it with "
            "SubwordVectors.load_facebook_format (its unseen words get n-gram vectors)"
        )
    if binary:
        return _load_binary(path, limit)
    with open_text(path) as fh:
        lines = fh.read().splitlines()
    if not lines:
        raise ValueError(f"{path!r} is empty")
    n = dim = None
    if not no_header:
        n, dim = _header(lines[0], path, "; use load_glove_format for headerless files")
        lines = lines[1 : n + 1]
    elif _looks_like_header(lines):
        raise ValueError(f"{path!r}: the first line {lines[0][:40]!r} is a word2vec header; use load_word2vec_format")
    lines = [ln for ln in lines if ln.strip()]
    wanted = len(lines) if n is None else n
    if limit is not None:
        wanted = min(wanted, limit)
    if len(lines) < wanted:
        raise ValueError(
            f"{path!r}: the header says {n} words but the file holds {len(lines)} rows "
            "(truncated, or a binary file: binary=True)"
        )
    words, values = [], []
    for i, line in enumerate(lines[:wanted]):
        word, _, rest = line.rstrip().partition(" ")  # (a word may hold other whitespace, as in gensim)
        row = rest.split()
        dim = len(row) if dim is None else dim
        if len(row) != dim or not row:
            raise ValueError(f"{path!r}: row {i} ({word[:40]!r}) has {len(row)} values, not {dim}")
        words.append(word)
        values += row
    try:
        vectors = np.array(values, dtype=np.float32).reshape(len(words), dim or 0)
    except ValueError as exc:
        raise ValueError(f"{path!r}: a vector value is not a number ({exc})") from None
    return words, _finite(vectors, words, path)


def _looks_like_header(lines):
    """Whether a headerless file's first line is a word2vec header (``n d``) rather than a
    word with one value: the rows after it are longer."""
    first = lines[0].split()
    return len(first) == 2 and all(p.isdigit() for p in first) and len(lines) > 1 and len(lines[1].split()) > 2


def _header(line, path, hint=""):
    """``(n_words, vector_size)`` of a word2vec header line (str or bytes)."""
    parts = line.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        shown = line[:60].decode("utf-8", "replace") if isinstance(line, bytes) else line[:60]
        raise ValueError(f"{path!r}: the first line should be '<n_words> <vector_size>', got {shown!r}{hint}")
    n, dim = int(parts[0]), int(parts[1])
    if dim < 1:
        raise ValueError(f"{path!r}: the header's vector size is {dim}; it must be at least 1")
    return n, dim


def nonfinite_row(matrix):
    """The first row of ``matrix`` holding NaN or infinity, or None: vectors from a file or a
    caller are untrusted, and one such row would turn every result it touches into NaN."""
    bad = ~np.isfinite(matrix).all(axis=1)
    return int(np.argmax(bad)) if bad.any() else None


def _finite(vectors, words, path):
    """``vectors``, or a ``ValueError`` naming the first word whose vector holds NaN or infinity."""
    i = nonfinite_row(vectors)
    if i is not None:
        raise ValueError(f"{path!r}: the vector of {words[i][:40]!r} (row {i}) holds NaN or infinity")
    return vectors


def _load_binary(path, limit):
    with gzip.open(path, "rb") if is_gzip_path(path) else open(path, "rb") as fh:
        data = fh.read()
    end = data.find(b"\n")
    n, dim = _header(data[: end if end >= 0 else 80], path)
    if limit is not None:
        n = min(n, limit)
    pos, width = end + 1, 4 * dim
    # each row is at least a one-byte word, a space and its floats: refuse a header that
    # claims more than the file can hold before reading row by row
    if n * (width + 2) > len(data) - pos + 1:
        raise ValueError(
            f"{path!r}: the header says {n} vectors of {dim} floats, more than the file's {len(data)} bytes hold"
        )
    words, rows = [], []
    for i in range(n):
        space = data.find(b" ", pos)
        if space < 0 or space + 1 + width > len(data):
            raise ValueError(f"{path!r}: the file ends inside row {i} of the {n} its header says (truncated?)")
        words.append(data[pos:space].decode("utf-8", errors="replace").lstrip("\n"))
        rows.append(data[space + 1 : space + 1 + width])
        pos = space + 1 + width
    vectors = np.frombuffer(b"".join(rows), dtype="<f4").reshape(n, dim).astype(np.float32)
    return words, _finite(vectors, words, path)


def save_projector_tsv(vectors_path, metadata_path, words, vectors, limit=None):
    """Write the two TSV files the TensorBoard Embedding Projector reads; returns their paths."""
    n = len(words) if limit is None else min(limit, len(words))
    with atomic_write(vectors_path) as fh:
        np.savetxt(fh, vectors[:n], delimiter="\t", fmt="%.6g")
    with atomic_write(metadata_path) as fh:
        fh.write("".join(w.replace("\t", " ").replace("\n", " ") + "\n" for w in words[:n]).encode("utf-8"))
    return os.fspath(vectors_path), os.fspath(metadata_path)
