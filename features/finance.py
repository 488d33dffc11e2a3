"""Finance features: leverage, profitability, cash-flow cover, revenue, staff, tax credit grade, statement age.

From the latest known fiscal year Y of `financials` (known from 31 May of Y+1 by default) and the latest published
tax credit grade (April of the next year). Ratios are NaN where the denominator is missing or not positive.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from techscore.catalogue import feature, feature_group
from techscore.sources.schema import TAX_GRADES

from ._frame import MONTH_DAYS, floats, latest_mask, positions, ratio, scatter, series, year_end_days

GROUP = feature_group("finance", name_zh="财务与纳税", name_en="Finance and tax", order=60)
"""The group this module's features belong to (the catalogue orders groups by `order`)."""


def _ratio(fin: pd.DataFrame, numerator: str, denominator: str) -> pd.Series:
    return series(ratio(fin[numerator].to_numpy(), fin[denominator].to_numpy()), fin.index)


@feature(group="finance", name_zh="资产负债率", name_en="Leverage", unit="ratio", unit_zh="", direction=1,
         sources=("financials",), description="Total liabilities / total assets, latest known fiscal year.")
def fin_leverage(fin_latest: pd.DataFrame) -> pd.Series:
    return _ratio(fin_latest, "total_liabilities", "total_assets")


@feature(group="finance", name_zh="总资产收益率", name_en="Return on assets", unit="ratio", unit_zh="",
         direction=-1, sources=("financials",), description="Net profit / total assets, latest known fiscal year.")
def fin_roa(fin_latest: pd.DataFrame) -> pd.Series:
    return _ratio(fin_latest, "net_profit", "total_assets")


@feature(group="finance", name_zh="净利率", name_en="Net margin", unit="ratio", unit_zh="", direction=-1,
         sources=("financials",), description="Net profit / operating revenue, latest known fiscal year.")
def fin_net_margin(fin_latest: pd.DataFrame) -> pd.Series:
    return _ratio(fin_latest, "net_profit", "revenue")


@feature(group="finance", name_zh="经营现金流覆盖率", name_en="Cash-flow cover", unit="ratio", unit_zh="",
         direction=-1, sources=("financials",),
         description="Net operating cash flow / total liabilities, latest known fiscal year.")
def fin_cash_flow_cover(fin_latest: pd.DataFrame) -> pd.Series:
    return _ratio(fin_latest, "operating_cash_flow", "total_liabilities")


@feature(group="finance", name_zh="营业收入增长率", name_en="Revenue growth", unit="ratio", unit_zh="",
         direction=-1, sources=("financials",),
         description="Revenue of the latest known fiscal year Y / revenue of Y-1, minus 1 (NaN without a positive "
                     "Y-1 revenue).")
def fin_revenue_growth(fin_latest: pd.DataFrame, fin_prev: pd.DataFrame) -> pd.Series:
    return series(ratio(fin_latest["revenue"].to_numpy(), fin_prev["revenue"].to_numpy()) - 1.0, fin_latest.index)


@feature(group="finance", name_zh="最近年度营业收入", name_en="Revenue, latest year", unit="yuan", unit_zh="元",
         direction=-1, sources=("financials",), description="Operating revenue of the latest known fiscal year.")
def fin_revenue_latest(fin_latest: pd.DataFrame) -> pd.Series:
    return fin_latest["revenue"]


@feature(group="finance", name_zh="从业人员数", name_en="Employees", unit="count", unit_zh="人", direction=-1,
         sources=("financials",), description="Employees in the latest known fiscal year.")
def fin_employees(fin_latest: pd.DataFrame) -> pd.Series:
    return fin_latest["employees"]


@feature(group="finance", name_zh="纳税信用等级", name_en="Tax credit grade", unit="grade", unit_zh="级",
         direction=1, sources=("tax",),
         description="Latest published tax credit grade as an ordinal: A=1, B=2, M=3, C=4, D=5 (NaN if none).")
def fin_tax_grade(tax: pd.DataFrame, firms: pd.Index) -> pd.Series:
    pos = positions(tax["uscc"], firms)
    grade = positions(tax["grade"], pd.Index(TAX_GRADES)) + 1.0
    latest = latest_mask(np.where(grade > 0, pos, -1), floats(tax, "year"), len(firms))
    return series(scatter(pos[latest], grade[latest], len(firms)), firms)


@feature(group="finance", name_zh="财报时滞", name_en="Statement age", unit="months", unit_zh="个月", direction=1,
         sources=("financials",),
         description="Months from the end of the latest known fiscal year (31 December) to the as-of date.", drift="clock")
def fin_statement_age_months(fin_latest: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    return series(year_end_days(fin_latest["year"].to_numpy(), as_of) / MONTH_DAYS, fin_latest.index)
