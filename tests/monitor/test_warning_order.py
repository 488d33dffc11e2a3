"""The early-warning order, the evaluation of warnings against later defaults, and clock features' PSI band, by
hand on small portfolios."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from techscore.catalogue import load_catalogue
from techscore.catalogue.meta import FeatureMeta
from techscore.model.metrics import psi
from techscore.monitor import Snapshot, early_warnings, stability_table
from techscore.monitor.evaluation import POOLED, warning_performance
from techscore.monitor.warnings import warning_priority

ROOT = Path(__file__).resolve().parents[2]
GRADES = ("A", "B", "C", "D")
AGE = FeatureMeta("fin_statement_age_months", "finance", "财报时滞", "Statement age", "", "months", (), 1,
                  drift="clock")
RD = FeatureMeta("rd_intensity", "rd", "研发强度", "R&D intensity", "", "ratio", (), -1)


def _snapshot(as_of, uscc, data, pd_, grade) -> Snapshot:
    n = len(uscc)
    return Snapshot(as_of=as_of, uscc=pd.Index(uscc, name="uscc"), data=pd.DataFrame(data, index=uscc),
                    shap=np.zeros((n, len(data))), base=-3.0, pd=np.asarray(pd_, dtype=np.float64),
                    grade=np.asarray(grade, dtype=object), grades=GRADES)


def test_priority_is_later_pd_then_rise() -> None:
    # a tripling from 0.1% to 0.3% comes after a steady 8%; equal later PDs: the larger rise first
    before = np.array([0.001, 0.08, 0.02, 0.05])
    after = np.array([0.003, 0.08, 0.06, 0.06])
    assert warning_priority(before, after).tolist() == [1, 2, 3, 0]


def test_early_warning_table_follows_the_priority() -> None:
    uscc = ["f1", "f2", "f3"]
    b = _snapshot("2025-01-01", uscc, {"rd_intensity": [0.1, 0.1, 0.1]}, [0.02, 0.01, 0.01], ["B", "B", "B"])
    a = _snapshot("2025-02-01", uscc, {"rd_intensity": [0.1, 0.1, 0.1]}, [0.04, 0.04, 0.03], ["C", "C", "C"])
    w = early_warnings(b, a, {"rd_intensity": RD}, pd_factor=2, grade_drop=2, watch_grade="C")
    assert w["uscc"].tolist() == ["f2", "f1", "f3"]  # f1 and f2 tie at 4%; f2 rose more


def test_warning_performance_by_hand() -> None:
    # 20 firms at two dates. Later PDs 0.20, 0.19, ... 0.01 (f00 highest); PD rise largest for f19, f18, ...
    uscc = [f"f{i:02d}" for i in range(20)]
    later = np.round(0.20 - 0.01 * np.arange(20), 4)
    earlier = np.round(later - 0.001 * np.arange(20), 4)
    grade = ["D"] * 3 + ["C"] * 2 + ["B"] * 15  # f00..f02 at D, f03..f04 at C (the watch grade), the rest B
    scores = pd.concat([
        pd.DataFrame({"uscc": uscc, "as_of": "2025-01-01", "pd": earlier, "grade": "B"}),
        pd.DataFrame({"uscc": uscc, "as_of": "2025-02-01", "pd": later, "grade": grade}),
    ])
    warnings = pd.DataFrame({"uscc": ["f03", "f10"], "as_of_after": "2025-02-01"})  # this month's list
    # defaults within 6 months of 2025-02-01: f00, f04, f10, f19; f05 defaults after the horizon; f06 before the date
    defaults = pd.Series({"f00": "2025-03-01", "f04": "2025-07-31", "f10": "2025-05-01", "f19": "2025-04-01",
                          "f05": "2025-09-01", "f06": "2025-01-15"})
    perf = warning_performance(scores, warnings, defaults, horizon_months=6, top=0.1, observed_until="2025-12-31",
                               watch_grade="C", grades=GRADES)
    row = perf.loc[perf["as_of_after"] == POOLED].iloc[0]
    # population: 19 firms (f06 defaulted before the later date), 4 positives; top 10% = 2 firms
    assert (row["firms"], row["defaults"], row["top_firms"]) == (19, 4, 2)
    assert row["top_defaults"] == 1 and row["top_lift"] == pytest.approx((1 / 2) / (4 / 19))  # f00, f01
    assert row["rise_defaults"] == 1 and row["rise_lift"] == pytest.approx((1 / 2) / (4 / 19))  # f19, f18
    assert (row["listed"], row["listed_defaults"]) == (2, 1) and row["recall_listed"] == pytest.approx(1 / 4)
    # watched: grade C or D (f00..f04) or listed (f03, f10): 6 firms, 3 of them positives (f00, f04, f10)
    assert (row["watched"], row["watched_defaults"]) == (6, 3) and row["recall_at_watch"] == pytest.approx(3 / 4)
    assert row["watched_share"] == pytest.approx(6 / 19) and row["watch_lift"] == pytest.approx((3 / 6) / (4 / 19))


def test_clock_features_get_their_own_band() -> None:
    n = 200
    uscc = [f"f{i}" for i in range(n)]
    age = np.arange(n) % 12 + 0.5
    rd = np.linspace(0, 0.2, n)
    b = _snapshot("2025-01-01", uscc, {"fin_statement_age_months": age, "rd_intensity": rd}, np.full(n, 0.01),
                  ["B"] * n)
    a = _snapshot("2025-02-01", uscc, {"fin_statement_age_months": age + 1.0, "rd_intensity": rd + 0.2},
                  np.full(n, 0.01), ["B"] * n)
    t = stability_table(b, a, features={AGE.id: AGE, RD.id: RD}).set_index("item")
    # every firm's statement is a month older: PSI far past 0.25, but it reads the calendar
    assert t.loc["fin_statement_age_months", "psi"] == pytest.approx(psi(age, age + 1.0)) and \
        t.loc["fin_statement_age_months", "psi"] > 0.25
    assert t.loc["fin_statement_age_months", ["drift", "band"]].tolist() == ["clock", "clock"]
    assert t.loc["rd_intensity", ["drift", "band"]].tolist() == ["value", "significant"]
    assert t.loc["pd", "drift"] == "score"
    # without metadata every feature is read by its value
    assert stability_table(b, a).set_index("item").loc["fin_statement_age_months", "band"] == "significant"


def test_catalogue_declares_the_clock_features() -> None:
    metas = {m.id: m for m in load_catalogue(ROOT).features}
    clock = {fid for fid, m in metas.items() if m.drift == "clock"}
    assert {"fin_statement_age_months", "profile_age_years", "profile_months_since_last_loan"} <= clock
    assert "sc_late_rate_as_buyer_3m" in metas and metas["sc_late_rate_as_buyer_3m"].drift == "value"
