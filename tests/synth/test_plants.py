"""The planted downturn and slides move the raw data after their start, and not before (ground truth in
`ground_truth.json` "plants" and `firm_truth.parquet`)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from techscore.synth import generate
from techscore.synth.plants import FIRM_TRUTH_FILE

START = pd.Timestamp("2025-05-01")  # the default: 1 May of the last year


@pytest.fixture(scope="module")
def planted(world, tables):
    truth = json.loads((world / "ground_truth.json").read_text(encoding="utf-8"))
    firms = pd.read_parquet(world / FIRM_TRUTH_FILE)
    return truth, firms, tables


def _late(sc: pd.DataFrame) -> pd.Series:
    return sc["paid_date"].isna() | (sc["paid_date"] > sc["due_date"])


def test_truth_records_the_shock_and_each_firms_plants(planted, world):
    truth, firms, tables = planted
    meta = json.loads((world / "world.json").read_text(encoding="utf-8"))
    assert truth["plants"] == meta["plants"]
    shock = truth["plants"]["shock"]
    assert shock["start"] == "2025-05-01" and shock["segment"]["section"] == "M"  # the defaults
    section = tables["enterprises"].set_index("uscc")["industry"].str[0]
    assert firms["uscc"].tolist() == tables["enterprises"]["uscc"].tolist()
    assert (firms["shocked"] == (firms["uscc"].map(section) == "M")).all() and shock["firms"] == firms["shocked"].sum()
    # each firm's default date is its loans' first default whenever a loan was running
    loan_default = tables["loans"].groupby("uscc")["default_date"].min().dropna()
    assert (pd.to_datetime(firms.set_index("uscc")["default_date"]).reindex(loan_default.index) == loan_default).all()


def test_shocked_section_pays_late_and_sells_less_after_the_start(planted):
    _, firms, tables = planted
    sc = tables["supply_chain"]
    shocked = set(firms.loc[firms["shocked"], "uscc"])
    due_known = sc["due_date"] < pd.Timestamp("2025-10-01")  # unpaid near the snapshot says nothing yet
    year_before = sc["date"].between(START - pd.DateOffset(months=12), START - pd.Timedelta(days=1))
    after = sc["date"].between(START + pd.DateOffset(months=2), pd.Timestamp("2025-08-31"))
    buyer_hit, seller_hit = sc["buyer_uscc"].isin(shocked), sc["seller_uscc"].isin(shocked)
    late = _late(sc)
    rate = {(hit, period): late[due_known & period_mask & (buyer_hit == hit)].mean()
            for hit in (True, False) for period, period_mask in (("before", year_before), ("after", after))}
    assert rate[True, "after"] > 2 * rate[True, "before"], rate
    assert rate[False, "after"] < 1.3 * rate[False, "before"], rate
    # sales: the shocked section's invoices shrink against the others' (mean log amount, after minus before)
    log_amount = np.log(sc["amount"])
    moved = {hit: log_amount[after & (seller_hit == hit)].mean() - log_amount[year_before & (seller_hit == hit)].mean()
             for hit in (True, False)}
    assert moved[True] - moved[False] < -0.15, moved


def test_sliding_firms_default_after_their_slide_starts(planted):
    truth, firms, tables = planted
    sliding = firms.loc[firms["slide_start"].notna()]
    assert truth["plants"]["slides"]["firms"] == len(sliding) > 5
    start, default = pd.to_datetime(sliding["slide_start"]), pd.to_datetime(sliding["default_date"])
    gap_days = (default - start).dt.days.dropna()
    assert (gap_days > 0).all()
    settled = start <= pd.Timestamp("2024-06-30")
    assert settled.sum() >= 4 and default[settled].notna().mean() > 0.5, default[settled]
    # their invoices turn late as the slide proceeds
    sc = tables["supply_chain"]
    starts = sc["buyer_uscc"].map(sliding.set_index("uscc")["slide_start"]).astype("datetime64[ns]")
    months = (sc["date"] - starts).dt.days / 30.44
    late = _late(sc)
    before, during = late[months.between(-12, 0, inclusive="left")], late[months.between(4, 24)]
    assert len(before) > 20 and len(during) > 10
    assert during.mean() > 2 * before.mean(), (before.mean(), during.mean())


def test_a_world_without_plants_records_none(tmp_path):
    generate(300, 4, tmp_path, shock_section=None, slide_share=0.0)
    truth = json.loads((tmp_path / "ground_truth.json").read_text(encoding="utf-8"))
    firms = pd.read_parquet(tmp_path / FIRM_TRUTH_FILE)
    assert truth["plants"]["shock"]["firms"] == 0 and truth["plants"]["slides"]["firms"] == 0
    assert not firms["shocked"].any() and firms["slide_start"].isna().all()
    assert np.isin(firms["default_date"].notna(), [True, False]).all()


def test_shock_start_outside_the_world_is_refused(tmp_path):
    with pytest.raises(ValueError, match="shock_start must fall within 2017..2025; got 2027-01-01"):
        generate(100, 1, tmp_path, shock_start="2027-01-01")
