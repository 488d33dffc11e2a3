"""Tabular loader: ARFF / CSV / Parquet into a LoanDataset with safe ids and display names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from techscore.dataset.tabular import load_tabular, read_arff
from techscore.exceptions import SchemaError
from techscore.model.lgbm import safe_name

ARFF = """% a comment
@relation 'test'
@attribute 'net profit / total assets' numeric
@attribute '[(cash + receivables) / liabilities] * 365' real
@attribute sector {'a b',c}
@attribute class {0,1}
@data
0.5,1.5,'a b',0
?,2.5,c,1
-1e-3,?,?,0
"""


def test_read_arff_quoted_names_missing_values(tmp_path):
    path = tmp_path / "t.arff"
    path.write_text(ARFF, encoding="utf-8")
    frame = read_arff(path)
    assert list(frame.columns) == ["net profit / total assets", "[(cash + receivables) / liabilities] * 365",
                                   "sector", "class"]
    assert frame.iloc[:, 0].isna().tolist() == [False, True, False] and frame.iloc[2, 0] == pytest.approx(-1e-3)
    assert frame["sector"].tolist()[:2] == ["a b", "c"] and pd.isna(frame["sector"].iloc[2])


def test_load_tabular_maps_display_names_to_safe_ids(tmp_path):
    path = tmp_path / "t.arff"
    path.write_text(ARFF, encoding="utf-8")
    ds = load_tabular(path, target="class", directions={"net profit / total assets": -1})
    assert ds.feature_ids == ["f000", "f001", "f002"] and all(safe_name(i) for i in ds.feature_ids)
    assert ds.features[1].name_en == "[(cash + receivables) / liabilities] * 365"
    assert ds.features[0].direction == -1 and ds.features[1].direction == 0
    assert ds.features[2].kind == "categorical" and ds.features[2].categories == ("a b", "c")
    assert isinstance(ds.frame["f002"].dtype, pd.CategoricalDtype)
    assert ds.y.tolist() == [0, 1, 0]


def test_polish_data(polish):
    assert polish.X.shape == (7027, 64) and int(polish.y.sum()) == 271
    assert polish.features[36].name_en == "(current assets - inventories) / long-term liabilities"
    assert (polish.X.dtypes == np.float64).all() and polish.X.isna().any().any()


def test_csv_with_dates_segments_and_sample(tmp_path):
    n = 200
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "when": pd.date_range("2020-01-01", periods=n).astype(str),
                          "region": rng.choice(["n", "s"], n), "x:1": rng.normal(size=n), "kind": rng.choice(["u", "v"], n),
                          "bad": (rng.random(n) < 0.2).astype(int)})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    ds = load_tabular(path, target="bad", id_column="id", date_column="when", segment_columns=["region"])
    assert [f.name_en for f in ds.features] == ["x:1", "kind"]
    assert ds.frame.index.name == "id" and pd.api.types.is_datetime64_any_dtype(ds.frame["when"])
    assert ds.frame["region"].isin(["n", "s"]).all()
    half = load_tabular(path, target="bad", sample=0.5, seed=1)
    assert len(half.frame) == pytest.approx(n / 2, abs=2)
    assert half.y.mean() == pytest.approx(ds.y.mean(), abs=0.02) and half.fingerprint != ds.fingerprint


def test_target_errors(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"x": [1.0, 2.0], "y": ["yes", "no"]}).to_csv(path, index=False)
    with pytest.raises(SchemaError, match=r"target column 'y' must hold 0/1 .*got 'yes'"):
        load_tabular(path, target="y")
    with pytest.raises(SchemaError, match="target column 'z' not found"):
        load_tabular(path, target="z")
    with pytest.raises(SchemaError, match="must be one of .arff"):
        (tmp_path / "t.xlsx").write_text("")
        load_tabular(tmp_path / "t.xlsx", target="y")
