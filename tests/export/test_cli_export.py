"""`techscore export` and `export_model`: files written, results scored in DuckDB and pypmml, clear errors."""

from __future__ import annotations

import duckdb
import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from techscore.cli import app
from techscore.exceptions import ModelError
from techscore.export import card_table, export_model
from techscore.model.calibrate import Calibrator
from techscore.model.pdmodel import PDModel
from tests.export.conftest import FEATURES, scoring_rows, sme_book


def test_cli_exports_a_saved_pd_model_that_duckdb_scores(platt_model, tmp_path):
    folder = platt_model.save(tmp_path / "model")
    out = tmp_path / "pd.sql"
    result = CliRunner().invoke(app, ["export", "--model", str(folder), "--format", "sql", "--dialect", "ansi",
                                      "--out", str(out), "--keep", "row_id", "--table", "scoring.features"])
    assert result.exit_code == 0, result.output
    rows = scoring_rows(1000, seed=31)
    con = duckdb.connect()
    con.execute("CREATE SCHEMA scoring")
    con.register("staged", rows.assign(row_id=np.arange(len(rows))))
    con.execute("CREATE TABLE scoring.features AS SELECT * FROM staged")
    got = con.execute(out.read_text()).df().sort_values("row_id")
    want = PDModel.load(folder).predict_frame(rows)
    assert np.max(np.abs(got["pd"].to_numpy() - want["pd"].to_numpy())) <= 1e-9
    assert got["score"].tolist() == want["score"].tolist()
    assert got["grade"].tolist() == want["grade"].tolist()


def test_cli_exports_the_scorecard_as_pmml(scorecard_model, pmml_model, tmp_path):
    card_file = card_table(scorecard_model).save(tmp_path / "card.json")
    out = tmp_path / "card.pmml"
    result = CliRunner().invoke(app, ["export", "--model", str(card_file), "--format", "pmml", "--out", str(out),
                                      "--reasons", "2", "--json"])
    assert result.exit_code == 0, result.output
    rows = scoring_rows(500, seed=32)
    got = pmml_model(out.read_text()).predict(rows)
    np.testing.assert_allclose(got["points"], scorecard_model.points(rows), rtol=0, atol=1e-9)
    assert "reason_2" in got.columns and "reason_3" not in got.columns


def test_pmml_of_a_pd_model_is_refused_with_the_file(platt_model, tmp_path):
    folder = platt_model.save(tmp_path / "model")
    result = CliRunner().invoke(app, ["export", "--model", str(folder), "--format", "pmml", "--out",
                                      str(tmp_path / "x.pmml")])
    assert result.exit_code != 0
    assert "PMML export covers the WOE scorecard" in result.output and str(folder) in result.output


def test_unknown_format_and_dialect_are_named(platt_model, tmp_path):
    with pytest.raises(ModelError, match="export format must be one of sql, pmml; got 'xml'"):
        export_model(platt_model, "xml", tmp_path / "x")
    with pytest.raises(ModelError, match="SQL dialect must be one of duckdb, ansi; got 'oracle'"):
        export_model(platt_model, "sql", tmp_path / "x", dialect="oracle")


def test_linear_trees_are_refused_naming_tree_and_leaf(tmp_path):
    X, y = sme_book(1500, 41)
    numeric = [f for f in FEATURES if f.kind == "numeric"]
    data = X[[f.id for f in numeric]]
    booster = lgb.train({"objective": "binary", "linear_tree": True, "verbose": -1, "num_leaves": 4},
                        lgb.Dataset(data, y), num_boost_round=2)
    model = PDModel(booster=booster, features=numeric, calibrator=Calibrator("none"))
    folder = model.save(tmp_path / "linear")
    with pytest.raises(ModelError, match=r"linear.*tree 0, leaf \d+: linear trees cannot be exported"):
        export_model(str(folder), "sql", tmp_path / "x.sql")


def test_reason_codes_for_the_pd_model_are_refused(platt_model, tmp_path):
    with pytest.raises(ModelError, match="reason codes in SQL are exported for the WOE scorecard only"):
        export_model(platt_model, "sql", tmp_path / "x.sql", reasons=3)


def test_demo_like_frame_with_pandas_categories_scores_the_same(platt_model):
    rows = scoring_rows(500, seed=33)
    rows["profile_region"] = pd.Categorical(rows["profile_region"].where(rows["profile_region"] != "99"))
    from techscore.export import pd_model_sql

    con = duckdb.connect()
    con.register("features", rows.assign(row_id=np.arange(len(rows))))
    got = con.execute(pd_model_sql(platt_model, keep=["row_id"])).df().sort_values("row_id")
    assert np.max(np.abs(got["pd"].to_numpy() - platt_model.predict_pd(rows))) <= 1e-9
