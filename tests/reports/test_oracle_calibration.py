"""Why a grade misses the true PD: the gap's standard error and what the best affine (Platt-like) recalibration
against the truth would leave, on loan books with known true PDs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from techscore.model.calibrate import affine_fit, sigmoid
from techscore.model.scale import pd_to_grade
from techscore.reports.oracle import CALIBRATION_AIM, oracle_report, oracle_summary
from techscore.specs import MasterScaleSpec
from techscore.synth.truth import TRUE_PD


def _book(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    true_logit = rng.normal(-3.8, 1.3, n)
    truth = pd.DataFrame({"loan_id": [f"LN{i:010d}" for i in range(n)], TRUE_PD: sigmoid(true_logit)})
    return truth, true_logit


def _report(truth: pd.DataFrame, model_logit: np.ndarray, seed: int):
    p = sigmoid(model_logit)
    label = (np.random.default_rng(seed).random(len(p)) < truth[TRUE_PD].to_numpy()).astype(int)
    preds = pd.DataFrame({"loan_id": truth["loan_id"], "label": label, "pd": p,
                          "grade": pd_to_grade(p, MasterScaleSpec())})
    return oracle_report(preds, truth), preds


def test_affine_fit_recovers_an_affine_distortion_of_known_probabilities():
    truth, true_logit = _book(20_000, 4)
    a, b = affine_fit(0.5 * true_logit - 1.5, truth[TRUE_PD].to_numpy())
    assert a == pytest.approx(2.0, abs=1e-6) and b == pytest.approx(3.0, abs=1e-6)


def test_a_miscalibrated_but_affine_model_is_closed_by_the_affine_recalibration():
    truth, true_logit = _book(20_000, 5)
    report, _ = _report(truth, 0.6 * true_logit - 1.0, seed=1)  # too flat and too high: Platt's fault
    assert report.max_grade_gap > CALIBRATION_AIM
    assert report.by_grade["affine_gap"].abs().max() < 1e-6
    assert report.affine == pytest.approx((1 / 0.6, 1.0 / 0.6), abs=1e-5)
    assert "a better-fitted Platt map would close it" in oracle_summary(report)


def test_a_margin_bent_in_the_tail_keeps_its_gap_after_any_affine_recalibration():
    truth, true_logit = _book(20_000, 6)
    bent = true_logit + 1.2 * np.maximum(true_logit + 2.5, 0.0)  # overshoots only for the riskiest loans
    report, _ = _report(truth, bent, seed=2)
    worst = report.by_grade.loc[report.by_grade["gap"].abs().idxmax()]
    assert abs(worst["affine_gap"]) > CALIBRATION_AIM
    assert "the margin's shape: no SHAP-additive calibration reaches the aim" in oracle_summary(report)


def test_gap_standard_error_is_the_spread_of_model_minus_true_pd_over_the_grade():
    truth, true_logit = _book(5_000, 7)
    noisy = true_logit + np.random.default_rng(3).normal(0, 0.8, len(true_logit))
    report, preds = _report(truth, noisy, seed=3)
    error = preds["pd"] - truth[TRUE_PD]
    for row in report.by_grade.itertuples():
        in_grade = (preds["grade"] == row.grade).to_numpy()
        expected = error[in_grade].std() / np.sqrt(in_grade.sum()) if in_grade.sum() > 1 else 0.0
        assert row.gap_se == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert (report.by_grade["gap_se"] > 0).all()
