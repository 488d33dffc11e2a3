"""`techscore monitor` with event signals, performance estimation and the backtest, on a small raw world."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from techscore.model.pdmodel import PDModel
from techscore.model.vocabulary import parse_metric
from techscore.monitor.events import event_codes_by_firm, event_signals
from techscore.monitor.performance import expected_auc, exposed_firms, fit_calibration
from techscore.monitor.run import TABLES, monitor_features, run_monitor
from techscore.monitor.spec import load_monitor_spec
from techscore.scoring.score import VALIDATION_RULE_COLUMN
from techscore.sources import validate
from tests.scoring._world import raw_model_world

DATES = ["2022-04-01", "2022-05-01", "2022-06-01"]
REFERENCE = "2021-10-01"


@pytest.fixture(scope="module")
def monitored(tmp_path_factory):
    data, ws, model, folder, _, _ = raw_model_world(tmp_path_factory, n_firms=80)
    (ws / "experiments").mkdir()
    path = ws / "experiments" / "outcomes.toml"
    path.write_text("\n".join([
        'name = "outcomes"', f'model = "{folder}"', f'data = "{data}"', f"dates = {json.dumps(DATES)}",
        'out = "monitor-out"', 'experiment = "monitor_outcomes"', "[thresholds]", "pd_factor = 1.5",
        "[events]", "late_share_rise = 0.1", "[outcomes]", "window_months = 6", "amber_p = 0.1", "red_p = 0.01"]))
    spec = load_monitor_spec(path, workspace=ws)
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    return data, spec, run_monitor(spec, tracking_uri=uri), uri


def test_events_sit_beside_the_early_warnings(monitored) -> None:
    data, spec, result, _ = monitored
    assert {"events", "performance", "backtest"} <= set(TABLES)
    assert all((result.out / f"{name}.parquet").exists() for name in ("events", "performance", "backtest"))
    raw = validate(data).valid
    scores, events = result.table("scores"), result.tables["events"]
    assert len(events) > 0
    for before, after in zip(DATES, DATES[1:], strict=False):
        firms = scores.loc[scores["as_of"] == after, "uscc"]
        expected = event_signals(raw, before, after, firms=firms, options=spec.events)
        got = events.loc[events["as_of_after"] == after].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
        warned = result.tables["early_warnings"].loc[lambda w, a=after: w["as_of_after"] == a]
        codes = event_codes_by_firm(expected)
        assert warned["events"].fillna("").tolist() == [codes.get(u, "") for u in warned["uscc"]]
    assert (result.tables["early_warnings"]["events"].fillna("") != "").any()


def test_performance_and_backtest_per_date(monitored) -> None:
    data, spec, result, uri = monitored
    perf, bt, scores = result.tables["performance"], result.tables["backtest"], result.table("scores")
    assert perf["as_of"].tolist() == DATES and (perf["outcomes"] == "known").all()
    loans = validate(data).valid["loans"]
    # the reference's PDs as `techscore score` gives them at that date, against the defaults that followed
    model = PDModel.load(spec.model)
    frame = next(iter(monitor_features(spec, model, dates=[REFERENCE])))[1]
    valid = frame[VALIDATION_RULE_COLUMN].isna() if VALIDATION_RULE_COLUMN in frame else True
    frame = frame.loc[valid & frame[model.feature_ids].notna().any(axis=1)]
    calibration = fit_calibration(REFERENCE, pd.Series(model.predict_pd(frame), index=frame["uscc"].astype(str)),
                                  loans, window_months=6)
    assert calibration is not None
    for as_of, row in perf.set_index("as_of").iterrows():
        bad = exposed_firms(loans, as_of, 6)
        pds = scores.loc[scores["as_of"] == as_of].set_index("uscc")["pd"]
        bad = bad.loc[bad.index.isin(pds.index)]
        assert row["window_end"] == (pd.Timestamp(as_of) + pd.DateOffset(months=6)).date().isoformat()
        assert row["exposed"] == len(bad) > 0 and row["defaults"] == bad.sum()
        # calibrated on the date one window before the first (the default reference)
        assert row["calibrated_on"] == REFERENCE
        assert row["expected_auc"] == pytest.approx(expected_auc(calibration(pds.loc[bad.index].to_numpy())))
        assert row["calibrated_default_rate"] == pytest.approx(calibration(pds.loc[bad.index].to_numpy()).mean())
        whole = bt.loc[(bt["as_of"] == as_of) & (bt["grade"] == "(all)")].iloc[0]
        assert (whole["firms"], whole["defaults"]) == (row["exposed"], row["defaults"])
        assert whole["mean_pd"] == pytest.approx(row["expected_default_rate"])
        graded = bt.loc[(bt["as_of"] == as_of) & (bt["grade"] != "(all)")]
        assert graded["firms"].sum() == row["exposed"] and graded["defaults"].sum() == row["defaults"]
    lights = bt["light"].to_numpy()
    assert set(lights) <= {"green", "amber", "red"}
    assert np.array_equal(lights == "red", bt["jeffreys_p"].to_numpy() < 0.01)   # the spec's thresholds
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("monitor_outcomes").experiment_id])
    keys = {k for r in runs for k in r.data.metrics}
    assert {"events", "expected_auc", "expected_default_rate", "backtest_red_grades"} <= keys
    assert all(parse_metric(k) is not None for k in keys), keys
