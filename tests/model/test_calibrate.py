"""Calibration: Platt recovers a known map, improves the Brier score of a miscalibrated booster."""

from __future__ import annotations

import numpy as np
import pytest

from techscore.model.calibrate import Calibrator, fit_calibrator, sigmoid
from techscore.model.fit import fit_pd_model
from techscore.model.metrics import brier
from techscore.specs import CalibrationSpec, LearnerSpec, ModelSpec


def test_platt_recovers_known_map():
    rng = np.random.default_rng(0)
    margin = rng.normal(0, 2, 20000)
    y = (rng.random(20000) < sigmoid(0.5 * margin - 2.0)).astype(int)
    cal = fit_calibrator(margin, y, "platt")
    assert cal.params["a"] == pytest.approx(0.5, abs=0.05) and cal.params["b"] == pytest.approx(-2.0, abs=0.1)
    assert cal.additive
    assert Calibrator.from_dict(cal.to_dict()) == cal
    assert np.allclose(cal.log_odds(margin), cal.params["a"] * margin + cal.params["b"])


def test_platt_converges_on_widely_spread_margins():
    """Out-of-fold margins of a long-trained booster span tens of log-odds; a plain Newton step diverges there."""
    rng = np.random.default_rng(3)
    margin = np.r_[rng.normal(-12, 4, 5000), rng.normal(2, 6, 200)]
    y = (rng.random(5200) < sigmoid(0.35 * margin + 0.4)).astype(int)
    cal = fit_calibrator(margin, y, "platt")
    assert 0.2 < cal.params["a"] < 0.5 and abs(cal.params["b"] - 0.4) < 0.5
    assert len(np.unique(cal.predict(margin))) > 5000


def test_isotonic_is_monotone_and_bounded():
    rng = np.random.default_rng(1)
    margin = rng.normal(0, 1, 3000)
    y = (rng.random(3000) < sigmoid(2 * margin)).astype(int)
    cal = fit_calibrator(margin, y, "isotonic")
    grid = np.linspace(-5, 5, 101)
    p = cal.predict(grid)
    assert np.all(np.diff(p) >= 0) and p.min() > 0 and p.max() < 1 and not cal.additive


def test_constant_margin_learns_base_rate():
    cal = fit_calibrator(np.zeros(100), np.r_[np.ones(10), np.zeros(90)], "platt")
    assert cal.predict(np.zeros(1))[0] == pytest.approx(0.1, abs=0.005)  # base rate (Platt-smoothed targets)


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibration_improves_brier_of_reweighted_booster(loan_dataset, method):
    """scale_pos_weight = 10 inflates the booster's own probabilities; calibration on validation repairs them."""
    ds = loan_dataset
    X, y = ds.X, ds.y.to_numpy()
    train, valid, test = np.arange(0, 2400), np.arange(2400, 3200), np.arange(3200, 4000)
    spec = ModelSpec(name="m", learner=LearnerSpec(num_leaves=7, num_boost_round=200, early_stopping_rounds=20,
                                                   scale_pos_weight=10.0),
                     calibration=CalibrationSpec(method=method))
    model, _ = fit_pd_model(X.iloc[train], y[train], X.iloc[valid], y[valid], ds.features, spec)
    raw = sigmoid(model.raw_margin(X.iloc[test]))
    calibrated = model.predict_pd(X.iloc[test])
    assert brier(y[test], calibrated) < brier(y[test], raw) - 0.01
    assert abs(calibrated.mean() - y[test].mean()) < 0.03 < abs(raw.mean() - y[test].mean())
