"""Does each feature's SHAP dependence run in its declared risk direction?

For a feature declared +1 (risk rises with the value) the SHAP value should rise with the feature value; for -1
it should fall. The check is the Spearman rank correlation of value and SHAP value over the rows where the value
is present: it passes when the sign agrees with the declaration, fails when the correlation runs against it
beyond `tolerance`, and is "n/a" for features with no declared direction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from techscore.explain.shap_values import Explanation

STATUSES: tuple[str, ...] = ("pass", "weak", "fail", "unused", "n/a")
"""pass: runs the declared way; weak: |rho| below tolerance; fail: runs against it; unused: no effect (SHAP all
0); n/a: nothing declared, a category, or too few values."""


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3:
        return float("nan")
    rx = pd.Series(x).rank().to_numpy()
    ry = pd.Series(y).rank().to_numpy()
    sx, sy = rx.std(), ry.std()
    if sx == 0 or sy == 0:
        return float("nan")
    return float(((rx - rx.mean()) * (ry - ry.mean())).mean() / (sx * sy))


def direction_check(explanation: Explanation, *, tolerance: float = 0.05, min_rows: int = 30) -> pd.DataFrame:
    """One row per feature: declared direction, Spearman(value, SHAP), observed sign and pass/fail.

    Parameters
    ----------
    explanation : SHAP values of a batch (the test set, typically).
    tolerance : |rho| below this counts as no direction (neither agrees nor contradicts).
    min_rows : fewer non-missing values than this gives "n/a".

    Returns
    -------
    DataFrame with columns feature, name_zh, name_en, declared, spearman, observed (-1/0/+1), n, status.
    """
    rows = []
    for j, meta in enumerate(explanation.features):
        shap = explanation.values[:, j]
        declared = int(meta.direction)
        if meta.kind == "categorical":
            x = np.full(len(shap), np.nan)
        else:
            x = pd.to_numeric(explanation.data.iloc[:, j], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        ok = np.isfinite(x)
        n = int(ok.sum())
        unused = bool(np.all(shap == 0))
        rho = _spearman(x[ok], shap[ok]) if n >= min_rows else float("nan")
        observed = 0 if not np.isfinite(rho) or abs(rho) < tolerance else int(np.sign(rho))
        if unused:
            status = "unused"
        elif declared == 0 or n < min_rows or meta.kind == "categorical":
            status = "n/a"
        elif observed == -declared:
            status = "fail"
        elif observed == 0:
            status = "weak"
        else:
            status = "pass"
        rows.append({
            "feature": meta.id, "name_zh": meta.name_zh, "name_en": meta.name_en, "declared": declared,
            "spearman": rho, "observed": observed, "n": n, "status": status,
        })
    return pd.DataFrame(rows, columns=["feature", "name_zh", "name_en", "declared", "spearman", "observed", "n", "status"])
