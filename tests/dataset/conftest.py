"""Fixtures: a small world written as Parquet files, and a tiny catalogue in a temporary workspace."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from techscore.catalogue import load_catalogue
from tests.catalogue.world import CORE_CATALOGUE, make_world, write_world

CATALOGUE = CORE_CATALOGUE + '''

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
