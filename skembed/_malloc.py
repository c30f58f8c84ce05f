"""Handing freed heap memory back to the system between the chunks of a long pass.

glibc serves a large allocation with its own mapping until one is freed, and
then raises its mapping threshold, so later arrays of a chunk's size come from
the heap; chunks of varying size then fragment it, and the freed pieces stay
resident. A fit that works chunk by chunk (the scan, word2vec's epochs, the
co-occurrence count) grew its resident set by about 25 bytes per corpus token
that way, all of it free memory. ``malloc_trim`` returns those free pages; it
costs a few milliseconds, so callers trim once per chunk of about a hundred
thousand tokens or more. Elsewhere (other C libraries) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["release_free_memory"]


def _trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # musl and others have no malloc_trim
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_MALLOC_TRIM = _trim()


def release_free_memory() -> None:
    """Return the heap's free pages to the system (glibc's ``malloc_trim(0)``); a no-op elsewhere."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
