"""Metrics against hand computations and reference implementations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from techscore.model import metrics as M


@pytest.fixture
def scored():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 800)
    p = np.clip(np.round(0.3 + 0.25 * y + rng.normal(0, 0.2, 800), 2), 0.001, 0.999)  # rounded: many ties
    return y, p


def test_auc_gini_against_sklearn(scored):
    y, p = scored
    assert M.auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert M.gini(y, p) == pytest.approx(2 * roc_auc_score(y, p) - 1, abs=1e-12)
    assert np.isnan(M.auc(np.zeros(5), np.arange(5.0)))


def test_ks_against_scipy_and_by_hand(scored):
    y, p = scored
    assert M.ks(y, p) == pytest.approx(ks_2samp(p[y == 1], p[y == 0]).statistic, abs=1e-12)
    # defaults at 0.9, 0.8, 0.4; non-defaults at 0.7, 0.3, 0.2, 0.1: after 0.8 all... max gap = 2/3 - 0 then 1 - 1/4
    y2 = np.array([1, 1, 0, 1, 0, 0, 0])
    p2 = np.array([0.9, 0.8, 0.7, 0.4, 0.3, 0.2, 0.1])
    assert M.ks(y2, p2) == pytest.approx(0.75)


def test_brier_and_log_loss_against_sklearn(scored):
    y, p = scored
    assert M.brier(y, p) == pytest.approx(brier_score_loss(y, p))
    assert M.log_loss(y, p) == pytest.approx(log_loss(y, p))


def test_psi_by_hand():
    expected = np.arange(100.0)          # deciles of 10 rows each
    actual = np.r_[np.arange(50.0), np.full(50, 95.0)]  # first five deciles 10 each, the last one 50
    shares_a = np.array([0.1] * 5 + [0] * 4 + [0.5])
    a = np.maximum(shares_a, 1e-4)
    hand = float(np.sum((a - 0.1) * np.log(a / 0.1)))
    assert M.psi(expected, actual) == pytest.approx(hand)
    assert M.psi(expected, expected) == pytest.approx(0.0)
    table = M.psi_table(expected, actual)
    assert table["expected"].sum() == 100 and table["actual"].sum() == 100


def test_psi_gives_a_mass_point_its_own_bin():
    # 60% of the expected rows sit on 1.0 (firms no one buys from score exactly 1 on sc_pagerank). Quintile edges
    # are 1, 1, 1 and 2.2; the mass point adds [1, 1+ulp), so the bins are <1, =1, (1, 2.2), >=2.2 with 1, 6, 1 and
    # 2 expected rows. Three firms leave the mass point for 1.5 and 1.8: actual 1, 4, 3 and 2.
    expected = np.array([0.5, 1, 1, 1, 1, 1, 1, 2, 3, 4])
    actual = np.array([0.5, 1, 1, 1, 1, 1.5, 1.8, 2, 3, 4])
    table = M.psi_table(expected, actual, bins=5)
    assert table["expected"].tolist() == [1, 6, 1, 2] and table["actual"].tolist() == [1, 4, 3, 2]
    assert table["upper"].iloc[1] == np.nextafter(1.0, 2.0)
    hand = (0.4 - 0.6) * np.log(0.4 / 0.6) + (0.3 - 0.1) * np.log(0.3 / 0.1)
    assert M.psi(expected, actual, bins=5) == pytest.approx(hand)  # bins <1,[1,2.2),>=2.2 would read 0


def test_lift_table_counts(scored):
    y, p = scored
    t = M.lift_table(y, p)
    assert len(t) == 10 and t["rows"].sum() == len(y) and t["bad"].sum() == y.sum()
    assert t["cum_bad_share"].iloc[-1] == pytest.approx(1.0)
    top = np.argsort(-p, kind="mergesort")[:80]
    assert t["bad"].iloc[0] == y[top].sum()
    assert t["lift"].iloc[0] == pytest.approx(y[top].mean() / y.mean())


def test_calibration_by_grade():
    y = np.array([0, 0, 1, 0, 1, 1])
    p = np.array([0.01, 0.02, 0.01, 0.3, 0.4, 0.5])
    grades = np.array(["A", "A", "A", "C", "C", "C"], dtype=object)
    t = M.calibration_by_grade(y, p, grades, order=["A", "B", "C"], pd_upper=[0.05, 0.2, 1.0])
    assert t["grade"].tolist() == ["A", "B", "C"]
    assert t["rows"].tolist() == [3, 0, 3] and t["bad"].tolist() == [1, 0, 2]
    assert t.loc[0, "mean_pd"] == pytest.approx(0.04 / 3) and t.loc[2, "bad_rate"] == pytest.approx(2 / 3)
    assert t.loc[0, "expected_bad"] == pytest.approx(0.04)


def test_segment_metrics_pool_small_segments(scored):
    y, p = scored
    frame = pd.DataFrame({"seg": np.where(np.arange(len(y)) < 790, "big", np.array(["tiny"] * len(y)))})
    t = M.segment_metrics(frame, y, p, ["seg"], min_rows=30)
    assert set(t["value"]) == {"big", "(other)"}
    big = t[t["value"] == "big"].iloc[0]
    assert big["auc"] == pytest.approx(roc_auc_score(y[:790], p[:790]))
    assert t["rows"].sum() == len(y)


def test_feature_psi_flags_shifted_column():
    rng = np.random.default_rng(0)
    a = pd.DataFrame({"x": rng.normal(0, 1, 2000), "c": pd.Categorical(rng.choice(["u", "v"], 2000))})
    b = pd.DataFrame({"x": rng.normal(1, 1, 2000), "c": pd.Categorical(rng.choice(["u", "v"], 2000))})
    t = M.feature_psi(a, b, ["x", "c"])
    assert t.iloc[0]["feature"] == "x" and t.iloc[0]["psi"] > 0.25 and t.iloc[1]["psi"] < 0.01
