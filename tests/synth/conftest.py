"""One small synthetic world per session (and its dirty twin), shared by the synth tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from techscore.sources.schema import TABLE_NAMES
from techscore.synth import generate

N_FIRMS = 3_000
SEED = 11


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "world"
    generate(N_FIRMS, SEED, out)
    return out


def read_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """A world's tables with dates as datetime64."""
    out = {}
    for name in TABLE_NAMES:
        df = pd.read_parquet(folder / f"{name}.parquet")
        for col in df.columns:
            if df[col].dtype == object:
                df[col] = pd.to_datetime(df[col]).astype("datetime64[ns]")
        out[name] = df
    return out


@pytest.fixture(scope="session")
def tables(world) -> dict[str, pd.DataFrame]:
    return read_tables(world)


@pytest.fixture(scope="session")
def large_tables(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """A 20,000-firm world: enough loans and defaults for contagion and AUC checks."""
    out = tmp_path_factory.mktemp("synth") / "large"
    generate(20_000, SEED, out)
    return read_tables(out)


@pytest.fixture(scope="session")
def dirty_world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "dirty"
    generate(1_000, 5, out, dirty=True)
    return out
