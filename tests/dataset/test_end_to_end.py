"""End to end on a synthetic world: the repository's full catalogue, dataset and featurize."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from techscore.catalogue import load_catalogue
from techscore.dataset import LABEL
from techscore.dataset.build import build_dataset, featurize
from techscore.sources.load import load_sources

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def synth_world(tmp_path_factory):
    from techscore.synth import generate

    out = tmp_path_factory.mktemp("synth")
    generate(400, 3, out, start_year=2019, end_year=2023, loan_start_year=2020)
    return out


@pytest.mark.slow
def test_full_catalogue_dataset_on_a_synthetic_world(synth_world, tmp_path):
    cat = load_catalogue(ROOT)
    ds = build_dataset(synth_world, catalogue=cat, out=tmp_path / "ds")
    loans = load_sources(synth_world).loans
    end = max(loans["issued"].max(), loans["default_date"].max())
    window_end = loans["issued"] + pd.DateOffset(months=12)
    complete = window_end <= end
    raw_rate = (loans["default_date"] < window_end)[complete].mean()
    assert len(ds.frame) == int(complete.sum()) > 100
    assert ds.frame[LABEL].mean() == pytest.approx(raw_rate)
    assert ds.summary["excluded"]["window_incomplete"] == int((~complete).sum())
    assert ds.feature_ids == cat.ids and len(cat.ids) >= 60
    assert ds.frame["seg_lifecycle"].notna().mean() > 0.9
    # a categorical feature survives Parquet with its categories
    cats = [m.id for m in cat.features if m.kind == "categorical"]
    assert cats and all(isinstance(ds.frame[c].dtype, pd.CategoricalDtype) for c in cats)
    # featurize for scoring gives the same values as the dataset for a month's borrowers
    row = ds.frame.iloc[-1]
    as_of = row["issued"].to_period("M").to_timestamp()
    direct = featurize(synth_world, [row["uscc"]], as_of, catalogue=cat)
    got = ds.frame.iloc[[-1]].set_index("uscc")[cat.ids]
    pd.testing.assert_frame_equal(direct, got, check_categorical=False, check_names=False, check_index_type=False)
