"""The model a service answers with: loaded once, with its identity (name, version) and reason references."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from techscore.explain.reasons import REFERENCES_FILE, References
from techscore.model.pdmodel import MODEL_FILE, PDModel, find_model_folder

__all__ = ["ServedModel", "alias_version", "load_served_model", "registry_alias"]


@dataclass(frozen=True)
class ServedModel:
    """A PD model with what every response names: `name`, `version`, `source` (the URI or folder asked for).

    `references` are the reason-sentence references saved beside the model at training (None: sentences state
    the firm's value only, as the reports do without them).
    """

    model: PDModel
    name: str
    version: str
    source: str
    references: References | None

    @property
    def catalogue_version(self) -> str | None:
        return self.model.catalogue_version


def _local_version(folder: Path) -> str:
    """A folder's version: `local-` and the first 12 hex digits of the booster's checksum (stable per model)."""
    doc = json.loads((folder / MODEL_FILE).read_text(encoding="utf-8"))
    return f"local-{str(doc.get('booster_sha256', ''))[:12] or 'unversioned'}"


def _references(folder: Path) -> References | None:
    for candidate in (folder / REFERENCES_FILE, folder.parent / REFERENCES_FILE):
        if candidate.is_file():
            return References.load(candidate)
    return None


def registry_alias(source: str | Path) -> tuple[str, str] | None:
    """(name, alias) when `source` is `models:/name@alias`, the only kind of source that can move; else None."""
    text = str(source)
    if not text.startswith("models:/") or text.startswith("models:/m-") or "@" not in text:
        return None
    name, alias = text[len("models:/"):].split("@", 1)
    return name, alias


def alias_version(source: str | Path, *, tracking_uri: str | None = None, registry=None) -> str | None:
    """The version `models:/name@alias` points at now (None for a folder or a fixed version: nothing to follow).

    `registry`: an MlflowClient to reuse (a poller asks every few seconds; a new client per ask is slow)."""
    found = registry_alias(source)
    if found is None:
        return None
    from techscore.model.registry import client

    c = registry or client(tracking_uri)
    return str(c.get_model_version_by_alias(*found).version)


def load_served_model(source: str | Path, *, tracking_uri: str | None = None) -> ServedModel:
    """Load the model behind `source` once: a model folder, or `models:/name@alias` / `models:/name/version`.

    An alias is resolved to its version first and that version is downloaded, so the name and version a
    response reports are the ones that scored it even if the alias moves meanwhile.
    """
    text = str(source)
    local = Path(text).expanduser()
    if local.exists():
        folder = find_model_folder(local)
        return ServedModel(PDModel.load(folder), folder.name, _local_version(folder), text, _references(folder))
    from techscore.model.registry import download_model

    name, version, uri = text, "", text
    alias = registry_alias(text)
    if alias is not None:
        name, version = alias[0], alias_version(text, tracking_uri=tracking_uri)
    elif text.startswith("models:/") and not text.startswith("models:/m-") and "/" in text[len("models:/"):]:
        name, version = text[len("models:/"):].split("/", 1)
    if version:
        uri = f"models:/{name}/{version}"
    folder = find_model_folder(download_model(uri, tracking_uri=tracking_uri))
    return ServedModel(PDModel.load(folder), name, version or _local_version(folder), text, _references(folder))
