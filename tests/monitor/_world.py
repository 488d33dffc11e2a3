"""A small raw world with a model, and a monitoring spec over it, for the monitoring tests."""

from __future__ import annotations

import json
from pathlib import Path

from tests.scoring._world import raw_model_world


def monitored_world(factory, name: str, dates: list[str], *lines: str):
    """(data folder, workspace, model, spec path): a raw world of 80 firms, a model on its features and
    `experiments/<name>.toml` watching it over `dates` into `<name>-out`; `lines` are added to the spec."""
    data, ws, model, folder, _, _ = raw_model_world(factory, n_firms=80)
    (ws / "experiments").mkdir()
    spec = Path(ws) / "experiments" / f"{name}.toml"
    spec.write_text("\n".join([f'name = "{name}"', f'model = "{folder}"', f'data = "{data}"',
                               f"dates = {json.dumps(dates)}", f'out = "{name}-out"', *lines]) + "\n")
    return data, ws, model, spec
