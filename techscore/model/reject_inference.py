"""Reject inference: train on the applicants a bank approved, for the applicants at its door.

A bank sees outcomes only for the loans it granted, so a model trained on them learns the risk of approved
applicants. The established methods add the rejected applicants (their features are known, their outcomes not) or
reweight the approved ones before fitting (`METHODS`):

* ``none``: the approved applicants as they are.
* ``augmentation`` (reweighting): an approval model P(approved | features) is fitted on all applicants; each
  approved applicant gets weight 1 / P (clipped at `max_weight`), so approved applicants that look like rejected
  ones stand in for them. Unbiased when approval depends only on the features (missing at random) and P > 0.
* ``parcelling``: the known-good/bad model (fitted on the approved) scores both groups; the approved applicants'
  scores cut `bands` equal-count bands; in each band the rejects are labelled bad at the band's observed bad rate
  times `prudence` (rejects are assumed worse than approved applicants with the same score), the bad ones drawn at
  random (`seed`), and they join the training rows with weight 1.
* ``fuzzy``: each reject joins twice, as bad with weight `reject_weight` * PD and as good with weight
  `reject_weight` * (1 - PD), PD from the known-good/bad model.

Out-of-fold predictions (`folds` folds) score the approved applicants, so in-sample fit does not push their
approval probabilities or PDs towards the labels. None of the methods can recover what the data do not hold:
when the bank approved on information the features lack (missing not at random), they all extrapolate from the
approved applicants (the README's "Reject inference" has the measured effect).

>>> aug = infer_rejects(X_ok, y_ok, X_rejected, RejectInferenceSpec(method="fuzzy"))   # doctest: +SKIP
>>> booster = lgb.train(params, lgb.Dataset(aug.X, aug.y, weight=aug.weight))            # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from techscore.catalogue import Catalogue, load_catalogue
from techscore.dataset.build import month_start, unify_categories
from techscore.sources.asof import sort_by_known
from techscore.sources.load import load_sources
from techscore.sources.schema import PointInTime
from techscore.specs import REJECT_INFERENCE_METHODS as METHODS
from techscore.specs import RejectInferenceSpec

__all__ = ["METHODS", "Augmented", "Fitter", "applicant_features", "approval_weights", "fuzzy_rows", "infer_rejects",
           "lgb_fitter", "out_of_fold", "parcel", "rejected_applicants", "rejects_during"]

Fitter = Callable[[pd.DataFrame, np.ndarray, np.ndarray | None], Callable[[pd.DataFrame], np.ndarray]]
"""Fits a binary classifier on (X, y, sample weight) and returns its probability function."""


@dataclass
class Augmented:
    """Training rows after reject inference: features, labels, weights, and which rows are inferred rejects."""

    X: pd.DataFrame
    y: np.ndarray
    weight: np.ndarray
    inferred: np.ndarray
    info: dict = field(default_factory=dict)


def approval_weights(p_approved: np.ndarray, *, max_weight: float) -> np.ndarray:
    """Inverse-probability-of-approval weights 1 / p, clipped to [1, `max_weight`]."""
    p = np.asarray(p_approved, dtype=np.float64)
    if max_weight < 1:
        raise ValueError(f"max_weight must be at least 1; got {max_weight}.")
    if np.any(~np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
        raise ValueError("approval probabilities must be in [0, 1]; got values outside it.")
    return np.clip(1.0 / np.maximum(p, 1.0 / max_weight), 1.0, max_weight)


def parcel(pd_accepted: np.ndarray, y_accepted: np.ndarray, pd_rejected: np.ndarray, *, bands: int, prudence: float,
           seed: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Labels for the rejects by score band, and the band table (band, accepted, accepted_bad_rate, rejected,
    rejected_bad_rate_assigned, rejected_bad).

    Band edges are the quantiles of the approved applicants' PDs (`bands` equal-count bands); a band's rejects get
    ``round(n * min(1, prudence * bad rate of the band's approved applicants))`` bads, drawn at random."""
    if bands < 1:
        raise ValueError(f"bands must be at least 1; got {bands}.")
    if prudence < 0:
        raise ValueError(f"prudence must be at least 0; got {prudence}.")
    pd_accepted, y_accepted = np.asarray(pd_accepted, dtype=np.float64), np.asarray(y_accepted, dtype=np.float64)
    pd_rejected = np.asarray(pd_rejected, dtype=np.float64)
    edges = np.unique(np.quantile(pd_accepted, np.linspace(0, 1, bands + 1)[1:-1])) if len(pd_accepted) else []
    band_ok, band_rej = np.searchsorted(edges, pd_accepted, "right"), np.searchsorted(edges, pd_rejected, "right")
    rng = np.random.default_rng(seed)
    labels = np.zeros(len(pd_rejected))
    rows = []
    for b in range(len(edges) + 1):
        ok, rej = band_ok == b, np.flatnonzero(band_rej == b)
        rate = float(y_accepted[ok].mean()) if ok.any() else float(pd_rejected[rej].mean()) if len(rej) else 0.0
        assigned = min(1.0, prudence * rate)
        n_bad = int(round(len(rej) * assigned))
        labels[rng.permutation(rej)[:n_bad]] = 1.0
        rows.append({"band": b, "accepted": int(ok.sum()), "accepted_bad_rate": rate, "rejected": len(rej),
                     "rejected_bad_rate_assigned": assigned, "rejected_bad": n_bad})
    return labels, pd.DataFrame(rows)


