"""The planted risk: default rate, contagion, late payment before default, noise, and a learnable AUC band."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

SNAPSHOT = pd.Timestamp("2025-12-31")


def _labelled(loans: pd.DataFrame) -> pd.DataFrame:
    loans = loans[loans["issued"] <= SNAPSHOT - pd.Timedelta(days=365)].copy()
    loans["bad"] = (loans["default_date"].notna() & (loans["default_date"] <= loans["issued"] + pd.Timedelta(days=365))).astype(int)
    return loans


def test_twelve_month_default_rate_is_two_to_four_percent(tables):
    loans = _labelled(tables["loans"])
    assert len(loans) > 4_000
    assert 0.02 <= loans["bad"].mean() <= 0.04


@pytest.mark.slow
def test_contagion_firms_default_more_in_the_year_after_a_customer_defaults(large_tables):
    """Observed default rate per loan-year: in the 12 months after a customer's default against the rest."""
    loans = large_tables["loans"]
    first = loans.groupby("uscc")["default_date"].min().dropna()
    sc = large_tables["supply_chain"]
    pairs = sc.assign(customer_default=sc["buyer_uscc"].map(first)).dropna(subset=["customer_default"])
    pairs = pairs[pairs["date"] <= pairs["customer_default"]]
    exposed_from = loans["uscc"].map(pairs.groupby("seller_uscc")["customer_default"].min())
    exposed_to = exposed_from + pd.Timedelta(days=365)
    start = loans["issued"]
    end = (start + pd.to_timedelta(loans["term_months"] * 30.4, unit="D")).clip(upper=SNAPSHOT)
    end = end.where(loans["default_date"].isna(), loans["default_date"])
    exposed_days = (np.minimum(end, exposed_to) - np.maximum(start, exposed_from)).dt.days.clip(lower=0).fillna(0)
    events = loans["default_date"].notna()
    exposed_events = events & loans["default_date"].between(exposed_from, exposed_to)
    rate_exposed = exposed_events.sum() / exposed_days.sum()
    rate_other = (events.sum() - exposed_events.sum()) / ((end - start).dt.days.sum() - exposed_days.sum())
    print(f"defaults per loan-year: {365 * rate_exposed:.3f} after a customer's default, {365 * rate_other:.3f} otherwise")
    assert exposed_events.sum() >= 20
    assert rate_exposed > 1.6 * rate_other


def test_late_payment_rises_before_a_buyers_default(tables):
    sc = tables["supply_chain"]
    dflt = sc["buyer_uscc"].map(tables["loans"].groupby("uscc")["default_date"].min())
    late = sc["paid_date"].isna() | (sc["paid_date"] > sc["due_date"])
    before = (dflt - sc["date"]).dt.days.between(0, 365)
    far = dflt.isna() & (sc["due_date"] < SNAPSHOT - pd.Timedelta(days=200))
    assert late[before].mean() > 2 * late[far].mean()


def test_noise_is_independent_of_default(tables):
    loans = _labelled(tables["loans"]).merge(tables["enterprises"], on="uscc")
    auc = roc_auc_score(loans["bad"], loans["registered_capital"])
    assert 0.42 < auc < 0.58


def _proxies(tables) -> pd.DataFrame:
    """Crude point-in-time proxies of a few drivers at each loan's issue date, straight from the raw tables."""
    loans = _labelled(tables["loans"]).sort_values("issued")
    fin = tables["financials"].copy()
    fin["known"] = pd.to_datetime((fin["year"] + 1).astype(str) + "-05-31").astype("datetime64[ns]")
    fin["leverage"] = fin["total_liabilities"] / fin["total_assets"]
    fin["roa"] = fin["net_profit"] / fin["total_assets"]
    fin["rd_intensity"] = fin["rd_expense"] / fin["revenue"]
    fin = fin.sort_values(["uscc", "year"])
    fin["growth"] = fin.groupby("uscc")["revenue"].pct_change()
    cols = ["uscc", "known", "leverage", "roa", "rd_intensity", "growth"]
    out = pd.merge_asof(loans, fin[cols].sort_values("known"), left_on="issued", right_on="known", by="uscc",
                        allow_exact_matches=False)
    tax = tables["tax"].copy()
    tax["published"] = pd.to_datetime((tax["year"] + 1).astype(str) + "-04-30").astype("datetime64[ns]")
    tax["tax_grade"] = tax["grade"].map({"A": 1, "B": 2, "M": 3, "C": 4, "D": 5})
    out = pd.merge_asof(out, tax[["uscc", "published", "tax_grade"]].sort_values("published"), left_on="issued",
                        right_on="published", by="uscc", allow_exact_matches=False)
    out = out.merge(tables["enterprises"][["uscc", "founded"]], on="uscc")
    out["age"] = (out["issued"] - out["founded"]).dt.days / 365.25
    ip = tables["ip_rights"]
    inv = ip[(ip["kind"] == "invention") & ip["granted"].notna()][["uscc", "granted"]].sort_values("granted")
    inv["inventions"] = inv.groupby("uscc").cumcount() + 1.0
    out = pd.merge_asof(out.sort_values("issued"), inv, left_on="issued", right_on="granted", by="uscc",
                        allow_exact_matches=False)
    out["inventions"] = out["inventions"].fillna(0.0)
    sc = tables["supply_chain"].rename(columns={"buyer_uscc": "uscc"})[["uscc", "due_date", "paid_date"]]
    m = out[["loan_id", "uscc", "issued"]].merge(sc, on="uscc")
    m = m[(m["due_date"] < m["issued"]) & (m["due_date"] >= m["issued"] - pd.Timedelta(days=365))]
    m["late"] = (m["paid_date"].isna() | (m["paid_date"] > m["issued"]) | (m["paid_date"] > m["due_date"])).astype(float)
    return out.merge(m.groupby("loan_id")["late"].mean().rename("late_rate"), on="loan_id", how="left")


@pytest.mark.slow
def test_drivers_are_learnable_but_not_perfectly(large_tables):
    lightgbm = pytest.importorskip("lightgbm")
    data = _proxies(large_tables)
    features = ["leverage", "roa", "rd_intensity", "growth", "tax_grade", "age", "inventions", "late_rate"]
    train = data[data["issued"] < "2022-07-01"]
    test = data[data["issued"] >= "2023-01-01"]
    model = lightgbm.LGBMClassifier(
        n_estimators=200, learning_rate=0.03, num_leaves=7, min_child_samples=40, subsample=0.8, subsample_freq=1,
        colsample_bytree=0.8, random_state=0, n_jobs=1, deterministic=True, verbose=-1,
    ).fit(train[features], train["bad"])
    auc = roc_auc_score(test["bad"], model.predict_proba(test[features])[:, 1])
    print(f"out-of-time AUC of the crude proxies: {auc:.3f} ({len(test)} loans, {test['bad'].sum()} bad)")
    assert test["bad"].sum() >= 200
    assert 0.70 <= auc <= 0.92
