"""A small, fully typed synthetic world of raw tables for engine, point-in-time and dataset tests.

Hand-built (independent of `techscore.synth`) so tests control every date: records spread over 2012-2025, with
pending, granted, lapsed and pledged IP rights, paid, late and unpaid invoices, defaults, certifications.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from techscore.sources.schema import INNOVATION_INDICATORS, TAX_GRADES

INDUSTRIES = ("C39", "I65", "M73", "C35", "C26", "F51", "I64")
REGIONS = ("110108", "310115", "440305", "320505", "450103", "330106")
BANKS = ("BANK_A", "BANK_B", "BANK_C")
IP_KINDS = ("invention", "utility_model", "design", "trademark", "software_copyright")


def _dates(rng: np.random.Generator, n: int, start: str, end: str) -> pd.Series:
    lo, hi = pd.Timestamp(start).value // 86_400_000_000_000, pd.Timestamp(end).value // 86_400_000_000_000
    days = rng.integers(lo, hi, size=n)
    return pd.Series(pd.to_datetime(days, unit="D")).astype("datetime64[ns]")


def _uscc(n: int) -> np.ndarray:
    from techscore.sources.uscc import complete

    bodies = [f"91{REGIONS[i % len(REGIONS)]}MA{i:07d}" for i in range(n)]
    return complete(bodies)


def make_world(n_firms: int = 40, seed: int = 7) -> dict[str, pd.DataFrame]:
    """Typed raw tables (schema column names and dtypes) of a world of `n_firms` firms."""
    rng = np.random.default_rng(seed)
    uscc = _uscc(n_firms)
    s = pd.array(uscc, dtype="string")
    founded = _dates(rng, n_firms, "2005-01-01", "2019-12-31")
    founded.iloc[-1] = pd.Timestamp("2023-03-15")  # a young firm, unknown before 2023
    ent = pd.DataFrame({
        "uscc": s,
        "name": pd.array([f"科技企业{i}有限公司" for i in range(n_firms)], dtype="string"),
        "industry": pd.array(rng.choice(INDUSTRIES, n_firms), dtype="string"),
        "region": pd.array([REGIONS[i % len(REGIONS)] for i in range(n_firms)], dtype="string"),
        "founded": founded,
        "registered_capital": rng.lognormal(15, 1, n_firms),
        "chain_leader": pd.array(rng.random(n_firms) < 0.1, dtype="boolean"),
    })
    for cert in ("tech_sme", "high_tech", "innovative_sme", "specialized_sme", "little_giant", "gazelle", "unicorn"):
        held = rng.random(n_firms) < 0.4
        ent[cert] = _dates(rng, n_firms, "2014-01-01", "2025-06-30").where(held)

    fy = []
    for i in range(n_firms):
        first = max(2014, founded.iloc[i].year)
        for year in range(first, 2025):
            fy.append((i, year))
    fi, fyear = np.array(fy).T
    n = len(fi)
    revenue = rng.lognormal(17, 1, n)
    assets = revenue * rng.uniform(0.5, 2, n)
    fin = pd.DataFrame({
        "uscc": s[fi], "year": pd.array(fyear, dtype="Int64"), "revenue": revenue,
        "rd_expense": revenue * rng.uniform(0, 0.12, n), "total_assets": assets,
        "total_liabilities": assets * rng.uniform(0.1, 0.9, n), "net_profit": revenue * rng.normal(0.05, 0.1, n),
        "operating_cash_flow": revenue * rng.normal(0.06, 0.1, n), "total_costs": revenue * rng.uniform(0.7, 1.1, n),
        "employees": pd.array(rng.integers(5, 800, n), dtype="Int64"),
        "rd_staff": pd.array(rng.integers(0, 120, n), dtype="Int64"),
        "high_tech_revenue": revenue * rng.uniform(0, 0.9, n),
    })

    inn_rows = fin.loc[fin["year"] >= 2018, ["uscc", "year"]].reset_index(drop=True)
    inn = inn_rows.copy()
    for col in INNOVATION_INDICATORS:
        inn[col] = rng.gamma(2.0, 1.0, len(inn)) * (10 if col in ("rd_expense", "tech_contract_value") else 0.1)
    inn["rd_platform_level"] = rng.integers(0, 4, len(inn)).astype("float64")

    n_ip = n_firms * 8
    owner = rng.integers(0, n_firms, n_ip)
    kind = rng.choice(IP_KINDS, n_ip, p=[0.3, 0.25, 0.1, 0.15, 0.2])
    filed = _dates(rng, n_ip, "2010-01-01", "2025-06-30")
    lag = pd.to_timedelta(rng.integers(90, 1100, n_ip), unit="D")
    granted = (filed + lag).where(rng.random(n_ip) < 0.75)
    granted = granted.where(granted <= pd.Timestamp("2025-06-30"))
    status = np.where(granted.notna(), "granted", "pending").astype(object)
    rejected = granted.isna() & (rng.random(n_ip) < 0.2)
    status[rejected] = "invalid"
    status_date = pd.Series(pd.NaT, index=filed.index, dtype="datetime64[ns]")
    status_date[rejected] = filed[rejected] + pd.to_timedelta(700, unit="D")
    lapsed = granted.notna() & (rng.random(n_ip) < 0.2)
    status[lapsed] = np.where(rng.random(lapsed.sum()) < 0.8, "lapsed", "transferred_out")
    status_date[lapsed] = granted[lapsed] + pd.to_timedelta(rng.integers(100, 2000, lapsed.sum()), unit="D")
    pledged = granted.notna() & (rng.random(n_ip) < 0.15)
    pledged_date = (granted + pd.to_timedelta(rng.integers(30, 900, n_ip), unit="D")).where(pledged)
    ip = pd.DataFrame({
        "uscc": s[owner], "ip_id": pd.array([f"IP{i:06d}" for i in range(n_ip)], dtype="string"),
        "kind": pd.array(kind, dtype="string"), "filed": filed, "granted": granted,
        "status": pd.array(status, dtype="string"), "status_date": status_date,
        "expires": (filed + pd.to_timedelta(np.where(kind == "invention", 7305, 3652), unit="D")).where(granted.notna()),
        "pledged": pd.array(pledged.to_numpy(), dtype="boolean"), "pledged_date": pledged_date,
        "citations": pd.array(rng.poisson(2, n_ip), dtype="Int64"),
        "claims": pd.array(rng.integers(1, 20, n_ip), dtype="Int64"),
    })

    n_inv = n_firms * 20
    seller = rng.integers(0, n_firms, n_inv)
    buyer = (seller + rng.integers(1, n_firms, n_inv)) % n_firms
    date = _dates(rng, n_inv, "2018-01-01", "2025-06-30")
    due = date + pd.to_timedelta(60, unit="D")
    paid = (date + pd.to_timedelta(rng.integers(5, 200, n_inv), unit="D")).where(rng.random(n_inv) < 0.9)
    sc = pd.DataFrame({
        "invoice_id": pd.array([f"INV{i:07d}" for i in range(n_inv)], dtype="string"),
        "seller_uscc": s[seller], "buyer_uscc": s[buyer], "date": date,
        "amount": rng.lognormal(12, 1, n_inv), "due_date": due, "paid_date": paid,
    })

    tax = fin[["uscc", "year"]].copy()
    tax["grade"] = pd.array(rng.choice(TAX_GRADES, len(tax), p=[0.4, 0.35, 0.1, 0.1, 0.05]), dtype="string")

    n_loans = n_firms * 4
    borrower = rng.integers(0, n_firms - 1, n_loans)
    issued = _dates(rng, n_loans, "2019-01-01", "2025-06-30")
    issued = issued.where(issued > founded.iloc[borrower].to_numpy(), founded.iloc[borrower].to_numpy() + pd.Timedelta(days=400))
    defaults = (issued + pd.to_timedelta(rng.integers(30, 700, n_loans), unit="D")).where(rng.random(n_loans) < 0.15)
    loans = pd.DataFrame({
        "loan_id": pd.array([f"L{i:06d}" for i in range(n_loans)], dtype="string"),
        "bank_id": pd.array(rng.choice(BANKS, n_loans), dtype="string"),
        "uscc": s[borrower], "issued": issued, "amount": rng.lognormal(14, 0.7, n_loans),
        "term_months": pd.array(rng.choice([6, 12, 24, 36], n_loans), dtype="Int64"),
        "product": pd.array(rng.choice(["科技贷", "知识产权质押贷"], n_loans), dtype="string"),
        "default_date": defaults.where(defaults <= pd.Timestamp("2025-06-30")),
    })
    return {"enterprises": ent, "financials": fin, "innovation_indicators": inn, "ip_rights": ip,
            "supply_chain": sc, "tax": tax, "loans": loans}


def write_world(world: dict[str, pd.DataFrame], folder: Path) -> Path:
    """Write each table as `<name>.parquet` into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in world.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


