"""Backtest by grade and vintage: p-values by hand, the traffic light, and the table on a small book."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from techscore.model.metrics import auc
from techscore.monitor.backtest import backtest_table, binomial_p, jeffreys_p, traffic_light


def test_binomial_p_by_hand() -> None:
    # P(X >= 3), X ~ Binomial(100, 1%): one minus the first three terms
    expected = 1 - sum(math.comb(100, k) * 0.01 ** k * 0.99 ** (100 - k) for k in range(3))
    assert binomial_p(3, 100, 0.01) == pytest.approx(expected, rel=1e-12)
    assert binomial_p(0, 50, 0.02) == 1.0


@pytest.mark.parametrize(("d", "n", "pd_value"), [(0, 10, 0.05), (3, 100, 0.01), (12, 400, 0.02)])
def test_jeffreys_p_is_the_posterior_cdf_at_the_pd(d: int, n: int, pd_value: float) -> None:
    a, b = d + 0.5, n - d + 0.5
    log_norm = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    cdf, _ = integrate.quad(lambda x: math.exp((a - 1) * math.log(x) + (b - 1) * math.log1p(-x) - log_norm), 0,
                            pd_value, limit=200)
    assert jeffreys_p(d, n, pd_value) == pytest.approx(cdf, rel=1e-7)


def test_traffic_light_bands() -> None:
    assert [traffic_light(p) for p in (0.5, 0.05, 0.049, 0.001, 0.0009)] == ["green", "green", "amber", "amber",
                                                                               "red"]
    assert traffic_light(0.02, amber_p=0.01, red_p=0.001) == "green" and traffic_light(float("nan")) == "n/a"
    # the README's worked row: 5 defaults of 100 at 2%: binomial 0.051 (green alone), Jeffreys 0.029 (amber)
    assert binomial_p(5, 100, 0.02) == pytest.approx(0.0508, abs=1e-4)
    assert jeffreys_p(5, 100, 0.02) == pytest.approx(0.0286, abs=1e-4) and traffic_light(jeffreys_p(5, 100, 0.02)) == "amber"


def _book() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two vintages; in the first, grade A: 100 firms at PD 1% with 1 default, grade B: 100 at 2% with 10."""
    firms = [f"f{i:03d}" for i in range(200)]
    loans = pd.DataFrame({"loan_id": firms, "uscc": firms, "issued": pd.Timestamp("2023-01-01"), "term_months": 36,
                          "default_date": pd.NaT})
    defaulted = [firms[0], *firms[100:110]]
    loans.loc[loans["uscc"].isin(defaulted), "default_date"] = pd.Timestamp("2024-03-01")
    first = pd.DataFrame({"as_of": "2024-01-01", "uscc": firms, "pd": [0.01] * 100 + [0.02] * 100,
                          "grade": ["A"] * 100 + ["B"] * 100})
    second = first.assign(as_of="2024-06-01")
    return pd.concat([first, second], ignore_index=True), loans


def test_backtest_table_by_hand() -> None:
    scores, loans = _book()
    t = backtest_table(scores, loans, ["A", "B", "C"], window_months=12, observation_end=pd.Timestamp("2025-03-01"))
    assert set(t["as_of"]) == {"2024-01-01"}                   # the second vintage's window has not ended
    rows = t.set_index("grade")
    assert list(rows.index) == ["A", "B", "(all)"]               # grade C holds no firm
    assert rows.loc["A", ["firms", "defaults"]].tolist() == [100, 1]
    assert rows.loc["B", "default_rate"] == 0.1 and rows.loc["B", "mean_pd"] == pytest.approx(0.02)
    assert rows.loc["B", "binomial_p"] == pytest.approx(binomial_p(10, 100, 0.02))
    assert rows.loc["A", "light"] == "green" and rows.loc["B", "light"] == "red"   # 10 defaults where 2 expected
    whole = rows.loc["(all)"]
    assert whole["defaults"] == 11 and whole["mean_pd"] == pytest.approx(0.015)
    assert whole["ece"] == pytest.approx((abs(1 - 1) + abs(10 - 2)) / 200)
    assert whole["hl_statistic"] == pytest.approx(0 / (100 * 0.01 * 0.99) + 8 ** 2 / (100 * 0.02 * 0.98))
    assert np.isnan(whole["hl_p"])                                 # two groups leave no degree of freedom
    y = np.r_[np.eye(1, 100, 0)[0], np.ones(10), np.zeros(90)]
    assert whole["auc"] == pytest.approx(auc(y, scores["pd"].iloc[:200].to_numpy()))
    later = backtest_table(scores, loans, ["A", "B"], window_months=12, observation_end=pd.Timestamp("2025-06-01"))
    assert set(later["as_of"]) == {"2024-01-01", "2024-06-01"}
    with pytest.raises(ValueError, match="red_p < amber_p"):
        backtest_table(scores, loans, ["A"], window_months=12, observation_end=pd.Timestamp("2025-06-01"),
                       amber_p=0.001, red_p=0.05)
