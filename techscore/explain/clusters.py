"""Importance of correlated feature clusters: the SHAP credit a group of near-duplicate features earns together.

Tree models split credit arbitrarily among features that carry the same signal (leverage and debt ratio, invention
patents and class-I IP, late-payment rate and days late), so one of them can rank low although the risk it measures
ranks high. Validators therefore also read importance by cluster: features are grouped by average-linkage
hierarchical clustering on 1 - |Spearman correlation| (pairwise-complete, so missing values are no signal), cut at
`threshold`; a cluster's importance is the mean |sum of its members' SHAP values| (SHAP values add, so the sum is
the cluster's contribution to each firm's log-odds). Categorical features stay on their own.

>>> clusters = feature_clusters(train_frame, features)                 # doctest: +SKIP
>>> cluster_importance(explanation, clusters).head()                   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from techscore.catalogue.meta import FeatureMeta
from techscore.explain.shap_values import Explanation

__all__ = ["CLUSTER_THRESHOLD", "cluster_importance", "feature_clusters"]

CLUSTER_THRESHOLD = 0.7
"""|Spearman correlation| at which features join one cluster (average linkage)."""
MIN_PAIRS = 30
"""Rows both features must have for their correlation to count (fewer: treated as uncorrelated)."""
MAX_ROWS = 20_000
"""Rows the correlations are computed on at most (a seeded sample beyond that)."""


def _spearman(frame: pd.DataFrame) -> np.ndarray:
    """|rho| needs `MIN_PAIRS` rows with both values; fewer (or a constant column) count as uncorrelated."""
    rho = frame.rank().corr(min_periods=MIN_PAIRS).fillna(0.0).to_numpy(copy=True)
    np.fill_diagonal(rho, 1.0)
    return rho


def feature_clusters(
    frame: pd.DataFrame,
    features: Sequence[FeatureMeta],
    *,
    threshold: float = CLUSTER_THRESHOLD,
    seed: int = 0,
) -> pd.Series:
    """Cluster number (1, 2, ...) of each feature id, numbered in the order of each cluster's first feature."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    if not 0 < threshold <= 1:
        raise ValueError(f"cluster threshold must be in (0, 1]; got {threshold}.")
    ids = [f.id for f in features]
    numeric = [f.id for f in features if f.kind != "categorical"]
    if len(frame) > MAX_ROWS:
        frame = frame.iloc[np.sort(np.random.default_rng(seed).choice(len(frame), MAX_ROWS, replace=False))]
    label: dict[str, int] = {}
    if len(numeric) >= 2:
        values = frame[numeric].apply(pd.to_numeric, errors="coerce").astype("float64")
        distance = 1.0 - np.abs(_spearman(values))
        np.fill_diagonal(distance, 0.0)
        tree = linkage(squareform(np.clip(distance, 0.0, 1.0), checks=False), method="average")
        cut = fcluster(tree, t=1.0 - threshold, criterion="distance")
        label = {f: int(c) for f, c in zip(numeric, cut, strict=True)}
    raw = [label.get(i, -k - 1) for k, i in enumerate(ids)]  # categorical (or lone) features: their own cluster
    first: dict[int, int] = {}
    for c in raw:
        first.setdefault(c, len(first) + 1)
    return pd.Series([first[c] for c in raw], index=pd.Index(ids, name="feature"), name="cluster")


def cluster_importance(explanation: Explanation, clusters: pd.Series) -> pd.DataFrame:
    """Importance of each cluster, largest first: its members (by their own importance), its lead feature, the
    mean |summed SHAP| and its share of the clusters' total."""
    values = explanation.frame()
    own = np.abs(values).mean(axis=0)
    names = {f.id: f for f in explanation.features}
    rows = []
    aligned = clusters.reindex(values.columns)
    for cluster, members in aligned.groupby(aligned).groups.items():
        members = sorted(members, key=lambda m: -own[m])
        lead = names[members[0]]
        rows.append({"cluster": int(cluster), "lead": lead.id, "name_zh": lead.name_zh, "name_en": lead.name_en,
                     "members": " ".join(members), "n_members": len(members),
                     "mean_abs_shap": float(np.abs(values[members].sum(axis=1)).mean()) if len(values) else 0.0})
    out = pd.DataFrame(rows)
    total = out["mean_abs_shap"].sum()
    out["share"] = out["mean_abs_shap"] / total if total > 0 else 0.0
    out = out.sort_values(["mean_abs_shap", "cluster"], ascending=[False, True], kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out
