"""R&D features: intensity, growth, stability over the years, R&D staff, high-tech revenue, the high-tech R&D test.

All from `financials` as known before the as-of date D (a fiscal year is known from its reporting date, 31 May of
the next year by default). "Latest" is the firm's latest known fiscal year Y; windows of k years are the fiscal
years Y-k+1..Y the firm reported (a year it did not report is skipped, not filled). Ratios are NaN where the
denominator is missing or not positive.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from techscore.catalogue import feature, feature_group

from ._config import HIGH_TECH, HighTechSpec
from ._frame import Rows, nan_flag, per_firm, ratio, series

GROUP = feature_group("rd", name_zh="研发投入", name_en="R&D", order=10)
"""The group this module's features belong to (the catalogue orders groups by `order`)."""


def _window(fin_rows: Rows, years: int) -> Rows:
    return fin_rows.where(fin_rows["lag"] < years)


def _intensity(rows: Rows) -> np.ndarray:
    return ratio(rows["rd_expense"], rows["revenue"])


def high_tech_rd_test(
    rd_total: np.ndarray, revenue_total: np.ndarray, latest_revenue: np.ndarray, spec: HighTechSpec = HIGH_TECH
) -> np.ndarray:
    """1.0 where R&D / revenue summed over the window meets the threshold of the latest revenue's band, else 0.0;
    NaN where the ratio or the latest revenue is not known (high_tech_enterprise.md).

    >>> high_tech_rd_test(np.array([2.4e6]), np.array([60e6]), np.array([45e6])).tolist()  # 4% < 5% (<= 50M)
    [0.0]
    """
    share = ratio(np.asarray(rd_total, dtype=float), np.asarray(revenue_total, dtype=float))
    threshold = spec.min_ratio(latest_revenue)
    known = ~np.isnan(share) & ~np.isnan(threshold)
    return nan_flag(share >= threshold, known)


@feature(group="rd", name_zh="研发强度", name_en="R&D intensity", unit="ratio", unit_zh="", direction=-1,
         sources=("financials",),
         description="R&D expense / operating revenue of the latest known fiscal year.")
def rd_intensity(fin_latest: pd.DataFrame) -> pd.Series:
    return series(ratio(fin_latest["rd_expense"].to_numpy(), fin_latest["revenue"].to_numpy()), fin_latest.index)


@feature(group="rd", name_zh="近三年平均研发强度", name_en="R&D intensity, 3-year mean", unit="ratio", unit_zh="",
         direction=-1, sources=("financials",),
         description="Mean of the yearly R&D expense / revenue over the fiscal years Y-2..Y the firm reported "
                     "(Y its latest known year; years without a positive revenue are skipped).")
def rd_intensity_3y(fin_rows: Rows, firms: pd.Index) -> pd.Series:
    rows = _window(fin_rows, 3)
    x = _intensity(rows)
    ok = ~np.isnan(x)
    pos = rows["pos"][ok]
    return series(ratio(per_firm(pos, len(firms), x[ok]), per_firm(pos, len(firms))), firms)


@feature(group="rd", name_zh="最近年度研发费用", name_en="R&D expense, latest year", unit="yuan", unit_zh="元",
         direction=-1, sources=("financials",), description="R&D expense of the latest known fiscal year, yuan.")
def rd_expense_latest(fin_latest: pd.DataFrame) -> pd.Series:
    return fin_latest["rd_expense"]


@feature(group="rd", name_zh="研发费用增长率", name_en="R&D expense growth", unit="ratio", unit_zh="", direction=-1,
         sources=("financials",),
         description="R&D expense of the latest known fiscal year Y / that of Y-1, minus 1 (NaN without a positive "
                     "Y-1 figure).")
def rd_growth(fin_latest: pd.DataFrame, fin_prev: pd.DataFrame) -> pd.Series:
    prev = fin_prev["rd_expense"].to_numpy()
    return series(ratio(fin_latest["rd_expense"].to_numpy(), prev) - 1.0, fin_latest.index)


