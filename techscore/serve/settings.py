"""The service's settings from a TOML file, the environment and the command line, in that order of precedence.

Each setting is taken from the first place that gives it: a command-line option, then the environment variable
`TECHSCORE_SERVE_<NAME>` (e.g. `TECHSCORE_SERVE_PORT=8080`), then the `[serve]` table of the file given by
`--config` or `TECHSCORE_SERVE_CONFIG`, then the default here. Unknown keys and wrong types are refused, naming
the file (or the variable) and the key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import Field

from techscore.exceptions import SpecError
from techscore.specs import SpecPart, parse_spec

__all__ = ["CONFIG_ENV", "ENV_PREFIX", "ServeSettings", "load_settings"]

ENV_PREFIX = "TECHSCORE_SERVE_"
CONFIG_ENV = "TECHSCORE_SERVE_CONFIG"
Positive = Annotated[int, Field(ge=1)]


class ServeSettings(SpecPart):
    """What `techscore serve` runs: the model, where it listens and records, its limits and how it follows
    promotions. `admin_token` (best from the environment) unlocks `POST /v1/admin/reload`; only its hash is kept
    by the service."""

    model: str | None = None
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8000
    workers: Positive = 1
    audit: Path = Path("techscore-audit.sqlite")
    keys: Path | None = None
    snapshots: Path | None = None
    """The feature snapshot store (`techscore serve snapshot`) firms are scored from by code."""
    reasons: Annotated[int, Field(ge=0)] = 5
    max_body_bytes: Positive = 1 << 20
    max_records: Positive = 1000
    tracking_uri: str | None = None
    poll_seconds: Annotated[float, Field(ge=0)] = 30.0
    """How often each worker asks the registry whether the alias moved (0: only on SIGHUP or reload)."""
    admin_token: str | None = None
    graceful_timeout: Positive = 30
    """Seconds in-flight requests get to finish after SIGTERM before the workers stop anyway."""


def _file_settings(path: Path) -> dict:
    if not path.is_file():
        raise SpecError(f"{path}: service configuration file not found.")
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML ({exc}).") from exc
    serve = doc.get("serve", {})
    if not isinstance(serve, dict) or set(doc) - {"serve"}:
        raise SpecError(f"{path}: expected one [serve] table; got tables {sorted(doc)}.")
    return serve


def _env_settings(env: Mapping[str, str]) -> dict:
    names = set(ServeSettings.model_fields)
    found = {k[len(ENV_PREFIX):].lower(): v for k, v in env.items() if k.startswith(ENV_PREFIX) and k != CONFIG_ENV}
    unknown = sorted(set(found) - names)
    if unknown:
        raise SpecError(f"environment: unknown setting(s) {', '.join(ENV_PREFIX + u.upper() for u in unknown)}; "
                        f"known: {', '.join(sorted(names))}.")
    return {k: (None if v == "" else v) for k, v in found.items()}


def load_settings(config: str | Path | None = None, *, env: Mapping[str, str] | None = None,
                  options: Mapping[str, object] | None = None) -> ServeSettings:
    """The settings: `options` (command-line values; None means not given) over `env` (default `os.environ`)
    over the `[serve]` table of `config` (or of the file `TECHSCORE_SERVE_CONFIG` names) over the defaults."""
    env = os.environ if env is None else env
    config = config or env.get(CONFIG_ENV) or None
    layers: list[tuple[str, dict]] = []
    if config is not None:
        layers.append((str(config), _file_settings(Path(config))))
    layers.append((f"environment ({ENV_PREFIX}*)", _env_settings(env)))
    layers.append(("command line", {k: v for k, v in (options or {}).items() if v is not None}))
    merged: dict = {}
    for shown, doc in layers:
        parse_spec(ServeSettings, doc, shown)  # each source checked alone, so an error names where it came from
        merged.update(doc)
    return parse_spec(ServeSettings, merged, "service settings")
