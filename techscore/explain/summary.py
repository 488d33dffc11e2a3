"""SHAP summaries of a trained model, written beside its outputs and logged to its MLflow run.

`summarize(model, dataset, train_rows, test_rows, out)` fits the reason-code references on the training rows
(saved as `references.json`, beside the model), computes SHAP values on the test rows and writes global
importance (per feature, and per cluster of correlated features), the direction checks, the values themselves and
the importance and beeswarm plots (Chinese and English). `explain_callback()` does this at the end of
`techscore.model.training.train` and logs the folder to the run as `explain/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from techscore.bilingual import LANGS
from techscore.explain.clusters import cluster_importance, feature_clusters
from techscore.explain.directions import direction_check
from techscore.explain.reasons import REFERENCES_FILE, References, fit_references
from techscore.explain.shap_values import Explanation, explain
from techscore.model.artifacts import EXPLAIN_ARTIFACT_PATH, member_rows

SUMMARY_FOLDER = EXPLAIN_ARTIFACT_PATH
"""Folder (beside the run's outputs, and artifact path in the run) of the SHAP summaries."""
MAX_ROWS = 20_000
"""Test rows explained at most (a seeded random sample beyond that)."""


@dataclass
class Summary:
    """What `summarize` produced."""

    explanation: Explanation
    references: References
    importance: pd.DataFrame
    directions: pd.DataFrame
    clusters: pd.DataFrame | None = None
    """Importance by cluster of correlated features (`techscore.explain.clusters`)."""
    folder: Path | None = None


def _features_of(model: Any, dataset: Any) -> list:
    ids = list(model.booster.feature_name()) if hasattr(model, "booster") else list(dataset.feature_ids)
    metas = {f.id: f for f in dataset.features}
    metas.update({f.id: f for f in getattr(model, "features", []) or [] if hasattr(f, "id")})
    return [metas[i] for i in ids if i in metas]


def summarize(
    model: Any,
    dataset: Any,
    train_rows: pd.Index | np.ndarray,
    test_rows: pd.Index | np.ndarray,
    out: str | Path | None = None,
    *,
    by: str = "seg_industry",
    max_rows: int = MAX_ROWS,
    seed: int = 0,
    plots: bool = True,
) -> Summary:
    """References from the training rows, SHAP values and their summaries on the test rows (index labels of
    `dataset.frame`), written to `out` when given."""
    frame = dataset.frame
    features = _features_of(model, dataset)
    train = frame.loc[train_rows]
    refs = fit_references(train, features, by=by, fingerprint=getattr(dataset, "fingerprint", ""))
    test = frame.loc[test_rows]
    if len(test) > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(len(test), max_rows, replace=False))
        test = test.iloc[keep]
    X = model.prepare(test) if hasattr(model, "prepare") else test
    expl = explain(model, X, features=features)
    imp = expl.importance()
    dirs = direction_check(expl)
    clusters = cluster_importance(expl, feature_clusters(train, features, seed=seed))
    summary = Summary(expl, refs, imp, dirs, clusters)
    if out is not None:
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        refs.save(folder / REFERENCES_FILE)
        imp.to_csv(folder / "shap_importance.csv", index=False)
        clusters.to_csv(folder / "shap_importance_clusters.csv", index=False)
        dirs.to_csv(folder / "direction_check.csv", index=False)
        expl.save(folder / "shap_values.parquet")
        if plots:
            from techscore.explain import plots as P

            for lang in LANGS:
                (folder / f"shap_importance_{lang}.png").write_bytes(P.importance_bar(expl, lang))
                (folder / f"shap_beeswarm_{lang}.png").write_bytes(P.beeswarm(expl, lang))
        summary.folder = folder
    return summary


def explain_callback(*, by: str = "seg_industry", max_rows: int = MAX_ROWS, plots: bool = True,
                     tracking_uri: str | None = None):
    """A `techscore.model.training` callback: at the end of training, fit the reason-code references on the final
    model's training rows and compute SHAP values on the test rows (the run's split membership, never re-derived),
    write them into `<outputs>/explain/` (and `references.json` into the model folder), and log them to the
    MLflow run when the run is tracked (at `tracking_uri`, default the one training uses). Add it after the
    MLflow callback: `train(..., callbacks=[explain_callback()])`."""

    def callback(env) -> None:
        if env.stage != "end" or env.result.model is None or env.result.membership is None:
            return
        result = env.result
        ds = result.dataset
        train_rows = member_rows(result.membership, "train", ds.frame)
        test_rows = member_rows(result.membership, "test", ds.frame)
        out = result.paths.get("out")
        folder = Path(out) / SUMMARY_FOLDER if out is not None else None
        summary = summarize(result.model, ds, train_rows, test_rows, folder, by=by, max_rows=max_rows, plots=plots)
        model_dir = result.paths.get("model")
        if model_dir is not None:
            summary.references.save(Path(model_dir) / REFERENCES_FILE)
        result.paths["explain"] = folder if folder is not None else Path()
        if result.run_id and folder is not None:
            from techscore.model.registry import client
            from techscore.model.tracking import tracking_uri_for

            workspace = result.experiment.workspace if result.experiment is not None else None
            client(tracking_uri_for(tracking_uri, workspace)).log_artifacts(result.run_id, str(folder), SUMMARY_FOLDER)

    return callback
