"""Dirty mode: one planted case of every class the contract declares, each with its declared outcome where the
manifest says, and input = valid + rejected in every table."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from techscore.synth.dirty import INJECTIONS

validate_module = pytest.importorskip("techscore.sources.validation")


def manifest(folder) -> dict:
    return json.loads((folder / "dirty_manifest.json").read_text(encoding="utf-8"))


def test_manifest_lists_every_injection(dirty_world):
    entries = manifest(dirty_world)["injections"]
    assert {e["case"] for e in entries} == set(INJECTIONS)
    assert {rule for rule, _, _ in INJECTIONS.values()} <= set(validate_module.RULES)
    classes = {e["rule"] for e in entries}
    assert {"whitespace", "width", "case", "synonym", "after_snapshot", "required_column"} <= classes
    for e in entries:
        assert (dirty_world / e["file"]).is_file()
        assert e["row"] is None if e["outcome"] == "file" else e["row"] >= 1
        assert (e["kept"] is not None) == (e["outcome"] == "kept")
    assert (dirty_world / "financials.csv").is_file() and not (dirty_world / "financials.parquet").exists()
    world = json.loads((dirty_world / "world.json").read_text(encoding="utf-8"))
    assert manifest(dirty_world)["snapshot_date"] == world["snapshot_date"]


def test_validator_gives_each_plant_its_declared_outcome(dirty_world):
    result = validate_module.validate(dirty_world)
    assert result.snapshot_source.endswith("world.json")
    problems = result.problems
    for e in manifest(dirty_world)["injections"]:
        at = problems["file"].str.endswith(e["file"]) & (problems["column"] == e["column"]) & (
            problems["rule"] == e["rule"])
        at &= problems["row"].isna() if e["row"] is None else (problems["row"] == e["row"])
        hit = problems[at.fillna(False).astype(bool)]
        assert len(hit) == 1, e
        p = hit.iloc[0]
        assert p["severity"] == ("warning" if e["outcome"] == "kept" else "error"), e
        rejected = set(result.rejects[e["table"]]["row"])
        if e["outcome"] == "kept":
            assert p["value"] == e["value"] and p["kept"] == e["kept"]
            assert e["row"] not in rejected
        elif e["outcome"] == "rejected":
            assert e["row"] in rejected
        else:
            assert result.counts.loc[e["table"], "valid"] == 0
            assert e["column"] in p["message"] and e["file"] in p["message"]
    others = set(problems["rule"]) - {e["rule"] for e in manifest(dirty_world)["injections"]}
    assert others <= {"foreign_key_rejected"}
    for name, row in result.counts.iterrows():
        assert row["input"] == row["valid"] + row["rejected"], name


def test_validate_command_on_the_dirty_world(dirty_world, tmp_path):
    from techscore.cli import app

    out = tmp_path / "split"
    result = CliRunner().invoke(app, ["validate", str(dirty_world), "--rejects", str(out), "--report",
                                      str(tmp_path / "report.json"), "--json"])
    assert result.exit_code == 2  # the planted missing column is a file-level error
    assert "innovation_indicators.parquetlackstherequiredcolumnyear" in "".join(result.stderr.split())
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    for name, counts in report["tables"].items():
        assert counts["input"] == counts["valid"] + counts["rejected"], name
        if counts["input"]:
            kept = len(pd.read_parquet(out / f"{name}.parquet"))
            assert kept + len(pd.read_parquet(out / f"{name}.rejects.parquet")) == counts["input"], name


def test_clean_world_has_no_problems(world):
    result = validate_module.validate(world)
    assert result.ok and len(result.problems) == 0, result.problems.head()
