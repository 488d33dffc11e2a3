"""`techscore validate DIR` through the command line."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from techscore.cli import app
from techscore.sources.schema import TABLE_NAMES
from tests.sources.conftest import as_text, write_text, write_world

runner = CliRunner()


def flat(result) -> str:
    """The output with Rich's line wrapping undone."""
    return " ".join(result.output.split())


def test_clean_folder_exits_0_and_writes_the_report(tmp_path, world) -> None:
    folder = write_world(world, tmp_path / "data", "parquet")
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert "no errors" in flat(result) and "enterprises" in flat(result)
    report = json.loads((folder / "validation_report.json").read_text(encoding="utf-8"))
    assert report["ok"] is True
    assert (folder / "problems.parquet").is_file()


def test_errors_exit_1_and_rejects_split_every_table(tmp_path, world) -> None:
    text = {name: as_text(frame) for name, frame in world.items()}
    text["ip_rights"].loc[3, "kind"] = "patent"
    folder = write_text(text, tmp_path / "data", "csv")
    out, report = tmp_path / "clean", tmp_path / "report.json"
    result = runner.invoke(app, ["validate", str(folder), "--rejects", str(out), "--report", str(report),
                                 "--max-show", "5"])
    assert result.exit_code == 1, result.output
    assert "ip_rights.csv" in flat(result) and "patent" in flat(result)
    for name in TABLE_NAMES:
        kept = pd.read_parquet(out / f"{name}.parquet")
        dropped = pd.read_parquet(out / f"{name}.rejects.parquet")
        assert len(kept) + len(dropped) == len(world[name]), name
    assert json.loads(report.read_text(encoding="utf-8"))["tables"]["ip_rights"]["rejected"] == 1
    assert not (folder / "validation_report.json").exists()


def test_json_output_and_lenient_flag(tmp_path, world) -> None:
    text = {name: as_text(frame) for name, frame in world.items()}
    code = text["enterprises"].loc[0, "uscc"]
    pilot = code[:-1] + ("0" if code[-1] != "0" else "1")  # an early-pilot code whose check fails
    for frame in text.values():
        frame.replace({code: pilot}, inplace=True)
    folder = write_text(text, tmp_path / "data", "csv")
    strict = runner.invoke(app, ["validate", str(folder), "--json"])
    assert strict.exit_code == 1
    lenient = runner.invoke(app, ["validate", str(folder), "--json", "--lenient-check-character", "--max-show", "1"])
    assert lenient.exit_code == 0, lenient.output
    data = json.loads(lenient.stdout)
    assert data["ok"] and data["lenient_check_character"] and data["warnings"] >= 1
    assert len(data["problems"]) == 1 and data["problems"][0]["rule"] == "uscc_check"


def test_usage_and_file_errors_exit_2(tmp_path, world) -> None:
    missing = runner.invoke(app, ["validate", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "does not exist or is not a folder" in flat(missing)
    folder = write_world(world, tmp_path / "data", "csv")
    same = runner.invoke(app, ["validate", str(folder), "--rejects", str(folder)])
    assert same.exit_code == 2 and "is the input folder" in flat(same)
    write_world({"tax": world["tax"]}, folder, "parquet")
    ambiguous = runner.invoke(app, ["validate", str(folder)])
    assert ambiguous.exit_code == 2 and "table tax is ambiguous" in flat(ambiguous)
    assert runner.invoke(app, ["validate", str(folder), "--max-show", "-1"]).exit_code == 2


def test_missing_required_column_or_table_exits_2_naming_file_and_column(tmp_path, world) -> None:
    world["loans"] = world["loans"].drop(columns=["issued"])
    folder = write_world(world, tmp_path / "data", "csv")
    result = runner.invoke(app, ["validate", str(folder), "--json"])
    assert result.exit_code == 2
    assert f"{folder / 'loans.csv'}lackstherequiredcolumnissued".replace(" ", "") in "".join(result.stderr.split())
    report = json.loads((folder / "validation_report.json").read_text(encoding="utf-8"))
    assert report["tables"]["loans"]["rejected"] == report["tables"]["loans"]["input"] == len(world["loans"])
    (folder / "enterprises.csv").unlink()
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 2 and "table enterprises is required" in " ".join(result.stderr.split())


def test_snapshot_date_option(tmp_path, world) -> None:
    folder = write_world(world, tmp_path / "data", "parquet")
    late = runner.invoke(app, ["validate", str(folder), "--snapshot-date", "2021-01-01", "--json"])
    assert late.exit_code == 1
    data = json.loads(late.stdout)
    assert data["snapshot_date"] == "2021-01-01" and data["rules"]["after_snapshot"]["errors"] > 0
    assert runner.invoke(app, ["validate", str(folder), "--snapshot-date", "someday"]).exit_code == 2
