"""Backtest when outcomes arrive: for each as-of date (vintage) whose label window has passed, realized default rates
against the PDs, by grade and for the whole vintage, with tests, a traffic light, AUC and calibration.

Per grade (and per vintage, row `grade = "(all)"`) with n firms, d defaults and mean PD p:

* one-sided **binomial test** of "the PD is not too low": p-value = P(X >= d) for X ~ Binomial(n, p);
* **Jeffreys test** (the ECB's instructions for validating PD models, EBA/GL/2017/16 practice): the posterior of
  the default rate under the Jeffreys prior is Beta(d + 1/2, n - d + 1/2); p-value = its CDF at p, the posterior
  probability that the true rate is at most the PD;
* **traffic light** from the Jeffreys p-value: red below `red_p` (default 0.001, the PD is too low at 99.9%
  confidence), amber below `amber_p` (default 0.05, at 95%), green otherwise. A small p-value says the realized rate
  is higher than the PD; too-high PDs (conservative) stay green, as the supervisors' one-sided tests intend.

The vintage row also carries the AUC, the expected calibration error over grades (ECE: firm-weighted mean of
|default rate - mean PD|) and the Hosmer-Lemeshow statistic over grades (sum of (d - sum p)^2 / sum p(1 - p), with
groups - 2 degrees of freedom) and its p-value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from techscore.model.metrics import auc
from techscore.monitor.performance import exposed_firms

__all__ = ["ALL_GRADES", "BACKTEST_COLUMNS", "backtest_table", "binomial_p", "jeffreys_p", "traffic_light"]

ALL_GRADES = "(all)"
"""The `grade` of a vintage's whole-portfolio row."""

BACKTEST_COLUMNS: tuple[str, ...] = (
    "as_of", "window_end", "grade", "firms", "defaults", "mean_pd", "default_rate", "binomial_p", "jeffreys_p",
    "light", "auc", "ece", "hl_statistic", "hl_p")


def binomial_p(defaults: int, firms: int, pd_value: float) -> float:
    """One-sided binomial p-value P(X >= defaults), X ~ Binomial(firms, pd_value)."""
    return float(stats.binom.sf(defaults - 1, firms, pd_value)) if firms else float("nan")


def jeffreys_p(defaults: int, firms: int, pd_value: float) -> float:
    """Jeffreys p-value: the CDF at `pd_value` of Beta(defaults + 1/2, firms - defaults + 1/2)."""
    return float(stats.beta.cdf(pd_value, defaults + 0.5, firms - defaults + 0.5)) if firms else float("nan")


def traffic_light(p_value: float, *, amber_p: float = 0.05, red_p: float = 0.001) -> str:
    """green, amber (p-value below `amber_p`) or red (below `red_p`); n/a for no firms."""
    if not np.isfinite(p_value):
        return "n/a"
    return "red" if p_value < red_p else "amber" if p_value < amber_p else "green"


def _rows(as_of: str, end: str, frame: pd.DataFrame, grades: Sequence[str], amber_p: float,
          red_p: float) -> list[dict]:
    rows = []
    for grade in [*grades, ALL_GRADES]:
        part = frame if grade == ALL_GRADES else frame.loc[frame["grade"] == grade]
        n, d = len(part), int(part["bad"].sum())
        if n == 0 and grade != ALL_GRADES:
            continue
        mean_pd = float(part["pd"].mean()) if n else float("nan")
        jp = jeffreys_p(d, n, mean_pd)
        rows.append({"as_of": as_of, "window_end": end, "grade": grade, "firms": n, "defaults": d, "mean_pd": mean_pd,
                     "default_rate": d / n if n else float("nan"), "binomial_p": binomial_p(d, n, mean_pd),
                     "jeffreys_p": jp, "light": traffic_light(jp, amber_p=amber_p, red_p=red_p)})
    whole = rows[-1]
    y, p = frame["bad"].to_numpy(int), frame["pd"].to_numpy(float)
    whole["auc"] = auc(y, p) if 0 < y.sum() < len(y) else float("nan")
    by = frame.groupby("grade", observed=True).agg(n=("pd", "size"), d=("bad", "sum"), e=("pd", "sum"),
                                                   v=("pd", lambda s: float((s * (1 - s)).sum())))
    by = by.loc[by["n"] > 0]
    whole["ece"] = float((np.abs(by["d"] - by["e"])).sum() / len(frame)) if len(frame) else float("nan")
    stat = float(((by["d"] - by["e"]) ** 2 / by["v"].where(by["v"] > 0)).sum())
    whole["hl_statistic"] = stat
    whole["hl_p"] = float(stats.chi2.sf(stat, len(by) - 2)) if len(by) > 2 else float("nan")
    return rows


def backtest_table(scores: pd.DataFrame, loans: pd.DataFrame, grades: Sequence[str], *, window_months: int,
                   observation_end: pd.Timestamp, amber_p: float = 0.05, red_p: float = 0.001) -> pd.DataFrame:
    """The backtest of every as-of date of `scores` (columns `as_of`, `uscc`, `pd`, `grade`) whose window has
    ended by `observation_end`: one row per grade holding firms (best first) and one `(all)` row per date, over the firms with a
    loan outstanding at the date (`techscore.monitor.performance.exposed_firms`). Empty when no window has ended."""
    if not 0 < red_p < amber_p < 1:
        raise ValueError(f"traffic-light p-values need 0 < red_p < amber_p < 1; got red_p={red_p}, amber_p={amber_p}")
    rows: list[dict] = []
    for as_of, frame in scores.groupby("as_of", sort=True):
        end = pd.Timestamp(as_of) + pd.DateOffset(months=window_months)
        if end > observation_end:
            continue
        bad = exposed_firms(loans, as_of, window_months)
        book = frame.assign(uscc=frame["uscc"].astype(str)).set_index("uscc").join(bad, how="inner")
        rows += _rows(str(as_of), end.date().isoformat(), book, grades, amber_p, red_p)
    return pd.DataFrame(rows, columns=list(BACKTEST_COLUMNS))
