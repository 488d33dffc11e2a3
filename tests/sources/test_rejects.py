"""Writing rejected rows, valid tables and the JSON report."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from techscore.exceptions import ValidationError
from techscore.sources.load import load_sources
from techscore.sources.rejects import PROBLEMS_FILE, report, write_rejects, write_report, write_valid
from techscore.sources.schema import TABLE_NAMES
from techscore.sources.validation import validate
from tests.sources.conftest import as_text, write_text


@pytest.fixture
def dirty(tmp_path, world):
    text = {name: as_text(frame) for name, frame in world.items()}
    text["loans"].loc[0, "amount"] = "-1"
    text["tax"].loc[2, "grade"] = "Z"
    text["enterprises"]["website"] = "example.cn"
    return write_text(text, tmp_path / "in", "csv")


def test_valid_plus_rejected_files_hold_every_input_row(tmp_path, dirty) -> None:
    result = validate(dirty)
    out = tmp_path / "out"
    valid_paths = write_valid(result, out)
    reject_paths = write_rejects(result, out)
    assert set(valid_paths) == set(reject_paths) == set(TABLE_NAMES)
    for name in TABLE_NAMES:
        rejected = pd.read_parquet(reject_paths[name])
        valid = pd.read_parquet(valid_paths[name])
        assert len(valid) + len(rejected) == result.counts.loc[name, "input"]
    loans = pd.read_parquet(reject_paths["loans"])
    assert loans[["row", "amount", "reasons"]].values.tolist() == [[1, "-1", "amount '-1' is negative"]]
    clean = validate(out)  # the valid tables are a folder the loader and validator read again
    assert clean.ok and clean.counts["input"].sum() == result.counts["valid"].sum()
    assert len(load_sources(out).tax) == result.counts.loc["tax", "valid"]


def test_outputs_never_overwrite_the_input(dirty) -> None:
    result = validate(dirty)
    with pytest.raises(ValidationError, match="is the input folder"):
        write_valid(result, dirty)


def test_report_json_and_problem_list(tmp_path, dirty) -> None:
    result = validate(dirty)
    path = write_report(result, tmp_path / "reports" / "check.json", max_problems=2)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["ok"] is False and data["errors"] == 2 and data["warnings"] == 1
    assert data["tables"]["loans"] == {"file": str(dirty / "loans.csv"), "input": len(result.valid.loans) + 1,
                                       "valid": len(result.valid.loans), "rejected": 1, "errors": 1, "warnings": 0}
    assert data["rules"]["negative"]["errors"] == 1 and data["rules"]["unknown_column"]["warnings"] == 1
    assert data["problems_total"] == 3 and data["problems_shown"] == 2
    first = data["problems"][0]
    assert first["rule"] == "unknown_column" and first["row"] is None and first["column"] == "website"
    assert (data["problems"][1]["table"], data["problems"][1]["row"], data["problems"][1]["value"]) == ("tax", 3, "Z")
    problems = pd.read_parquet(tmp_path / "reports" / PROBLEMS_FILE)
    assert len(problems) == 3 and list(problems.columns)[:4] == ["file", "table", "row", "column"]


def test_report_of_a_clean_world(tmp_path, world) -> None:
    result = validate(world)
    data = report(result)
    assert data["ok"] and data["problems"] == [] and data["rules"] == {} and data["folder"] is None
