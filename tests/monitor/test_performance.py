"""Performance before outcomes: the expected AUC by hand and by enumeration, its accuracy on calibrated PDs, and the
realized figures from the loans table once the window has passed."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from techscore.model.metrics import auc
from techscore.monitor.performance import (
    PerformanceEstimator,
    auc_standard_error,
    expected_auc,
    exposed_firms,
    fit_calibration,
    performance_row,
    reference_dates,
)


def test_expected_auc_of_two_firms_by_hand() -> None:
    # pairs (defaulter, non-defaulter): (0.6 firm, 0.2 firm) ordered right with probability 0.6 * 0.8 = 0.48,
    # (0.2 firm, 0.6 firm) ordered wrong with 0.2 * 0.4 = 0.08: 0.48 / 0.56
    assert expected_auc(np.array([0.2, 0.6])) == pytest.approx(6 / 7, abs=1e-15)
    assert np.isnan(expected_auc(np.array([0.3])))


def test_expected_auc_is_expected_ordered_pairs_over_expected_pairs_by_enumeration() -> None:
    p = np.array([0.1, 0.3, 0.3, 0.7, 0.9, 0.05])                     # a tie counts one half
    ordered = pairs = 0.0
    for labels in itertools.product([0, 1], repeat=len(p)):
        y = np.array(labels)
        weight = np.prod(np.where(y == 1, p, 1 - p))
        pos, neg = p[y == 1], p[y == 0]
        diff = pos[:, None] - neg[None, :]
        ordered += weight * ((diff > 0).sum() + 0.5 * (diff == 0).sum())
        pairs += weight * len(pos) * len(neg)
    assert expected_auc(p) == pytest.approx(ordered / pairs, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_expected_figures_match_realized_ones_when_pds_are_calibrated(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = 1 / (1 + np.exp(-(rng.normal(-4.0, 1.0, 20_000))))         # a portfolio around 3% PD
    y = (rng.random(len(p)) < p).astype(int)                          # outcomes drawn from the PDs themselves
    assert abs(auc(y, p) - expected_auc(p)) < 0.02
    assert abs(y.mean() - p.mean()) < 0.003
    # with PDs twice too spread out the estimate is off: calibration is what CBPE rests on
    wrong = 1 / (1 + np.exp(-(2 * np.log(p / (1 - p)) + 4)))
    assert expected_auc(wrong) - auc(y, p) > 0.05


def _loans() -> pd.DataFrame:
    return pd.DataFrame({
        "loan_id": ["a1", "b1", "c1", "c2", "d1", "e1"], "uscc": ["a", "b", "c", "c", "d", "e"],
        "issued": pd.to_datetime(["2024-01-01", "2023-01-01", "2023-06-01", "2024-02-01", "2024-05-01", "2024-07-01"]),
        "term_months": [12, 12, 24, 12, np.nan, 12],
        "default_date": pd.to_datetime(["2024-09-01", None, "2024-03-01", "2024-03-01", "2025-07-01", None])})


def test_exposed_firms_by_hand() -> None:
    bad = exposed_firms(_loans(), "2024-06-01", 12)
    # a: live, defaults in the window; b: its loan ended; c: in default before the date; d: no term, defaults after
    # the window; e: issued after the date
    assert bad.to_dict() == {"a": True, "d": False}


def test_performance_row_pending_then_known() -> None:
    scores = pd.Series({"a": 0.3, "d": 0.1, "x": 0.5})
    row = performance_row("2024-06-01", scores, _loans(), window_months=12, observation_end=pd.Timestamp("2025-01-01"))
    assert row["outcomes"] == "pending" and row["window_end"] == "2025-06-01"
    assert (row["firms"], row["exposed"]) == (3, 2) and row["expected_default_rate"] == pytest.approx(0.2)
    assert row["expected_auc"] == pytest.approx(0.3 * 0.9 / (0.3 * 0.9 + 0.1 * 0.7))
    assert np.isnan(row["realized_auc"]) and np.isnan(row["auc_difference"])
    row = performance_row("2024-06-01", scores, _loans(), window_months=12, observation_end=pd.Timestamp("2025-12-31"))
    assert row["outcomes"] == "known" and row["defaults"] == 1 and row["realized_default_rate"] == 0.5
    assert row["realized_auc"] == 1.0 and row["auc_difference"] == pytest.approx(1.0 - row["expected_auc"])
    assert row["default_rate_difference"] == pytest.approx(0.5 - 0.2)


def test_expected_auc_agrees_with_nannyml_style_expected_roc_curve() -> None:
    """NannyML's CBPE draws the ROC curve from expected confusion matrices (cumulative sums of p and 1 - p down the
    sorted PDs) and integrates it; that counts each firm paired with itself, which vanishes as the book grows."""
    from sklearn.metrics import auc as area

    rng = np.random.default_rng(7)
    p = np.round(1 / (1 + np.exp(-rng.normal(-3.5, 1.2, 5000))), 4)   # rounded: ties as on a master scale
    order = np.argsort(-p, kind="stable")
    values, starts = np.unique(-p[order], return_index=True)            # one ROC point per distinct PD
    ends = np.r_[starts[1:], len(p)] - 1
    tps, fps = np.cumsum(p[order])[ends], np.cumsum(1 - p[order])[ends]
    tpr, fpr = np.r_[0, tps / tps[-1]], np.r_[0, fps / fps[-1]]
    assert len(values) < len(p) and abs(area(fpr, tpr) - expected_auc(p)) < 2e-4


def _drifted_book(rng: np.random.Generator, n: int) -> tuple[pd.Series, np.ndarray]:
    """A model whose PDs drifted unevenly: the true default probability is a non-affine function of the PD (too
    low at the top, too high at the bottom), as after a year's change in a world the model learnt earlier."""
    z = rng.normal(0.0, 1.0, n)
    p = 1 / (1 + np.exp(-(-3.8 + 0.8 * z)))
    true = 1 / (1 + np.exp(-(-4.3 + 1.1 * z + 0.25 * z**2)))
    y = (rng.random(n) < true).astype(int)
    return pd.Series(p, index=[f"f{i}" for i in range(n)]), y


