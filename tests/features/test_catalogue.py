"""The catalogue as a whole: the binding ids and directions of notes/FEATURES.md, complete metadata, and the engine
computing every feature on conftest's platform with the same values as the direct calls."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from techscore.catalogue import UNITS, load_catalogue
from techscore.sources.schema import TABLE_NAMES
from tests.features.conftest import AS_OF, FIRMS, definitions, raw_tables

ROOT = Path(__file__).resolve().parents[2]
GROUPS = load_catalogue(ROOT).groups

EXPECTED: dict[str, dict[str, int]] = {
    "rd": {"rd_intensity": -1, "rd_intensity_3y": -1, "rd_expense_latest": -1, "rd_growth": -1, "rd_volatility": 1,
           "rd_staff_share": -1, "rd_high_tech_revenue_share": -1, "rd_meets_high_tech_threshold": -1,
           "rd_per_employee": -1, "rd_years_reported": -1},
    "ip": {"ip_invention_in_force": -1, "ip_utility_model_in_force": -1, "ip_design_in_force": -1,
           "ip_software_copyright": -1, "ip_trademark": -1, "ip_filings_1y": -1, "ip_filings_3y": -1,
           "ip_invention_grant_ratio": -1, "ip_patent_age_mean": 0, "ip_lapsed_share": 1, "ip_pledged_share": 1,
           "ip_citations_per_patent": -1, "ip_kind_breadth": -1, "ip_class1_in_force": -1, "ip_class2_in_force": -1,
           "ip_evaluation_score": -1, "ip_claims_per_patent": -1},
    "innovation": {"inno_points": -1, "inno_points_rank": -1, "inno_points_tier": -1, "inno_stage": 0,
                   "inno_tech_sme_score": -1, "inno_tech_sme_pass": -1, "inno_tech_sme_direct": -1,
                   "inno_tech_contract_value": -1, "inno_venture_capital": -1, "inno_rd_platform_level": -1,
                   "inno_graduates_hired": -1, "inno_awards": -1, "inno_standards_led": -1},
    "supply_chain": {"sc_sales_12m": -1, "sc_sales_growth": -1, "sc_purchases_12m": 0, "sc_purchases_growth": 0,
                     "sc_customer_hhi": 1, "sc_supplier_hhi": 1, "sc_top_customer_share": 1,
                     "sc_chain_leader_sales_share": -1, "sc_n_customers": -1, "sc_n_suppliers": 0, "sc_dso_days": 1,
                     "sc_late_rate_as_seller": 1, "sc_days_late_as_seller": 1, "sc_late_rate_as_buyer": 1,
                     "sc_days_late_as_buyer": 1, "sc_defaulted_partner_share": 1, "sc_pagerank": -1,
                     "sc_sales_change_3m": -1, "sc_late_rate_as_buyer_3m": 1},
    "profile": {"profile_age_years": -1, "profile_size_band": 0, "profile_industry_section": 0, "profile_region": 0,
                "profile_cert_count": -1, "profile_high_tech": -1, "profile_tech_sme": -1,
                "profile_specialized_sme": -1, "profile_little_giant": -1, "profile_gazelle": -1,
                "profile_lifecycle_stage": 0, "profile_registered_capital": -1, "profile_prior_loans": 0,
                "profile_months_since_last_loan": 0, "profile_first_loan": 0},
    "finance": {"fin_leverage": 1, "fin_roa": -1, "fin_net_margin": -1, "fin_cash_flow_cover": -1,
                "fin_revenue_growth": -1, "fin_revenue_latest": -1, "fin_employees": -1, "fin_tax_grade": 1,
                "fin_statement_age_months": 1},
}
"""notes/FEATURES.md: the ids other parts of techscore (synthetic ground truth, models, reports) rely on."""
BANK_EXPECTED = {"bank_prior_loans": 0, "bank_prior_defaults": 1, "bank_months_as_customer": 0,
                 "bank_months_since_last_loan": 0, "bank_exposure": 0, "bank_prior_amount": 0}
"""The lending bank's own features (party features: not in the default selection, so not in GROUPS)."""
CATEGORICAL = {"inno_stage", "profile_size_band", "profile_industry_section", "profile_region",
               "profile_lifecycle_stage"}