def fuzzy_rows(pd_rejected: np.ndarray, *, reject_weight: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions, labels, weights) of the fuzzy rows: every reject as bad with weight `reject_weight` * PD, then
    every reject as good with weight `reject_weight` * (1 - PD)."""
    p = np.asarray(pd_rejected, dtype=np.float64)
    if reject_weight <= 0:
        raise ValueError(f"reject_weight must be positive; got {reject_weight}.")
    n = len(p)
    positions = np.concatenate([np.arange(n), np.arange(n)])
    labels = np.concatenate([np.ones(n), np.zeros(n)])
    return positions, labels, reject_weight * np.concatenate([p, 1.0 - p])


def lgb_fitter(params: dict | None = None, *, num_boost_round: int = 200, seed: int = 0) -> Fitter:
    """A small LightGBM classifier (the default for the approval and known-good/bad models)."""
    base = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 50,
            "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
            "verbose": -1, "deterministic": True, "num_threads": 1, "seed": seed, **(params or {})}

    def fit(X: pd.DataFrame, y: np.ndarray, weight: np.ndarray | None) -> Callable[[pd.DataFrame], np.ndarray]:
        booster = lgb.train(base, lgb.Dataset(X, np.asarray(y, dtype=np.float64), weight=weight),
                            num_boost_round=num_boost_round)
        return lambda Z: np.asarray(booster.predict(Z), dtype=np.float64)
    return fit


def out_of_fold(fit: Fitter, X: pd.DataFrame, y: np.ndarray, *, folds: int, seed: int) -> np.ndarray:
    """Out-of-fold probabilities of `X`'s rows (stratified folds by `y`, seeded)."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=np.int64)
    for cls in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == cls))
        fold[idx] = np.arange(len(idx)) % folds
    out = np.empty(len(y))
    for k in range(folds):
        test = fold == k
        out[test] = fit(X.loc[~test], y[~test], None)(X.loc[test])
    return out


def infer_rejects(X_accepted: pd.DataFrame, y_accepted: np.ndarray, X_rejected: pd.DataFrame,
                  spec: RejectInferenceSpec, *, fitter: Fitter | None = None) -> Augmented:
    """The training rows `spec.method` makes of the approved applicants (with outcomes) and the rejected ones."""
    y_accepted = np.asarray(y_accepted, dtype=np.float64)
    fit = fitter or lgb_fitter(seed=spec.seed)
    X_accepted = X_accepted.reset_index(drop=True)
    n_ok, n_rej = len(X_accepted), len(X_rejected)
    info: dict = {"method": spec.method, "accepted": n_ok, "rejected": n_rej}
    if spec.method == "none" or n_rej == 0:
        return Augmented(X_accepted, y_accepted, np.ones(n_ok), np.zeros(n_ok, dtype=bool), info)
    X_rejected = X_rejected.reset_index(drop=True)
    if spec.method == "augmentation":
        X_all = pd.concat([X_accepted, X_rejected], ignore_index=True)
        approved = np.r_[np.ones(n_ok), np.zeros(n_rej)]
        p = out_of_fold(fit, X_all, approved, folds=spec.folds, seed=spec.seed)[:n_ok]
        w = approval_weights(p, max_weight=spec.max_weight)
        info.update(weight_mean=float(w.mean()), weight_max=float(w.max()), clipped=int((w >= spec.max_weight).sum()))
        return Augmented(X_accepted, y_accepted, w, np.zeros(n_ok, dtype=bool), info)
    pd_rejected = fit(X_accepted, y_accepted, None)(X_rejected)
    info["rejected_mean_pd"] = float(pd_rejected.mean())
    if spec.method == "parcelling":
        pd_accepted = out_of_fold(fit, X_accepted, y_accepted, folds=spec.folds, seed=spec.seed)
        labels, bands = parcel(pd_accepted, y_accepted, pd_rejected, bands=spec.bands, prudence=spec.prudence,
                               seed=spec.seed)
        info.update(rejected_bad=int(labels.sum()), bands=bands.to_dict("records"))
        return Augmented(pd.concat([X_accepted, X_rejected], ignore_index=True), np.r_[y_accepted, labels],
                         np.ones(n_ok + n_rej), np.r_[np.zeros(n_ok, dtype=bool), np.ones(n_rej, dtype=bool)], info)
    positions, labels, weights = fuzzy_rows(pd_rejected, reject_weight=spec.reject_weight)
    X = pd.concat([X_accepted, X_rejected.iloc[positions]], ignore_index=True)
    return Augmented(X, np.r_[y_accepted, labels], np.r_[np.ones(n_ok), weights],
                     np.r_[np.zeros(n_ok, dtype=bool), np.ones(len(positions), dtype=bool)], info)


