"""Scaling `techscore monitor` changes how it computes, not what: the raw tables are validated once and each date's
features are computed from them, equal to the per-date `featurize_table` output; SHAP values computed in chunks
equal the whole-frame explanation; the per-firm scores streamed to disk carry `techscore score`'s reason codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from techscore.monitor.spec import load_monitor_spec
from tests.monitor._world import monitored_world

DATES = ["2021-09-01", "2022-01-01", "2022-04-01", "2022-06-01"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    data, ws, model, spec = monitored_world(tmp_path_factory, "scale", DATES, "[thresholds]", "reasons = 2")
    return data, ws, model, load_monitor_spec(spec, workspace=ws)


def test_features_per_date_equal_the_per_date_featurize_output(world, tmp_path) -> None:
    from techscore.monitor.run import monitor_features
    from techscore.scoring.raw import featurize_table

    data, ws, model, spec = world
    seen = []
    for as_of, frame in monitor_features(spec, model):
        expected = pd.read_parquet(featurize_table(data, as_of, model, tmp_path / f"{as_of}.parquet", workspace=ws))
        pd.testing.assert_frame_equal(frame.reset_index(drop=True), expected, check_exact=True)
        seen.append(as_of)
    assert seen == DATES
    assert frame[model.feature_ids].notna().any(axis=None)


def test_chunked_shap_equals_the_whole_frame_explanation(world) -> None:
    from techscore.explain import explain
    from techscore.monitor.run import monitor_features
    from techscore.monitor.snapshot import take_snapshot

    _, _, model, spec = world
    _, frame = next(iter(monitor_features(spec, model)))
    frame = frame.loc[frame[model.feature_ids].notna().any(axis=1)].reset_index(drop=True)
    whole = explain(model, frame)
    snap = take_snapshot(model, frame, DATES[0], chunk_rows=7)  # chunks that do not divide the rows
    np.testing.assert_array_equal(snap.shap, whole.values)
    assert snap.base == whole.base
    np.testing.assert_allclose(snap.pd, model.predict_pd(frame), rtol=0, atol=1e-12)


def test_streamed_scores_carry_the_reason_codes_of_techscore_score(world, tmp_path) -> None:
    from techscore.monitor.run import run_monitor
    from techscore.scoring import score_file

    data, ws, model, spec = world
    result = run_monitor(spec, tracking=False)
    assert "scores" not in result.tables  # per-firm rows stay on disk
    scores = pd.read_parquet(result.out / "scores.parquet")
    assert (pd.read_csv(result.out / "scores.csv", dtype={"uscc": str})["uscc"] == scores["uscc"]).all()
    assert scores["as_of"].unique().tolist() == DATES
    from techscore.scoring.raw import featurize_table

    as_of = DATES[-1]
    table = featurize_table(data, as_of, model, tmp_path / "f.parquet", workspace=ws)
    expected = pd.read_parquet(score_file(model, table, tmp_path / "s.parquet", reasons=2).output).set_index("uscc")
    got = scores.loc[scores["as_of"] == as_of].set_index("uscc")
    assert len(got) and set(got.index) <= set(expected.index)
    exp = expected.loc[got.index]
    np.testing.assert_allclose(got["pd"], exp["pd"], rtol=0, atol=1e-12)
    for j in (1, 2):
        assert got[f"reason_{j}"].astype(object).where(got[f"reason_{j}"].notna(), None).tolist() == \
            exp[f"reason_{j}"].astype(object).where(exp[f"reason_{j}"].notna(), None).tolist()
        np.testing.assert_allclose(got[f"reason_{j}_shap"], exp[f"reason_{j}_shap"], rtol=0, atol=1e-12)
    assert set(result.seconds) >= {"features", "scores", "comparisons", "total"}


def _raw_of(**frames):
    from techscore.scoring.raw import RawTables
    from techscore.sources.load import Sources
    from techscore.sources.validation import ValidationResult

    result = ValidationResult(problems=pd.DataFrame(), valid=Sources.from_frames(frames), rejects={},
                              counts=pd.DataFrame())
    return RawTables(result=result, rejected=pd.DataFrame({"uscc": pd.Series(dtype="string")}))


def test_tables_for_many_dates_are_sorted_only_where_every_firms_rows_keep_their_order() -> None:
    from techscore.scoring.raw import for_many_dates
    from techscore.sources.asof import known_as_of

    day = pd.to_datetime
    enterprises = pd.DataFrame({"uscc": ["A", "B", "C"], "founded": day(["2015-01-01", "2010-01-01", "2012-01-01"]),
                                "name": ["a", "b", "c"]})
    # A's statements are in year order: sorting by year keeps them so
    financials = pd.DataFrame({"uscc": ["A", "B", "A", "C"], "year": pd.array([2020, 2019, 2021, 2018], "Int64"),
                               "revenue": [1.0, 2.0, 3.0, 4.0]})
    # A's rights are not in filing order: sorting would swap them
    ip = pd.DataFrame({"uscc": ["A", "A", "B"], "ip_id": ["p1", "p2", "p3"], "kind": "invention",
                       "filed": day(["2022-01-01", "2021-01-01", "2020-01-01"])})
    # every seller's invoices are in date order, but buyer X's are not
    sc = pd.DataFrame({"invoice_id": ["i1", "i2"], "seller_uscc": ["A", "B"], "buyer_uscc": ["X", "X"],
                       "date": day(["2022-03-01", "2022-01-01"]), "amount": [1.0, 2.0]})
    raw = _raw_of(enterprises=enterprises, financials=financials, ip_rights=ip, supply_chain=sc)
    out = for_many_dates(raw, unread={"supply_chain": ("invoice_id",), "enterprises": ("name",)}).result.valid

    assert out.financials["uscc"].tolist() == ["C", "B", "A", "A"]
    assert out.financials["year"].tolist() == [2018, 2019, 2020, 2021]
    assert out.ip_rights["ip_id"].tolist() == ["p1", "p2", "p3"]
    assert out.supply_chain["amount"].tolist() == [1.0, 2.0]
    assert out.enterprises["uscc"].tolist() == ["A", "B", "C"]  # the firms' order, whatever their founding dates
    assert "invoice_id" not in out.supply_chain and "name" not in out.enterprises
    assert "invoice_id" in raw.result.valid.supply_chain  # the tables handed in are left as they were
    # the view as of a date is a slice of the sorted table (no copy), the same rows as the unsorted table's view
    view = known_as_of(out, "2021-07-01", tables=["financials"])["financials"]
    assert view["year"].tolist() == [2018, 2019, 2020]  # statements of 2020 are known from 31 May 2021
    assert np.shares_memory(view["revenue"].to_numpy(), out.financials["revenue"].to_numpy())
    before = known_as_of(raw.result.valid, "2021-07-01", tables=["financials"])["financials"]
    assert sorted(before["revenue"]) == sorted(view["revenue"])


def test_each_comparison_equals_the_library_on_snapshots_of_featurize_table(world, tmp_path) -> None:
    """The run frees and parks snapshots and computes the event signals ahead; its comparison tables are still those
    of the library on two snapshots of `featurize_table`'s frames, side by side."""
    from techscore.monitor.drivers import driver_table
    from techscore.monitor.events import event_signals
    from techscore.monitor.run import _migration_long, run_monitor
    from techscore.monitor.snapshot import take_snapshot
    from techscore.monitor.stability import stability_table
    from techscore.monitor.warnings import early_warnings
    from techscore.scoring.raw import featurize_table, load_raw
    from techscore.scoring.score import VALIDATION_RULE_COLUMN

    data, ws, model, spec = world
    result = run_monitor(spec, tracking=False)
    features = {f.id: f for f in model.features}
    valid = load_raw(data).result.valid
    t = spec.thresholds
    snaps = []
    for as_of in DATES:
        frame = pd.read_parquet(featurize_table(data, as_of, model, tmp_path / f"{as_of}.parquet", workspace=ws))
        frame = frame.loc[frame[VALIDATION_RULE_COLUMN].isna() & frame[model.feature_ids].notna().any(axis=1)]
        snaps.append(take_snapshot(model, frame.reset_index(drop=True), as_of))
    checked = 0
    for before, after in zip(snaps, snaps[1:], strict=False):
        events = event_signals(valid, before.as_of, after.as_of, firms=after.uscc, options=spec.events)
        expected = {
            "stability": stability_table(before, after, features=features),
            "drivers": driver_table(before, after), "migration": _migration_long(before, after), "events": events,
            "early_warnings": early_warnings(before, after, features, pd_factor=t.pd_factor, grade_drop=t.grade_drop,
                                             watch_grade=t.watch_grade, reasons=t.reasons,
                                             events=events.groupby("uscc", sort=False)["code"].agg(";".join)
                                             .to_dict()),
        }
        for name, table in expected.items():
            got = result.tables[name]
            got = got.loc[(got["as_of_after"] == after.as_of).to_numpy(bool)].reset_index(drop=True)
            pd.testing.assert_frame_equal(got, table.reset_index(drop=True), check_exact=True, check_dtype=False)
            checked += len(table)
    assert checked > 0 and len(result.tables["early_warnings"]) and len(result.tables["events"])


def test_reason_codes_ranked_in_chunks_equal_the_whole_matrix_ranking(world, monkeypatch) -> None:
    import techscore.monitor.snapshot as snapshot
    from techscore.explain.reasons import top_k
    from techscore.monitor.run import monitor_features

    _, _, model, spec = world
    _, frame = next(iter(monitor_features(spec, model)))
    frame = frame.loc[frame[model.feature_ids].notna().any(axis=1)].reset_index(drop=True)
    snap = snapshot.take_snapshot(model, frame, DATES[0])
    monkeypatch.setattr(snapshot, "CHUNK_ROWS", 7)  # chunks that do not divide the rows
    got = snap.scores(2)
    idx, vals = top_k(snap.shap, 2)
    for j in range(2):
        assert got[f"reason_{j + 1}"].cat.codes.tolist() == idx[:, j].tolist()
        np.testing.assert_array_equal(got[f"reason_{j + 1}_shap"].to_numpy(), vals[:, j])
