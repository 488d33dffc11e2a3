"""Stability between two dates: PSI of the score and of every feature (CSI), and missing rates.

The PSI is `techscore.model.metrics.psi_table`'s, over ten quantile bins of the earlier date; a categorical feature
gets one bin per category. Bands: below 0.1 stable, 0.1 to 0.25 a moderate shift, 0.25 and above significant.

A clock feature (`FeatureMeta.drift == "clock"`: an age, months since a statement or a loan) moves with the as-of
date by construction: every firm's value grows by a month a month, so its PSI reads the calendar (the statement age
read ~14 every month) and says nothing about the population. Its PSI is still reported, but its band is `clock`,
never `significant`, so the significant rows are the shifts worth a look.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from techscore.catalogue.meta import FeatureMeta
from techscore.model.metrics import psi_table
from techscore.monitor.snapshot import Snapshot

__all__ = ["CLOCK_BAND", "PSI_BANDS", "psi_band", "stability_table"]

PSI_BANDS: tuple[tuple[float, str], ...] = ((0.1, "stable"), (0.25, "moderate"), (float("inf"), "significant"))
"""(upper bound, band): the usual reading of a PSI."""
CLOCK_BAND = "clock"
"""The band of a clock feature's PSI, whatever its value."""


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


def stability_table(before: Snapshot, after: Snapshot, *, bins: int = 10,
                    features: Mapping[str, FeatureMeta] | None = None) -> pd.DataFrame:
    """One row for the score (`pd`) and one per feature: PSI of `after` against `before`, its band, the missing
    rate at each date and `drift` (`score`, or the feature's declared drift from `features`: "value" when not
    declared). Clock features get the band `CLOCK_BAND` instead of their PSI's."""
    metas = features or {}
    rows = [{"item": "pd", "kind": "score", "psi": _psi(pd.Series(before.pd), pd.Series(after.pd), bins),
             "missing_before": float(np.isnan(before.pd).mean()), "missing_after": float(np.isnan(after.pd).mean())}]
    for fid in before.feature_ids:
        b, a = before.data[fid], after.data[fid]
        rows.append({"item": fid, "kind": "feature", "psi": _psi(b, a, bins),
                     "missing_before": float(b.isna().mean()), "missing_after": float(a.isna().mean()),
                     "drift": metas[fid].drift if fid in metas else "value"})
    out = pd.DataFrame(rows)
    out.loc[0, "drift"] = "score"
    out["band"] = [CLOCK_BAND if drift == "clock" else psi_band(v) if np.isfinite(v) else "n/a"
                   for v, drift in zip(out["psi"], out["drift"], strict=True)]
    out.insert(0, "as_of_before", before.as_of)
    out.insert(1, "as_of_after", after.as_of)
    return out
