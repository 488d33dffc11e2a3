"""Finding a run's artifacts and reading batch files (no MLflow, no browser)."""

from __future__ import annotations

import pandas as pd
import pytest

from techscore.dataset.history import yearly_dates
from techscore.exceptions import ReportError
from techscore.model.artifacts import RunArtifacts, find_artifact
from techscore.reports.firm_report import read_batch


def test_find_artifact_takes_the_shallowest_match_and_skips_report_outputs(tmp_path):
    for rel in ("reports/metrics.json", "deep/er/metrics.json", "metrics.json", "challenger/ks.png", "plots/ks.png"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    assert find_artifact(tmp_path, "metrics.json") == tmp_path / "metrics.json"
    assert find_artifact(tmp_path, "challenger/ks.png") == tmp_path / "challenger" / "ks.png"
    (tmp_path / "metrics.json").unlink()
    assert find_artifact(tmp_path, "metrics.json") == tmp_path / "deep" / "er" / "metrics.json"
    assert find_artifact(tmp_path, "nope.csv") is None


def test_a_folder_without_a_model_is_not_a_run(tmp_path):
    (tmp_path / "metrics.json").write_text("{}")
    with pytest.raises(ReportError, match="holds no saved PD model"):
        RunArtifacts.load(tmp_path)


def test_read_batch_accepts_text_csv_and_parquet(tmp_path):
    (tmp_path / "b.txt").write_text("91110000MA0000001X\n\n91110000MA0000002X\n", encoding="utf-8")
    assert read_batch(tmp_path / "b.txt")["uscc"].tolist() == ["91110000MA0000001X", "91110000MA0000002X"]
    pd.DataFrame({"uscc": ["A"], "as_of": ["2024-06-01"]}).to_csv(tmp_path / "b.csv", index=False)
    assert list(read_batch(tmp_path / "b.csv").columns) == ["uscc", "as_of"]
    pd.DataFrame({"code": ["A"]}).to_parquet(tmp_path / "b.parquet")
    with pytest.raises(ReportError, match="has no 'uscc' column; columns: code"):
        read_batch(tmp_path / "b.parquet")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_batch(tmp_path / "missing.csv")


def test_yearly_dates_end_at_the_as_of_date():
    assert [d.date().isoformat() for d in yearly_dates("2024-06-30", 3)] == ["2022-06-30", "2023-06-30", "2024-06-30"]
