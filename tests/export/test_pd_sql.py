"""The PD model's SQL, run in DuckDB, gives the same PD, score and grade as `PDModel.predict_frame`."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from techscore.exceptions import ModelError
from techscore.export._sql import num
from techscore.export.pd_sql import pd_model_sql, round_half_even
from tests.export.conftest import fit_pd_model, scoring_rows


def run_sql(sql: str, frame: pd.DataFrame, table: str = "features") -> pd.DataFrame:
    con = duckdb.connect()
    try:
        con.register(table, frame.assign(row_id=np.arange(len(frame))))
        return con.execute(sql).df().sort_values("row_id").reset_index(drop=True)
    finally:
        con.close()


def assert_same_scores(model, frame: pd.DataFrame, got: pd.DataFrame) -> float:
    want = model.predict_frame(frame)
    np.testing.assert_allclose(got["raw_margin"], model.raw_margin(frame), rtol=0, atol=1e-12)
    diff = float(np.max(np.abs(got["pd"].to_numpy() - want["pd"].to_numpy())))
    assert diff <= 1e-9, f"largest PD difference {diff}"
    np.testing.assert_array_equal(got["score"].to_numpy(), want["score"].to_numpy())
    assert got["grade"].tolist() == want["grade"].tolist()
    return diff


@pytest.mark.parametrize("dialect", ["duckdb", "ansi"])
def test_platt_model_matches_predict_frame(platt_model, dialect):
    frame = scoring_rows(4000, seed=3, model=platt_model)
    got = run_sql(pd_model_sql(platt_model, dialect=dialect, keep=["row_id"]), frame)
    assert len(got) == len(frame)
    assert_same_scores(platt_model, frame, got)


def test_isotonic_zero_as_missing_model_matches(isotonic_zero_model):
    frame = scoring_rows(4000, seed=4, model=isotonic_zero_model)
    dump = isotonic_zero_model.booster.dump_model()
    kinds = {n["missing_type"] for t in dump["tree_info"] for n in _splits(t["tree_structure"])}
    assert "Zero" in kinds  # the model really has zero-as-missing splits
    got = run_sql(pd_model_sql(isotonic_zero_model), frame)
    assert_same_scores(isotonic_zero_model, frame, got)


def test_model_covers_every_split_kind(platt_model):
    dump = platt_model.booster.dump_model()
    nodes = [n for t in dump["tree_info"] for n in _splits(t["tree_structure"])]
    assert {n["missing_type"] for n in nodes if n["decision_type"] == "<="} >= {"None", "NaN"}
    assert any(n["decision_type"] == "==" for n in nodes)


def test_nan_in_duckdb_dialect_is_missing(platt_model):
    frame = scoring_rows(200, seed=5)
    got = run_sql(pd_model_sql(platt_model, keep=["row_id"]), frame)
    want = platt_model.predict_frame(frame)
    assert frame["rd_intensity"].isna().any()
    np.testing.assert_allclose(got["pd"], want["pd"], rtol=0, atol=1e-9)


def test_unsafe_feature_ids_are_quoted():
    renamed = {"rd_intensity": "R&D/revenue", "profile_region": "select", "fin_leverage": "Leverage"}
    model = fit_pd_model(rounds=8, rename=renamed)
    sql = pd_model_sql(model, table="main.features", keep=["row_id"])
    assert '"R&D/revenue"' in sql and '"select"' in sql and '"Leverage"' in sql
    frame = scoring_rows(300, seed=9).rename(columns=renamed)
    got = run_sql(sql, frame)
    np.testing.assert_allclose(got["pd"], model.predict_frame(frame)["pd"], rtol=0, atol=1e-9)


def test_round_half_even_matches_numpy():
    values = np.array([0.25, 0.35, 2.5, 3.5, -2.5, 612.25, 612.35, 599.95, 1e-7, -0.05])
    con = duckdb.connect()
    for d in (0, 1, 2):
        got = [con.execute(f"SELECT {round_half_even(num(v), d)}").fetchone()[0] for v in values]
        np.testing.assert_array_equal(got, np.round(values, d))


def test_multiclass_booster_is_refused():
    import lightgbm as lgb
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300)})
    booster = lgb.train({"objective": "multiclass", "num_class": 3, "verbose": -1}, lgb.Dataset(X, rng.integers(0, 3, 300)),
                        num_boost_round=2)
    from techscore.export._trees import tree_cases
    with pytest.raises(ModelError, match="only binary models"):
        tree_cases(booster, ["a"], {}, source="m.txt")


def _splits(node):
    if "leaf_value" in node:
        return []
    return [node, *_splits(node["left_child"]), *_splits(node["right_child"])]
