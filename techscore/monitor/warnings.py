"""The early-warning list: firms whose risk rose between two dates, each with why.

A firm is listed when its PD rose by at least `pd_factor` times (code `PD_RISE`), its grade fell by at least
`grade_drop` grades (`GRADE_DROP`), or it reached the watch grade or a worse one from a better one
(`WATCH_GRADE`). Its reasons are the features whose SHAP value rose most between the dates (the risk each added),
with a sentence in Chinese and English saying how the feature moved ("研发强度从 6.1% 降至 1.2%"). Beside them,
`events` holds the codes of the firm's event signals from the raw tables (`techscore.monitor.events`).

Order (`warning_priority`): highest later PD first. A bank works the list from the top with limited hands, so the
order should put first the firms most likely to default soon; the calibrated PD at the later date is the model's
probability of default given everything known then, the rise included (a firm whose trade turned bad reads a high
PD because of it). The PD rise itself is not a probability: a firm going from 0.1% to 0.3% has tripled its risk and
is still far safer than one steady at 8%. Event signals are shown beside each firm but do not reorder the list:
most of them are already model inputs at the same date (late payments, a defaulted partner's trade share, the tax
grade), and a fixed bonus for the rest would be an uncalibrated weight.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from techscore.bilingual import change_sentence
from techscore.catalogue.meta import FeatureMeta
from techscore.monitor.snapshot import Snapshot

__all__ = ["WARNING_CODES", "early_warnings", "warning_priority"]

WARNING_CODES: dict[str, tuple[str, str]] = {
    "PD_RISE": ("违约概率上升超过阈值倍数", "PD rose past the factor"),
    "GRADE_DROP": ("评级下调达到阈值级数", "grade fell by the threshold number of grades"),
    "WATCH_GRADE": ("评级进入关注级", "grade crossed into the watch grade"),
}
"""Stable codes of the early-warning triggers, with their meaning in Chinese and English."""


def warning_priority(pd_before: np.ndarray, pd_after: np.ndarray) -> np.ndarray:
    """Sort positions of firms in the early-warning order (see the module docstring): later PD, highest first;
    among equal later PDs the larger rise first, then the input order."""
    pd_before, pd_after = np.asarray(pd_before, dtype=np.float64), np.asarray(pd_after, dtype=np.float64)
    return np.lexsort((-(pd_after - pd_before), -pd_after))


def early_warnings(before: Snapshot, after: Snapshot, features: dict[str, FeatureMeta], *, pd_factor: float = 2.0,
                   grade_drop: int = 2, watch_grade: str | None = None, reasons: int = 3,
                   events: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The firms scored at both dates that meet a trigger, in `warning_priority`'s order: `uscc`, PDs and grades at both
    dates, `codes` (triggers met, `;`-joined in a fixed order), `events` (the firm's event codes from `events`, a
    mapping uscc -> `;`-joined codes; empty when none), and per reason k `reason_k` (feature id),
    `reason_k_shap_change` (log-odds added), `reason_k_zh`, `reason_k_en`."""
    grades = list(after.grades)
    if watch_grade is not None and watch_grade not in grades:
        raise ValueError(f"watch grade {watch_grade!r} is not on the master scale {grades}")
    common = before.uscc.intersection(after.uscc, sort=False)
    ib, ia = before.uscc.get_indexer(common), after.uscc.get_indexer(common)
    pd_b, pd_a = before.pd[ib], after.pd[ia]
    rank = {g: i for i, g in enumerate(grades)}
    g_b = np.array([rank.get(g, -1) for g in before.grade[ib]])
    g_a = np.array([rank.get(g, -1) for g in after.grade[ia]])
    triggers = {"PD_RISE": pd_a >= pd_factor * pd_b,
                "GRADE_DROP": g_a - g_b >= grade_drop,
                "WATCH_GRADE": (g_b < rank[watch_grade]) & (g_a >= rank[watch_grade]) if watch_grade
                else np.zeros(len(common), bool)}
    hit = np.logical_or.reduce(list(triggers.values()))
    rows = np.flatnonzero(hit)
    rows = rows[warning_priority(pd_b[rows], pd_a[rows])]
    out = pd.DataFrame({
        "uscc": common[rows].astype(str), "as_of_before": before.as_of, "as_of_after": after.as_of,
        "pd_before": pd_b[rows], "pd_after": pd_a[rows], "grade_before": before.grade[ib][rows],
        "grade_after": after.grade[ia][rows],
        "codes": [";".join(c for c, mask in triggers.items() if mask[r]) for r in rows],
    })
    found = events or {}
    out["events"] = pd.array([found.get(u, "") for u in out["uscc"]], dtype="string")
    delta = after.shap[ia[rows]] - before.shap[ib[rows]]
    ids = after.feature_ids
    k = min(reasons, len(ids))
    order = np.argsort(-delta, axis=1, kind="stable")[:, :k]
    for j in range(k):
        cols = order[:, j]
        change = delta[np.arange(len(rows)), cols]
        fid = [ids[c] for c in cols]
        zh, en = [], []
        for r, c in zip(rows, cols, strict=True):
            meta = features[ids[c]]
            old, new = before.data.iat[ib[r], c], after.data.iat[ia[r], c]
            zh.append(change_sentence(meta, old, new, "zh"))
            en.append(change_sentence(meta, old, new, "en"))
        keep = change > 0
        out[f"reason_{j + 1}"] = pd.array(np.where(keep, fid, None), dtype="string")
        out[f"reason_{j + 1}_shap_change"] = np.where(keep, change, np.nan)
        out[f"reason_{j + 1}_zh"] = pd.array(np.where(keep, zh, None), dtype="string")
        out[f"reason_{j + 1}_en"] = pd.array(np.where(keep, en, None), dtype="string")
    return out
