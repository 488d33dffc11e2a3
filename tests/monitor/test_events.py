"""Event signals from the raw tables between two dates: each code on a hand-built book, known only when it was."""

from __future__ import annotations

import pandas as pd
import pytest

from techscore.monitor.events import EVENT_COLUMNS, event_codes_by_firm, event_signals
from techscore.monitor.spec import EventOptions

BEFORE, AFTER = "2025-04-01", "2025-05-01"
FIRMS = ["A", "B", "C", "D", "E", "F", "G", "H"]


def _d(*values):
    return pd.to_datetime(pd.Series(values, dtype="object"))


@pytest.fixture()
def tables() -> dict[str, pd.DataFrame]:
    enterprises = pd.DataFrame({"uscc": FIRMS, "name": FIRMS, "industry": "I65", "region": "110108",
                                "founded": _d(*["2015-01-01"] * 8),
                                "high_tech": _d(None, None, None, None, None, None, None, "2020-01-01")})
    tax = pd.DataFrame({"uscc": ["A", "A", "B", "B"], "year": [2023, 2024, 2023, 2024], "grade": ["B", "D", "C", "C"]})
    loans = pd.DataFrame({"loan_id": ["L1", "L2", "L3"], "bank_id": ["BANK_A", "BANK_B", "BANK_A"],
                          "uscc": ["C", "C", "B"], "issued": _d("2024-06-01", "2024-08-01", "2024-06-01"),
                          "amount": 1e6, "term_months": [12, 12, 24],
                          "default_date": _d("2025-04-10", "2025-04-12", "2025-05-10")})  # B's: after the later date
    supply_chain = pd.DataFrame({
        "invoice_id": ["T1", "T2", "T3", "T4"], "seller_uscc": ["C", "D", "F", "F"], "buyer_uscc": ["D", "F", "E", "E"],
        "date": _d("2025-01-01", "2025-01-01", "2024-12-01", "2025-02-01"), "amount": [100.0, 300.0, 100.0, 300.0],
        "due_date": _d("2025-02-01", "2025-02-01", "2025-01-10", "2025-03-15"),
        "paid_date": _d("2025-01-20", "2025-01-25", "2025-01-05", "2025-06-01")})
    ip = pd.DataFrame({
        "uscc": ["G"] * 5, "ip_id": ["P1", "P2", "P3", "P4", "P5"],
        "kind": ["invention", "invention", "invention", "utility_model", "invention"],
        "filed": _d(*["2018-01-01"] * 5), "granted": _d(*["2020-01-01"] * 5),
        "status": ["lapsed", "granted", "granted", "lapsed", "lapsed"],
        "status_date": _d("2025-04-15", None, None, "2025-04-15", "2025-05-15"),
        "expires": _d(*["2038-01-01"] * 5), "pledged": [False, False, True, False, False],
        "pledged_date": _d(None, None, "2025-04-20", None, None)})
    return {"enterprises": enterprises, "tax": tax, "loans": loans, "supply_chain": supply_chain, "ip_rights": ip}


def test_each_event_by_hand(tables) -> None:
    later = dict(tables, enterprises=tables["enterprises"].assign(high_tech=pd.NaT))  # a newer registry extract
    ev = event_signals(tables, BEFORE, AFTER, sources_after=later)
    assert list(ev.columns) == list(EVENT_COLUMNS)
    got = {(r.uscc, r.code): r for r in ev.itertuples()}
    assert sorted(got) == [("A", "TAX_GRADE_CD"), ("C", "LOAN_DEFAULT"), ("D", "PARTNER_DEFAULT"),
                           ("E", "LATE_PAYMENTS"), ("G", "PATENT_LAPSED"), ("G", "PATENT_PLEDGED"), ("H", "CERT_LOST")]
    a = got["A", "TAX_GRADE_CD"]           # grade D for 2024, published 30 April 2025; B stays at C: no event
    assert (a.severity, a.detail_en, a.detail_zh) == ("high", "Tax credit grade fell from B to D (tax year 2024)",
                                                      "纳税信用等级由 B 级降至 D 级（2024 年度）")
    assert a.event_date == pd.Timestamp("2025-04-30")
    c = got["C", "LOAN_DEFAULT"]
    assert c.detail_en == "2 loan(s) went 90+ days past due (BANK_A, BANK_B)" and c.event_date == pd.Timestamp(
        "2025-04-10")
    d = got["D", "PARTNER_DEFAULT"]        # C is 100 of D's 400 of trade
    assert d.detail_en == "1 trade partner(s) defaulted (25.0% of the last 12 months' trade)" and d.severity == "high"
    e = got["E", "LATE_PAYMENTS"]          # T4 (300 of 400 due) unpaid past its grace at the later date only
    assert e.detail_en == "Share of invoices paid late rose from 0.0% to 75.0% (due in the last 6 months)"
    assert e.severity == "high" and e.event_date == pd.Timestamp("2025-03-15")
    g = got["G", "PATENT_LAPSED"]          # P1 lapsed (P1, P2, P3, P5 in force); P4 no invention; P5 lapses later
    assert g.detail_en == "1 invention patent(s) lapsed or invalidated (of 4 in force)" and g.severity == "medium"
    assert got["G", "PATENT_PLEDGED"].detail_zh == "1 项发明专利出质"
    assert got["H", "CERT_LOST"].detail_en == "Lost the high-tech enterprise certification"
    assert event_codes_by_firm(ev)["G"] == "PATENT_LAPSED;PATENT_PLEDGED"


def test_events_are_known_only_between_the_dates(tables) -> None:
    # a month earlier: the 2024 tax grades are not published, nothing has defaulted, lapsed or been pledged yet
    early = event_signals(tables, "2025-03-01", BEFORE)
    assert early.empty
    # a month later: the April events were known at the earlier date, so only B's May default shows (and nothing
    # else, as B trades with nobody)
    late = event_signals(tables, AFTER, "2025-06-01")
    assert set(zip(late["uscc"], late["code"], strict=True)) == {("B", "LOAN_DEFAULT"), ("G", "PATENT_LAPSED")}
    # the same tables at both dates never lose a certification
    assert "CERT_LOST" not in set(event_signals(tables, BEFORE, AFTER)["code"])


def test_thresholds_and_portfolio(tables) -> None:
    ev = event_signals(tables, BEFORE, AFTER, options=EventOptions(late_share_rise=0.8, partner_share_high=0.5),
                       firms=["D", "E", "A"])
    assert set(ev["uscc"]) == {"A", "D"}                                 # E's rise of 75 points is below 80
    assert ev.set_index("code").loc["PARTNER_DEFAULT", "severity"] == "medium"
    with pytest.raises(ValueError, match="later date after the earlier one"):
        event_signals(tables, AFTER, BEFORE)
