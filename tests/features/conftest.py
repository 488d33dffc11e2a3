"""A hand-built platform of six firms and a tiny resolver that calls the catalogue's functions directly.

Firms: A (manufacturer, the richest record), B (young software firm, chain leader, defaulted before D), C (large
research firm, statements with a gap), D (no statements), E (founded after D: the engine drops it), F (a platform
firm that is not being scored, only a peer in cohorts and a trade partner).
As of D = 2024-07-01: fiscal year 2023 is known (reported 31 May 2024), 2024 is not; tax grades of 2023 are known.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np
import pandas as pd
import pytest

import features
from techscore.sources.asof import known_as_of
from techscore.sources.schema import INNOVATION_INDICATORS, PointInTime
from techscore.sources.uscc import complete

A, B, C, D, E, F = complete([f"91440300MA5{i:06d}" for i in range(1, 7)]).tolist()
FIRMS = [A, B, C, D, E]
AS_OF = pd.Timestamp("2024-07-01")
NaT = pd.NaT


def _frame(rows: list[tuple], columns: str, dtypes: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns.split())
    return frame.astype({c: t for c, t in dtypes.items() if c in frame.columns})


DATE = "datetime64[ns]"


def enterprises() -> pd.DataFrame:
    cols = ("uscc name industry region founded registered_capital chain_leader high_tech tech_sme innovative_sme "
            "specialized_sme little_giant gazelle unicorn")
    rows = [
        (A, "A", "C39", "440305", "2015-03-01", 10e6, False, "2020-01-01", "2023-05-01", NaT, NaT, "2024-09-01", NaT,
         NaT),
        (B, "B", "I65", "420100", "2022-01-15", 1e6, True, NaT, NaT, NaT, NaT, NaT, NaT, NaT),
        (C, "C", "M73", "450100", "2010-06-01", 50e6, False, NaT, NaT, NaT, NaT, NaT, "2021-01-01", NaT),
        (D, "D", "39", "110108", "2019-01-01", 2e6, False, NaT, NaT, NaT, NaT, NaT, NaT, NaT),
        (E, "E", "C39", "440305", "2024-08-01", 1e6, False, NaT, NaT, NaT, NaT, NaT, NaT, NaT),
        (F, "F", "C35", "440305", "2000-01-01", 80e6, False, NaT, NaT, NaT, NaT, NaT, NaT, NaT),
    ]
    dates = {c: DATE for c in ("founded high_tech tech_sme innovative_sme specialized_sme little_giant gazelle "
                               "unicorn").split()}
    return _frame(rows, cols, {"uscc": "string", "name": "string", "industry": "string", "region": "string",
                               "chain_leader": "boolean", **dates})


def financials() -> pd.DataFrame:
    cols = ("uscc year revenue rd_expense total_assets total_liabilities net_profit operating_cash_flow total_costs "
            "employees rd_staff high_tech_revenue")
    nan = np.nan
    rows = [
        (A, 2019, 80e6, 3.2e6, nan, nan, nan, nan, nan, 150, 30, nan),
        (A, 2020, 90e6, 3.6e6, nan, nan, nan, nan, nan, 160, 35, nan),
        (A, 2021, 100e6, 4.0e6, nan, nan, nan, nan, nan, 170, 40, nan),
        (A, 2022, 100e6, 5.0e6, 140e6, 70e6, 8e6, 7e6, 95e6, 180, 45, 80e6),
        (A, 2023, 120e6, 6.0e6, 150e6, 60e6, 12e6, 9e6, 100e6, 200, 50, 90e6),
        (A, 2024, 130e6, 9.0e6, 160e6, 50e6, 20e6, 9e6, 100e6, 220, 60, 95e6),  # reported 2025-05-31: unknown at D
        (B, 2022, 3e6, 0.6e6, 2e6, 1e6, -0.5e6, -0.2e6, 3.5e6, 10, 4, 1e6),
        (B, 2023, 4e6, 0.0, nan, 1.5e6, -0.2e6, 0.1e6, 4.2e6, 12, 3, 2e6),
        (C, 2021, 250e6, 10e6, 400e6, 200e6, 20e6, 30e6, 230e6, 580, 100, nan),
        (C, 2023, 300e6, 6e6, 500e6, 300e6, 15e6, 25e6, 250e6, 600, 100, nan),
        (F, 2023, 50e6, 1e6, 60e6, 30e6, 2e6, 3e6, 45e6, 90, 9, nan),
    ]
    return _frame(rows, cols, {"uscc": "string", "year": "Int64", "employees": "Int64", "rd_staff": "Int64"})


def _indicators(uscc: str, year: int, value: float, **overrides: float) -> dict:
    row = {"uscc": uscc, "year": year, **dict.fromkeys(INNOVATION_INDICATORS, value)}
    row.update(overrides)
    return row


def innovation_indicators() -> pd.DataFrame:
    rows = [
        # 2023, stable cohort {A, C, F}: A 3, F 2, C 1 on every indicator, except awards (all 0: a tie) and venture
        # capital (A missing).
        _indicators(A, 2023, 3.0, awards=0.0, venture_capital=np.nan),
        _indicators(C, 2023, 1.0, awards=0.0),
        _indicators(F, 2023, 2.0, awards=0.0),
        _indicators(C, 2022, 5.0),
        # C's indicators would qualify it directly (standards led), but C is too large to be eligible.
        # 2023, start-up cohort {B}: one firm, taxes paid missing; no direct-qualification indicator.
        _indicators(B, 2023, 7.0, taxes_paid=np.nan, rd_platform_level=0.0, standards_led=0.0, awards=0.0),
        # D's latest known year is 2022 (growth cohort of one); its provincial platform qualifies it directly.
        _indicators(D, 2022, 1.0, rd_platform_level=2.0),
        _indicators(A, 2024, 9.0),  # reported 2025-05-31: unknown at D
    ]
    return pd.DataFrame(rows).astype({"uscc": "string", "year": "Int64"})


def ip_rights() -> pd.DataFrame:
    cols = "uscc ip_id kind filed granted status status_date expires pledged pledged_date citations claims"
    rows = [
        (A, "IP-1", "invention", "2015-01-10", "2017-05-01", "granted", NaT, NaT, False, NaT, 4, 10),
        (A, "IP-2", "invention", "2020-02-01", "2024-09-01", "granted", NaT, NaT, False, NaT, 0, 8),
        (A, "IP-3", "invention", "2018-03-01", NaT, "invalid", "2020-01-01", NaT, False, NaT, 0, 8),
        (A, "IP-4", "invention", "2019-06-01", "2021-08-01", "granted", NaT, NaT, True, "2023-01-01", 2, 6),
        (A, "IP-5", "utility_model", "2012-01-01", "2012-09-01", "granted", NaT, "2022-01-01", False, NaT, 1, 3),
        (A, "IP-6", "utility_model", "2023-09-01", "2024-02-01", "granted", NaT, NaT, False, NaT, None, 5),
        (A, "IP-7", "design", "2020-05-01", "2020-12-01", "lapsed", "2023-03-01", NaT, False, NaT, 0, 1),
        (A, "IP-8", "software_copyright", "2022-03-01", "2022-04-01", "granted", NaT, NaT, False, NaT, None, None),
        (A, "IP-9", "trademark", "2021-01-01", "2022-01-01", "granted", NaT, "2032-01-01", False, NaT, None, None),
        (A, "IP-10", "invention", "2016-01-01", "2018-01-01", "lapsed", "2025-01-01", NaT, True, "2024-10-01", 0, 20),
        (B, "IP-11", "utility_model", "2022-05-01", "2022-12-01", "granted", NaT, NaT, False, NaT, 0, 4),
        (B, "IP-12", "design", "2023-01-01", "2023-06-01", "granted", NaT, NaT, False, NaT, 0, 1),
        (B, "IP-13", "design", "2019-01-01", "2019-08-01", "granted", NaT, NaT, False, NaT, 0, 1),
        (B, "IP-14", "design", "2013-03-01", "2013-10-01", "granted", NaT, NaT, False, NaT, 0, 1),
        (F, "IP-15", "invention", "2020-01-01", "2022-01-01", "granted", NaT, NaT, False, NaT, 9, 9),
    ]
    return _frame(rows, cols, {"uscc": "string", "ip_id": "string", "kind": "string", "status": "string",
                               "filed": DATE, "granted": DATE, "status_date": DATE, "expires": DATE,
                               "pledged_date": DATE, "pledged": "boolean", "citations": "Int64", "claims": "Int64"})


def supply_chain() -> pd.DataFrame:
    cols = "invoice_id seller_uscc buyer_uscc date amount due_date paid_date"
    rows = [
        ("T1", A, B, "2023-08-01", 100.0, "2023-09-01", "2023-08-20"),
        ("T2", A, C, "2023-10-01", 300.0, "2023-11-01", "2023-11-11"),
        ("T3", A, B, "2024-05-01", 100.0, "2024-08-01", NaT),
        ("T4", A, F, "2024-03-01", 500.0, "2024-04-01", NaT),
        ("T5", A, B, "2022-09-01", 200.0, "2022-10-01", "2022-10-01"),
        ("T6", C, A, "2024-01-15", 400.0, "2024-02-15", "2024-02-10"),
        ("T7", B, A, "2023-12-01", 50.0, "2024-01-01", "2024-03-01"),
        ("T8", F, A, "2024-06-01", 80.0, "2024-06-15", "2024-07-05"),
        ("T9", A, B, "2024-07-02", 900.0, "2024-08-02", NaT),
        ("T10", B, C, "2023-09-01", 70.0, NaT, NaT),
        ("T11", A, A, "2024-01-01", 999.0, "2024-02-01", NaT),
    ]
    return _frame(rows, cols, {"invoice_id": "string", "seller_uscc": "string", "buyer_uscc": "string",
                               "date": DATE, "due_date": DATE, "paid_date": DATE})


def tax() -> pd.DataFrame:
    rows = [(A, 2022, "B"), (A, 2023, "A"), (B, 2023, "D"), (B, 2024, "A"), (C, 2022, "M")]
    return _frame(rows, "uscc year grade", {"uscc": "string", "year": "Int64", "grade": "string"})


def loans() -> pd.DataFrame:
    cols = "loan_id bank_id uscc issued amount term_months product default_date"
    rows = [
        ("L1", "bank1", A, "2022-01-10", 1e6, 12, "积分贷", NaT),
        ("L2", "bank2", A, "2024-03-01", 2e6, 12, "研发贷", NaT),
        ("L3", "bank1", A, "2024-08-01", 1e6, 12, "研发贷", NaT),
        ("L4", "bank1", B, "2023-01-01", 5e5, 12, "首贷", "2023-10-01"),
        ("L5", "bank2", C, "2023-06-01", 3e6, 24, "知识产权质押贷款", "2024-09-01"),
    ]
    return _frame(rows, cols, {"loan_id": "string", "bank_id": "string", "uscc": "string", "issued": DATE,
                               "default_date": DATE, "term_months": "Int64", "product": "string"})


def raw_tables() -> dict[str, pd.DataFrame]:
    return {"enterprises": enterprises(), "financials": financials(), "innovation_indicators": innovation_indicators(),
            "ip_rights": ip_rights(), "supply_chain": supply_chain(), "tax": tax(), "loans": loans()}


def definitions() -> dict[str, object]:
    """Every feature and node function of the repository's catalogue, by id."""
    found = {}
    for info in pkgutil.iter_modules(features.__path__):
        module = importlib.import_module(f"features.{info.name}")
        for value in vars(module).values():
            if getattr(value, "__module__", None) == module.__name__ and (
                    hasattr(value, "__techscore_feature__") or hasattr(value, "__techscore_node__")):
                found[value.__name__] = value
    return found


class Resolver:
    """Compute any feature or node by name as of a date: each function is called with its parameters resolved by
    name (base inputs from the engine's point-in-time views, else other functions), each computed once."""

    def __init__(self, tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, firms: list[str]) -> None:
        self.values: dict[str, object] = dict(known_as_of(tables, as_of))
        self.values.update(as_of=as_of, firms=pd.Index(firms, name="uscc", dtype="string"),
                           point_in_time=PointInTime())
        self.defs = definitions()

    def __call__(self, name: str):
        if name not in self.values:
            fn = self.defs[name]
            self.values[name] = fn(**{p: self(p) for p in inspect.signature(fn).parameters})
        return self.values[name]

    def value(self, name: str, firm: str) -> object:
        return self(name).loc[firm]


@pytest.fixture(scope="session")
def feat() -> Resolver:
    """Features of firms A-E as of 2024-07-01."""
    return Resolver(raw_tables(), AS_OF, FIRMS)
