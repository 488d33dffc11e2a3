"""Small valid raw worlds for the sources tests (independent of techscore.synth on purpose)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from techscore.sources import uscc
from techscore.sources.schema import INNOVATION_INDICATORS, IP_KINDS, TABLE_NAMES, TAX_GRADES

GOOD_CODE = "914403001922038216"
"""A public test vector (华为技术有限公司)."""
INDUSTRIES = ("C39", "I65", "M73", "39", "C", "C26")
REGIONS = ("440300", "110108", "310115", "330106")


def make_codes(n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` distinct valid firm codes: 91 + a region + 9 random characters + the check character."""
    alphabet = np.array(list(uscc.ALPHABET))
    codes: set[str] = set()
    while len(codes) < n:
        region = REGIONS[len(codes) % len(REGIONS)]
        tail = "".join(rng.choice(alphabet, 9))
        codes.add("91" + region + tail)
    return uscc.complete(sorted(codes))


def make_world(n_firms: int = 12, seed: int = 0) -> dict[str, pd.DataFrame]:
    """A small world of the seven tables that breaks no rule, typed as the loader types them."""
    rng = np.random.default_rng(seed)
    codes = make_codes(n_firms, rng)
    founded = pd.to_datetime("2000-01-01") + pd.to_timedelta(rng.integers(0, 15 * 365, n_firms), "D")
    high_tech = pd.Series(founded + pd.to_timedelta(rng.integers(200, 2000, n_firms), "D"))
    high_tech[rng.random(n_firms) < 0.5] = pd.NaT
    enterprises = pd.DataFrame({
        "uscc": pd.array(codes, dtype="string"),
        "name": pd.array([f"测试科技有限公司{i}" for i in range(n_firms)], dtype="string"),
        "industry": pd.array(rng.choice(INDUSTRIES, n_firms), dtype="string"),
        "region": pd.array(rng.choice(REGIONS, n_firms), dtype="string"),
        "founded": pd.Series(founded, dtype="datetime64[ns]"),
        "registered_capital": rng.integers(1, 100, n_firms) * 1e5,
        "chain_leader": pd.array(rng.random(n_firms) < 0.2, dtype="boolean"),
        "high_tech": high_tech.astype("datetime64[ns]"),
    })

    years = np.arange(2016, 2021)
    fin = pd.DataFrame([(c, y) for c, f in zip(codes, founded, strict=True) for y in years if y >= f.year],
                       columns=["uscc", "year"])
    n = len(fin)
    revenue = rng.integers(1, 500, n) * 1e5
    financials = pd.DataFrame({
        "uscc": pd.array(fin["uscc"], dtype="string"),
        "year": pd.array(fin["year"], dtype="Int64"),
        "revenue": revenue,
        "rd_expense": np.round(revenue * rng.uniform(0, 0.1, n), 2),
        "total_assets": revenue * 2,
        "total_liabilities": revenue,
        "net_profit": np.round(revenue * rng.uniform(-0.1, 0.2, n), 2),
        "employees": pd.array(rng.integers(5, 300, n), dtype="Int64"),
    })

    n_ip = 2 * n_firms
    filed = pd.to_datetime("2016-01-01") + pd.to_timedelta(rng.integers(0, 1500, n_ip), "D")
    granted = pd.Series(filed + pd.to_timedelta(rng.integers(100, 900, n_ip), "D"))
    pending = rng.random(n_ip) < 0.3
    granted[pending] = pd.NaT
    ip_rights = pd.DataFrame({
        "uscc": pd.array(np.repeat(codes, 2), dtype="string"),
        "ip_id": pd.array([f"CN{100000 + i}" for i in range(n_ip)], dtype="string"),
        "kind": pd.array(rng.choice(IP_KINDS, n_ip), dtype="string"),
        "filed": pd.Series(filed, dtype="datetime64[ns]"),
        "granted": granted.astype("datetime64[ns]"),
        "status": pd.array(np.where(pending, "pending", "granted"), dtype="string"),
        "expires": pd.Series(filed + pd.DateOffset(years=20), dtype="datetime64[ns]"),
        "pledged": pd.array(rng.random(n_ip) < 0.1, dtype="boolean"),
        "citations": pd.array(rng.integers(0, 9, n_ip), dtype="Int64"),
    })

    inno = fin[fin["year"] >= 2019].reset_index(drop=True)
    innovation = pd.DataFrame({"uscc": pd.array(inno["uscc"], dtype="string"),
                               "year": pd.array(inno["year"], dtype="Int64")})
    for name in INNOVATION_INDICATORS[:4]:
        innovation[name] = np.round(rng.uniform(0, 1, len(inno)), 4)

    n_inv = 3 * n_firms
    date = pd.to_datetime("2019-01-01") + pd.to_timedelta(rng.integers(0, 700, n_inv), "D")
    paid = pd.Series(date + pd.to_timedelta(rng.integers(0, 120, n_inv), "D"))
    paid[rng.random(n_inv) < 0.2] = pd.NaT
    seller = rng.integers(0, n_firms, n_inv)
    supply_chain = pd.DataFrame({
        "invoice_id": pd.array([f"INV{i:06d}" for i in range(n_inv)], dtype="string"),
        "seller_uscc": pd.array(codes[seller], dtype="string"),
        "buyer_uscc": pd.array(codes[(seller + 1 + rng.integers(0, n_firms - 1, n_inv)) % n_firms], dtype="string"),
        "date": pd.Series(date, dtype="datetime64[ns]"),
        "amount": rng.integers(1, 1000, n_inv) * 100.0,
        "due_date": pd.Series(date + pd.Timedelta(days=60), dtype="datetime64[ns]"),
        "paid_date": paid.astype("datetime64[ns]"),
    })

    tax = pd.DataFrame({"uscc": pd.array(inno["uscc"], dtype="string"),
                        "year": pd.array(inno["year"], dtype="Int64"),
                        "grade": pd.array(rng.choice(TAX_GRADES, len(inno)), dtype="string")})

    n_loans = n_firms
    issued = pd.to_datetime("2021-01-01") + pd.to_timedelta(rng.integers(0, 365, n_loans), "D")
    default = pd.Series(issued + pd.to_timedelta(rng.integers(30, 400, n_loans), "D"))
    default[rng.random(n_loans) < 0.7] = pd.NaT
    loans = pd.DataFrame({
        "loan_id": pd.array([f"L{i:05d}" for i in range(n_loans)], dtype="string"),
        "bank_id": pd.array(rng.choice(["B1", "B2"], n_loans), dtype="string"),
        "uscc": pd.array(codes[rng.permutation(n_firms)[:n_loans]], dtype="string"),
        "issued": pd.Series(issued, dtype="datetime64[ns]"),
        "amount": rng.integers(10, 500, n_loans) * 1e4,
        "term_months": pd.array(rng.choice([6, 12, 24], n_loans), dtype="Int64"),
        "product": pd.array(rng.choice(["ip_pledge", "credit"], n_loans), dtype="string"),
        "default_date": default.astype("datetime64[ns]"),
    })
    world = {"enterprises": enterprises, "financials": financials, "ip_rights": ip_rights,
             "innovation_indicators": innovation, "supply_chain": supply_chain, "tax": tax, "loans": loans}
    assert tuple(world) == TABLE_NAMES
    return world


def write_world(world: dict[str, pd.DataFrame], folder: Path, fmt: str = "csv") -> Path:
    """Write each table as `<name>.csv` (ISO dates) or `<name>.parquet`; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in world.items():
        if fmt == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False, date_format="%Y-%m-%d")
        else:
            frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


@pytest.fixture
def world() -> dict[str, pd.DataFrame]:
    return make_world()


@pytest.fixture(params=["csv", "parquet"])
def fmt(request) -> str:
    return request.param


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as the text a CSV holds (ISO dates, `true`/`false`, missing as None), for injecting bad values."""
    out = {}
    for column in frame.columns:
        s = frame[column]
        if pd.api.types.is_datetime64_any_dtype(s):
            text = s.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(s):
            text = s.map({True: "true", False: "false"})
        else:
            text = s.astype("string")
        out[column] = pd.Series(text, dtype=object).where(s.notna(), None)
    return pd.DataFrame(out)


def write_text(world: dict[str, pd.DataFrame], folder: Path, fmt: str = "csv") -> Path:
    """Write tables of text (see `as_text`) as CSV or as Parquet string columns."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in world.items():
        if fmt == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:
            frame.astype("string").to_parquet(folder / f"{name}.parquet", index=False)
    return folder
