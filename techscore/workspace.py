"""Where the user's catalogue, model specs and experiment specs live (the repository itself by default)."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "TECHSCORE_WORKSPACE"


def workspace(path: str | Path | None = None) -> Path:
    """The workspace root: `path`, else $TECHSCORE_WORKSPACE, else the nearest folder upwards holding `features/`."""
    if path is not None:
        return Path(path).resolve()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "features").is_dir() and (candidate / "models").is_dir():
            return candidate
    return here


def default_mlflow_uri(root: Path | None = None) -> str:
    """The tracking URI: $MLFLOW_TRACKING_URI, else a local SQLite store in the workspace's `mlruns/`."""
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    base = (root or workspace()) / "mlruns"
    base.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{base / 'mlflow.db'}"