def _metas():
    return {name: fn.__techscore_feature__ for name, fn in definitions().items()
            if hasattr(fn, "__techscore_feature__")}


def test_ids_groups_and_directions_are_the_binding_ones() -> None:
    metas = _metas()
    got = {g: {m.id: m.direction for m in metas.values() if m.group == g} for g in GROUPS}
    assert got == EXPECTED
    assert {m.id: m.direction for m in load_catalogue(ROOT).select(groups=["bank"])} == BANK_EXPECTED
    assert sum(len(v) for v in EXPECTED.values()) >= 60
    assert {m.id for m in metas.values() if m.kind == "categorical"} == CATEGORICAL


def test_every_feature_has_complete_metadata() -> None:
    ids = [m.id for m in _metas().values()]
    assert len(ids) == len(set(ids))
    for m in _metas().values():
        assert m.name_zh.strip() and m.name_en.strip() and m.description.strip(), m.id
        assert any("\u4e00" <= ch <= "\u9fff" for ch in m.name_zh), m.id  # a Chinese name
        assert m.unit in UNITS, m.id
        assert m.sources and set(m.sources) <= set(TABLE_NAMES), m.id
        assert m.direction in (-1, 0, 1), m.id
        if m.kind == "categorical":
            assert m.direction == 0 and m.categories, m.id
        assert m.group in [*GROUPS, "bank"] and m.id.startswith({"bank": "bank_", "rd": "rd_", "ip": "ip_", "innovation": "inno_",
                                                      "supply_chain": "sc_", "profile": "profile_",
                                                      "finance": "fin_"}[m.group]), m.id


def test_the_engine_loads_and_computes_the_whole_catalogue(feat) -> None:
    catalogue = load_catalogue(ROOT)
    assert {m.id for m in catalogue} == {i for g in EXPECTED.values() for i in g}
    frame = catalogue.compute(raw_tables(), AS_OF, firms=FIRMS)
    assert list(frame.index) == FIRMS
    for m in catalogue:
        direct = feat(m.id).reindex(FIRMS)
        if m.kind == "categorical":
            assert frame[m.id].astype(object).fillna("-").tolist() == direct.astype(object).fillna("-").tolist(), m.id
            assert set(frame[m.id].cat.categories) == set(m.categories), m.id
        else:
            assert frame[m.id].dtype == np.float64, m.id
            np.testing.assert_allclose(frame[m.id].to_numpy(), direct.to_numpy(dtype=float), err_msg=m.id)


def test_default_firms_and_thin_files() -> None:
    catalogue = load_catalogue(ROOT)
    every = catalogue.compute(raw_tables(), AS_OF)  # all firms registered before D: A, B, C, D, F
    assert len(every) == 5
    # Registered firms and nothing else: counts are 0, ratios and scores missing.
    thin = {name: frame if name == "enterprises" else frame.iloc[:0] for name, frame in raw_tables().items()}
    frame = catalogue.compute(thin, AS_OF, firms=FIRMS[:2])
    assert frame.shape == (2, len(catalogue))
    counts = ["ip_invention_in_force", "sc_n_customers", "profile_prior_loans", "rd_years_reported"]
    assert (frame[counts] == 0).all().all()
    assert frame["fin_leverage"].isna().all() and frame["inno_points"].isna().all()


def test_firms_outside_the_registry_get_no_registry_values() -> None:
    frame = load_catalogue(ROOT).compute(raw_tables(), AS_OF, firms=["91440300MA5999999X", FIRMS[0]])
    assert pd.isna(frame.iloc[0]["profile_age_years"]) and frame.iloc[0]["ip_invention_in_force"] == 0
    assert frame.iloc[1]["ip_invention_in_force"] == 3


@pytest.mark.parametrize("as_of", ["2023-06-15", "2025-03-01"])
def test_other_dates_compute(as_of: str) -> None:
    frame = load_catalogue(ROOT).compute(raw_tables(), as_of, firms=FIRMS)
    assert frame.shape == (5, sum(len(v) for v in EXPECTED.values()))