GROUP_DECLARATIONS = '''
from techscore.catalogue import feature_group

RD = feature_group("rd", name_zh="研发投入", name_en="R&D", order=10)
IP = feature_group("ip", name_zh="知识产权", name_en="Intellectual property", order=20)
INNOVATION = feature_group("innovation", name_zh="创新积分", name_en="Innovation points", order=30)
SUPPLY_CHAIN = feature_group("supply_chain", name_zh="供应链", name_en="Supply chain", order=40)
PROFILE = feature_group("profile", name_zh="企业画像", name_en="Firm profile", order=50)
FINANCE = feature_group("finance", name_zh="财务与纳税", name_en="Finance and tax", order=60)
'''
"""The repository's six feature groups, declared as a test workspace's `features/` module declares them."""

CORE_CATALOGUE = GROUP_DECLARATIONS + '''
import pandas as pd
from techscore.catalogue import feature, node


@node
def fin_latest(financials):
    """Latest known fiscal year per firm."""
    return financials.sort_values("year").groupby("uscc").tail(1).set_index("uscc")


@feature(group="rd", name_zh="研发强度", name_en="R&D intensity", unit="ratio", direction=-1,
         sources=("financials",), description="R&D expense over revenue, latest known fiscal year.")
def rd_intensity(fin_latest):
    return fin_latest["rd_expense"] / fin_latest["revenue"].where(fin_latest["revenue"] > 0)


@feature(group="finance", name_zh="资产负债率", name_en="Leverage", unit="ratio", direction=1,
         sources=("financials",), description="Liabilities over assets, latest known fiscal year.")
def fin_leverage(fin_latest):
    return fin_latest["total_liabilities"] / fin_latest["total_assets"]


@feature(group="profile", name_zh="成立年限", name_en="Age", unit="years", direction=-1,
         sources=("enterprises",), description="Years since founding.")
def profile_age_years(enterprises, as_of):
    return (as_of - enterprises.set_index("uscc")["founded"]).dt.days / 365.25


@feature(group="profile", name_zh="生命周期阶段", name_en="Lifecycle stage", unit="category", direction=0,
         kind="categorical", sources=("enterprises",), description="By age.",
         categories=("seed", "start-up", "growth", "mature"))
def profile_lifecycle_stage(profile_age_years):
    stage = pd.cut(profile_age_years, [-1, 2, 5, 10, 1000], labels=["seed", "start-up", "growth", "mature"])
    return stage.astype("string")
'''
"""A tiny catalogue (a node and four features) written into temporary workspaces by dataset and scoring tests."""
