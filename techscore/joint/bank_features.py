"""A bank's own features: what the lending bank knows about the firm from its own earlier loans.

The platform holds the catalogue (R&D, IP, innovation, supply chain, profile, finance); a bank holds its
relationship with the firm. The synthetic world has no bank-private table, so the relationship is modelled from
what a bank really has: its own rows of the loans table. For a loan issued by bank B to firm F on date D, each
feature uses only B's loans to F issued **strictly before D**, and a default counts only when its
``default_date`` is before D (what B had seen when it decided):

- ``bank_prior_loans``: number of B's earlier loans to F (0 for a new customer);
- ``bank_prior_defaults``: how many of them had defaulted before D;
- ``bank_months_as_customer``: months since B's first loan to F (missing for a new customer);
- ``bank_months_since_last_loan``: months since B's latest earlier loan to F (missing for a new customer);
- ``bank_exposure``: amount of B's earlier loans to F still within their term at D (yuan; the loans table has
  no repayment schedule, so a loan counts in full until its term ends);
- ``bank_prior_amount``: total amount B lent F before D (yuan).

Other banks' loans never enter: a bank's features are private to it. (The platform's catalogue has its own,
cross-bank view of borrowing history, ``profile_prior_loans`` etc., as of the first day of the issue month.)

>>> feats = bank_features(loans, dataset.frame)   # doctest: +SKIP
>>> feats.columns.tolist()[:2]                     # doctest: +SKIP
['bank_prior_loans', 'bank_prior_defaults']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from techscore.catalogue.meta import FeatureMeta
from techscore.exceptions import SchemaError

__all__ = ["BANK_FEATURES", "BANK_FEATURE_IDS", "bank_features"]

_DAYS_PER_MONTH = 365.25 / 12


def _meta(id_: str, name_zh: str, name_en: str, unit: str, direction: int, description: str) -> FeatureMeta:
    return FeatureMeta(id=id_, group="bank", name_zh=name_zh, name_en=name_en, description=description, unit=unit,
                       sources=("loans",), direction=direction)  # type: ignore[arg-type]


BANK_FEATURES: tuple[FeatureMeta, ...] = (
    _meta("bank_prior_loans", "本行既往贷款笔数", "Prior loans at this bank", "count", 0,
          "The lending bank's loans to the firm issued before this loan."),
    _meta("bank_prior_defaults", "本行既往违约笔数", "Prior defaults at this bank", "count", 1,
          "The lending bank's earlier loans to the firm that defaulted before this loan was issued."),
    _meta("bank_months_as_customer", "本行客户月数", "Months as this bank's customer", "months", 0,
          "Months since the lending bank's first loan to the firm (missing for a new customer)."),
    _meta("bank_months_since_last_loan", "距本行上笔贷款月数", "Months since last loan at this bank", "months", 0,
          "Months since the lending bank's latest earlier loan to the firm (missing for a new customer)."),
    _meta("bank_exposure", "本行未到期敞口", "Exposure at this bank", "yuan", 0,
          "Amount of the lending bank's earlier loans to the firm still within their term at issue."),
    _meta("bank_prior_amount", "本行既往放款总额", "Amount lent before by this bank", "yuan", 0,
          "Total amount of the lending bank's earlier loans to the firm."),
)
"""Metadata of the bank's own features (group ``bank``; only a prior default declares a risk direction)."""
BANK_FEATURE_IDS: tuple[str, ...] = tuple(f.id for f in BANK_FEATURES)
_NEEDED = ("bank_id", "uscc", "issued", "amount", "term_months", "default_date")


def bank_features(loans: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """Each row's relationship features as its lending bank knew them strictly before the row's issue date.

    Parameters
    ----------
    loans : DataFrame
        The loans table (typed as `techscore.sources.load` gives it): bank_id, uscc, issued, amount,
        term_months, default_date.
    rows : DataFrame
        The loans to describe, with bank_id, uscc and issued (a loan dataset's frame).

    Returns
    -------
    DataFrame
        Indexed like `rows`, one float64 column per id in `BANK_FEATURE_IDS`.
    """
    missing = [c for c in _NEEDED if c not in loans.columns]
    if missing:
        raise SchemaError(f"the loans table is missing {len(missing)} columns bank features need: {', '.join(missing)}.")
    missing = [c for c in ("bank_id", "uscc", "issued") if c not in rows.columns]
    if missing:
        raise SchemaError(f"the rows are missing {len(missing)} key columns: {', '.join(missing)}.")
    keys = pd.DataFrame({
        "_pos": np.arange(len(rows)), "bank_id": rows["bank_id"].astype("string").to_numpy(),
        "uscc": rows["uscc"].astype("string").to_numpy(), "issued": pd.to_datetime(rows["issued"]).to_numpy(),
    })
    hist = pd.DataFrame({
        "bank_id": loans["bank_id"].astype("string").to_numpy(), "uscc": loans["uscc"].astype("string").to_numpy(),
        "h_issued": pd.to_datetime(loans["issued"]).to_numpy(),
        "h_amount": pd.to_numeric(loans["amount"], errors="coerce").to_numpy(dtype=np.float64),
        "h_term": pd.to_numeric(loans["term_months"], errors="coerce").to_numpy(dtype=np.float64),
        "h_default": pd.to_datetime(loans["default_date"]).to_numpy(),
    })
    pairs = keys.merge(hist, on=["bank_id", "uscc"], how="inner")
    pairs = pairs.loc[pairs["h_issued"] < pairs["issued"]]
    issued, h_issued = pairs["issued"], pairs["h_issued"]
    # whole months from the earlier loan's issue to this one's: still within term when fewer than its term
    months = ((issued.dt.year - h_issued.dt.year) * 12 + (issued.dt.month - h_issued.dt.month)
              - (issued.dt.day < h_issued.dt.day).astype(int))
    pairs = pairs.assign(
        _defaulted=(pairs["h_default"] < issued).to_numpy(dtype=bool, na_value=False).astype(np.float64),
        _running=np.where(months.to_numpy() < pairs["h_term"].to_numpy(), pairs["h_amount"].to_numpy(), 0.0),
    )
    g = pairs.groupby("_pos")
    first, last = g["h_issued"].min(), g["h_issued"].max()
    out = pd.DataFrame(index=pd.RangeIndex(len(rows)))
    out["bank_prior_loans"] = g.size().reindex(out.index, fill_value=0).astype(np.float64)
    out["bank_prior_defaults"] = g["_defaulted"].sum().reindex(out.index, fill_value=0.0)
    issue = pd.Series(keys["issued"].to_numpy(), index=out.index)
    out["bank_months_as_customer"] = (issue - first.reindex(out.index)).dt.days / _DAYS_PER_MONTH
    out["bank_months_since_last_loan"] = (issue - last.reindex(out.index)).dt.days / _DAYS_PER_MONTH
    out["bank_exposure"] = g["_running"].sum().reindex(out.index, fill_value=0.0)
    out["bank_prior_amount"] = g["h_amount"].sum().reindex(out.index, fill_value=0.0)
    out.index = rows.index
    return out[list(BANK_FEATURE_IDS)].astype(np.float64)
