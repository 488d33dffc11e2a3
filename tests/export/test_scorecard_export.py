"""The WOE scorecard's SQL (DuckDB) and PMML (pypmml, a JVM PMML 4.4 evaluator) give optbinning's points and the
challenger's PD, and the same reason codes."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from techscore.exceptions import ModelError
from techscore.export import CardTable, card_pmml, card_sql, card_table
from tests.export.conftest import scoring_rows


def run_sql(sql: str, frame: pd.DataFrame) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        con.register("features", frame.assign(row_id=np.arange(len(frame))))
        return con.execute(sql).df().sort_values("row_id").reset_index(drop=True)
    finally:
        con.close()


@pytest.fixture(scope="module")
def card(scorecard_model) -> CardTable:
    return card_table(scorecard_model)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return scoring_rows(3000, seed=22)


def test_card_has_numeric_and_categorical_characteristics(card):
    kinds = {c.kind for c in card.characteristics}
    assert kinds == {"numeric", "categorical"}
    assert any(c.unseen_pd_shift != 0 for c in card.characteristics if c.kind == "categorical")


@pytest.mark.parametrize("dialect", ["duckdb", "ansi"])
def test_sql_points_and_pd_match_the_challenger(scorecard_model, card, rows, dialect):
    got = run_sql(card_sql(card, dialect=dialect, reasons=3, keep=["row_id"]), rows)
    np.testing.assert_allclose(got["points"], scorecard_model.points(rows), rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["pd"], scorecard_model.predict_pd(rows), rtol=0, atol=1e-9)
    assert list(got.columns) == ["row_id", "points", "pd", "reason_1", "reason_2", "reason_3"]


def test_reason_codes_are_the_costliest_bins(card, rows):
    got = run_sql(card_sql(card, reasons=2, keep=["row_id"]), rows)
    bins = card.bin_index(rows).to_numpy()
    for r in range(0, len(rows), 97):
        costs = []
        for j, c in enumerate(card.characteristics):
            i = bins[r, j]
            pts = c.missing_points if i < 0 else c.points[i]
            costs.append((-(c.best - pts), j, c.reason_code(None if i < 0 else i)))
        ranked = [code for cost, _, code in sorted(costs) if cost < 0]
        want = (ranked + [None, None])[:2]
        assert [got.at[r, "reason_1"], got.at[r, "reason_2"]] == [w if w else None for w in want], f"row {r}"


def test_pmml_matches_sql_in_a_real_evaluator(scorecard_model, card, rows, pmml_model):
    model = pmml_model(card_pmml(card, reasons=3))
    inputs = rows[[c.feature for c in card.characteristics]]
    got = model.predict(inputs)
    np.testing.assert_allclose(got["points"], scorecard_model.points(rows), rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["pd"], scorecard_model.predict_pd(rows), rtol=0, atol=1e-9)
    sql = run_sql(card_sql(card, reasons=3, keep=["row_id"]), rows)
    for r in (1, 2, 3):
        mine, theirs = sql[f"reason_{r}"], got[f"reason_{r}"]
        listed = mine.notna().to_numpy()
        assert listed.mean() > 0.5
        bad = np.flatnonzero(listed & (mine.to_numpy() != theirs.to_numpy()))
        assert not len(bad), f"reason_{r} differs on rows {bad[:5]}: {mine.iloc[bad[0]]!r} vs {theirs.iloc[bad[0]]!r}"
        if r > 1:  # pypmml repeats the last code when fewer bins cost points; SQL leaves the rank empty
            prev = got[f"reason_{r - 1}"].to_numpy()
            assert all(t == p for t, p in zip(theirs.to_numpy()[~listed], prev[~listed], strict=True))


def test_card_json_round_trip_gives_the_same_sql(card, tmp_path):
    again = CardTable.load(card.save(tmp_path / "card.json"))
    assert card_sql(again) == card_sql(card)
    assert card_pmml(again) == card_pmml(card)


def test_bad_card_file_names_file_and_field(tmp_path):
    path = tmp_path / "card.json"
    path.write_text('{"format": "something-else/1"}', encoding="utf-8")
    with pytest.raises(ModelError, match=r"card\.json: field 'format' must be 'techscore-scorecard/1'"):
        CardTable.load(path)
