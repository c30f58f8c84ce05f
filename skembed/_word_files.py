"""Text and binary files of words and vectors: word2vec's C formats, GloVe's, the
TensorBoard projector's, and word-similarity pair files. Parsed once, here."""

from __future__ import annotations

import gzip
import os

import numpy as np

from ._io import atomic_write, is_gzip_path

__all__ = ["open_text", "read_word_pairs", "save_word2vec", "load_word2vec", "save_projector_tsv"]


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
    """``(words, vectors)`` of a word2vec C file (``no_header``: GloVe's text format)."""
    if binary:
        return _load_binary(path, limit)
    with open_text(path) as fh:
        lines = fh.read().splitlines()
    if not lines:
        raise ValueError(f"{path!r} is empty")
    if not no_header:
        header = lines[0].split()
        if len(header) != 2 or not all(h.isdigit() for h in header):
            raise ValueError(
                f"{path!r}: the first line should be '<n_words> <vector_size>', got "
                f"{lines[0][:60]!r}; use load_glove_format for headerless files"
            )
        n, dim = int(header[0]), int(header[1])
        lines = lines[1 : n + 1]
    lines = [ln for ln in lines if ln.strip()]
    if limit is not None:
        lines = lines[:limit]
    words, rests = zip(*(ln.rstrip().split(" ", 1) for ln in lines)) if lines else ((), ())
    values = np.array(" ".join(rests).split(), dtype=np.float32)
    dim = values.size // max(len(words), 1) if no_header else dim
    if values.size != len(words) * dim:
        raise ValueError(f"{path!r}: rows do not all have {dim} values")
    return list(words), values.reshape(len(words), dim)


def _load_binary(path, limit):
    with gzip.open(path, "rb") if is_gzip_path(path) else open(path, "rb") as fh:
        data = fh.read()
    end = data.index(b"\n")
    n, dim = (int(x) for x in data[:end].split())
    if limit is not None:
        n = min(n, limit)
    pos, width = end + 1, 4 * dim
    words, rows = [], []
    for _ in range(n):
        space = data.index(b" ", pos)
        words.append(data[pos:space].decode("utf-8", errors="replace").lstrip("\n"))
        rows.append(data[space + 1 : space + 1 + width])
        pos = space + 1 + width
    vectors = np.frombuffer(b"".join(rows), dtype="<f4").reshape(n, dim).astype(np.float32)
    return words, vectors


def save_projector_tsv(vectors_path, metadata_path, words, vectors, limit=None):
    """Write the two TSV files the TensorBoard Embedding Projector reads; returns their paths."""
    n = len(words) if limit is None else min(limit, len(words))
    with atomic_write(vectors_path) as fh:
        np.savetxt(fh, vectors[:n], delimiter="\t", fmt="%.6g")
    with atomic_write(metadata_path) as fh:
        fh.write("".join(w.replace("\t", " ").replace("\n", " ") + "\n" for w in words[:n]).encode("utf-8"))
    return os.fspath(vectors_path), os.fspath(metadata_path)
