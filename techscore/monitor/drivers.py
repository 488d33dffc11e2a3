"""Drivers of change: the change of the portfolio's mean log-odds between two dates, split by feature.

SHAP values add up to the raw margin firm by firm (margin = base + sum of the features' values), so means do too:
mean margin(after) - mean margin(before) = (base after - base before) + sum over features of
(mean SHAP after - mean SHAP before). The split is exact; the base term is zero when one model scores both dates.
Under Platt calibration the calibrated log-odds are affine in the margin, so their change is the same split times
the calibration slope.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from techscore.monitor.snapshot import Snapshot

__all__ = ["BASE_ROW", "driver_table"]

BASE_ROW = "(base value)"
"""The row of the base value's change (a model change) in a driver table."""


def _mean_rows(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """`values[rows].mean(axis=0)` (the same rows added in the same order), without copying the rows out."""
    if not rows.any():
        return np.full(values.shape[1], np.nan)
    return values.mean(axis=0) if rows.all() else values.mean(axis=0, where=rows[:, None])


def _split(before: Snapshot, after: Snapshot, rows_b: np.ndarray, rows_a: np.ndarray) -> pd.DataFrame:
    mean_b, mean_a = _mean_rows(before.shap, rows_b), _mean_rows(after.shap, rows_a)
    frame = pd.DataFrame({"feature": before.feature_ids, "mean_shap_before": mean_b, "mean_shap_after": mean_a,
                          "contribution": mean_a - mean_b})
    base = pd.DataFrame({"feature": [BASE_ROW], "mean_shap_before": [before.base], "mean_shap_after": [after.base],
                         "contribution": [after.base - before.base]})
    return pd.concat([frame, base], ignore_index=True)


def driver_table(before: Snapshot, after: Snapshot, *, segments: pd.Series | None = None) -> pd.DataFrame:
    """Per feature (and the base value): mean SHAP at each date and the contribution to the change of the mean
    log-odds, largest moves first; the contributions add up to `mean_logodds_after - mean_logodds_before` (columns
    repeated on each row). With `segments` (a value per firm, indexed by uscc, e.g. industry section), the same
    split within each segment as well, segment `(all)` being the whole portfolio."""
    if before.feature_ids != after.feature_ids:
        raise ValueError("the two dates were scored with different features; drivers need the same columns")
    groups: list[tuple[str, np.ndarray, np.ndarray]] = [
        ("(all)", np.ones(len(before.uscc), bool), np.ones(len(after.uscc), bool))]
    if segments is not None:
        seg_b = segments.reindex(before.uscc).astype("string").fillna("(missing)").to_numpy()
        seg_a = segments.reindex(after.uscc).astype("string").fillna("(missing)").to_numpy()
        for value in sorted(set(seg_b) | set(seg_a)):
            groups.append((str(value), seg_b == value, seg_a == value))
    parts = []
    for name, rows_b, rows_a in groups:
        part = _split(before, after, rows_b, rows_a)
        part["segment"] = name
        part["firms_before"], part["firms_after"] = int(rows_b.sum()), int(rows_a.sum())
        part["mean_logodds_before"] = before.margin[rows_b].mean() if rows_b.any() else np.nan
        part["mean_logodds_after"] = after.margin[rows_a].mean() if rows_a.any() else np.nan
        order = np.argsort(-part["contribution"].abs().to_numpy(), kind="stable")
        parts.append(part.iloc[order])
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "as_of_before", before.as_of)
    out.insert(1, "as_of_after", after.as_of)
    cols = ["as_of_before", "as_of_after", "segment", "feature", "contribution", "mean_shap_before",
            "mean_shap_after", "mean_logodds_before", "mean_logodds_after", "firms_before", "firms_after"]
    return out[cols]
