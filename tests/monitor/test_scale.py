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
