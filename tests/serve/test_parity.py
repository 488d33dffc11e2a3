"""Same numbers as batch: a firm scored online gets exactly the bytes `techscore score` writes for it."""

from __future__ import annotations

import struct

import pandas as pd
from typer.testing import CliRunner

from techscore.cli import app as cli
from tests.serve.conftest import as_records


def _bits(x: float | None) -> bytes | None:
    return None if x is None or pd.isna(x) else struct.pack("<d", x)


def _batch(frame: pd.DataFrame, model_dir, tmp_path) -> pd.DataFrame:
    source, out = tmp_path / "features.parquet", tmp_path / "scores.parquet"
    frame.to_parquet(source, index=False)
    result = CliRunner().invoke(cli, ["score", "--model", str(model_dir), "--input", str(source), "--output",
                                      str(out), "--reasons", "5", "--json"])
    assert result.exit_code == 0, result.output
    return pd.read_parquet(out)


def _assert_same(online: list[dict], batch: pd.DataFrame) -> None:
    assert len(online) == len(batch)
    for got, (_, want) in zip(online, batch.iterrows(), strict=True):
        assert got["uscc"] == want["uscc"]
        assert _bits(got["pd"]) == _bits(want["pd"])
        assert _bits(got["score"]) == _bits(want["score"])
        assert got["grade"] == want["grade"]
        codes = [want[f"reason_{j}"] for j in range(1, 6) if not pd.isna(want[f"reason_{j}"])]
        shaps = [_bits(want[f"reason_{j}_shap"]) for j in range(1, 6) if not pd.isna(want[f"reason_{j}"])]
        assert [r["code"] for r in got["reasons"]] == codes
        assert [_bits(r["shap"]) for r in got["reasons"]] == shaps


def test_thousands_of_firms_match_batch_bit_for_bit(client, frame, model_dir, tmp_path):
    batch = _batch(frame, model_dir, tmp_path)
    assert len(batch) == len(frame) == 3000
    records = as_records(frame)
    online = []
    for start in range(0, len(records), 500):
        r = client.post("/v1/score", json={"records": records[start:start + 500]})
        assert r.status_code == 200, r.text
        online += r.json()["results"]
    _assert_same(online, batch)


def test_one_firm_per_request_matches_batch(client, frame, model_dir, tmp_path):
    """A firm's answer does not depend on who else is in the request."""
    rows = frame.sample(60, random_state=3).reset_index(drop=True)
    batch = _batch(rows, model_dir, tmp_path)
    online = [client.post("/v1/score", json={"records": [r]}).json()["results"][0] for r in as_records(rows)]
    _assert_same(online, batch)
