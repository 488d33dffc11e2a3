"""`techscore synth` writes the world and prints its summary."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from techscore.cli import app
from techscore.synth.dirty import INJECTIONS


def test_synth_command_writes_world_and_summary(tmp_path):
    out = tmp_path / "w"
    result = CliRunner().invoke(app, ["synth", "--firms", "300", "--seed", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "default rate" in result.output and "loans" in result.output
    assert (out / "loans.parquet").is_file() and (out / "ground_truth.json").is_file()


def test_synth_command_json_and_dirty(tmp_path):
    out = tmp_path / "d"
    result = CliRunner().invoke(app, ["synth", "--firms", "300", "--seed", "3", "--out", str(out), "--dirty", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["rows"]["enterprises"] == 300 and summary["dirty"] == len(INJECTIONS)
    assert (out / "dirty_manifest.json").is_file()


def test_synth_command_rejects_too_few_firms(tmp_path):
    result = CliRunner().invoke(app, ["synth", "--firms", "3", "--out", str(tmp_path)])
    assert result.exit_code == 2
