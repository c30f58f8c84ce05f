"""Facebook fastText's ``.bin`` model files, read and written without the fastText library.

The layout (fastText's ``FastText::saveModel``, format version 12), all little-endian:

- ``int32`` magic 793712314, ``int32`` version;
- the arguments: twelve ``int32`` (dim, ws, epoch, minCount, neg, wordNgrams,
  loss, model, bucket, minn, maxn, lrUpdateRate) and one ``float64`` (t);
- the dictionary: ``int32`` size, nwords, nlabels, ``int64`` ntokens,
  pruneidx_size; then per entry the UTF-8 word and a NUL byte, ``int64`` count,
  ``int8`` type (0 word, 1 label); then pruneidx_size pairs of ``int32``;
- ``uint8`` quantized flag, the input matrix (``int64`` rows, cols, then
  float32 rows: the nwords word rows followed by the bucket n-gram rows);
- ``uint8`` quantized flag, the output matrix the same way.

A file is untrusted input: every count is checked against the bytes that remain
before anything of that size is allocated, and each failure is a ``ValueError``
naming the file.
"""

from __future__ import annotations

import mmap
import os
import struct

import numpy as np

from ._io import atomic_write
from ._word_files import nonfinite_row

__all__ = ["is_fasttext_bin", "read_facebook_bin", "write_facebook_bin"]

MAGIC = 793712314
VERSION = 12
_ARGS = struct.Struct("<12id")
_DICT = struct.Struct("<3i2q")
_MATRIX = struct.Struct("<2q")
_ARG_NAMES = (
    "dim",
    "ws",
    "epoch",
    "min_count",
    "neg",
    "word_ngrams",
    "loss",
    "model",
    "bucket",
    "minn",
    "maxn",
    "lr_update_rate",
    "t",
)
LOSS = {"hs": 1, "ns": 2, "softmax": 3, "ova": 4}
MODEL = {"cbow": 1, "skipgram": 2, "supervised": 3}
_MAX_DIM = 100_000


class _Cursor:
    """Reads a memory-mapped file from the front, checking each read against what remains."""

    def __init__(self, buf, path):
        self.buf, self.pos, self.path = buf, 0, path

    def fail(self, what):
        raise ValueError(f"{os.fspath(self.path)!r} is not a readable fastText .bin model: {what}")

    def unpack(self, fmt: struct.Struct):
        if self.pos + fmt.size > len(self.buf):
            self.fail("it ends early")
        values = fmt.unpack_from(self.buf, self.pos)
        self.pos += fmt.size
        return values

    def word(self):
        end = self.buf.find(b"\0", self.pos)
        if end < 0:
            self.fail("a word is not terminated")
        raw = self.buf[self.pos : end]
        self.pos = end + 1
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("utf-8", errors="replace")

    def matrix(self, what, rows, cols):
        (quantized,) = self.unpack(struct.Struct("<B"))
        if quantized:
            self.fail(f"its {what} matrix is quantized (a .ftz model), which skembed does not read")
        m, n = self.unpack(_MATRIX)
        if (m, n) != (rows, cols):
            self.fail(f"its {what} matrix is {m} x {n}, expected {rows} x {cols}")
        size = m * n * 4
        if self.pos + size > len(self.buf):
            self.fail(f"its {what} matrix claims {size:,} bytes but the file is shorter")
        out = np.frombuffer(self.buf, dtype="<f4", count=m * n, offset=self.pos).reshape(m, n).astype(np.float32)
        bad = nonfinite_row(out)
        if bad is not None:
            self.fail(f"row {bad} of its {what} matrix holds NaN or infinity")
        self.pos += size
        return out


