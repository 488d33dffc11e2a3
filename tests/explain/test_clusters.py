"""Importance of correlated feature clusters: grouping by rank correlation and additive SHAP credit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from techscore.explain.clusters import cluster_importance, feature_clusters
from tests.explain._world import FEATURES, make_dataset, train_booster


def test_near_duplicates_cluster_and_missing_values_are_no_signal(world):
    frame = world.frame.copy()
    rng = np.random.default_rng(1)
    # a monotone transform of leverage (rank correlation 1) and a noisy copy of R&D intensity with its own gaps
    frame["fin_debt_to_equity"] = frame["fin_leverage"] / (1.3 - frame["fin_leverage"])
    frame["rd_intensity"] = frame["rd_intensity_3y"] * np.exp(rng.normal(0, 0.1, len(frame)))
    frame.loc[rng.random(len(frame)) < 0.3, "rd_intensity"] = np.nan
    # a column that is present exactly where R&D is missing: no overlap, so no correlation
    frame["gap_filler"] = np.where(frame["rd_intensity_3y"].isna(), rng.random(len(frame)), np.nan)
    extra = [dataclasses.replace(FEATURES[3], id="fin_debt_to_equity"), dataclasses.replace(FEATURES[0], id="rd_intensity"),
             dataclasses.replace(FEATURES[0], id="gap_filler")]
    features = [*FEATURES, *extra]
    clusters = feature_clusters(frame, features)
    assert list(clusters.index) == [f.id for f in features]
    assert clusters["fin_leverage"] == clusters["fin_debt_to_equity"]
    assert clusters["rd_intensity_3y"] == clusters["rd_intensity"]
    assert clusters["gap_filler"] != clusters["rd_intensity_3y"]
    # independent features and the categorical one stay alone; numbering follows the features' order
    alone = ["inno_points", "sc_customer_hhi", "profile_registered_capital", "profile_industry_section"]
    for f in alone:
        assert (clusters == clusters[f]).sum() == 1, f
    assert clusters.iloc[0] == 1 and set(clusters) == set(range(1, clusters.max() + 1))
    # a threshold near 1 keeps only rank duplicates together
    strict = feature_clusters(frame, features, threshold=0.999)
    assert strict["fin_leverage"] == strict["fin_debt_to_equity"] and strict["rd_intensity"] != strict["rd_intensity_3y"]
    with pytest.raises(ValueError, match="threshold"):
        feature_clusters(frame, features, threshold=0.0)


def test_cluster_importance_is_the_mean_abs_of_summed_shap(explanation):
    clusters = pd.Series(np.arange(1, len(FEATURES) + 1), index=[f.id for f in FEATURES])
    clusters["fin_revenue_latest"] = clusters["fin_leverage"]  # group two features by hand
    table = cluster_importance(explanation, clusters)
    values = explanation.frame()
    own = explanation.importance().set_index("feature")["mean_abs_shap"]
    pair = table[table["n_members"] == 2].iloc[0]
    assert set(pair["members"].split()) == {"fin_leverage", "fin_revenue_latest"}
    assert pair["lead"] == own[["fin_leverage", "fin_revenue_latest"]].idxmax()
    expected = np.abs(values["fin_leverage"] + values["fin_revenue_latest"]).mean()
    assert pair["mean_abs_shap"] == pytest.approx(expected)
    assert pair["mean_abs_shap"] <= own["fin_leverage"] + own["fin_revenue_latest"] + 1e-12
    singles = table[table["n_members"] == 1].set_index("lead")["mean_abs_shap"]
    assert np.allclose(singles, own[singles.index])
    assert list(table["rank"]) == list(range(1, len(table) + 1))
    assert table["mean_abs_shap"].is_monotonic_decreasing and table["share"].sum() == pytest.approx(1.0)


def test_summary_writes_cluster_importance(tmp_path):
    from techscore.explain.summary import summarize

    ds = make_dataset(n=1500, seed=3)
    model = train_booster(ds, rounds=40, seed=0)
    idx = ds.frame.index
    summary = summarize(model, ds, idx[:1000], idx[1000:], tmp_path, plots=False)
    written = pd.read_csv(tmp_path / "shap_importance_clusters.csv")
    assert len(written) == len(summary.clusters) and set(" ".join(written["members"]).split()) == set(ds.feature_ids)