def applicant_features(data: str | Path | Any, applications: pd.DataFrame, ids: Sequence[str], *,
                       catalogue: Catalogue | None = None,
                       point_in_time: PointInTime = PointInTime()) -> pd.DataFrame:  # noqa: B008 - frozen
    """Features `ids` of each application (uscc, applied) as known strictly before the first day of its application
    month, as the dataset builder computes them for loans; indexed like `applications`.

    `data` is a folder of raw tables or sources already sorted by `techscore.sources.asof.sort_by_known`."""
    cat = catalogue or load_catalogue()
    sources = sort_by_known(load_sources(Path(data))) if isinstance(data, str | Path) else data
    as_of = month_start(pd.to_datetime(applications["applied"]).astype("datetime64[ns]"))
    parts = []
    for month in sorted(as_of.unique()):
        rows = applications.loc[(as_of == month).to_numpy()]
        firms = pd.Index(rows["uscc"].astype(str).unique(), name="uscc")
        feats = cat.compute(sources, month, firms=firms, ids=list(ids), point_in_time=point_in_time)
        parts.append(feats.reindex(rows["uscc"].astype(str).to_numpy()).set_axis(rows.index))
    if not parts:
        return pd.DataFrame(columns=list(ids), index=applications.index)
    frame = pd.concat(parts).reindex(applications.index)
    return unify_categories(frame, cat, list(ids))[list(ids)]


def rejected_applicants(data: str | Path, spec: RejectInferenceSpec, X: pd.DataFrame, *,
                        catalogue: Catalogue | None = None,
                        point_in_time: PointInTime = PointInTime()) -> pd.DataFrame:  # noqa: B008 - frozen
    """The rejected applications of ``data/spec.applications`` with `X`'s columns (features as of each application
    month, categories as in `X`) and their ``applied`` date, for `infer_rejects`."""
    path = Path(data) / spec.applications
    if not path.exists():
        raise FileNotFoundError(f"reject_inference.applications: {path} does not exist; generate the world with "
                                "applications (`techscore synth --applications`) or point it at the bank's "
                                "applications table.")
    apps = pd.read_parquet(path)
    missing = [c for c in ("uscc", "applied", "approved") if c not in apps.columns]
    if missing:
        raise ValueError(f"{path} is missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
                         "expected uscc, applied and approved.")
    rejected = apps.loc[~apps["approved"].astype(bool)].reset_index(drop=True)
    rejected["applied"] = pd.to_datetime(rejected["applied"])
    feats = applicant_features(data, rejected, list(X.columns), catalogue=catalogue, point_in_time=point_in_time)
    for c in X.columns:  # the dataset's category lists (a category it never saw becomes missing)
        if isinstance(X[c].dtype, pd.CategoricalDtype):
            feats[c] = pd.Categorical(feats[c].astype("string"), categories=X[c].cat.categories)
    return feats.assign(applied=rejected["applied"])


def rejects_during(rejects: pd.DataFrame, issued: pd.Series) -> pd.DataFrame:
    """The rejects (with ``applied``) of the period the training rows were issued in (first to last issue day)."""
    lo, hi = pd.Timestamp(issued.min()), pd.Timestamp(issued.max())
    return rejects.loc[(rejects["applied"] >= lo) & (rejects["applied"] <= hi)].drop(columns="applied")
