"""PD -> score by points to double the odds, PD -> grade by the master scale."""

from __future__ import annotations

import numpy as np
import pytest

from techscore.model.scale import grade_table, pd_to_grade, pd_to_score, score_to_pd
from techscore.specs import MasterScaleSpec, ScalingSpec

SCALING = ScalingSpec(base_score=600, base_odds=50, pdo=20, decimals=6)


def test_pd_at_base_odds_scores_base_score():
    pd_base = 1 / (1 + 50)  # good:bad odds 50
    assert pd_to_score(np.array([pd_base]), SCALING)[0] == pytest.approx(600)


def test_doubling_the_odds_of_default_costs_pdo():
    odds_bad = np.array([0.01, 0.02, 0.04, 0.08])   # bad:good odds doubling
    pd_ = odds_bad / (1 + odds_bad)
    s = pd_to_score(pd_, SCALING)
    assert np.diff(s) == pytest.approx([-20, -20, -20])


def test_score_to_pd_inverts_and_scores_fall_with_pd():
    pd_ = np.array([0.001, 0.01, 0.1, 0.5])
    s = pd_to_score(pd_, SCALING, rounded=False)
    assert score_to_pd(s, SCALING) == pytest.approx(pd_)
    assert np.all(np.diff(s) < 0)
    assert np.isfinite(pd_to_score(np.array([0.0, 1.0]), SCALING)).all()
    assert pd_to_score(np.array([0.0123]), ScalingSpec())[0] == round(pd_to_score(np.array([0.0123]), SCALING)[0], 1)


def test_grade_mapping_bounds():
    ms = MasterScaleSpec(grades=["A", "B", "C"], pd_upper=[0.01, 0.1, 1.0])
    got = pd_to_grade(np.array([0.0, 0.01, 0.0100001, 0.1, 0.5, 1.0, np.nan]), ms)
    assert got.tolist() == ["A", "A", "B", "B", "C", "C", None]


def test_grade_table_bands():
    ms = MasterScaleSpec(grades=["A", "B", "C"], pd_upper=[0.01, 0.1, 1.0])
    t = grade_table(ms, SCALING)
    assert t["pd_lower"].tolist() == [0.0, 0.01, 0.1]
    assert (t["score_min"].iloc[:-1].to_numpy() == t["score_max"].iloc[1:].to_numpy()).all()
