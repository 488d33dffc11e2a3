"""Stability between two dates: PSI of the score and of every feature (CSI), and missing rates.

The PSI is `techscore.model.metrics.psi_table`'s, over ten quantile bins of the earlier date; a categorical feature
gets one bin per category. Bands: below 0.1 stable, 0.1 to 0.25 a moderate shift, 0.25 and above significant.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from techscore.model.metrics import psi_table
from techscore.monitor.snapshot import Snapshot

__all__ = ["PSI_BANDS", "psi_band", "stability_table"]

PSI_BANDS: tuple[tuple[float, str], ...] = ((0.1, "stable"), (0.25, "moderate"), (float("inf"), "significant"))
"""(upper bound, band): the usual reading of a PSI."""


def psi_band(value: float) -> str:
    """The band of a PSI value: stable (< 0.1), moderate (< 0.25) or significant."""
    return next(name for upper, name in PSI_BANDS if value < upper)


def _numeric(values: pd.Series) -> tuple[np.ndarray, bool]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy(dtype=np.float64)
        return np.where(codes < 0, np.nan, codes), True
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64), False


def _psi(before: pd.Series, after: pd.Series, bins: int) -> float:
    e, categorical = _numeric(before)
    a, _ = _numeric(after)
    if categorical:
        n = len(before.cat.categories)
        return float(psi_table(e, a, edges=np.arange(n - 1) + 0.5)["psi"].sum()) if n > 1 else 0.0
    if np.isnan(e).all() or np.isnan(a).all():
        return float("nan")
    return float(psi_table(e, a, bins)["psi"].sum())


def stability_table(before: Snapshot, after: Snapshot, *, bins: int = 10) -> pd.DataFrame:
    """One row for the score (`pd`) and one per feature: PSI of `after` against `before`, its band, and the
    missing rate at each date."""
    rows = [{"item": "pd", "kind": "score", "psi": _psi(pd.Series(before.pd), pd.Series(after.pd), bins),
             "missing_before": float(np.isnan(before.pd).mean()), "missing_after": float(np.isnan(after.pd).mean())}]
    for fid in before.feature_ids:
        b, a = before.data[fid], after.data[fid]
        rows.append({"item": fid, "kind": "feature", "psi": _psi(b, a, bins),
                     "missing_before": float(b.isna().mean()), "missing_after": float(a.isna().mean())})
    out = pd.DataFrame(rows)
    out["band"] = [psi_band(v) if np.isfinite(v) else "n/a" for v in out["psi"]]
    out.insert(0, "as_of_before", before.as_of)
    out.insert(1, "as_of_after", after.as_of)
    return out
