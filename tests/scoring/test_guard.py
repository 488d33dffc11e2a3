"""The schema guard: a feature table that does not fit the model stops the run, naming the columns."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from techscore.exceptions import SchemaError
from techscore.scoring import InputSchema, check_columns, check_rows, score_file
from techscore.scoring.guard import CATALOGUE_KEY


@pytest.fixture(scope="module")
def schema(model) -> InputSchema:
    return InputSchema.from_model(model)


def test_schema_carries_features_kinds_levels_and_catalogue(model, schema):
    assert schema.features == tuple(model.feature_ids)
    assert schema.categorical == {"profile_industry_section": ("C", "I", "M", "F", "L")}
    assert schema.codes["profile_industry_section"] == tuple(model.booster.pandas_categorical[0])
    assert schema.catalogue_version == "test-catalogue-v1"


def test_missing_columns_are_named(model, clean_frame, tmp_path):
    clean_frame.drop(columns=["fin_leverage", "inno_points", "uscc"]).to_parquet(tmp_path / "in.parquet")
    with pytest.raises(SchemaError, match=r"no 'uscc' column.*missing 2 columns the model was trained on: "
                                          r"inno_points, fin_leverage\."):
        score_file(model, tmp_path / "in.parquet", tmp_path / "out.parquet")
    assert not (tmp_path / "out.parquet").exists()


def test_mistyped_columns_are_named(model, clean_frame, tmp_path):
    frame = clean_frame.assign(fin_leverage=clean_frame["fin_leverage"].astype(str),
                               profile_industry_section=np.linspace(0, 1, len(clean_frame)))
    frame.to_parquet(tmp_path / "in.parquet")
    with pytest.raises(SchemaError, match=r"2 columns of the feature table have the wrong type: "
                                          r"fin_leverage \(large_string; expected a number\), "
                                          r"profile_industry_section \(double; expected text\)\."):
        score_file(model, tmp_path / "in.parquet", tmp_path / "out.parquet")


def test_more_than_five_problems_are_counted(schema):
    with pytest.raises(SchemaError, match=r"missing 9 columns .*: rd_intensity_3y, ip_invention_in_force, "
                                          r"inno_points, fin_leverage, sc_customer_hhi and 4 more\."):
        check_columns(["uscc"], None, schema, "t.csv")


def test_catalogue_version_must_match_when_recorded(model, clean_frame, tmp_path):
    table = pa.Table.from_pandas(clean_frame.head(20), preserve_index=False)
    pq.write_table(table.replace_schema_metadata({**table.schema.metadata, CATALOGUE_KEY: "0ther"}),
                   tmp_path / "in.parquet")
    with pytest.raises(SchemaError, match="computed with feature catalogue version 0ther; the model was trained on "
                                          "version test-catalogue-v1"):
        score_file(model, tmp_path / "in.parquet", tmp_path / "out.parquet")
    summary = score_file(model, tmp_path / "in.parquet", tmp_path / "out.parquet", check_catalogue=False)
    assert summary.scored == 20


def test_integer_and_boolean_and_dictionary_columns_fit(model, clean_frame, tmp_path):
    frame = clean_frame.head(200).assign(
        ip_invention_in_force=clean_frame["ip_invention_in_force"].head(200).astype("int64"),
        profile_high_tech=clean_frame["profile_high_tech"].head(200).astype(bool),
    )
    frame.to_parquet(tmp_path / "in.parquet")  # the categorical is stored dictionary-encoded
    assert pa.types.is_dictionary(pq.read_schema(tmp_path / "in.parquet").field("profile_industry_section").type)
    out = score_file(model, tmp_path / "in.parquet", tmp_path / "out.parquet")
    scores = pq.read_table(out.output).to_pandas()
    np.testing.assert_allclose(scores["pd"], model.predict_pd(frame), atol=1e-12)


def test_check_rows_builds_the_boosters_matrix(model, schema, clean_frame):
    sample = clean_frame.head(300)
    check = check_rows(pa.Table.from_pandas(sample, preserve_index=False), schema)
    assert check.ok.all() and check.X.flags.c_contiguous
    margin = model.booster.predict(check.X, raw_score=True)
    np.testing.assert_allclose(margin, model.raw_margin(sample), atol=1e-12)


def test_rows_with_several_problems_list_them_all(schema, clean_frame):
    table = pa.Table.from_pandas(clean_frame.head(3), preserve_index=False)
    table = table.set_column(0, "uscc", pa.array([None, "91110108MA0000000X", clean_frame["uscc"].iloc[2]]))
    table = table.set_column(4, "fin_leverage", pa.array([np.inf, -np.inf, 0.5]))
    check = check_rows(table, schema)
    assert check.ok.tolist() == [False, False, True]
    assert check.codes.tolist() == ["missing_uscc", "invalid_uscc"]
    assert check.reasons.tolist() == [
        "missing uscc; fin_leverage: infinite value",
        "invalid uscc (GB 32100-2015): '91110108MA0000000X'; fin_leverage: infinite value",
    ]
