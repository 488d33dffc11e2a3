"""`techscore monitor` end to end on a small raw world: scores per date, the tables, one MLflow run per date."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from techscore.cli import app
from techscore.exceptions import SpecError
from techscore.monitor.spec import load_monitor_spec
from tests.scoring._world import raw_model_world

DATES = ["2022-04-01", "2022-05-01", "2022-06-01"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Raw tables, a workspace with a small catalogue, and a model trained on its features."""
    data, ws, model, folder, _, catalogue = raw_model_world(tmp_path_factory, n_firms=80)
    (ws / "experiments").mkdir()
    return data, ws, model, folder, catalogue


def _spec(ws, data, folder, **extra) -> str:
    lines = ['name = "mini_monitor"', f'model = "{folder}"', f'data = "{data}"', f"dates = {json.dumps(DATES)}",
             'out = "monitor-out"', 'experiment = "monitor_test"',
             *(f"{k} = {json.dumps(v)}" for k, v in extra.items()),
             "[thresholds]", "pd_factor = 1.5", "grade_drop = 1"]
    path = ws / "experiments" / "monitor.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_monitor_command_writes_the_tables_and_one_run_per_date(world) -> None:
    from techscore.dataset.build import featurize

    data, ws, model, folder, catalogue = world
    path = _spec(ws, data, folder)
    result = CliRunner().invoke(app, ["monitor", path, "--workspace", str(ws), "--json"])
    assert result.exit_code == 0, result.output + str(result.exception)
    summary = json.loads(result.stdout)
    out = ws / "monitor-out"
    tables = {name: pd.read_parquet(out / f"{name}.parquet") for name in
              ("scores", "stability", "drivers", "migration", "early_warnings")}
    # each date's PDs are the model's on that date's point-in-time features
    for as_of in DATES:
        X = featurize(data, None, pd.Timestamp(as_of), catalogue=catalogue)
        X = X.loc[X[model.feature_ids].notna().any(axis=1)]
        got = tables["scores"].loc[tables["scores"]["as_of"] == as_of].set_index("uscc")["pd"]
        expected = pd.Series(model.predict_pd(X), index=X.index.astype(str))
        assert len(got) == len(expected)
        np.testing.assert_allclose(got.loc[expected.index].to_numpy(), expected.to_numpy(), atol=1e-12)
    # consecutive pairs: stability rows (score + features), migration counts every firm once, drivers add up
    pairs = list(zip(DATES, DATES[1:], strict=False))
    assert len(tables["stability"]) == len(pairs) * (len(model.feature_ids) + 1)
    for before, after in pairs:
        mig = tables["migration"].loc[tables["migration"]["as_of_after"] == after]
        firms = set(tables["scores"].loc[tables["scores"]["as_of"].isin([before, after]), "uscc"])
        assert mig["firms"].sum() == len(firms)
        drv = tables["drivers"].loc[(tables["drivers"]["as_of_after"] == after)
                                    & (tables["drivers"]["segment"] == "(all)")]
        change = drv["mean_logodds_after"].iloc[0] - drv["mean_logodds_before"].iloc[0]
        assert abs(drv["contribution"].sum() - change) < 1e-9
    assert set(summary["score_psi"]) == set(DATES[1:])
    # one MLflow run per date, tagged with its date
    runs = mlflow.search_runs(experiment_names=["monitor_test"], output_format="list")
    assert sorted(r.data.tags["techscore.as_of"] for r in runs) == DATES
    assert len(summary["runs"]) == len(DATES)
    from techscore.model.vocabulary import parse_metric

    keys = {k for r in runs for k in r.data.metrics}
    assert {"rows", "mean_pd", "score_psi", "early_warnings", "mean_logodds_change"} <= keys
    assert all(parse_metric(k) is not None for k in keys), keys


def test_a_bad_monitor_spec_is_refused_naming_file_and_key(world) -> None:
    data, ws, _, folder, _ = world
    path = _spec(ws, data, folder, thresholds_typo=1)
    with pytest.raises(SpecError, match=r"monitor.toml.*unknown key 'thresholds_typo'"):
        load_monitor_spec(path, workspace=ws)
    path = ws / "experiments" / "monitor.toml"
    path.write_text(path.read_text().replace(json.dumps(DATES), '["2022-05-01", "2022-04-01"]'))
    with pytest.raises(SpecError, match=r"monitor.toml.*key 'dates'.*increase"):
        load_monitor_spec(path, workspace=ws)
