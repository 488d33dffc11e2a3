"""Fixtures: a small world written as Parquet files, and a tiny catalogue in a temporary workspace."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from techscore.catalogue import load_catalogue
from tests.catalogue.world import make_world, write_world

CATALOGUE = '''
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


@feature(group="profile", name_zh="此前贷款笔数", name_en="Prior loans", unit="count", direction=0,
         sources=("loans",), description="Loans issued before the as-of date.")
def profile_prior_loans(loans, firms):
    return loans.groupby("uscc").size().reindex(firms, fill_value=0).astype(float)
'''


@pytest.fixture(scope="session")
def world():
    return make_world(n_firms=40, seed=11)


@pytest.fixture(scope="session")
def data_dir(world, tmp_path_factory) -> Path:
    return write_world(world, tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="session")
def ws(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ws")
    (root / "features").mkdir()
    (root / "features" / "mini.py").write_text(textwrap.dedent(CATALOGUE), encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def catalogue(ws):
    return load_catalogue(ws)
