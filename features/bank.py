"""Bank-held features: what the lending bank knows about the firm from its own earlier loans.

The platform holds the other groups; a bank holds its relationship with the firm. The synthetic world has no
bank-private table, so the relationship is read from what a bank really has: its own rows of the loans table.
These are party features: each takes the base input ``bank`` (the lending bank's id), so the engine computes them
only when the caller names the bank (`Catalogue.compute(..., bank=...)`; the loan dataset passes each loan's
bank) and leaves them out of the default selection (platform-only datasets never hold them).

Point in time as for every feature: the `loans` view holds the loans issued before the as-of date D (the first
day of the issue month in a loan dataset) and a default counts only when its ``default_date`` is before D. Other
banks' loans never enter: a bank's features are private to it (the platform's cross-bank view of borrowing
history is ``profile_prior_loans`` and its neighbours).

Exposure: the loans table has no repayment schedule, so an earlier loan counts in full while fewer whole months
than its term have passed from its issue date to D.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from techscore.catalogue import feature, feature_group, node

from ._frame import MONTH_DAYS, Rows, days, floats, per_firm, positions, series

GROUP = feature_group("bank", name_zh="银行自有", name_en="Bank-held", order=90)
"""The lending bank's own features (computed for one bank at a time)."""


@node
def bank_loans(loans: pd.DataFrame, firms: pd.Index, bank: str, as_of: pd.Timestamp) -> Rows:
    """The lending bank's loans to the firms known before D: `pos` (row of the firm in `firms`), `issued` (days
    from D, negative), `amount`, `defaulted` (1.0 when the default is known before D) and `running` (1.0 while
    the loan is still within its term at D)."""
    mine = (loans["bank_id"].astype("string") == bank).to_numpy(dtype=bool, na_value=False)
    pos = positions(loans["uscc"], firms)
    keep = mine & (pos >= 0)
    issued = pd.to_datetime(loans["issued"]).loc[keep]
    elapsed = ((as_of.year - issued.dt.year) * 12 + (as_of.month - issued.dt.month)
               - (as_of.day < issued.dt.day).astype(int)).to_numpy(dtype=np.float64)
    return Rows(pos=pos[keep], issued=days(issued, as_of), amount=np.nan_to_num(floats(loans, "amount", keep)),
                defaulted=loans["default_date"].notna().to_numpy()[keep].astype(np.float64),
                running=(elapsed < floats(loans, "term_months", keep)).astype(np.float64))


def _extreme(bank_loans: Rows, firms: pd.Index, pick: np.ufunc) -> np.ndarray:
    """Months from each firm's earliest (`np.minimum`) or latest (`np.maximum`) loan at the bank to D."""
    out = np.full(len(firms), np.nan)
    if len(bank_loans):
        first = np.full(len(firms), np.inf if pick is np.minimum else -np.inf)
        pick.at(first, bank_loans["pos"], bank_loans["issued"])
        seen = np.isfinite(first)
        out[seen] = -first[seen] / MONTH_DAYS
    return out


@feature(group="bank", name_zh="本行既往贷款笔数", name_en="Prior loans at this bank", unit="count", unit_zh="笔",
         direction=0, sources=("loans",), description="The lending bank's loans to the firm issued before the as-of "
         "date (0 for a new customer).", description_zh="本行在评估日前向该企业发放的贷款笔数（新客户为0）。")
def bank_prior_loans(bank_loans: Rows, firms: pd.Index) -> pd.Series:
    return series(per_firm(bank_loans["pos"], len(firms)), firms)


@feature(group="bank", name_zh="本行既往违约笔数", name_en="Prior defaults at this bank", unit="count", unit_zh="笔",
         direction=1, sources=("loans",), description="The lending bank's earlier loans to the firm that defaulted "
         "before the as-of date.", description_zh="本行既往贷款中在评估日前已违约的笔数。")
def bank_prior_defaults(bank_loans: Rows, firms: pd.Index) -> pd.Series:
    return series(per_firm(bank_loans["pos"], len(firms), bank_loans["defaulted"]), firms)


@feature(group="bank", name_zh="本行客户月数", name_en="Months as this bank's customer", unit="months",
         unit_zh="个月", direction=0, sources=("loans",), description="Months from the lending bank's first loan "
         "to the firm to the as-of date (missing for a new customer).",
         description_zh="自本行首笔贷款至评估日的月数（新客户缺失）。", drift="clock")
def bank_months_as_customer(bank_loans: Rows, firms: pd.Index) -> pd.Series:
    return series(_extreme(bank_loans, firms, np.minimum), firms)


@feature(group="bank", name_zh="距本行上笔贷款月数", name_en="Months since last loan at this bank", unit="months",
         unit_zh="个月", direction=0, sources=("loans",), description="Months from the lending bank's latest "
         "earlier loan to the firm to the as-of date (missing for a new customer).",
         description_zh="自本行最近一笔贷款至评估日的月数（新客户缺失）。", drift="clock")
def bank_months_since_last_loan(bank_loans: Rows, firms: pd.Index) -> pd.Series:
    return series(_extreme(bank_loans, firms, np.maximum), firms)


@feature(group="bank", name_zh="本行未到期敞口", name_en="Exposure at this bank", unit="yuan", direction=0,
         sources=("loans",), description="Amount of the lending bank's earlier loans to the firm still within "
         "their term at the as-of date.", description_zh="本行既往贷款中在评估日仍在期限内的金额。")
def bank_exposure(bank_loans: Rows, firms: pd.Index) -> pd.Series:
    return series(per_firm(bank_loans["pos"], len(firms), bank_loans["amount"] * bank_loans["running"]), firms)


@feature(group="bank", name_zh="本行既往放款总额", name_en="Amount lent before by this bank", unit="yuan",
         direction=0, sources=("loans",), description="Total amount of the lending bank's loans to the firm issued "
         "before the as-of date.", description_zh="本行在评估日前向该企业发放贷款的总额。")
def bank_prior_amount(bank_loans: Rows, firms: pd.Index) -> pd.Series:
    return series(per_firm(bank_loans["pos"], len(firms), bank_loans["amount"]), firms)
