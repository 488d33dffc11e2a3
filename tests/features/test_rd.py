"""R&D features against hand computations from the raw statements in conftest (as of 2024-07-01: FY2023 latest)."""

from __future__ import annotations

import numpy as np
import pytest

from features._config import HIGH_TECH
from features.rd import high_tech_rd_test
from tests.features.conftest import AS_OF, A, B, C, D, E, Resolver, raw_tables


def test_latest_year_ratios(feat) -> None:
    # A, FY2023: R&D 6.0M, revenue 120M, 200 employees, 50 R&D staff, high-tech revenue 90M (FY2024 not yet known).
    assert feat.value("rd_intensity", A) == pytest.approx(6.0 / 120)
    assert feat.value("rd_expense_latest", A) == 6.0e6
    assert feat.value("rd_staff_share", A) == pytest.approx(50 / 200)
    assert feat.value("rd_high_tech_revenue_share", A) == pytest.approx(90 / 120)
    assert feat.value("rd_per_employee", A) == pytest.approx(6.0e6 / 200)
    # B, FY2023: R&D 0 on revenue 4M.
    assert feat.value("rd_intensity", B) == 0.0
    # D has no statement; E was founded after D.
    assert np.isnan(feat.value("rd_intensity", D)) and np.isnan(feat.value("rd_intensity", E))


def test_growth_needs_the_year_before(feat) -> None:
    assert feat.value("rd_growth", A) == pytest.approx(6.0 / 5.0 - 1)  # FY2023 over FY2022
    assert feat.value("rd_growth", B) == pytest.approx(0.0 / 0.6 - 1)  # R&D stopped: -100%
    assert np.isnan(feat.value("rd_growth", C))  # C did not report FY2022


def test_three_year_mean_skips_unreported_years(feat) -> None:
    # A: FY2021-2023 intensities 4/100, 5/100, 6/120.
    assert feat.value("rd_intensity_3y", A) == pytest.approx(np.mean([0.04, 0.05, 0.05]))
    # B: FY2022 0.6/3, FY2023 0/4.
    assert feat.value("rd_intensity_3y", B) == pytest.approx(np.mean([0.2, 0.0]))
    # C: FY2021 10/250 and FY2023 6/300 (no FY2022).
    assert feat.value("rd_intensity_3y", C) == pytest.approx(np.mean([0.04, 0.02]))


def test_volatility_over_five_years_needs_three(feat) -> None:
    x = np.array([3.2 / 80, 3.6 / 90, 4.0 / 100, 5.0 / 100, 6.0 / 120])  # A, FY2019-2023
    assert feat.value("rd_volatility", A) == pytest.approx(x.std(ddof=1) / x.mean())
    assert np.isnan(feat.value("rd_volatility", B)) and np.isnan(feat.value("rd_volatility", C))  # 2 years each


def test_years_reported_counts_positive_rd(feat) -> None:
    assert feat.value("rd_years_reported", A) == 5  # FY2019-2023 (FY2024 unknown)
    assert feat.value("rd_years_reported", B) == 1  # FY2023 R&D is 0
    assert feat.value("rd_years_reported", D) == 0


def test_high_tech_threshold_of_each_revenue_band(feat) -> None:
    # A: (4 + 5 + 6) / (100 + 100 + 120) = 4.69%, latest revenue 120M (band 50-200M: 4%) -> meets.
    assert feat.value("rd_meets_high_tech_threshold", A) == 1.0
    # B: (0.6 + 0) / (3 + 4) = 8.6%, latest revenue 4M (band <= 50M: 5%) -> meets.
    assert feat.value("rd_meets_high_tech_threshold", B) == 1.0
    # C: (10 + 6) / (250 + 300) = 2.91%, latest revenue 300M (band > 200M: 3%) -> fails.
    assert feat.value("rd_meets_high_tech_threshold", C) == 0.0
    assert np.isnan(feat.value("rd_meets_high_tech_threshold", D))


@pytest.mark.parametrize(("revenue", "needed"), [(30e6, 0.05), (50e6, 0.05), (50e6 + 1, 0.04), (200e6, 0.04),
                                                   (200e6 + 1, 0.03), (2e9, 0.03)])
def test_high_tech_band_edges(revenue: float, needed: float) -> None:
    # "at most 50 million" and "over 50 up to 200 million": a band's upper edge belongs to it.
    assert HIGH_TECH.min_ratio(np.array([revenue]))[0] == needed
    just = high_tech_rd_test(np.array([needed * 100, needed * 100 - 1e-6]), np.array([100.0, 100.0]),
                             np.array([revenue, revenue]))
    assert just.tolist() == [1.0, 0.0]


def test_points_in_time_move_the_latest_year() -> None:
    early = Resolver(raw_tables(), AS_OF.replace(year=2023), [A])  # 2023-07-01: FY2022 is the latest known
    assert early.value("rd_intensity", A) == pytest.approx(5.0 / 100)
    assert early.value("rd_years_reported", A) == 4
