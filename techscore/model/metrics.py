"""Validation metrics of a PD model: discrimination, calibration, stability, overall and by segment.

Plain functions of labels and PDs (or scores), so the champion, the challenger and any other model are measured
the same way. Conventions: `y` is 1 for a default; higher PD means riskier.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "auc", "brier", "calibration_by_grade", "feature_psi", "gini", "ks", "lift_table", "log_loss", "psi", "psi_table",
    "segment_metrics", "summary",
]

EPS = 1e-15


def _arrays(y, p) -> tuple[np.ndarray, np.ndarray]:
    y, p = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
    if y.shape != p.shape:
        raise ValueError(f"labels and predictions must have the same length; got {len(y)} and {len(p)}.")
    return y, p


def auc(y, p) -> float:
    """Area under the ROC curve (ties count one half); NaN when only one class is present."""
    y, p = _arrays(y, p)
    n1 = y.sum()
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = pd.Series(p).rank(method="average").to_numpy()
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def gini(y, p) -> float:
    """Gini coefficient (accuracy ratio) = 2 AUC - 1."""
    return 2 * auc(y, p) - 1


def ks(y, p) -> float:
    """Kolmogorov-Smirnov statistic: the largest gap between the cumulative PD distributions of defaults and
    non-defaults."""
    y, p = _arrays(y, p)
    n1, n0 = y.sum(), len(y) - y.sum()
    if n1 == 0 or n0 == 0:
        return float("nan")
    order = np.argsort(-p, kind="mergesort")
    ys, ps = y[order], p[order]
    last = np.r_[ps[1:] != ps[:-1], True]  # evaluate only after the last row of each tied value
    cum1 = np.cumsum(ys)[last] / n1
    cum0 = np.cumsum(1 - ys)[last] / n0
    return float(np.max(np.abs(cum1 - cum0)))


def brier(y, p) -> float:
    """Mean squared error of the PD."""
    y, p = _arrays(y, p)
    return float(np.mean((p - y) ** 2)) if len(y) else float("nan")


def log_loss(y, p) -> float:
    """Mean negative log-likelihood of the PD (clipped away from 0 and 1)."""
    y, p = _arrays(y, p)
    p = np.clip(p, EPS, 1 - EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))) if len(y) else float("nan")


def lift_table(y, p, bins: int = 10) -> pd.DataFrame:
    """Rows ranked by PD (riskiest first) in `bins` equal groups: defaults, rate, lift and cumulative gain."""
    y, p = _arrays(y, p)
    n = len(y)
    order = np.argsort(-p, kind="mergesort")
    group = np.floor(np.arange(n) * bins / max(n, 1)).astype(int) + 1
    frame = pd.DataFrame({"decile": group, "y": y[order], "pd": p[order]})
    t = frame.groupby("decile").agg(rows=("y", "size"), bad=("y", "sum"), mean_pd=("pd", "mean"),
                                    min_pd=("pd", "min"), max_pd=("pd", "max"))
    total_bad = max(y.sum(), EPS)
    overall = y.mean() if n else float("nan")
    t["bad_rate"] = t["bad"] / t["rows"]
    t["lift"] = t["bad_rate"] / overall if overall else np.nan
    t["cum_rows_share"] = t["rows"].cumsum() / n
    t["cum_bad_share"] = t["bad"].cumsum() / total_bad
    t["cum_lift"] = t["cum_bad_share"] / t["cum_rows_share"]
    t["bad"] = t["bad"].astype(int)
    return t.reset_index()


def calibration_by_grade(y, p, grades, order: Sequence[str] | None = None,
                         pd_upper: Sequence[float] | None = None) -> pd.DataFrame:
    """Observed default rate against mean PD in each grade, with a binomial test of the difference.

    `p_value` is the two-sided normal-approximation p-value of the observed count given the mean PD
    (Basel's binomial test; small grades are better read from `bad` and `expected_bad` directly).
    """
    from scipy.stats import norm

    y, p = _arrays(y, p)
    frame = pd.DataFrame({"grade": np.asarray(grades, dtype=object), "y": y, "pd": p})
    t = frame.groupby("grade", sort=False).agg(rows=("y", "size"), bad=("y", "sum"), mean_pd=("pd", "mean"))
    if order is not None:
        t = t.reindex(list(order))
        t["rows"] = t["rows"].fillna(0).astype(int)
        t["bad"] = t["bad"].fillna(0)
    if pd_upper is not None and order is not None:
        t["pd_upper"] = list(pd_upper)
    t["bad"] = t["bad"].astype(int)
    t["bad_rate"] = t["bad"] / t["rows"].where(t["rows"] > 0)
    t["expected_bad"] = t["mean_pd"] * t["rows"]
    sd = np.sqrt(t["rows"] * t["mean_pd"] * (1 - t["mean_pd"]))
    z = (t["bad"] - t["expected_bad"]) / sd.where(sd > 0)
    t["p_value"] = 2 * norm.sf(np.abs(z))
    t["share"] = t["rows"] / max(len(y), 1)
    return t.reset_index()


def _bin_edges(expected: np.ndarray, bins: int) -> np.ndarray:
    """Quantile edges of `expected`, tie-aware: a value holding at least one bin's share (1 / bins) of the rows is
    a mass point and gets a bin of its own, [v, next float after v), so a shift of rows onto or off it is seen
    apart from the values beside it. Bins are closed on the left (`np.searchsorted(..., side="right")`)."""
    if len(expected) == 0:
        return np.zeros(0)
    qs = np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1])
    values, counts = np.unique(expected, return_counts=True)
    mass = values[counts >= len(expected) / bins]
    return np.unique(np.concatenate([qs, mass, np.nextafter(mass, np.inf)]))


def psi_table(expected, actual, bins: int = 10, edges: np.ndarray | None = None) -> pd.DataFrame:
    """Share of `expected` (e.g. train scores) and `actual` (test scores) in each bin of the expected quantiles
    (a mass point of `expected` in a bin of its own, see `_bin_edges`), and each bin's PSI term
    ``(a - e) ln(a / e)`` (shares floored at 1e-4)."""
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    e, a = e[~np.isnan(e)], a[~np.isnan(a)]
    edges = _bin_edges(e, bins) if edges is None else np.asarray(edges)
    eb = np.bincount(np.searchsorted(edges, e, side="right"), minlength=len(edges) + 1)
    ab = np.bincount(np.searchsorted(edges, a, side="right"), minlength=len(edges) + 1)
    es = np.maximum(eb / max(len(e), 1), 1e-4)
    as_ = np.maximum(ab / max(len(a), 1), 1e-4)
    lower = np.r_[-np.inf, edges]
    upper = np.r_[edges, np.inf]
    return pd.DataFrame({"lower": lower, "upper": upper, "expected": eb, "actual": ab, "expected_share": es,
                         "actual_share": as_, "psi": (as_ - es) * np.log(as_ / es)})


def psi(expected, actual, bins: int = 10) -> float:
    """Population stability index of `actual` against `expected` over `bins` quantile bins of `expected`.

    < 0.1 stable, 0.1-0.25 some shift, > 0.25 a shift worth investigating (the usual reading).
    """
    return float(psi_table(expected, actual, bins)["psi"].sum())


def summary(y, p) -> dict[str, float]:
    """Headline metrics of one set: rows, defaults, rates, AUC, Gini, KS, Brier, log loss, top-decile lift."""
    y, p = _arrays(y, p)
    out = {"rows": float(len(y)), "bad": float(y.sum()),
           "bad_rate": float(y.mean()) if len(y) else float("nan"),
           "mean_pd": float(p.mean()) if len(p) else float("nan"),
           "auc": auc(y, p), "gini": gini(y, p), "ks": ks(y, p), "brier": brier(y, p), "log_loss": log_loss(y, p)}
    if len(y) >= 10 and y.sum() > 0:
        top = lift_table(y, p).iloc[0]
        out["lift_top_decile"] = float(top["lift"])
        out["capture_top_decile"] = float(top["cum_bad_share"])
    return out


def segment_metrics(frame: pd.DataFrame, y, p, segments: Sequence[str], *, min_rows: int = 30) -> pd.DataFrame:
    """`summary` for each value of each segment column (values with fewer than `min_rows` rows pooled as
    `(other)`); one row per segment value."""
    y, p = _arrays(y, p)
    rows = []
    for seg in segments:
        values = frame[seg].astype("string").fillna("(missing)").to_numpy(dtype=object)
        counts = pd.Series(values).value_counts()
        small = set(counts[counts < min_rows].index)
        if small:
            values = np.where(pd.Series(values).isin(small).to_numpy(), "(other)", values)
        for value in sorted(set(values), key=str):
            mask = values == value
            rows.append({"segment": seg, "value": str(value), **summary(y[mask], p[mask])})
    return pd.DataFrame(rows)


def feature_psi(expected: pd.DataFrame, actual: pd.DataFrame, columns: Sequence[str], bins: int = 10) -> pd.DataFrame:
    """PSI of each column between two frames (numeric: quantile bins of `expected`; categorical: categories),
    with both missing rates; one row per column, largest PSI first."""
    rows = []
    for c in columns:
        e, a = expected[c], actual[c]
        if isinstance(e.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(e):
            cats = sorted(set(e.dropna().astype(str)) | set(a.dropna().astype(str)))
            es = np.maximum(e.dropna().astype(str).value_counts().reindex(cats, fill_value=0).to_numpy() /
                            max(e.notna().sum(), 1), 1e-4)
            as_ = np.maximum(a.dropna().astype(str).value_counts().reindex(cats, fill_value=0).to_numpy() /
                             max(a.notna().sum(), 1), 1e-4)
            value = float(((as_ - es) * np.log(as_ / es)).sum()) if cats else float("nan")
        else:
            ev, av = e.to_numpy(dtype=np.float64), a.to_numpy(dtype=np.float64)
            value = psi(ev, av, bins) if np.isfinite(ev).any() and np.isfinite(av).any() else float("nan")
        rows.append({"feature": c, "psi": value, "missing_expected": float(e.isna().mean()),
                     "missing_actual": float(a.isna().mean())})
    return pd.DataFrame(rows).sort_values("psi", ascending=False, na_position="last").reset_index(drop=True)
