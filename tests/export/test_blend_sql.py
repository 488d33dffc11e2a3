"""A blended (or scorecard-only) champion exported to SQL: LightGBM's CASE trees and the scorecard's points as
trees, combined in log-odds, calibrated and scaled; DuckDB gives the PD `techscore score` gives, to 1e-9."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from techscore.cli import app
from techscore.model.pdmodel import PDModel
from tests.export.conftest import scoring_rows
from tests.model._champion_book import champion_book
from tests.scoring._world import uscc_codes

pytestmark = pytest.mark.xdist_group("champion")


@pytest.fixture(scope="module")
def book():
    return champion_book()


@pytest.mark.parametrize("mode", ["blend", "scorecard"])
def test_champion_sql_matches_techscore_score(book, mode, tmp_path):
    model = book["shipped"][mode][0]
    folder = model.save(tmp_path / "model")
    sql = tmp_path / "champion.sql"
    runner = CliRunner()
    result = runner.invoke(app, ["export", "--model", str(folder), "--format", "sql", "--out", str(sql),
                                 "--keep", "uscc"])
    assert result.exit_code == 0, result.output
    rows = scoring_rows(3000, seed=12, model=model)  # every threshold of the blend's trees and its neighbours
    rows.insert(0, "uscc", pd.array(uscc_codes(len(rows), 5), dtype="string"))
    rows.to_parquet(tmp_path / "in.parquet", index=False)
    out = tmp_path / "scores.parquet"
    result = runner.invoke(app, ["score", "--model", str(folder), "--input", str(tmp_path / "in.parquet"),
                                 "--output", str(out), "--reasons", "0", "--json"])
    assert result.exit_code == 0, result.output
    scored = pq.read_table(out).to_pandas().set_index("uscc")
    assert len(scored) >= 3000
    con = duckdb.connect()
    con.register("features", rows)
    got = con.execute(sql.read_text()).df().set_index("uscc").loc[scored.index]
    assert np.max(np.abs(got["pd"].to_numpy() - scored["pd"].to_numpy())) <= 1e-9
    assert got["score"].tolist() == scored["score"].tolist()
    assert got["grade"].tolist() == scored["grade"].astype(str).tolist()
    want = PDModel.load(folder).predict_frame(rows.drop(columns="uscc"))  # every row, rejected ones too
    everything = con.execute(sql.read_text()).df()
    assert np.max(np.abs(everything["pd"].to_numpy() - want["pd"].to_numpy())) <= 1e-9
