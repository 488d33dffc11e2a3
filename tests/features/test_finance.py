"""Finance features against hand computations from conftest's statements, tax grades and the as-of date."""

from __future__ import annotations

import numpy as np
import pytest

from tests.features.conftest import AS_OF, A, B, C, D, Resolver, raw_tables


def test_ratios_of_the_latest_statement(feat) -> None:
    # A, FY2023: assets 150M, liabilities 60M, net profit 12M, revenue 120M, operating cash flow 9M.
    assert feat.value("fin_leverage", A) == pytest.approx(60 / 150)
    assert feat.value("fin_roa", A) == pytest.approx(12 / 150)
    assert feat.value("fin_net_margin", A) == pytest.approx(12 / 120)
    assert feat.value("fin_cash_flow_cover", A) == pytest.approx(9 / 60)
    assert feat.value("fin_revenue_latest", A) == 120e6
    assert feat.value("fin_employees", A) == 200
    # B's FY2023 total assets are missing: no leverage, no ROA; the margin is negative.
    assert np.isnan(feat.value("fin_leverage", B)) and np.isnan(feat.value("fin_roa", B))
    assert feat.value("fin_net_margin", B) == pytest.approx(-0.2 / 4)


def test_revenue_growth(feat) -> None:
    assert feat.value("fin_revenue_growth", A) == pytest.approx(120 / 100 - 1)
    assert feat.value("fin_revenue_growth", B) == pytest.approx(4 / 3 - 1)
    assert np.isnan(feat.value("fin_revenue_growth", C))  # no FY2022


def test_tax_grade_is_the_latest_published(feat) -> None:
    assert feat.value("fin_tax_grade", A) == 1  # 2022 B, 2023 A (published April 2024)
    assert feat.value("fin_tax_grade", B) == 5  # 2023 D; the 2024 A is published in 2025
    assert feat.value("fin_tax_grade", C) == 3  # 2022 M
    assert np.isnan(feat.value("fin_tax_grade", D))
    early = Resolver(raw_tables(), AS_OF.replace(month=4, day=1), [A])  # before the 2023 grades are published
    assert early.value("fin_tax_grade", A) == 2


def test_statement_age(feat) -> None:
    # 31 Dec 2023 to 1 Jul 2024 is 183 days.
    assert feat.value("fin_statement_age_months", A) == pytest.approx(183 / (365.25 / 12))
    assert np.isnan(feat.value("fin_statement_age_months", D))
