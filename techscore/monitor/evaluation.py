"""How well monitoring saw what happened: the early-warning list against later defaults, and a segment's shift.

For each pair of consecutive dates the population is the firms scored at both dates that had not defaulted by the
later date; a firm is a positive when it defaults within `horizon_months` after the later date. Firms are ranked in
the early-warning order (`techscore.monitor.warnings.warning_priority`: later PD first): the lift of the top `top`
share is its default rate over the population's (`top_lift`); the same for a ranking by PD rise (later minus
earlier PD, in probability) is kept for comparison (`rise_lift`). Two recalls: of the month's early-warning list
(the spec's thresholds: PD factor, grade drop, crossing into the watch grade), `recall_listed`, and of the watch
list, the firms at the watch grade or worse at the later date or listed that month, `recall_at_watch` (a firm that
crossed into the watch grade in March is still watched in April, though the April list does not name it again);
each with the share of the population it names and its lift. Dates whose horizon runs past `observed_until` are kept but marked incomplete and left out of
the pooled row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from techscore.monitor.drivers import BASE_ROW
from techscore.monitor.warnings import warning_priority

__all__ = ["COUNTS", "POOLED", "segment_shift", "warning_performance"]

POOLED = "(pooled)"
"""The `as_of_after` of the row that pools every complete date (firm-dates summed)."""


COUNTS: tuple[str, ...] = ("firms", "defaults", "top_firms", "top_defaults", "rise_defaults", "listed",
                            "listed_defaults", "watched", "watched_defaults")


def _counts(earlier: np.ndarray, level: np.ndarray, positive: np.ndarray, listed: np.ndarray, watched: np.ndarray,
            top: float) -> dict[str, float]:
    n = len(level)
    k = math.ceil(top * n) if n else 0
    by_priority = warning_priority(earlier, level)[:k]
    by_rise = np.argsort(-(level - earlier), kind="stable")[:k]
    watched = watched | listed
    return {"firms": n, "defaults": int(positive.sum()), "top_firms": k,
            "top_defaults": int(positive[by_priority].sum()), "rise_defaults": int(positive[by_rise].sum()),
            "listed": int(listed.sum()), "listed_defaults": int((positive & listed).sum()),
            "watched": int(watched.sum()), "watched_defaults": int((positive & watched).sum())}


def _share(part: float, whole: float) -> float:
    return part / whole if whole else float("nan")


def _rates(row: dict) -> dict:
    base = _share(row["defaults"], row["firms"])

    def lift(hits: str, named: str) -> float:
        return _share(row[hits], row[named]) / base if base > 0 else float("nan")

    return row | {
        "default_rate": base,
        "top_lift": lift("top_defaults", "top_firms"), "rise_lift": lift("rise_defaults", "top_firms"),
        "recall_listed": _share(row["listed_defaults"], row["defaults"]),
        "listed_share": _share(row["listed"], row["firms"]), "listed_lift": lift("listed_defaults", "listed"),
        "recall_at_watch": _share(row["watched_defaults"], row["defaults"]),
        "watched_share": _share(row["watched"], row["firms"]), "watch_lift": lift("watched_defaults", "watched"),
    }


def warning_performance(scores: pd.DataFrame, warnings: pd.DataFrame, default_dates: pd.Series, *,
                        horizon_months: int = 6, top: float = 0.05,
                        observed_until: str | pd.Timestamp | None = None, watch_grade: str | None = None,
                        grades: Sequence[str] = ()) -> pd.DataFrame:
    """Lift of the top `top` share in the early-warning order and recall of the warning and watch lists against
    later defaults.

    Parameters
    ----------
    scores
        `techscore monitor`'s scores table: `uscc`, `as_of`, `pd`, `grade` (one row per firm and date).
    warnings
        Its early-warning table: `uscc`, `as_of_after`.
    default_dates
        Each firm's default date, indexed by uscc (missing or NaT: none observed), e.g. from the bank's loans or
        a synthetic world's `firm_truth.parquet`.
    horizon_months, top
        Outcome window after the later date, and the share of the population ranked by PD rise.
    observed_until
        Last day outcomes are known (default: the latest default date); later windows are incomplete.
    watch_grade, grades
        The spec's watch grade and the master scale's grades, best first (`monitor.json` holds them); without a
        watch grade the watch list is the month's early-warning list.

    Returns one row per consecutive pair (`as_of_before`, `as_of_after`, `complete`) and a pooled row
    (`as_of_after` = `POOLED`): counts (`COUNTS`: `firms`, `defaults`, `top_firms`, `top_defaults` in the
    early-warning order, `rise_defaults` among the largest PD rises, `listed`, `listed_defaults`, `watched`,
    `watched_defaults`) and `default_rate`, `top_lift`, `rise_lift`, `recall_listed`, `listed_share`,
    `listed_lift`, `recall_at_watch`, `watched_share`, `watch_lift`.
    """
    if not 0 < top <= 1:
        raise ValueError(f"top must be a share in (0, 1]; got {top}.")
    if watch_grade is not None and watch_grade not in grades:
        raise ValueError(f"watch grade {watch_grade!r} is not among the grades {list(grades)}")
    at_watch = set(grades[list(grades).index(watch_grade):]) if watch_grade is not None else set()
    defaults = pd.to_datetime(default_dates, errors="raise")
    defaults.index = defaults.index.astype(str)
    until = pd.Timestamp(observed_until) if observed_until is not None else defaults.max()
    dates = sorted(scores["as_of"].astype(str).unique())
    by_date = {d: frame.set_index(frame["uscc"].astype(str)) for d, frame in
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
        later = pd_a.loc[common]
        listed = common.isin(list(warned_by_date.get(after, ())))
        watched = later["grade"].astype(str).isin(at_watch).to_numpy() if at_watch else np.zeros(len(common), bool)
        rows.append({"as_of_before": before, "as_of_after": after, "complete": bool(end <= until),
                     **_counts(pd_b.loc[common, "pd"].to_numpy(), later["pd"].to_numpy(), positive, listed,
                               watched, top)})
    out = pd.DataFrame([_rates(r) for r in rows])
    if len(out):
        done = out.loc[out["complete"]]
        keys = list(COUNTS)
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
