"""How well monitoring saw what happened: the early-warning list against later defaults, and a segment's shift.

For each pair of consecutive dates the population is the firms scored at both dates that had not defaulted by the
later date; a firm is a positive when it defaults within `horizon_months` after the later date. Firms are ranked by
their PD rise (later PD minus earlier PD, in probability): the lift of the top `top` share is its default rate over
the population's (the same for the highest later PDs, for comparison). The recall at the watch threshold is the share of the positives that the early-warning list
(the spec's thresholds: PD factor, grade drop, watch grade) named at that date; its lift is the list's default rate
over the population's. Dates whose horizon runs past `observed_until` are kept but marked incomplete and left out of
the pooled row.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from techscore.monitor.drivers import BASE_ROW

__all__ = ["POOLED", "segment_shift", "warning_performance"]

POOLED = "(pooled)"
"""The `as_of_after` of the row that pools every complete date (firm-dates summed)."""


def _counts(rise: np.ndarray, level: np.ndarray, positive: np.ndarray, warned: np.ndarray,
            top: float) -> dict[str, float]:
    n = len(rise)
    k = math.ceil(top * n) if n else 0
    by_rise = np.argsort(-rise, kind="stable")[:k]
    by_level = np.argsort(-level, kind="stable")[:k]
    return {"firms": n, "defaults": int(positive.sum()), "top_firms": k,
            "top_defaults": int(positive[by_rise].sum()), "top_pd_defaults": int(positive[by_level].sum()),
            "warned": int(warned.sum()), "warned_defaults": int((positive & warned).sum())}


def _rates(row: dict) -> dict:
    base = row["defaults"] / row["firms"] if row["firms"] else float("nan")
    top_rate = row["top_defaults"] / row["top_firms"] if row["top_firms"] else float("nan")
    top_pd_rate = row["top_pd_defaults"] / row["top_firms"] if row["top_firms"] else float("nan")
    list_rate = row["warned_defaults"] / row["warned"] if row["warned"] else float("nan")
    return row | {
        "default_rate": base,
        "top_lift": top_rate / base if base > 0 else float("nan"),
        "top_pd_lift": top_pd_rate / base if base > 0 else float("nan"),
        "recall_at_watch": row["warned_defaults"] / row["defaults"] if row["defaults"] else float("nan"),
        "warned_share": row["warned"] / row["firms"] if row["firms"] else float("nan"),
        "watch_lift": list_rate / base if base > 0 else float("nan"),
    }


def warning_performance(scores: pd.DataFrame, warnings: pd.DataFrame, default_dates: pd.Series, *,
                        horizon_months: int = 6, top: float = 0.05,
                        observed_until: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """Lift of the top `top` share of PD rises and recall of the early-warning list against later defaults.

    Parameters
    ----------
    scores
        `techscore monitor`'s scores table: `uscc`, `as_of`, `pd` (one row per firm and date).
    warnings
        Its early-warning table: `uscc`, `as_of_after`.
    default_dates
        Each firm's default date, indexed by uscc (missing or NaT: none observed), e.g. from the bank's loans or
        a synthetic world's `firm_truth.parquet`.
    horizon_months, top
        Outcome window after the later date, and the share of the population ranked by PD rise.
    observed_until
        Last day outcomes are known (default: the latest default date); later windows are incomplete.

    Returns one row per consecutive pair (`as_of_before`, `as_of_after`, `complete`) and a pooled row
    (`as_of_after` = `POOLED`): counts (`firms`, `defaults`, `top_firms`, `top_defaults` among the largest PD
    rises, `top_pd_defaults` among the highest later PDs, `warned`, `warned_defaults`) and `default_rate`,
    `top_lift` (by PD rise), `top_pd_lift` (by later PD, the order of the early-warning table), `recall_at_watch`,
    `warned_share`, `watch_lift`.
    """
    if not 0 < top <= 1:
        raise ValueError(f"top must be a share in (0, 1]; got {top}.")
    defaults = pd.to_datetime(default_dates, errors="raise")
    defaults.index = defaults.index.astype(str)
    until = pd.Timestamp(observed_until) if observed_until is not None else defaults.max()
    dates = sorted(scores["as_of"].astype(str).unique())
    by_date = {d: frame.set_index(frame["uscc"].astype(str))["pd"] for d, frame in
               scores.assign(as_of=scores["as_of"].astype(str)).groupby("as_of")}
    warned_by_date = {d: set(frame["uscc"].astype(str)) for d, frame in
                      warnings.assign(as_of_after=warnings["as_of_after"].astype(str)).groupby("as_of_after")}
    rows = []
    for before, after in zip(dates, dates[1:], strict=False):
        pd_b, pd_a = by_date[before], by_date[after]
        common = pd_b.index.intersection(pd_a.index, sort=False)
        day = pd.Timestamp(after)
        when = defaults.reindex(common)
        live = ~(when <= day).to_numpy()
        common = common[live]
        when = when[live]
        end = day + pd.DateOffset(months=horizon_months)
        positive = ((when > day) & (when <= end)).to_numpy()
        level = pd_a.loc[common].to_numpy()
        rise = level - pd_b.loc[common].to_numpy()
        warned = common.isin(list(warned_by_date.get(after, ())))
        rows.append({"as_of_before": before, "as_of_after": after, "complete": bool(end <= until),
                     **_counts(rise, level, positive, warned, top)})
    out = pd.DataFrame([_rates(r) for r in rows])
    if len(out):
        done = out.loc[out["complete"]]
        keys = ["firms", "defaults", "top_firms", "top_defaults", "top_pd_defaults", "warned", "warned_defaults"]
        pooled = {"as_of_before": done["as_of_before"].min() if len(done) else None, "as_of_after": POOLED,
                  "complete": True, **{k: int(done[k].sum()) for k in keys}}
        out = pd.concat([out, pd.DataFrame([_rates(pooled)])], ignore_index=True)
    return out


def segment_shift(drivers: pd.DataFrame, segment: str) -> pd.DataFrame:
    """Per consecutive pair of dates, how one segment's mean log-odds moved against the rest of the portfolio.

    From `techscore monitor`'s drivers table (run with a `segment` feature): the segment's change, the largest
    change among the other segments, the whole portfolio's, and the segment's top mover (the feature whose mean
    SHAP change added most to its log-odds) with that contribution. A downturn confined to the segment shows as a
    change well above its own past months and above the other segments'."""
    rows = []
    features = drivers.loc[drivers["feature"] != BASE_ROW]
    for (before, after), part in features.groupby(["as_of_before", "as_of_after"], sort=True):
        change = (part.drop_duplicates("segment").set_index("segment")
                  .eval("mean_logodds_after - mean_logodds_before"))
        if segment not in change.index:
            raise ValueError(f"segment {segment!r} is not in the drivers table; it has {sorted(change.index)[:5]}")
        own = part.loc[part["segment"] == segment]
        top = own.loc[own["contribution"].idxmax()]
        others = change.drop([segment, "(all)"], errors="ignore")
        rows.append({"as_of_before": before, "as_of_after": after, "segment_change": float(change[segment]),
                     "other_segments_max": float(others.max()) if len(others) else float("nan"),
                     "portfolio_change": float(change.get("(all)", float("nan"))),
                     "top_mover": str(top["feature"]), "top_mover_contribution": float(top["contribution"])})
    return pd.DataFrame(rows)
