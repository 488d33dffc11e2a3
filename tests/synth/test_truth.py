"""Loan truth: the closed-form 12-month PD equals a Monte Carlo of the simulation's own draws, and a world's true
PDs average to its observed default rate."""

from __future__ import annotations

import numpy as np
import pandas as pd

from techscore.synth import generate
from techscore.synth.truth import LOAN_TRUTH_FILE, TRUE_PD, loan_true_pd


def _monte_carlo(hazard: np.ndarray, starts: np.ndarray, issued: int, last: int, draws: int, seed: int) -> float:
    """Draw months and days as `risk.simulate` does; PD of a default in (issued, last] given none up to issued."""
    rng = np.random.default_rng(seed)
    day = np.full(draws, np.iinfo(np.int64).max)
    for m in range(len(starts) - 1):
        open_ = day == np.iinfo(np.int64).max
        hit = open_ & (rng.random(draws) < -np.expm1(-hazard[m]))
        day[hit] = starts[m] + np.floor(rng.random(int(hit.sum())) * (starts[m + 1] - starts[m])).astype(np.int64)
    alive = day > issued
    return float(((day > issued) & (day <= last))[alive].mean())


def test_true_pd_matches_monte_carlo_of_the_draws():
    starts = (np.arange(2019 * 12, 2022 * 12 + 1) - 1970 * 12).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    rng = np.random.default_rng(3)
    hazard = rng.uniform(0.002, 0.08, (1, len(starts) - 1)).astype(np.float32)
    issued = np.array([starts[5] + 17, starts[14], starts[20] + 3])
    term = np.array([12, 6, 36])
    got = loan_true_pd(np.zeros(3, dtype=np.int64), issued, term, hazard, starts)
    window_end = (pd.to_datetime(issued, unit="D") + pd.DateOffset(months=12)).to_numpy().astype("datetime64[D]").astype(np.int64)
    last = np.minimum(issued + np.round(term * 30.44).astype(np.int64), window_end - 1)
    for i in range(3):
        want = _monte_carlo(hazard[0], starts, int(issued[i]), int(last[i]), 400_000, seed=i)
        se = np.sqrt(want * (1 - want) / 400_000)
        assert abs(got[i] - want) < 4 * se + 1e-4, (i, got[i], want)


def test_window_past_the_horizon_has_no_truth():
    starts = np.array([0, 31, 59, 90], dtype=np.int64)
    got = loan_true_pd(np.array([0]), np.array([40]), np.array([12]), np.full((1, 3), 0.01, np.float32), starts)
    assert np.isnan(got[0])


def test_world_true_pds_average_to_the_observed_rate(tmp_path):
    generate(3000, 8, tmp_path)
    loans = pd.read_parquet(tmp_path / "loans.parquet")
    truth = pd.read_parquet(tmp_path / LOAN_TRUTH_FILE)
    assert list(truth.columns) == ["loan_id", TRUE_PD] and len(truth) == len(loans)
    rows = loans.merge(truth, on="loan_id")
    issued, default = pd.to_datetime(rows["issued"]), pd.to_datetime(rows["default_date"])
    bad = (default < issued + pd.DateOffset(months=12)).to_numpy()
    known = rows[TRUE_PD].notna().to_numpy()
    assert known.mean() > 0.7
    assert rows[TRUE_PD].between(0, 1).sum() == known.sum()
    mean_true, observed = rows.loc[known, TRUE_PD].mean(), bad[known].mean()
    assert abs(mean_true - observed) < 0.01, (mean_true, observed)
