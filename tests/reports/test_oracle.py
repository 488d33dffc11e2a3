"""Model vs oracle on a synthetic world's true PDs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from techscore.exceptions import SchemaError
from techscore.model.scale import pd_to_grade
from techscore.reports.oracle import oracle_report, oracle_summary
from techscore.specs import MasterScaleSpec
from techscore.synth.truth import TRUE_PD


def _book(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    true = 1 / (1 + np.exp(-rng.normal(-3.8, 1.3, n)))
    truth = pd.DataFrame({"loan_id": [f"LN{i:010d}" for i in range(n)], TRUE_PD: true})
    label = (rng.random(n) < true).astype(int)
    return truth, pd.DataFrame({"loan_id": truth["loan_id"], "label": label})


def _predictions(base: pd.DataFrame, p: np.ndarray) -> pd.DataFrame:
    return base.assign(pd=p, grade=pd_to_grade(p, MasterScaleSpec()))


def test_a_model_that_knows_the_truth_matches_the_oracle():
    truth, base = _book(20_000, 1)
    report = oracle_report(_predictions(base, truth[TRUE_PD].to_numpy()), truth)
    assert report.model_auc == report.oracle_auc
    assert report.max_grade_gap == 0.0
    assert report.by_grade["loans"].sum() == 20_000


def test_a_noisy_biased_model_loses_auc_and_calibration():
    truth, base = _book(20_000, 2)
    rng = np.random.default_rng(0)
    logit = np.log(truth[TRUE_PD] / (1 - truth[TRUE_PD])) + rng.normal(0, 1.0, len(truth)) + 0.5
    report = oracle_report(_predictions(base, 1 / (1 + np.exp(-logit.to_numpy()))), truth)
    assert report.model_auc < report.oracle_auc - 0.03
    assert report.max_grade_gap > 0.01
    line = oracle_summary(report)
    assert f"vs oracle AUC {report.oracle_auc:.3f}" in line and "largest gap +" in line


def test_loans_missing_from_the_truth_are_named():
    truth, base = _book(100, 3)
    preds = _predictions(base, truth[TRUE_PD].to_numpy())
    with pytest.raises(SchemaError, match=r"2 predicted loans have no true PD .*LN0000000098"):
        oracle_report(preds, truth.iloc[:98])
    with pytest.raises(SchemaError, match="predictions are missing column grade"):
        oracle_report(preds.drop(columns="grade"), truth)