@feature(group="rd", name_zh="研发强度波动", name_en="R&D intensity volatility", unit="ratio", unit_zh="",
         direction=1, sources=("financials",),
         description="Coefficient of variation (sample standard deviation / mean) of yearly R&D intensity over "
                     "the fiscal years Y-4..Y the firm reported; NaN with fewer than 3 years or a mean of 0.")
def rd_volatility(fin_rows: Rows, firms: pd.Index) -> pd.Series:
    rows = _window(fin_rows, 5)
    x = _intensity(rows)
    ok = ~np.isnan(x)
    pos, x = rows["pos"][ok], x[ok]
    n = per_firm(pos, len(firms))
    mean = ratio(per_firm(pos, len(firms), x), n)
    centred = x - mean[pos]  # two-pass variance: exact for tiny spreads
    var = ratio(per_firm(pos, len(firms), centred * centred), n - 1)
    cv = ratio(np.sqrt(var), mean)
    return series(np.where(n >= 3, cv, np.nan), firms)


@feature(group="rd", name_zh="研发人员占比", name_en="R&D staff share", unit="share", unit_zh="", direction=-1,
         sources=("financials",), description="R&D (S&T) staff / employees of the latest known fiscal year.")
def rd_staff_share(fin_latest: pd.DataFrame) -> pd.Series:
    return series(ratio(fin_latest["rd_staff"].to_numpy(), fin_latest["employees"].to_numpy()), fin_latest.index)


@feature(group="rd", name_zh="高新技术产品收入占比", name_en="High-tech revenue share", unit="share", unit_zh="",
         direction=-1, sources=("financials",),
         description="Revenue from high-tech products and services / operating revenue, latest known fiscal year.")
def rd_high_tech_revenue_share(fin_latest: pd.DataFrame) -> pd.Series:
    return series(ratio(fin_latest["high_tech_revenue"].to_numpy(), fin_latest["revenue"].to_numpy()),
                  fin_latest.index)


@feature(group="rd", name_zh="达到高企研发费用比例", name_en="Meets high-tech R&D threshold", unit="flag",
         unit_zh="", direction=-1, sources=("financials",),
         description="1 if R&D expense / revenue summed over the fiscal years Y-2..Y reaches the high-tech "
                     "enterprise threshold of the band of year Y's revenue (<= 50M yuan: 5%, <= 200M: 4%, above: "
                     "3%; features/config/high_tech.toml), else 0; NaN without figures.")
def rd_meets_high_tech_threshold(fin_rows: Rows, fin_latest: pd.DataFrame, firms: pd.Index) -> pd.Series:
    rows = _window(fin_rows, HIGH_TECH.years)
    rd, revenue = rows["rd_expense"], rows["revenue"]
    ok = ~np.isnan(rd) & ~np.isnan(revenue)
    pos = rows["pos"][ok]
    rd_total = np.where(per_firm(pos, len(firms)) > 0, per_firm(pos, len(firms), rd[ok]), np.nan)
    flag = high_tech_rd_test(rd_total, per_firm(pos, len(firms), revenue[ok]), fin_latest["revenue"].to_numpy())
    return series(flag, firms)


@feature(group="rd", name_zh="人均研发费用", name_en="R&D expense per employee", unit="yuan", unit_zh="元",
         direction=-1, sources=("financials",),
         description="R&D expense / employees of the latest known fiscal year, yuan per person.")
def rd_per_employee(fin_latest: pd.DataFrame) -> pd.Series:
    return series(ratio(fin_latest["rd_expense"].to_numpy(), fin_latest["employees"].to_numpy()), fin_latest.index)


@feature(group="rd", name_zh="有研发投入的年数", name_en="Years with R&D reported", unit="count", unit_zh="年",
         direction=-1, sources=("financials",),
         description="Number of known fiscal years with an R&D expense above 0 (0 for a firm without statements).")
def rd_years_reported(fin_rows: Rows, firms: pd.Index) -> pd.Series:
    positive = fin_rows["rd_expense"] > 0
    return series(per_firm(fin_rows["pos"][positive], len(firms)), firms)
