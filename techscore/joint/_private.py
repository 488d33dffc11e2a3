"""Files only their owner may read: keys, PSI state, shared codes, credentials, the server's config and state."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_private(path: str | Path, data: bytes | str) -> Path:
    """Write `data` to `path`, readable by its owner only (0600), atomically and without following links.

    The data goes to a new temporary file in the same folder (created 0600 with ``O_EXCL``, so never through a
    planted link), which then replaces `path` by a rename: a symlink or a file with wider permissions that stood
    at `path` is replaced, never written through.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def open_private_log(path: str | Path) -> int:
    """A descriptor appending to `path` (created 0600, made 0600 if it was wider); refuses a symlink at `path`."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    os.fchmod(fd, 0o600)
    return fd
