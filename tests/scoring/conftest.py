"""Session fixtures: a small calibrated PD model saved as a folder, and feature tables with planted bad rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.scoring._world import feature_table, inject_bad_rows, train_model


@pytest.fixture(scope="session")
def model():
    return train_model(n=4000, seed=0, rounds=150)


@pytest.fixture(scope="session")
def model_dir(model, tmp_path_factory) -> Path:
    return model.save(tmp_path_factory.mktemp("model") / "pd_model")


@pytest.fixture(scope="session")
def clean_frame() -> pd.DataFrame:
    return feature_table(3000, seed=5)[0]


@pytest.fixture(scope="session")
def dirty(clean_frame) -> tuple[pd.DataFrame, dict[int, str]]:
    """The clean frame with 7 planted rows of each rejected kind: (frame, {0-based position: reject code})."""
    return inject_bad_rows(clean_frame, seed=1, per_kind=7)


@pytest.fixture(scope="session")
def dirty_parquet(dirty, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("inputs") / "features.parquet"
    dirty[0].to_parquet(path, index=False)
    return path


@pytest.fixture(scope="session")
def dirty_csv(dirty, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("inputs") / "features.csv"
    dirty[0].to_csv(path, index=False)
    return path
