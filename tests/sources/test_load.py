"""Loading raw tables: finding files, reading CSV and Parquet, typing columns per the contract."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from techscore.exceptions import SchemaError, ValidationError
from techscore.sources import Sources, load_sources, load_table
from techscore.sources._coerce import DTYPES, coerce
from techscore.sources.asof import empty_table
from techscore.sources.load import NormalisedValueWarning
from techscore.sources.schema import TABLE_NAMES, TABLES
from tests.sources.conftest import as_text, write_text, write_world

EXPECTED_DTYPES = {"str": "string", "uscc": "string", "category": "string", "int": "Int64", "float": "float64",
                   "money": "float64", "date": "datetime64[ns]", "bool": "boolean"}


def test_dtypes_are_the_contract_dtypes_everyone_uses() -> None:
    assert DTYPES == EXPECTED_DTYPES
    for name in TABLE_NAMES:
        assert {c: str(t) for c, t in empty_table(name).dtypes.items()} == {
            c.name: DTYPES[c.kind] for c in TABLES[name].columns}


def test_round_trip_keeps_values_and_types(tmp_path, world, fmt) -> None:
    sources = load_sources(write_world(world, tmp_path, fmt))
    for name in TABLE_NAMES:
        frame = sources[name]
        assert getattr(sources, name) is frame
        assert [c.name for c in TABLES[name].columns] == list(frame.columns)
        for col in TABLES[name].columns:
            assert str(frame[col.name].dtype) == DTYPES[col.kind], (name, col.name)
        expected = world[name]
        for column in expected.columns:
            pd.testing.assert_series_equal(frame[column], expected[column].astype(frame[column].dtype),
                                           check_names=False, obj=f"{name}.{column}")
        assert sources.paths[name].name == f"{name}.{fmt}"
    assert set(sources) == set(TABLE_NAMES) and len(sources) == 7


def test_absent_tables_and_columns_are_empty_and_missing(tmp_path, world) -> None:
    write_world({"enterprises": world["enterprises"], "loans": world["loans"]}, tmp_path, "csv")
    sources = load_sources(tmp_path)
    assert len(sources.financials) == 0 and sources.paths["financials"] is None
    assert str(sources.financials["year"].dtype) == "Int64"
    assert sources.enterprises["unicorn"].isna().all()
    assert str(sources.enterprises["unicorn"].dtype) == "datetime64[ns]"
    assert len(sources.loans) == len(world["loans"])


def test_tables_subset_reads_only_those(tmp_path, world) -> None:
    sources = load_sources(write_world(world, tmp_path, "parquet"), tables=["tax"])
    assert len(sources.tax) == len(world["tax"]) and len(sources.enterprises) == 0
    (tmp_path / "loans.parquet").unlink()
    with pytest.raises(FileNotFoundError, match="no loans.parquet or loans.csv"):
        load_sources(tmp_path, tables=["tax", "loans"])
    with pytest.raises(SchemaError, match="tables must be among"):
        load_sources(tmp_path, tables=["firms"])


def test_load_table_keeps_raw_text_and_row_order(tmp_path, world) -> None:
    write_world(world, tmp_path, "csv")
    raw = load_table(tmp_path, "loans", columns=["loan_id", "issued"])
    assert raw.columns == ("loan_id", "issued")
    assert raw.n_rows == len(world["loans"])
    assert raw.frame["issued"].tolist() == world["loans"]["issued"].dt.strftime("%Y-%m-%d").tolist()
    assert raw.path == tmp_path / "loans.csv"
    with pytest.raises(SchemaError, match="has no column"):
        load_table(tmp_path, "loans", columns=["interest"])
    with pytest.raises(SchemaError, match="table must be one of"):
        load_table(tmp_path, "firms")


def test_missing_folder_file_and_ambiguous_table(tmp_path, world) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_sources(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=f"no tax.parquet or tax.csv in {tmp_path}"):
        load_table(tmp_path, "tax")
    write_world({"tax": world["tax"]}, tmp_path, "csv")
    write_world({"tax": world["tax"]}, tmp_path, "parquet")
    with pytest.raises(ValidationError, match=r"table tax is ambiguous in .*tax.parquet, tax.csv"):
        load_table(tmp_path, "tax")


def test_gzipped_csv_is_read(tmp_path, world) -> None:
    with gzip.open(tmp_path / "tax.csv.gz", "wt", encoding="utf-8") as fh:
        world["tax"].to_csv(fh, index=False)
    assert load_sources(tmp_path).tax["grade"].tolist() == world["tax"]["grade"].tolist()


def test_unreadable_values_raise_naming_file_row_column_value(tmp_path, world) -> None:
    text = {name: as_text(frame) for name, frame in world.items()}
    text["financials"].loc[4, "revenue"] = "12,5"
    write_text(text, tmp_path, "csv")
    with pytest.raises(ValidationError, match=r"financials.csv row 5, column revenue: revenue '12,5' is not a number"):
        load_sources(tmp_path)
    coerced = load_sources(tmp_path, errors="coerce")
    assert np.isnan(coerced.financials.loc[4, "revenue"])
    assert coerced.financials["revenue"].notna().sum() == len(world["financials"]) - 1


def test_missing_required_column_raises(tmp_path, world) -> None:
    write_world({"tax": world["tax"].drop(columns=["grade"])}, tmp_path, "csv")
    with pytest.raises(SchemaError, match=r"tax.csv lacks required column\(s\) grade"):
        load_sources(tmp_path)
    assert load_sources(tmp_path, errors="coerce").tax["grade"].isna().all()


def test_csv_text_is_trimmed_with_a_warning_and_null_tokens_are_missing(tmp_path) -> None:
    (tmp_path / "tax.csv").write_text("uscc,year,grade\n 914403001922038216 ,2020,A\n914403001922038216,NA,\n",
                                      encoding="utf-8")
    with pytest.warns(NormalisedValueWarning, match=r"tax.csv row 1, column uscc: uscc ' 914403001922038216 ' has "
                                                    r"white space .* kept '914403001922038216'"):
        tax = load_sources(tmp_path).tax
    assert tax["uscc"].tolist() == ["914403001922038216"] * 2
    assert tax["year"].isna().tolist() == [False, True]
    assert tax["grade"].isna().tolist() == [False, True]


def test_sources_from_frames_fills_absent_tables() -> None:
    frames = {"loans": pd.DataFrame({"loan_id": ["L1"]})}
    sources = Sources.from_frames(frames)
    assert sources.loans is frames["loans"] and len(sources.enterprises) == 0
    assert "Sources(enterprises=0" in repr(sources)
    with pytest.raises(KeyError):
        sources["firms"]
    with pytest.raises(SchemaError, match="got firms"):
        Sources.from_frames({"firms": pd.DataFrame()})


@pytest.mark.parametrize(
    ("kind", "values", "typed", "bad"),
    [
        ("date", ["2020-01-31", " 2020-02-29 ", "2021-02-29", "2020-1-1", "2020-01-01T08:30", "20200101", None, ""],
         ["2020-01-31", None, None, None, "2020-01-01 08:30", None, None, None],
         [False, True, True, True, False, True, False, False]),
        ("money", ["1.5", "-2", "2e3", ".5", "inf", "1,000", "abc", None],
         [1.5, -2.0, 2000.0, 0.5, None, None, None, None], [False, False, False, False, True, True, True, False]),
        ("int", ["7", "2020.0", "2.5", "x", None], [7, 2020, None, None, None], [False, False, True, True, False]),
        # typing changes no value: other spellings and white space are declared normalisations, made before it
        ("bool", ["true", "FALSE", "True", "1", "0", "yes", "是", "否", " true", None],
         [True, False, True, True, False, None, None, None, None, None],
         [False, False, False, False, False, True, True, True, True, False]),
        ("str", [" a ", "", None, "b c"], [" a ", None, None, "b c"], [False] * 4),
    ],
)
def test_text_coercion(kind, values, typed, bad) -> None:
    series, failed = coerce(pa.array(values, type=pa.string()), kind)
    assert str(series.dtype) == DTYPES[kind]
    expected = pd.Series(typed, dtype=object)
    if kind == "date":
        expected = pd.to_datetime(expected, format="ISO8601")
    assert [None if pd.isna(v) else v for v in series.tolist()] == [
        None if pd.isna(v) else v for v in expected.tolist()]
    assert failed.tolist() == bad


@pytest.mark.parametrize(
    ("kind", "array", "typed", "bad"),
    [
        ("int", pa.array([1.0, 2.5, None]), [1, None, None], [False, True, False]),
        ("money", pa.array([1, None], type=pa.int32()), [1.0, None], [False, False]),
        ("bool", pa.array([0, 1, 2]), [False, True, None], [False, False, True]),
        ("date", pa.array([18262, None], type=pa.date32()), ["2020-01-01", None], [False, False]),
        ("date", pa.array([0], type=pa.timestamp("s", tz="Asia/Shanghai")), ["1970-01-01 08:00"], [False]),
        ("date", pa.array([-10**11], type=pa.timestamp("s")), [None], [True]),
        ("region", pa.array([440300]), ["440300"], [False]),
    ],
)
def test_stored_types_are_converted(kind, array, typed, bad) -> None:
    series, failed = coerce(array, "str" if kind == "region" else kind)
    expected = pd.to_datetime(pd.Series(typed), format="ISO8601") if kind == "date" else pd.Series(typed, dtype=object)
    assert [None if pd.isna(v) else v for v in series.tolist()] == [
        None if pd.isna(v) else v for v in expected.tolist()]
    assert failed.tolist() == bad
