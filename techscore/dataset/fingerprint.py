"""Fingerprints: one hash saying exactly which input files, catalogue and options a dataset came from."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path


def file_hashes(folder: str | Path) -> dict[str, str]:
    """sha256 of the content of every file under `folder` (hidden files and folders skipped), by relative path."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"data folder {folder} does not exist.")
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            with path.open("rb") as fh:
                out[rel.as_posix()] = hashlib.file_digest(fh, "sha256").hexdigest()
    return out


def fingerprint(inputs: Mapping[str, str], catalogue_version: str, options: Mapping[str, object]) -> str:
    """sha256 over the input files' content hashes, the catalogue version and the options (order-independent)."""
    payload = {"inputs": dict(sorted(inputs.items())), "catalogue": catalogue_version, "options": options}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
