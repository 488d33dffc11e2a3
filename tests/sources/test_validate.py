"""Every validation rule on small hand-built tables (CSV and Parquet): file, row, column, value and rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from techscore.sources import uscc
from techscore.sources.load import Sources
from techscore.sources.schema import TABLE_NAMES
from techscore.sources.validation import RULES, validate
from tests.sources.conftest import as_text, make_codes, write_text, write_world


def find(problems: pd.DataFrame, **where) -> pd.DataFrame:
    mask = pd.Series(True, index=problems.index)
    for column, value in where.items():
        if value is None:
            mask &= problems[column].isna()
        else:
            mask &= problems[column].eq(value).fillna(False).astype(bool)
    return problems[mask]


def assert_accounting(result) -> None:
    for name, row in result.counts.iterrows():
        assert row["input"] == row["valid"] + row["rejected"], name
        assert len(result.valid[name]) == row["valid"], name
        if name in result.rejects:
            assert len(result.rejects[name]) == row["rejected"], name


def other_code(world) -> str:
    """A valid firm code that is no firm of the world."""
    known = set(world["enterprises"]["uscc"])
    return next(c for c in make_codes(40, np.random.default_rng(99)) if c not in known)


def bad_check(code: str) -> str:
    return code[:-1] + next(c for c in uscc.ALPHABET if c != code[-1])


@pytest.fixture
def text_world(world) -> dict[str, pd.DataFrame]:
    return {name: as_text(frame) for name, frame in world.items()}


CASES = [
    # table, 0-based row, column, new value (callable: of the text world), rule
    ("enterprises", 2, "founded", "2020-13-01", "type"),
    ("financials", 4, "revenue", "12,5", "type"),
    ("financials", 3, "year", "2020.5", "type"),
    ("ip_rights", 1, "pledged", "maybe", "type"),
    ("loans", 3, "term_months", "twelve", "type"),
    ("enterprises", 1, "name", None, "required_value"),
    ("tax", 0, "grade", None, "required_value"),
    ("financials", 1, "uscc", None, "required_value"),
    ("loans", 2, "uscc", "91440300MA5F", "uscc_format"),
    ("supply_chain", 4, "seller_uscc", "91440300MA5FABCDEI", "uscc_format"),  # I is not in the alphabet
    ("supply_chain", 5, "buyer_uscc", lambda w: w["supply_chain"].loc[5, "buyer_uscc"][:9] + "\u200b"
     + w["supply_chain"].loc[5, "buyer_uscc"][9:], "uscc_format"),  # an invisible character inside is not repaired
    ("ip_rights", 4, "kind", "in\u00a0vention", "choice"),
    ("loans", 4, "issued", lambda w: "2099-01-01", "after_snapshot"),
    ("supply_chain", 6, "date", lambda w: "2030-01-01", "after_snapshot"),
    ("enterprises", 3, "uscc", lambda w: bad_check(w["enterprises"].loc[3, "uscc"]), "uscc_check"),
    ("tax", 2, "uscc", lambda w: bad_check(w["tax"].loc[2, "uscc"]), "uscc_check"),
    ("enterprises", 4, "industry", "C99", "industry"),
    ("enterprises", 5, "industry", "Z", "industry"),
    ("enterprises", 5, "region", "4403", "region"),
    ("ip_rights", 0, "kind", "patent", "choice"),
    ("ip_rights", 2, "status", "expired", "choice"),
    ("tax", 1, "grade", "E", "choice"),
    ("supply_chain", 0, "amount", "-100", "negative"),
    ("financials", 0, "employees", "-3", "negative"),
    ("financials", 2, "year", "1850", "year_range"),
    ("enterprises", 6, "founded", "1800-01-01", "year_range"),
    ("ip_rights", 5, "expires", "2150-01-01", "year_range"),
    ("ip_rights", 3, "granted", "2000-01-01", "date_order"),
    ("supply_chain", 1, "paid_date", "2000-01-01", "date_order"),
    ("supply_chain", 2, "due_date", "2000-01-01", "date_order"),
    ("loans", 0, "default_date", lambda w: w["loans"].loc[0, "issued"], "date_order"),
    ("loans", 1, "uscc", other_code, "foreign_key"),
    ("supply_chain", 3, "buyer_uscc", other_code, "foreign_key"),
]


@pytest.mark.parametrize(("table", "row", "column", "value", "rule"), CASES,
                         ids=[f"{c[4]}-{c[0]}.{c[2]}" for c in CASES])
def test_rule_names_file_row_column_value(tmp_path, text_world, fmt, table, row, column, value, rule) -> None:
    value = value(text_world) if callable(value) else value
    text_world[table].loc[row, column] = value
    result = validate(write_text(text_world, tmp_path, fmt))
    hit = find(result.problems, table=table, row=row + 1, column=column, rule=rule)
    assert len(hit) == 1, result.problems
    problem = hit.iloc[0]
    assert problem["file"] == str(tmp_path / f"{table}.{fmt}")
    assert problem["severity"] == "error"
    assert (pd.isna(problem["value"]) if value is None else problem["value"] == value)
    assert column in problem["message"]
    rejected = result.rejects[table]
    assert row + 1 in set(rejected["row"])
    assert problem["message"] in rejected.loc[rejected["row"] == row + 1, "reasons"].iloc[0]
    assert not result.ok
    assert_accounting(result)
    # the rows of other firms are untouched
    assert result.counts.loc["enterprises", "rejected"] <= 1


def test_clean_world_passes_in_both_formats(tmp_path, world, fmt) -> None:
    result = validate(write_world(world, tmp_path, fmt))
    assert result.ok and len(result.problems) == 0
    assert result.counts["rejected"].sum() == 0
    for name in TABLE_NAMES:
        assert len(result.valid[name]) == len(world[name])
        assert len(result.rejects[name]) == 0
    assert_accounting(result)


def test_typed_parquet_values_are_checked_too(tmp_path, world) -> None:
    world["supply_chain"].loc[2, "amount"] = -5.0
    world["ip_rights"].loc[0, "granted"] = world["ip_rights"].loc[0, "filed"] - pd.Timedelta(days=1)
    world["financials"].loc[1, "employees"] = -1
    result = validate(write_world(world, tmp_path, "parquet"))
    assert len(find(result.problems, table="supply_chain", row=3, column="amount", rule="negative", value="-5")) == 1
    granted = world["ip_rights"].loc[0, "granted"].strftime("%Y-%m-%d")
    hit = find(result.problems, table="ip_rights", row=1, column="granted", rule="date_order", value=granted)
    assert hit["message"].iloc[0].startswith(f"granted '{granted}' is before filed '")
    assert len(find(result.problems, table="financials", row=2, column="employees", rule="negative")) == 1
    assert result.counts["rejected"].sum() == 3


def test_missing_enterprises_is_one_table_error(tmp_path, world) -> None:
    del world["enterprises"]
    result = validate(write_world(world, tmp_path, "csv"))
    hit = find(result.problems, table="enterprises", rule="table_missing")
    assert len(hit) == 1 and pd.isna(hit["row"].iloc[0]) and hit["file"].iloc[0] == str(tmp_path)
    assert len(result.problems) == 1 and not result.ok
    assert result.counts.loc["enterprises", "input"] == 0 and "enterprises" not in result.rejects
    assert result.counts.loc["loans", "valid"] == len(world["loans"])


def test_optional_tables_may_be_absent(tmp_path, world) -> None:
    result = validate(write_world({"enterprises": world["enterprises"]}, tmp_path, "parquet"))
    assert result.ok
    assert result.counts.loc["loans", "input"] == 0 and pd.isna(result.counts.loc["loans", "file"])
    assert list(result.valid.loans.columns)[:2] == ["loan_id", "bank_id"]


def test_missing_required_column_is_a_file_level_error(tmp_path, world, fmt) -> None:
    world["financials"] = world["financials"].drop(columns=["revenue"])
    world["financials"].loc[0, "employees"] = -5  # not checked row by row: the file cannot be used
    result = validate(write_world(world, tmp_path, fmt))
    hit = find(result.problems, table="financials", rule="required_column", column="revenue")
    assert len(hit) == 1 and pd.isna(hit["row"].iloc[0])
    assert str(tmp_path / f"financials.{fmt}") in hit["message"].iloc[0]
    assert len(find(result.problems, table="financials")) == 1
    assert result.file_errors["message"].tolist() == hit["message"].tolist()
    assert result.counts.loc["financials", "rejected"] == len(world["financials"])
    assert result.rejects["financials"]["reasons"].str.contains("lacks the required column revenue").all()
    assert_accounting(result)


def test_unknown_column_is_a_warning(tmp_path, world) -> None:
    world["loans"]["interest_rate"] = 0.05
    result = validate(write_world(world, tmp_path, "csv"))
    hit = find(result.problems, table="loans", rule="unknown_column", column="interest_rate")
    assert len(hit) == 1 and hit["severity"].iloc[0] == "warning"
    assert result.ok and result.counts.loc["loans", "rejected"] == 0 and result.n_warnings == 1
    assert "interest_rate" not in result.valid.loans.columns


def test_duplicate_keys_keep_the_first_row(tmp_path, world, fmt) -> None:
    world["ip_rights"].loc[5, "ip_id"] = world["ip_rights"].loc[2, "ip_id"]
    world["financials"] = pd.concat([world["financials"], world["financials"].iloc[[0]]], ignore_index=True)
    result = validate(write_world(world, tmp_path, fmt))
    ip = find(result.problems, rule="duplicate_key", table="ip_rights")
    assert ip[["row", "column", "value"]].values.tolist() == [[6, "ip_id", world["ip_rights"].loc[2, "ip_id"]]]
    assert ip["message"].iloc[0].endswith("the same as row 3")
    last = len(world["financials"])
    fin = find(result.problems, rule="duplicate_key", table="financials")
    first = world["financials"].iloc[0]
    assert fin[["row", "column", "value"]].values.tolist() == [[last, "uscc,year", f"{first['uscc']},{first['year']}"]]
    assert result.counts.loc["financials", "rejected"] == 1 and result.counts.loc["ip_rights", "rejected"] == 1
    assert_accounting(result)


def test_foreign_keys_cascade_from_rejected_firms(tmp_path, world) -> None:
    text = {name: as_text(frame) for name, frame in world.items()}
    firm = text["enterprises"].loc[0, "uscc"]
    text["enterprises"].loc[0, "founded"] = "not a date"
    result = validate(write_text(text, tmp_path, "csv"))
    assert result.counts.loc["enterprises", "rejected"] == 1
    for name in TABLE_NAMES[1:]:
        frame = world[name]
        columns = [c for c in ("uscc", "seller_uscc", "buyer_uscc") if c in frame.columns]
        of_firm = np.flatnonzero(frame[columns].eq(firm).any(axis=1).to_numpy())
        assert set(result.rejects[name]["row"]) == set(of_firm + 1), name
        assert result.counts.loc[name, "valid"] == len(frame) - len(of_firm)
        cascade = find(result.problems, table=name, rule="foreign_key_rejected")
        assert cascade["message"].str.endswith("refers to a firm rejected in enterprises (row 1)").all()
        assert set(cascade["value"]) <= {firm}
    assert set(result.problems["rule"]) == {"type", "foreign_key_rejected"}
    assert_accounting(result)


def test_lenient_check_character(tmp_path, world) -> None:
    text = {name: as_text(frame) for name, frame in world.items()}
    firm = text["enterprises"].loc[0, "uscc"]
    pilot = bad_check(firm)
    for frame in text.values():
        for column in ("uscc", "seller_uscc", "buyer_uscc"):
            if column in frame.columns:
                frame.loc[frame[column] == firm, column] = pilot
    folder = write_text(text, tmp_path, "csv")
    strict = validate(folder)
    assert find(strict.problems, table="enterprises", row=1, rule="uscc_check", value=pilot)["severity"].tolist() == ["error"]
    assert strict.counts["rejected"].sum() > 1

    lenient = validate(folder, lenient_check_character=True)
    assert lenient.ok and lenient.counts["rejected"].sum() == 0
    assert set(lenient.problems["rule"]) == {"uscc_check"} and set(lenient.problems["severity"]) == {"warning"}
    assert len(lenient.problems) == strict.counts["rejected"].sum()
    assert pilot in set(lenient.valid.enterprises["uscc"])

    text["loans"].loc[0, "uscc"] = pilot[:17]  # still malformed: an error even when lenient
    result = validate(write_text(text, tmp_path, "csv"), lenient_check_character=True)
    assert find(result.problems, table="loans", row=1, rule="uscc_format")["severity"].tolist() == ["error"]


def test_year_before_founding_is_a_warning(tmp_path, world) -> None:
    firm = world["enterprises"].iloc[0]
    row = int(np.flatnonzero(world["financials"]["uscc"] == firm["uscc"])[0])
    world["financials"].loc[row, "year"] = firm["founded"].year - 1
    result = validate(write_world(world, tmp_path, "parquet"))
    hit = find(result.problems, table="financials", row=row + 1, rule="year_before_founded", column="year")
    assert hit["severity"].tolist() == ["warning"]
    assert hit["message"].iloc[0].endswith(f"before the firm's founding year {firm['founded'].year}")
    assert result.ok and result.counts.loc["financials", "rejected"] == 0


def test_row_with_several_errors_lists_every_reason(tmp_path, text_world) -> None:
    text_world["loans"].loc[1, "amount"] = "-3"
    text_world["loans"].loc[1, "issued"] = "yesterday"
    result = validate(write_text(text_world, tmp_path, "csv"))
    reasons = result.rejects["loans"].set_index("row").loc[2, "reasons"]
    assert reasons == "issued 'yesterday' is not an ISO date (YYYY-MM-DD); amount '-3' is negative"
    rejected = result.rejects["loans"].set_index("row").loc[2]
    assert rejected["issued"] == "yesterday" and rejected["loan_id"] == text_world["loans"].loc[1, "loan_id"]


def test_tables_in_memory(world) -> None:
    world["tax"].loc[0, "grade"] = "E"
    for source in (world, Sources.from_frames(world)):
        result = validate(source)
        hit = find(result.problems, rule="choice")
        assert hit[["file", "table", "row", "column", "value"]].values.tolist() == [["<tax>", "tax", 1, "grade", "E"]]
        assert result.counts.loc["tax", "valid"] == len(world["tax"]) - 1
        assert result.folder is None
    with pytest.raises(TypeError, match="source must be a data folder"):
        validate(42)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        validate("/nonexistent/folder")


def test_valid_tables_are_typed(tmp_path, text_world) -> None:
    result = validate(write_text(text_world, tmp_path, "csv"))
    assert str(result.valid.loans["issued"].dtype) == "datetime64[ns]"
    assert str(result.valid.financials["year"].dtype) == "Int64"
    assert str(result.valid.ip_rights["pledged"].dtype) == "boolean"
    assert result.valid.paths["loans"] == tmp_path / "loans.csv"


def test_rule_ids_are_stable() -> None:
    assert list(RULES) == [
        "table_missing", "required_column", "unknown_column", "whitespace", "width", "case", "synonym", "type",
        "required_value", "uscc_format", "uscc_check", "industry", "region", "choice", "negative", "year_range",
        "date_order", "after_snapshot", "duplicate_key", "foreign_key", "foreign_key_rejected",
        "year_before_founded",
    ]


def test_large_grouped_and_sorted_tables_take_the_fast_paths(tmp_path) -> None:
    """Above 1,024 rows firm codes are looked up once per run of equal codes and sorted ids skip hashing:
    the answers must be the same as on the slow paths."""
    from tests.sources.conftest import make_world

    world = make_world(n_firms=400, seed=5)
    fin = world["financials"]
    starts = np.flatnonzero(fin["uscc"].to_numpy()[1:] != fin["uscc"].to_numpy()[:-1]) + 1
    assert len(fin) > 1024 and len(starts) < len(fin) // 2
    unknown = other_code(world)
    middle = int(starts[10]) + 1  # inside a run of one firm's rows
    fin.loc[middle, "uscc"] = unknown
    fin.loc[middle + 1, "uscc"] = bad_check(fin.loc[middle + 1, "uscc"])
    supply = world["supply_chain"]
    supply.loc[len(supply) - 1, "invoice_id"] = supply.loc[0, "invoice_id"]
    result = validate(write_world(world, tmp_path, "parquet"))
    rules = result.problems.set_index(["table", "row"])["rule"]
    assert rules.loc[("financials", middle + 1)] == "foreign_key"
    assert rules.loc[("financials", middle + 2)] == "uscc_check"
    assert rules.loc[("supply_chain", len(supply))] == "duplicate_key"
    assert len(result.problems) == 3
    assert_accounting(result)


def test_snapshot_date_bounds_every_date_of_an_event(tmp_path, text_world, fmt) -> None:
    """A loan issued, an invoice dated, a right filed, a default or a fiscal year after the data's extraction date is
    rejected (after_snapshot); dates that may lie ahead (expiry, due date) are not bounded."""
    w = text_world
    w["loans"].loc[0, ["issued", "default_date"]] = ["2024-01-02", None]
    w["loans"].loc[1, "default_date"] = "2024-05-01"
    w["supply_chain"].loc[0, ["date", "due_date", "paid_date"]] = ["2024-03-01", "2024-05-01", None]
    w["supply_chain"].loc[1, "due_date"] = "2024-02-01"  # due after the snapshot: fine
    pending = int(np.flatnonzero(w["ip_rights"]["granted"].isna())[0])
    w["ip_rights"].loc[pending, "filed"] = "2024-01-01"
    w["financials"].loc[0, "year"] = "2024"
    w["enterprises"].loc[0, "high_tech"] = "2024-02-02"
    result = validate(write_text(w, tmp_path, fmt), snapshot_date="2023-12-31")
    assert result.snapshot_date == pd.Timestamp("2023-12-31") and result.snapshot_source == "given"
    late = result.problems[result.problems["rule"] == "after_snapshot"]
    assert set(zip(late["table"], late["row"], late["column"], strict=True)) == {
        ("loans", 1, "issued"), ("loans", 2, "default_date"), ("supply_chain", 1, "date"),
        ("ip_rights", pending + 1, "filed"), ("financials", 1, "year"), ("enterprises", 1, "high_tech")}
    assert (late["severity"] == "error").all()
    assert "is after the data's snapshot date 2023-12-31" in late["message"].iloc[0]
    assert set(result.problems["rule"]) <= {"after_snapshot", "foreign_key_rejected"}
    assert_accounting(result)


def test_snapshot_date_is_recorded_with_the_data_or_today(tmp_path, world) -> None:
    import json

    from techscore.exceptions import ValidationError

    world["loans"].loc[0, "issued"] = pd.Timestamp("2022-03-01")
    world["loans"].loc[0, "default_date"] = pd.NaT
    folder = write_world(world, tmp_path, "parquet")
    today = validate(folder)
    assert today.ok and today.snapshot_source == "today"
    assert today.snapshot_date == pd.Timestamp.today().normalize()
    (folder / "world.json").write_text(json.dumps({"snapshot_date": "2022-02-28"}), encoding="utf-8")
    recorded = validate(folder)
    assert recorded.snapshot_source == str(folder / "world.json")
    assert find(recorded.problems, table="loans", row=1, column="issued", rule="after_snapshot").shape[0] == 1
    (folder / "manifest.json").write_text(json.dumps({"snapshot_date": "2022-12-31"}), encoding="utf-8")
    assert validate(folder).ok  # manifest.json is read first
    assert not validate(folder, snapshot_date="2022-01-01").ok  # an option overrides the record
    (folder / "manifest.json").write_text(json.dumps({"snapshot_date": "end of year"}), encoding="utf-8")
    with pytest.raises(ValidationError, match=r"manifest.json, key snapshot_date must be a date .* got 'end of year'"):
        validate(folder)
