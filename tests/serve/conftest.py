"""Fixtures: the scoring tests' small model, saved with reason references, and a service over it in-process."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from techscore.explain.reasons import fit_references
from techscore.serve import ServiceConfig, create_app, load_served_model
from tests.scoring._world import FEATURES, feature_table, train_model


@pytest.fixture(scope="session")
def model():
    return train_model(n=4000, seed=0, rounds=150)


@pytest.fixture(scope="session")
def model_dir(model, tmp_path_factory) -> Path:
    folder = model.save(tmp_path_factory.mktemp("model") / "pd_model")
    train = feature_table(4000, seed=0)[0]
    fit_references(train, FEATURES, by="profile_industry_section").save(folder)
    return folder


@pytest.fixture(scope="session")
def served(model_dir):
    return load_served_model(model_dir)


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    return feature_table(3000, seed=5)[0]


def as_records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready records: missing values as None, categories as text."""
    out = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for r in out:
        for k, v in r.items():
            if isinstance(v, np.generic):
                r[k] = v.item()
    return out


@pytest.fixture
def client(served, tmp_path):
    app = create_app(ServiceConfig(model=str(served.source), audit=tmp_path / "audit.sqlite"), served=served)
    with TestClient(app) as c:
        yield c
