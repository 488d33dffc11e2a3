"""IP features against hand computations from conftest's rights (as of 2024-07-01)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features._config import IP_EVALUATION
from features.ip import add_years, ip_evaluation_from_parts
from tests.features.conftest import AS_OF, A, B, C, Resolver, raw_tables

YEAR = 365.25


def _age(filed: str) -> float:
    return (AS_OF - pd.Timestamp(filed)).days / YEAR


def test_stock_in_force_by_kind(feat) -> None:
    # A's inventions in force: IP-1, IP-4 and IP-10 (its lapse is dated after D); IP-2 is granted only after D,
    # IP-3 was rejected.
    assert feat.value("ip_invention_in_force", A) == 3
    # Utility models: IP-6 (IP-5 expired in 2022 although its status still says granted).
    assert feat.value("ip_utility_model_in_force", A) == 1
    assert feat.value("ip_design_in_force", A) == 0  # IP-7 lapsed in 2023
    assert feat.value("ip_software_copyright", A) == 1  # IP-8
    assert feat.value("ip_trademark", A) == 1  # IP-9
    # B's designs: IP-12 (15-year term) and IP-13 (filed before June 2021: 10 years, to 2029); IP-14's 10-year
    # term ended in March 2023 although no expiry date is recorded.
    assert feat.value("ip_design_in_force", B) == 2
    assert feat.value("ip_utility_model_in_force", B) == 1
    assert feat.value("ip_invention_in_force", C) == 0


def test_classes_and_breadth(feat) -> None:
    assert feat.value("ip_class1_in_force", A) == 3  # three inventions
    assert feat.value("ip_class2_in_force", A) == 2  # IP-6 utility model + IP-8 software copyright
    assert feat.value("ip_class2_in_force", B) == 3  # IP-11, IP-12, IP-13
    assert feat.value("ip_kind_breadth", A) == 4  # invention, utility model, software copyright, trademark
    assert feat.value("ip_kind_breadth", C) == 0


def test_filings_exclude_trademarks(feat) -> None:
    assert feat.value("ip_filings_1y", A) == 1  # IP-6 (2023-09-01); window from 2023-07-01
    assert feat.value("ip_filings_3y", A) == 2  # IP-6, IP-8 (2022-03-01); IP-9 is a trademark
    assert feat.value("ip_filings_3y", B) == 2  # IP-11, IP-12


def test_grant_ratio_counts_decided_inventions(feat) -> None:
    # Granted: IP-1, IP-4, IP-10; rejected: IP-3; IP-2 is pending at D (its grant comes later).
    assert feat.value("ip_invention_grant_ratio", A) == pytest.approx(3 / 4)
    assert np.isnan(feat.value("ip_invention_grant_ratio", B))


def test_age_lapses_pledges_citations_claims(feat) -> None:
    in_force = {"IP-1": "2015-01-10", "IP-4": "2019-06-01", "IP-10": "2016-01-01", "IP-6": "2023-09-01"}
    assert feat.value("ip_patent_age_mean", A) == pytest.approx(np.mean([_age(d) for d in in_force.values()]))
    # Granted patents: IP-1, IP-4, IP-6, IP-7, IP-10 (IP-5 ran its full term: left out); IP-7 lapsed early.
    assert feat.value("ip_lapsed_share", A) == pytest.approx(1 / 5)
    assert feat.value("ip_lapsed_share", B) == 0.0  # IP-14 ran its term: not a lapse
    # Held rights: IP-1, IP-4, IP-6, IP-8, IP-9, IP-10; pledged at D: IP-4 (IP-10's pledge is dated after D).
    assert feat.value("ip_pledged_share", A) == pytest.approx(1 / 6)
    # Citations of patents in force: IP-1 4, IP-4 2, IP-10 0 (IP-6 has none recorded).
    assert feat.value("ip_citations_per_patent", A) == pytest.approx(2.0)
    assert feat.value("ip_claims_per_patent", A) == pytest.approx((10 + 6 + 20 + 5) / 4)
    assert np.isnan(feat.value("ip_citations_per_patent", C))


def test_evaluation_score_by_hand(feat) -> None:
    age = feat.value("ip_patent_age_mean", A)
    quantity = 40 * (0.7 * min(3 / 5, 1) + 0.3 * min(2 / 10, 1))
    quality = 25 * (0.5 * min(2 / 5, 1) + 0.5 * 0.75)
    maintenance = 20 * (0.6 * (1 - 0.2) + 0.4 * min(age / 8, 1))
    activity = 15 * min(2 / 10, 1)
    assert feat.value("ip_evaluation_score", A) == pytest.approx(quantity + quality + maintenance + activity)
    assert feat.value("ip_evaluation_score", C) == 0.0  # no IP: every item missing or 0


def test_evaluation_score_bounds() -> None:
    best = pd.DataFrame({"ip_class1_in_force": [50.0, 0.0], "ip_class2_in_force": [50.0, 0.0],
                         "ip_citations_per_patent": [99.0, np.nan], "ip_invention_grant_ratio": [1.0, np.nan],
                         "ip_lapsed_share": [0.0, np.nan], "ip_patent_age_mean": [15.0, np.nan],
                         "ip_filings_3y": [40.0, 0.0]})
    assert ip_evaluation_from_parts(best, IP_EVALUATION).tolist() == pytest.approx([100.0, 0.0])


def test_point_in_time_reverts_later_events() -> None:
    # As of 2025-02-01: IP-2 is granted (2024-09-01), IP-10 has lapsed (2025-01-01) and is no longer in force.
    later = Resolver(raw_tables(), pd.Timestamp("2025-02-01"), [A])
    assert later.value("ip_invention_in_force", A) == 3  # IP-1, IP-2, IP-4
    assert later.value("ip_lapsed_share", A) == pytest.approx(2 / 6)  # IP-7 and IP-10 of six granted


def test_add_years_keeps_the_calendar_day() -> None:
    got = add_years(np.array(["2016-02-29", "2019-01-31", "NaT"], dtype="datetime64[D]"), np.array([20, 10, 5]))
    assert got.astype(str).tolist() == ["2036-02-29", "2029-01-31", "NaT"]