def _book_loans(y: np.ndarray, index: pd.Index, as_of: str) -> pd.DataFrame:
    """One 12-month loan per firm issued a month before `as_of`, defaulting inside the next 12 months when y."""
    d = pd.Timestamp(as_of)
    return pd.DataFrame({"loan_id": [f"{u}-{as_of}" for u in index], "uscc": index,
                         "issued": d - pd.DateOffset(months=1), "term_months": 24,
                         "default_date": np.where(y == 1, d + pd.DateOffset(months=3), pd.NaT)})


@pytest.mark.parametrize("seed", [0, 1])
def test_reference_calibration_recovers_the_auc_of_a_drifted_model(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref_scores, ref_y = _drifted_book(rng, 40_000)
    now_scores, now_y = _drifted_book(rng, 40_000)
    now_scores.index = now_scores.index.str.replace("f", "g")
    loans = pd.concat([_book_loans(ref_y, ref_scores.index, "2023-01-01"),
                       _book_loans(now_y, now_scores.index, "2024-01-01")], ignore_index=True)
    estimator = PerformanceEstimator(loans, window_months=12, observation_end=pd.Timestamp("2025-06-30"))
    assert estimator.add_reference("2023-01-01", ref_scores) is not None
    row = estimator.row("2024-01-01", now_scores)
    raw = performance_row("2024-01-01", now_scores, loans, window_months=12,
                          observation_end=pd.Timestamp("2025-06-30"))
    assert row["calibrated_on"] == "2023-01-01" and raw["calibrated_on"] == ""
    assert row["realized_auc"] == raw["realized_auc"]
    assert row["expected_default_rate"] == raw["expected_default_rate"] == pytest.approx(now_scores.mean())
    # the model's own PDs misjudge the ranking's worth; the reference's calibration corrects it within noise
    assert abs(raw["auc_difference"]) > 3 * raw["expected_auc_se"]
    assert abs(row["auc_difference"]) < 2 * row["expected_auc_se"] and abs(row["auc_z"]) < 2
    # the calibration also recovers the level here, where the world did not move between the dates
    assert abs(row["calibrated_default_rate"] - now_y.mean()) < 0.004 < abs(raw["default_rate_difference"])


def test_calibration_is_the_isotonic_fit_by_hand() -> None:
    scores = pd.Series({"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4})
    loans = _book_loans(np.array([0, 1, 0, 1]), scores.index, "2024-01-01")
    cal = fit_calibration("2024-01-01", scores, loans, window_months=12)
    # pool adjacent violators: (b, c) = (1, 0) pools to 0.5; a alone 0 and d alone 1, kept off certainty
    assert np.allclose(cal(np.array([0.1, 0.2, 0.3, 0.4])), [1e-6, 0.5, 0.5, 1 - 1e-6])
    assert cal(np.array([0.25]))[0] == pytest.approx(0.5) and cal(np.array([0.9]))[0] == pytest.approx(1 - 1e-6)
    assert cal.as_of == "2024-01-01" and cal.window_end == pd.Timestamp("2025-01-01")
    # a book without a defaulter says nothing about calibration
    assert fit_calibration("2024-01-01", scores, _book_loans(np.zeros(4, int), scores.index, "2024-01-01"),
                           window_months=12) is None


def test_estimator_uses_only_references_whose_outcomes_are_known_at_the_date() -> None:
    rng = np.random.default_rng(3)
    scores, y = _drifted_book(rng, 4_000)
    books = {d: scores.set_axis(scores.index + d) for d in ("2022-01-01", "2022-07-01", "2023-01-01")}
    loans = pd.concat([_book_loans(y, s.index, d) for d, s in books.items()], ignore_index=True)
    est = PerformanceEstimator(loans, window_months=12, observation_end=pd.Timestamp("2023-12-31"))
    for d in ("2022-07-01", "2022-01-01", "2023-01-01"):   # in any order; 2023-01 closes 2024-01: not yet observed
        est.add_reference(d, books[d])
    assert [c.as_of for c in est.calibrations_] == ["2022-07-01", "2022-01-01"]
    assert est.reference_for("2022-12-31") is None                 # no window closed yet
    assert est.reference_for("2023-01-01").as_of == "2022-01-01"
    assert est.reference_for("2023-07-01").as_of == "2022-07-01"   # the latest closed, not the first
    assert reference_dates(["2025-03-01", "2025-01-01"], 12) == ["2024-01-01"]


def test_auc_standard_error_is_near_the_spread_of_realized_aucs() -> None:
    rng = np.random.default_rng(1)
    q = 1 / (1 + np.exp(-rng.normal(-4.0, 1.0, 20_000)))
    e = expected_auc(q)
    spread = np.std([auc((rng.random(len(q)) < q).astype(int), q) for _ in range(200)])
    # Hanley and McNeil's formula is a little conservative for a logistic book (about 1.2 times the spread)
    assert 1.0 < auc_standard_error(e, q.sum(), (1 - q).sum()) / spread < 1.4
    assert np.isnan(auc_standard_error(0.8, 0, 100))
