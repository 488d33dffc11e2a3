"""`techscore dataset` and `techscore featurize` through the command line."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from techscore.cli import app
from techscore.dataset import LoanDataset

runner = CliRunner()


def test_dataset_command_builds_and_reuses(data_dir, ws, tmp_path):
    out = tmp_path / "ds"
    args = ["dataset", "--data", str(data_dir), "--out", str(out), "--window", "6", "--groups", "rd,finance",
            "--workspace", str(ws)]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    ds = LoanDataset.read(out)
    assert ds.feature_ids == ["rd_intensity", "fin_leverage"]
    assert doc["rows"] == len(ds.frame) and doc["fingerprint"] == ds.fingerprint
    assert ds.summary["window_months"] == 6
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "fingerprint " + ds.fingerprint[:12] in again.output
    assert "excluded" in again.output


def test_dataset_command_needs_data_and_out(ws):
    result = runner.invoke(app, ["dataset", "--workspace", str(ws)])
    assert result.exit_code == 2
    assert "--data DIR and --out DIR" in result.output


def test_featurize_command(data_dir, ws, tmp_path):
    firms = pd.read_parquet(data_dir / "enterprises.parquet")["uscc"].head(4).tolist()
    (tmp_path / "firms.txt").write_text("\n".join(firms) + "\n", encoding="utf-8")
    out = tmp_path / "features.parquet"
    result = runner.invoke(app, ["featurize", "--data", str(data_dir), "--as-of", "2024-07-01", "--firms",
                                 str(tmp_path / "firms.txt"), "--out", str(out), "--workspace", str(ws), "--json"])
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert list(frame.index) == firms and frame.shape[1] == 5
    assert json.loads(result.output) == {"path": str(out), "firms": 4, "features": 5}
    csv_out = tmp_path / "features.csv"
    pd.DataFrame({"uscc": firms[:2]}).to_csv(tmp_path / "firms.csv", index=False)
    result = runner.invoke(app, ["featurize", "--data", str(data_dir), "--as-of", "2024-07-01", "--firms",
                                 str(tmp_path / "firms.csv"), "--out", str(csv_out), "--workspace", str(ws)])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(csv_out)["uscc"].tolist() == firms[:2]


def test_featurize_rejects_a_bad_date(data_dir, ws, tmp_path):
    result = runner.invoke(app, ["featurize", "--data", str(data_dir), "--as-of", "soon", "--out",
                                 str(tmp_path / "f.parquet"), "--workspace", str(ws)])
    assert result.exit_code == 2
    assert "--as-of must be a date" in result.output


def test_dataset_command_reads_an_experiment_spec(data_dir, ws, tmp_path):
    spec = tmp_path / "exp.toml"
    spec.write_text(
        f'name = "mini"\nmodel = "models/none.toml"\n[data]\npath = "{data_dir}"\ndataset = "{tmp_path / "built"}"\n'
        'window_months = 6\ngroups = ["rd"]\n[split]\ntrain_before = 2022-01-01\ntest_from = 2023-01-01\n',
        encoding="utf-8")
    result = runner.invoke(app, ["dataset", str(spec), "--workspace", str(ws), "--json"])
    assert result.exit_code == 0, result.output
    ds = LoanDataset.read(tmp_path / "built")
    assert ds.feature_ids == ["rd_intensity"] and ds.summary["window_months"] == 6
    assert json.loads(result.output)["fingerprint"] == ds.fingerprint
