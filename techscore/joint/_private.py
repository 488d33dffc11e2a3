"""Files only their owner may read: keys, PSI state, shared codes, credentials."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: str | Path, data: bytes | str) -> Path:
    """Write `data` to `path` with mode 0600, also when the file existed with wider permissions."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data.encode("utf-8") if isinstance(data, str) else data)
    finally:
        os.close(fd)
    return path
