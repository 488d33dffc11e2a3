"""`techscore score` from the command line: feature tables, raw tables as of a date, MLflow URIs, errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from techscore.cli import app

runner = CliRunner()

AS_OF = "2022-06-30"


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_score_a_feature_table(model_dir, dirty, dirty_parquet, tmp_path):
    frame, planted = dirty
    out = tmp_path / "scores.parquet"
    summary = _json(runner.invoke(app, ["score", "--model", str(model_dir), "--input", str(dirty_parquet),
                                        "--output", str(out), "--reasons", "3", "--json"]))
    assert summary["input"] == len(frame) == summary["scored"] + summary["rejected"]
    assert summary["rejected"] == len(planted)
    assert pq.read_schema(out).names[-2:] == ["reason_3", "reason_3_shap"]
    assert Path(summary["rejects"]) == tmp_path / "scores.rejects.parquet"


def test_plain_output_prints_the_accounting(model_dir, dirty_csv, tmp_path):
    result = runner.invoke(app, ["score", "--model", str(model_dir), "--input", str(dirty_csv), "--output",
                                 str(tmp_path / "s.csv"), "--rejects", str(tmp_path / "bad.csv")])
    assert result.exit_code == 0, result.output
    assert "input 3,000 = scored 2,965 + rejected 35" in result.stdout
    assert "infinite 7" in result.stdout and "bad.csv" in result.stdout


def test_schema_errors_exit_2_with_the_columns_named(model_dir, clean_frame, tmp_path):
    clean_frame.drop(columns=["inno_points"]).to_parquet(tmp_path / "in.parquet")
    result = runner.invoke(app, ["score", "--model", str(model_dir), "--input", str(tmp_path / "in.parquet"),
                                 "--output", str(tmp_path / "s.parquet")])
    assert result.exit_code == 2
    assert "missing 1 column the model was trained on: inno_points" in result.stderr
    assert not (tmp_path / "s.parquet").exists()


def test_score_a_registered_model_by_uri(model, clean_frame, tmp_path):
    import mlflow

    from techscore.model.registry import promote
    from techscore.scoring.pyfunc import log_scoring_model

    with mlflow.start_run():
        info = log_scoring_model(model, registered_model_name="scoring_cli_test")
    promote("scoring_cli_test", info.registered_model_version)
    clean_frame.head(100).to_parquet(tmp_path / "in.parquet")
    summary = _json(runner.invoke(app, ["score", "--model", "models:/scoring_cli_test@champion", "--input",
                                        str(tmp_path / "in.parquet"), "--output", str(tmp_path / "s.parquet"),
                                        "--json"]))
    assert summary["scored"] == 100
    scores = pq.read_table(tmp_path / "s.parquet").to_pandas()
    np.testing.assert_allclose(scores["pd"], model.predict_pd(clean_frame.head(100)), atol=1e-12)


@pytest.fixture(scope="module")
def raw_world(tmp_path_factory):
    """Raw tables, a workspace with a small catalogue, and a model trained on its features as of AS_OF."""
    from tests.scoring._world import raw_model_world

    return raw_model_world(tmp_path_factory, as_of=AS_OF)[:5]


def test_score_raw_tables_as_of_a_date(raw_world, tmp_path):
    data, ws, model, folder, X = raw_world
    from techscore.sources.uscc import complete

    unknown = str(complete(["91110108MA9999999"])[0])  # a valid code the raw tables do not hold
    firms = [*X.index[:12], unknown, "91110108MA9999999I"]  # I is outside the code alphabet
    (tmp_path / "firms.txt").write_text("\n".join(firms) + "\n", encoding="utf-8")
    out = tmp_path / "scores.parquet"
    summary = _json(runner.invoke(app, ["score", "--model", str(folder), "--input", str(data), "--as-of", AS_OF,
                                        "--firms", str(tmp_path / "firms.txt"), "--workspace", str(ws),
                                        "--output", str(out), "--json"]))
    assert (summary["input"], summary["scored"], summary["rejected"]) == (14, 12, 2)
    assert summary["rejected_by"] == {"invalid_uscc": 1, "no_features": 1}
    scores = pq.read_table(out).to_pandas()
    assert scores["uscc"].tolist() == list(X.index[:12])
    assert (scores["as_of"] == AS_OF).all()
    np.testing.assert_allclose(scores["pd"], model.predict_pd(X.iloc[:12]), atol=1e-12)


def test_raw_tables_need_a_date_and_the_models_catalogue(raw_world, tmp_path):
    data, ws, model, folder, X = raw_world
    base = ["score", "--model", str(folder), "--input", str(data), "--workspace", str(ws),
            "--output", str(tmp_path / "s.parquet")]
    result = runner.invoke(app, base)
    assert result.exit_code == 2 and "raw tables need --as-of" in result.stderr
    stale = dataclasses.replace(model, catalogue_version="0123456789abcdef").save(tmp_path / "stale")
    args = ["score", "--model", str(stale), *base[3:], "--as-of", AS_OF]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "trained on version 0123456789abcdef" in " ".join(result.stderr.split())
    assert runner.invoke(app, [*args, "--skip-catalogue-check", "--json"]).exit_code == 0


@pytest.fixture
def bad_raw(raw_world, tmp_path):
    """The raw world with one bad row of each kind a night's batch meets: an invalid region and a duplicated row in
    enterprises, an impossible date and an infinite amount in two invoices (CSV), a loan issued after the snapshot."""
    from tests.catalogue.world import make_world

    world = make_world(n_firms=60, seed=4)
    folder = tmp_path / "bad"
    folder.mkdir()
    ent = world["enterprises"]
    region_firm, twin_firm = ent["uscc"].iloc[3], ent["uscc"].iloc[5]
    ent = ent.astype({"region": "string"})
    ent.loc[3, "region"] = "4403"
    ent = pd.concat([ent, ent.iloc[[5]]], ignore_index=True)
    ent.to_parquet(folder / "enterprises.parquet", index=False)
    sc = world["supply_chain"].astype({"date": "string", "amount": "string"})
    sc.loc[0, "date"] = "2021-02-30"
    sc.loc[1, "amount"] = "inf"
    sc.to_csv(folder / "supply_chain.csv", index=False)
    loans = world["loans"].copy()
    loans.loc[0, "issued"] = pd.Timestamp("2031-01-01")  # after the snapshot date below
    loans.loc[0, "default_date"] = pd.NaT
    for name in ("financials", "ip_rights", "innovation_indicators", "tax"):
        world[name].to_parquet(folder / f"{name}.parquet", index=False)
    loans.to_parquet(folder / "loans.parquet", index=False)
    return folder, region_firm, twin_firm, list(ent["uscc"].drop_duplicates())


def test_raw_batch_goes_on_past_bad_rows_and_rejects_firms_validation_rejects(raw_world, bad_raw, tmp_path):
    data, ws, model, folder, X = raw_world
    bad, region_firm, twin_firm, firms = bad_raw
    out = tmp_path / "scores.parquet"
    base = ["score", "--model", str(folder), "--input", str(bad), "--as-of", AS_OF, "--workspace", str(ws),
            "--output", str(out), "--snapshot-date", "2030-12-31"]
    summary = _json(runner.invoke(app, [*base, "--json"]))
    assert summary["input"] == len(firms) == summary["scored"] + summary["rejected"]
    assert summary["rejected_by"]["region"] == 1 and summary["rejected_by"]["duplicate_key"] == 1
    validation = summary["validation"]
    # the two bad invoices and the loan are left out (with the rows of the rejected firm), the rest is used
    assert validation["tables"]["supply_chain"]["rejected"] >= 2 and validation["tables"]["loans"]["rejected"] >= 1
    assert all(c["input"] == c["valid"] + c["rejected"] for c in validation["tables"].values())
    assert validation["firms_rejected"] == 2 and validation["snapshot_date"] == "2030-12-31"
    scores = pq.read_table(out).to_pandas()
    assert region_firm not in set(scores["uscc"]) and twin_firm not in set(scores["uscc"])
    rejects = pq.read_table(tmp_path / "scores.rejects.parquet").to_pandas().set_index("uscc")
    assert rejects.loc[region_firm, "reject_code"] == "region"
    assert "enterprises.parquet row 4: region '4403'" in rejects.loc[region_firm, "reject_reason"]
    assert rejects.loc[twin_firm, "reject_code"] == "duplicate_key"
    # the firms validation kept are scored from the valid rows only
    assert len(scores) + len(rejects) == len(firms)
    strict = runner.invoke(app, [*base, "--strict"])
    assert strict.exit_code == 2 and "--strict stops at the first" in " ".join(strict.stderr.split())


def test_raw_batch_stops_on_a_missing_required_column(raw_world, bad_raw, tmp_path):
    data, ws, model, folder, X = raw_world
    bad = bad_raw[0]
    pd.read_parquet(bad / "loans.parquet").drop(columns=["issued"]).to_parquet(bad / "loans.parquet", index=False)
    result = runner.invoke(app, ["score", "--model", str(folder), "--input", str(bad), "--as-of", AS_OF,
                                 "--workspace", str(ws), "--output", str(tmp_path / "s.parquet")])
    assert result.exit_code == 2
    assert "loans.parquetlackstherequiredcolumnissued" in "".join(result.stderr.split())  # Rich may fold the path
