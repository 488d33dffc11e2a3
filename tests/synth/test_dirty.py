"""Dirty mode: every injected violation is listed, and the validator finds each one where the manifest says."""

from __future__ import annotations

import json

import pytest

from techscore.synth.dirty import INJECTIONS

validate_module = pytest.importorskip("techscore.sources.validation")


def test_manifest_lists_every_injection(dirty_world):
    manifest = json.loads((dirty_world / "dirty_manifest.json").read_text(encoding="utf-8"))
    entries = manifest["injections"]
    assert {e["rule"] for e in entries} == set(INJECTIONS)
    assert set(INJECTIONS) <= set(validate_module.RULES)
    for e in entries:
        assert (dirty_world / e["file"]).is_file()
        assert e["row"] >= 1
    assert (dirty_world / "financials.csv").is_file() and not (dirty_world / "financials.parquet").exists()


def test_validator_reports_each_injection_at_its_file_row_and_column(dirty_world):
    result = validate_module.validate(dirty_world)
    problems = result.problems
    manifest = json.loads((dirty_world / "dirty_manifest.json").read_text(encoding="utf-8"))
    for e in manifest["injections"]:
        hit = problems[
            problems["file"].str.endswith(e["file"]) & (problems["row"] == e["row"])
            & (problems["column"] == e["column"]) & (problems["rule"] == e["rule"])
        ]
        assert len(hit) == 1, e
    # nothing else is wrong apart from the named side effect
    others = set(problems["rule"]) - set(INJECTIONS)
    assert others <= {"foreign_key_rejected"}


def test_clean_world_has_no_problems(world):
    result = validate_module.validate(world)
    assert result.ok and len(result.problems) == 0, result.problems.head()
