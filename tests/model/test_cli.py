"""`techscore train`, `tune` and `promote` driven through the CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from techscore.cli import app
from tests.model.conftest import EXPERIMENT_TOML, MODEL_TOML, write_workspace

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture(scope="module")
def tabular_workspace(tmp_path_factory, loan_dataset):
    """A workspace whose experiment reads the synthetic loans from a Parquet file (dates and segments kept)."""
    root = tmp_path_factory.mktemp("cliws")
    frame = loan_dataset.frame.drop(columns=["loan_id", "uscc"]).iloc[::2]
    frame.to_parquet(root / "loans.parquet", index=False)
    experiment = EXPERIMENT_TOML.replace('path = "world"', '''tabular = "loans.parquet"
target = "label"
date_column = "issued"
segment_columns = ["seg_industry", "bank_id"]''').replace("challenger = true", "challenger = false").replace(
        "techscore_test_pd", "techscore_test_cli_pd")
    return write_workspace(root, model=MODEL_TOML.replace("num_boost_round = 300", "num_boost_round = 80"),
                           experiment=experiment)


def test_train_json_without_tracking(tabular_workspace):
    ws = tabular_workspace
    result = runner.invoke(app, ["train", str(ws / "experiments" / "synthetic.toml"), "--no-tracking",
                                 "--out", str(ws / "out"), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["run_id"] is None and doc["metrics"]["test_auc"] > 0.7
    assert (ws / "out" / "metrics.json").exists() and (ws / "out" / "model" / "booster.txt").exists()
    seg = (ws / "out" / "segments.csv").read_text()
    assert "seg_industry" in seg and "bank_id" in seg


def test_train_spec_error_is_clean(tabular_workspace, tmp_path):
    bad = write_workspace(tmp_path, experiment=EXPERIMENT_TOML.replace("test_from", "tset_from"))
    result = runner.invoke(app, ["train", str(bad / "experiments" / "synthetic.toml"), "--no-tracking"])
    assert result.exit_code == 2
    assert "experiments/synthetic.toml: unknown key 'split.tset_from'" in result.output.replace("\n", "")


def test_tune_and_promote(tabular_workspace, tracking_uri):
    ws = tabular_workspace
    result = runner.invoke(app, ["tune", str(ws / "experiments" / "synthetic.toml"), "--trials", "2", "--no-tracking",
                                 "--storage", f"sqlite:///{ws / 'optuna.db'}", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["trials"] == 2 and doc["spec"].endswith("test_lgbm_tuned.toml")
    result = runner.invoke(app, ["train", str(ws / "experiments" / "synthetic.toml"), "--model", doc["spec"],
                                 "--out", str(ws / "out_tuned"), "--tracking-uri", tracking_uri, "--json"])
    assert result.exit_code == 0, result.output
    trained = json.loads(result.stdout)
    assert trained["registered_model"] == "techscore_test_cli_pd" and trained["version"] == "1"
    result = runner.invoke(app, ["promote", "techscore_test_cli_pd", "1", "--tracking-uri", tracking_uri,
                                 "--json"])
    assert result.exit_code == 0, result.output
    assert "champion" in json.loads(result.stdout)["aliases"]
    result = runner.invoke(app, ["promote", "techscore_test_cli_pd", "999", "--tracking-uri", tracking_uri])
    assert result.exit_code == 2 and "has no version 999" in result.output
    result = runner.invoke(app, ["tune", str(ws / "experiments" / "synthetic.toml")])
    assert result.exit_code == 2 and "--trials" in result.output
