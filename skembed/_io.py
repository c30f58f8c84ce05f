"""Atomic file writes, shared by every writer in the package.

A writer that opens its target and fails midway (Ctrl-C, a full disk) leaves a
truncated file where a good one was. ``atomic_write`` writes a temporary file in
the target's folder (so that the final rename stays on one file system) and
renames it over the target with ``os.replace`` only once it is complete:
readers see the old file or the new one, never a part.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import os
import tempfile

__all__ = ["atomic_write", "check_writable", "is_gzip_path"]


def is_gzip_path(path) -> bool:
    """Whether ``path`` names a gzip file (``.gz``), which writers compress and readers inflate."""
    return os.fspath(path).endswith(".gz")


def check_writable(path):
    """``path``'s folder, once it exists and is writable and ``path`` is not a folder itself;
    otherwise the ``OSError`` that says which, naming ``path``."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, f"cannot write {path!r}: no such folder", folder)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, f"cannot write {path!r}: it is a folder", path)
    if not os.access(folder, os.W_OK):
        raise PermissionError(errno.EACCES, f"cannot write {path!r}: the folder is not writable", folder)
    return folder


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path, compress=None):
    """A binary file object whose content replaces ``path`` once the block ends without error.

    ``compress`` (default: ``is_gzip_path(path)``) wraps the file in gzip. On any
    exception the temporary file is removed and ``path`` is left as it was.
    """
    path = os.fspath(path)
    compress = is_gzip_path(path) if compress is None else compress
    folder = check_writable(path)  # (else mkstemp's error names its temporary file, not ``path``)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); give it the mode the target has, or the
        # one a plain open() would give a new file
        os.chmod(tmp, os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as raw:
            if compress:
                with gzip.GzipFile(fileobj=raw, mode="wb") as fh:
                    yield fh
            else:
                yield raw
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