def is_fasttext_bin(path) -> bool:
    """Whether the file at ``path`` starts with fastText's ``.bin`` magic number (False for a
    file that cannot be read: its loader reports that)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == MAGIC.to_bytes(4, "little")
    except OSError:
        return False


def read_facebook_bin(path):
    """Read a fastText ``.bin`` model.

    Returns
    -------
    dict with ``args`` (the arguments by name), ``words`` and ``counts`` (the
    word entries, labels left out), ``labels``, ``input`` ((nwords + bucket, dim)
    float32) and ``output`` (its rows: words, or labels for a supervised model).
    """
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size < 8:
            raise ValueError(f"{os.fspath(path)!r} is not a fastText .bin model: it is {size} bytes")
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            return _read(_Cursor(buf, path))


def _read(cur):
    magic, version = cur.unpack(struct.Struct("<2i"))
    if magic != MAGIC:
        cur.fail("wrong magic number (fastText models from before 2017 are not read)")
    if version > VERSION:
        cur.fail(f"format version {version} is newer than {VERSION}")
    args = dict(zip(_ARG_NAMES, cur.unpack(_ARGS)))
    dim, bucket = args["dim"], args["bucket"]
    if not 0 < dim <= _MAX_DIM or bucket < 0 or not 0 <= args["minn"] <= 64 or not 0 <= args["maxn"] <= 64:
        cur.fail(f"implausible arguments (dim {dim}, bucket {bucket}, minn {args['minn']}, maxn {args['maxn']})")
    if version == 11 and args["model"] == MODEL["supervised"]:
        args["maxn"] = 0  # fastText's own rule for old supervised models
    n_entries, n_words, n_labels, _, prune_size = cur.unpack(_DICT)
    if n_entries < 0 or n_words < 0 or n_labels < 0 or n_words + n_labels != n_entries:
        cur.fail(f"inconsistent dictionary sizes ({n_entries} entries, {n_words} words, {n_labels} labels)")
    if n_entries * 10 > len(cur.buf) - cur.pos:  # each entry takes at least 10 bytes
        cur.fail(f"its dictionary claims {n_entries:,} entries, more than the file holds")
    words, labels, counts = [], [], np.zeros(n_words, np.int64)
    entry = struct.Struct("<qb")
    for _ in range(n_entries):
        word = cur.word()
        count, kind = cur.unpack(entry)
        if kind == 0:
            if len(words) == n_words:
                cur.fail("more word entries than its header says")
            counts[len(words)] = count
            words.append(word)
        else:
            labels.append(word)
    if len(words) != n_words:
        cur.fail("fewer word entries than its header says")
    if prune_size > 0:
        cur.fail("it is a pruned (quantized) model, which skembed does not read")
    n_out = n_labels if args["model"] == MODEL["supervised"] else n_words
    inp = cur.matrix("input", n_words + bucket, dim)
    out = cur.matrix("output", n_out, dim)
    return {"args": args, "words": words, "counts": counts, "labels": labels, "input": inp, "output": out}


def write_facebook_bin(path, words, counts, word_rows, ngram_rows, ngram_buckets, bucket, output, args):
    """Write a fastText ``.bin`` model (unsupervised), atomically.

    ``ngram_rows[i]`` is bucket ``ngram_buckets[i]`` (None: every bucket in
    order); other buckets are written as zero rows, so that fastText's mean over
    a word's n-grams gives what skembed gives. ``args``: the arguments by name
    (``_ARG_NAMES``; ``dim``, ``bucket``, ``minn``, ``maxn`` are taken from the data).
    """
    dim = word_rows.shape[1]
    counts = np.asarray(counts, np.int64)
    values = {**args, "dim": dim, "bucket": bucket}
    head = struct.pack("<2i", MAGIC, VERSION) + _ARGS.pack(*(values[k] for k in _ARG_NAMES))
    head += _DICT.pack(len(words), len(words), 0, int(counts.sum()), -1)
    entries = b"".join(w.encode("utf-8") + b"\0" + struct.pack("<qb", int(c), 0) for w, c in zip(words, counts))
    with atomic_write(path, compress=False) as fh:
        fh.write(head + entries)
        fh.write(struct.pack("<B", 0) + _MATRIX.pack(len(words) + bucket, dim))
        fh.write(np.ascontiguousarray(word_rows, dtype="<f4").tobytes())
        _write_buckets(fh, ngram_rows, ngram_buckets, bucket, dim)
        fh.write(struct.pack("<B", 0) + _MATRIX.pack(*output.shape))
        fh.write(np.ascontiguousarray(output, dtype="<f4").tobytes())


def _write_buckets(fh, rows, buckets, bucket, dim, chunk=1 << 16):
    """The ``bucket`` n-gram rows in bucket order, ``chunk`` rows at a time (zeros where none is stored)."""
    if buckets is None:
        fh.write(np.ascontiguousarray(rows, dtype="<f4").tobytes())
        return
    for start in range(0, bucket, chunk):
        stop = min(start + chunk, bucket)
        block = np.zeros((stop - start, dim), "<f4")
        lo, hi = np.searchsorted(buckets, [start, stop])
        block[buckets[lo:hi] - start] = rows[lo:hi]
        fh.write(block.tobytes())
