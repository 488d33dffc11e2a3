"""The service for a moment (as `techscore demo` runs it): a real server on a free loopback port, stopped after."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd
import pytest

from techscore.serve import ServiceConfig, create_app
from techscore.serve.background import json_records, running_service
from tests.serve.conftest import as_records


def test_json_records_are_what_the_service_reads(frame):
    rows = frame.head(20).copy()
    rows.iloc[0, 1] = np.nan
    assert json_records(rows) == as_records(rows)
    odd = pd.DataFrame({"uscc": pd.array(["a", None], dtype="string"), "n": pd.array([1, None], dtype="Int64"),
                        "c": pd.Categorical(["M", None]), "t": pd.to_datetime(["2026-01-01", None])})
    assert json_records(odd) == [{"uscc": "a", "n": 1, "c": "M", "t": "2026-01-01 00:00:00"},
                                 {"uscc": None, "n": None, "c": None, "t": None}]


def test_running_service_scores_and_stops(served, frame, tmp_path):
    app = create_app(ServiceConfig(model=str(served.source), audit=tmp_path / "audit.sqlite"), served=served)
    with running_service(app) as base:
        answer = httpx.post(f"{base}/v1/score", json={"records": json_records(frame.head(1))}, timeout=30)
        assert answer.status_code == 200 and answer.json()["results"][0]["uscc"] == frame["uscc"].iloc[0]
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/healthz", timeout=2)
    assert "audit" not in app.state.service  # shut down: the audit trail closed
