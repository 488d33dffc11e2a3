"""Profile features against hand computations from conftest's registry, statements and loans (as of 2024-07-01)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features._config import LIFECYCLE, SIZE_BAND
from features.profile import lifecycle_stage, size_band
from tests.features.conftest import AS_OF, A, B, C, D, E

YEAR = 365.25
MONTH = YEAR / 12


def test_age_section_region(feat) -> None:
    assert feat.value("profile_age_years", A) == pytest.approx((AS_OF - pd.Timestamp("2015-03-01")).days / YEAR)
    assert np.isnan(feat.value("profile_age_years", E))  # founded after D
    assert feat.value("profile_industry_section", A) == "C"  # C39
    assert feat.value("profile_industry_section", D) == "C"  # division 39 alone
    assert feat.value("profile_industry_section", B) == "I"
    assert feat.value("profile_region", A) == "44" and feat.value("profile_region", D) == "11"
    assert feat.value("profile_registered_capital", C) == 50e6


def test_certifications_known_at_the_date(feat) -> None:
    # A: high-tech (2020) and tech-SME (2023-05); its little-giant title dates from after D.
    assert feat.value("profile_cert_count", A) == 2
    assert feat.value("profile_high_tech", A) == 1 and feat.value("profile_tech_sme", A) == 1
    assert feat.value("profile_little_giant", A) == 0 and feat.value("profile_specialized_sme", A) == 0
    assert feat.value("profile_gazelle", C) == 1 and feat.value("profile_cert_count", B) == 0
    assert np.isnan(feat.value("profile_high_tech", E))


def test_size_band(feat) -> None:
    assert feat.value("profile_size_band", A) == "small"  # C39, 200 staff (< 300), 120M
    assert feat.value("profile_size_band", B) == "small"  # I65 (software rule), 12 staff, 4M
    assert feat.value("profile_size_band", C) == "medium"  # 600 staff, 300M (large needs 1000 and 400M)
    assert pd.isna(feat.value("profile_size_band", D))  # no statement


def test_size_band_rule_edges() -> None:
    employees = [1000, 999, 300, 20, 19, 100, np.nan, np.nan]
    revenue = [400e6, 400e6, 20e6, 3e6, 3e6, 10e6, 25e6, np.nan]
    sections = ["C", "C", "C", "C", "C", "I", "C", "C"]
    assert size_band(employees, revenue, sections, SIZE_BAND).tolist() == [
        "large", "medium", "medium", "small", "micro", "medium", "medium", None]


def test_lifecycle_stage(feat) -> None:
    assert feat.value("profile_lifecycle_stage", A) == "growth"  # 9.3 years
    assert feat.value("profile_lifecycle_stage", B) == "start-up"  # 2.5 years, revenue 4M
    assert feat.value("profile_lifecycle_stage", C) == "mature"  # 14 years, growth unknown
    assert feat.value("profile_lifecycle_stage", D) == "growth"  # 5.5 years, no statement
    got = lifecycle_stage([1, 1, 4, 4, 12, 12, np.nan], [1e6, 9e6, 49e6, 60e6, 9e8, 9e8, 1e6],
                          [0, 0, 0, 0, 0.15, 0.149, 0], LIFECYCLE)
    assert got.tolist() == ["seed", "start-up", "start-up", "growth", "growth", "mature", None]


def test_borrowing_history(feat) -> None:
    # A: L1 (2022-01-10) and L2 (2024-03-01) before D; L3 is issued after D.
    assert feat.value("profile_prior_loans", A) == 2
    assert feat.value("profile_months_since_last_loan", A) == pytest.approx(
        (AS_OF - pd.Timestamp("2024-03-01")).days / MONTH)
    assert feat.value("profile_first_loan", A) == 0
    assert feat.value("profile_prior_loans", D) == 0 and feat.value("profile_first_loan", D) == 1
    assert np.isnan(feat.value("profile_months_since_last_loan", D))
