"""The world's tables: contract columns and types, valid codes, dates in order, certification ladder."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from techscore.sources.industry import TECH_DIVISIONS, is_valid_industry
from techscore.sources.schema import CERTIFICATIONS, IP_KINDS, IP_STATUSES, TABLE_NAMES, TABLES, TAX_GRADES
from techscore.sources.uscc import valid_mask

KIND_TYPES = {
    "str": pa.string(), "uscc": pa.string(), "category": pa.string(), "int": pa.int64(), "float": pa.float64(),
    "money": pa.float64(), "date": pa.date32(), "bool": pa.bool_(),
}
SNAPSHOT = pd.Timestamp("2025-12-31")


def test_every_table_has_exactly_the_contract_columns_and_types(world):
    for name in TABLE_NAMES:
        schema = pq.read_schema(world / f"{name}.parquet")
        assert schema.names == [c.name for c in TABLES[name].columns], name
        for col in TABLES[name].columns:
            assert schema.field(col.name).type == KIND_TYPES[col.kind], (name, col.name)
        assert pq.read_metadata(world / f"{name}.parquet").num_rows > 0, name


def test_required_values_present_and_choices_respected(tables):
    for name, df in tables.items():
        for col in TABLES[name].columns:
            if col.required:
                assert df[col.name].notna().all(), (name, col.name)
    assert set(tables["ip_rights"]["kind"]) <= set(IP_KINDS)
    assert set(tables["ip_rights"]["status"]) == set(IP_STATUSES)
    assert set(tables["tax"]["grade"]) == set(TAX_GRADES)


def test_codes_are_valid_unique_and_carry_region_and_org_check(tables):
    ent = tables["enterprises"]
    assert valid_mask(ent["uscc"]).all()
    assert ent["uscc"].is_unique
    assert (ent["uscc"].str[:2] == "91").all()
    assert (ent["uscc"].str[2:8] == ent["region"]).all()
    digits = np.array([[int(ch) for ch in code[8:16]] for code in ent["uscc"]])
    c = 11 - (digits @ np.array([3, 7, 9, 10, 5, 8, 4, 2])) % 11
    expected = np.where(c == 10, "X", np.where(c == 11, "0", c.astype(str)))
    assert (ent["uscc"].str[16].to_numpy() == expected).all()
    for name in ("financials", "ip_rights", "innovation_indicators", "tax", "loans"):
        assert tables[name]["uscc"].isin(ent["uscc"]).all(), name
    sc = tables["supply_chain"]
    assert sc["seller_uscc"].isin(ent["uscc"]).all() and sc["buyer_uscc"].isin(ent["uscc"]).all()
    assert (sc["seller_uscc"] != sc["buyer_uscc"]).all()


def test_firms_are_tech_heavy_young_and_plausible(tables):
    ent = tables["enterprises"]
    assert is_valid_industry(ent["industry"]).all()
    assert ent["industry"].isin(TECH_DIVISIONS).mean() > 0.5
    assert ent["region"].str.fullmatch(r"\d{6}").all()
    years = ent["founded"].dt.year
    assert years.between(1995, 2024).all()
    assert years.median() >= 2017  # skewed young
    assert 0.002 < ent["chain_leader"].mean() < 0.01
    assert (ent["registered_capital"] > 0).all()


def test_keys_are_unique(tables):
    for name, df in tables.items():
        key = list(TABLES[name].key)
        assert not df.duplicated(key).any(), name


def test_dates_are_in_order(tables):
    ent = tables["enterprises"].set_index("uscc")
    ip = tables["ip_rights"]
    g = ip["granted"].notna()
    assert (ip.loc[g, "granted"] >= ip.loc[g, "filed"]).all()
    assert (ip["expires"].dropna() >= ip.loc[ip["expires"].notna(), "filed"]).all()
    assert (ip.loc[g, "expires"] >= ip.loc[g, "granted"]).all()
    assert (ip.loc[ip["status"] == "pending", "granted"].isna()).all()
    assert (ip.loc[ip["status"] == "granted", "granted"].notna()).all()
    sd = ip["status_date"].notna()
    assert (ip.loc[sd, "status_date"] >= ip.loc[sd, "filed"]).all()
    assert ip.loc[ip["status"].isin(["lapsed", "transferred_out"]), "status_date"].notna().all()
    pl = ip["pledged"]
    assert (ip.loc[pl, "pledged_date"] >= ip.loc[pl, "granted"]).all() and ip.loc[~pl, "pledged_date"].isna().all()
    assert (ip["filed"] >= ent.loc[ip["uscc"], "founded"].to_numpy()).all()
    for col in ("filed", "granted", "status_date", "pledged_date"):
        assert (ip[col].dropna() <= SNAPSHOT).all(), col
    inv = ip[ip["kind"] == "invention"]
    lag = (inv["granted"] - inv["filed"]).dt.days / 365.25
    assert lag.dropna().between(1.49, 4.01).all()
    assert ((inv["expires"] - inv["filed"]).dt.days.dropna() // 365 == 20).all()
    sc = tables["supply_chain"]
    assert (sc["due_date"] - sc["date"]).dt.days.between(30, 90).all()
    assert (sc["paid_date"].dropna() >= sc.loc[sc["paid_date"].notna(), "date"]).all()
    assert sc["paid_date"].isna().any()
    loans = tables["loans"]
    d = loans["default_date"].notna()
    assert (loans.loc[d, "default_date"] > loans.loc[d, "issued"]).all()
    end = loans["issued"] + pd.to_timedelta(loans["term_months"] * 31, unit="D")
    assert (loans.loc[d, "default_date"] <= end[d]).all()
    assert loans["issued"].dt.year.between(2018, 2025).all()
    fin = tables["financials"]
    assert (fin["year"] > ent.loc[fin["uscc"], "founded"].dt.year.to_numpy()).all()
    assert fin["year"].between(2016, 2025).all()


def test_firms_that_defaulted_get_no_new_loans(tables):
    loans = tables["loans"]
    first = loans.groupby("uscc")["default_date"].min()
    later = loans["issued"] >= loans["uscc"].map(first)
    assert not later.any()


def test_certification_ladder_and_prerequisites(tables):
    ent = tables["enterprises"]
    for c in CERTIFICATIONS:
        has = ent[c].notna()
        assert (ent.loc[has, c] > ent.loc[has, "founded"]).all(), c
        assert (ent.loc[has, c] <= SNAPSHOT).all(), c
    for later, earlier in (("little_giant", "specialized_sme"), ("specialized_sme", "innovative_sme")):
        has = ent[later].notna()
        assert ent.loc[has, earlier].notna().all() and (ent.loc[has, later] >= ent.loc[has, earlier]).all()
    has = ent["innovative_sme"].notna()
    base = ent[["tech_sme", "high_tech"]].min(axis=1)
    assert (base[has] <= ent.loc[has, "innovative_sme"]).all()
    assert 0 < ent["little_giant"].notna().sum() < ent["specialized_sme"].notna().sum() < has.sum()
    # high-tech firms do R&D and held a granted class I/II right before certification
    ht = ent.loc[ent["high_tech"].notna(), ["uscc", "high_tech"]]
    fin = tables["financials"]
    assert (fin.loc[fin["uscc"].isin(ht["uscc"]), "rd_expense"] > 0).all()
    ip = tables["ip_rights"]
    first = ip[ip["kind"] != "trademark"].groupby("uscc")["granted"].min()
    assert (ht["uscc"].map(first) <= ht["high_tech"]).all()
    assert 0.02 < ent["gazelle"].notna().mean() < 0.15


def test_financials_hang_together(tables):
    fin = tables["financials"]
    assert (fin["revenue"] > 0).all() and (fin["rd_expense"] >= 0).all()
    assert (fin["rd_staff"] <= fin["employees"]).all() and (fin["employees"] >= 1).all()
    assert (fin["high_tech_revenue"] <= fin["revenue"]).all()
    rdi = fin["rd_expense"] / fin["revenue"]
    ent = tables["enterprises"].set_index("uscc")
    tech = fin["uscc"].map(ent["industry"]).isin(TECH_DIVISIONS)
    assert rdi[tech].median() > 2 * rdi[~tech].median()
    per_firm = fin.groupby("uscc").size()
    assert per_firm.max() <= 10
    # about 5% of firm-years are missing: some firms have a gap between their first and last year
    span = fin.groupby("uscc")["year"].agg(lambda y: y.max() - y.min() + 1)
    assert 0.01 < 1 - per_firm.sum() / span.sum() < 0.1


def test_innovation_indicators_match_financials(tables):
    inn = tables["innovation_indicators"]
    fin = tables["financials"]
    m = inn.merge(fin, on=["uscc", "year"], suffixes=("", "_fin"))
    assert len(m) > 0.8 * len(inn)
    assert np.allclose(m["rd_expense"], m["rd_expense_fin"])
    assert np.allclose(m["rd_intensity"], m["rd_expense_fin"] / m["revenue"])
    assert np.allclose(m["high_tech_revenue"], m["high_tech_revenue_fin"])
    assert inn["rd_platform_level"].isin([0, 1, 2, 3]).all()
    assert (inn["class1_ip_3y"] >= 0).all() and inn["class2_ip_3y"].max() > 0


def test_banks_differ_in_size_and_preference(tables):
    loans = tables["loans"].merge(tables["enterprises"], on="uscc")
    share = loans["bank_id"].value_counts(normalize=True)
    for bank, target in {"BANK_A": 0.5, "BANK_B": 0.3, "BANK_C": 0.15, "BANK_D": 0.05}.items():
        assert abs(share[bank] - target) < 0.04, (bank, share[bank])
    age = (loans["issued"] - loans["founded"]).dt.days
    by_bank = age.groupby(loans["bank_id"]).median()
    assert by_bank["BANK_A"] > 1.3 * by_bank["BANK_B"]
    chain = loans.groupby("bank_id")["product"].apply(lambda p: (p == "供应链金融").mean())
    assert chain.idxmax() == "BANK_C"
    guangxi = loans.groupby("bank_id")["region"].apply(lambda r: r.str.startswith("45").mean())
    assert guangxi.idxmax() == "BANK_D"
    assert loans["product"].nunique() >= 6


def test_ground_truth_file(world):
    truth = json.loads((world / "ground_truth.json").read_text(encoding="utf-8"))
    drivers = {d["feature"]: d for d in truth["drivers"]}
    expected = {
        "rd_intensity_3y": -1, "ip_invention_in_force": -1, "inno_points": -1, "sc_late_rate_as_buyer": 1,
        "sc_defaulted_partner_share": 1, "sc_customer_hhi": 1, "fin_leverage": 1, "fin_roa": -1,
        "fin_revenue_growth": -1, "fin_tax_grade": 1, "profile_age_years": -1,
    }
    assert {k: d["direction"] for k, d in drivers.items()} == expected
    assert abs(sum(d["relative_weight"] for d in truth["drivers"]) - 1) < 1e-3
    assert all(d["relative_weight"] > 0 for d in truth["drivers"])
    assert set(truth["noise"]) == {
        "profile_registered_capital", "ip_claims_per_patent", "inno_graduates_hired", "inno_awards",
        "inno_standards_led",
    }
    assert truth["default_rate_target"] == 0.03 and 0.02 <= truth["default_rate_12m"] <= 0.04
    meta = json.loads((world / "world.json").read_text(encoding="utf-8"))
    assert meta["config"]["seed"] == 11 and meta["rows"]["enterprises"] == 3_000
    assert "ground_truth.json" in (world / "README.md").read_text(encoding="utf-8")
