"""Fitting and scoring the joint experiment's variants: the pool's rows with the lending bank's features, the
pooled models once, each bank's own models, every variant's PDs on each bank's loans, its test evaluation and the
outcomes at the bank's cut-off (`techscore.joint.compare`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from techscore.catalogue.meta import FeatureMeta
from techscore.dataset.frame import LoanDataset
from techscore.exceptions import ModelError
from techscore.joint.compare import approval_cutoff, at_cutoff, npl_cutoff
from techscore.joint.spec import VARIANTS, JointSpec
from techscore.model.pdmodel import PDModel
from techscore.model.training import Evaluation, evaluate_predictions
from techscore.specs import ModelSpec

BANK_GROUP = "bank"
"""The catalogue group of the lending bank's own features (`features/bank.py`)."""

__all__ = ["BANK_GROUP", "Outcome", "evaluate_outcome", "fit_and_score", "segments_of", "with_bank_features"]


@dataclass
class Outcome:
    """One variant on one bank's loans: its model, PDs on the bank's train / validation / test loans, the test
    evaluation and the outcomes at the bank's cut-off (or why it did not run)."""

    bank: str
    variant: str
    model: PDModel | None = None
    fit_rows: int = 0
    pd: dict[str, np.ndarray] = field(default_factory=dict)
    evaluation: Evaluation | None = None
    cutoff: float = float("nan")
    at_cutoff: dict[str, float] = field(default_factory=dict)
    note: str = ""

    @property
    def ran(self) -> bool:
        return self.evaluation is not None


def with_bank_features(spec: JointSpec, ds: LoanDataset) -> tuple[pd.DataFrame, list[FeatureMeta]]:
    """The pool's rows (loans of the spec's banks) with the lending bank's features (the catalogue's group
    `BANK_GROUP` from the spec's workspace, as of the first day of each loan's issue month like every feature of
    the dataset; missing where the bank supplies none), and the metadata of platform + bank features."""
    from techscore.dataset.build import bank_features
    from techscore.dataset.experiment import dataset_request
    from techscore.sources.asof import sort_by_known
    from techscore.sources.load import load_sources

    frame = ds.frame
    present = set(frame["bank_id"].astype("string").dropna().unique())
    unknown = [b for b in spec.banks if b not in present]
    if unknown:
        raise spec.error(f"banks.{unknown[0]}", f"no loan of the dataset has bank_id {unknown[0]!r}; the loans "
                                                f"come from {', '.join(sorted(present)) or 'no bank'}.")
    request = dataset_request(spec.experiment_spec())
    catalogue = request.catalogue()
    bank = catalogue.select(groups=[BANK_GROUP])
    clash = [c for c in bank.ids if c in frame.columns]
    if clash:
        raise ModelError(f"the dataset already has columns named like bank features: {', '.join(clash)}.")
    pool = frame.loc[frame["bank_id"].isin(list(spec.banks)).to_numpy()].reset_index(drop=True)
    loans = sort_by_known(load_sources(spec.resolve(spec.data.path), tables=["loans"]))  # type: ignore[arg-type]
    own = bank_features(pool, loans, catalogue, bank.ids, point_in_time=request.point_in_time)
    silent = ~pool["bank_id"].isin([b for b, s in spec.banks.items() if s.features]).to_numpy()
    own.loc[silent, :] = np.nan
    return pd.concat([pool, own], axis=1), [*ds.features, *bank.features]


# --- fitting ---------------------------------------------------------------------------------------------------
def _fit(frame: pd.DataFrame, y: np.ndarray, train: np.ndarray, valid: np.ndarray, features: list[FeatureMeta],
         mspec: ModelSpec, ds: LoanDataset, info: dict) -> PDModel:
    from techscore.model.fit import fit_pd_model

    X = frame[[f.id for f in features]]
    model, _ = fit_pd_model(X.iloc[train], y[train], X.iloc[valid], y[valid], features, mspec,
                            catalogue_version=ds.summary.get("catalogue_version"),
                            info={"dataset_fingerprint": ds.fingerprint, **info})
    return model


def _too_few(y: np.ndarray, parts: dict[str, np.ndarray], min_bad: int) -> str:
    for part in ("train", "valid"):
        bad = int(y[parts[part]].sum())
        good = len(parts[part]) - bad
        if bad < min_bad or good < min_bad:
            return (f"{bad} defaults and {good} non-defaults in its {part} loans; an own model needs at least "
                    f"{min_bad} of each (min_bad)")
    return ""


def segments_of(spec: JointSpec, ds: LoanDataset) -> list[str]:
    if spec.segments is not None:
        missing = [s for s in spec.segments if s not in ds.frame.columns]
        if missing:
            raise spec.error("segments", f"columns the data does not have: {', '.join(missing)}.")
        return list(spec.segments)
    return [s for s in ds.segments if s != "bank_id"]


def fit_and_score(spec, mspec, ds, frame, y, fold, parts, feature_sets, step) -> dict[tuple[str, str], Outcome]:
    """Every variant's model (pooled ones fitted once, own ones per bank) and its PDs on each bank's loans;
    `step(what)` after each fit and each bank scored."""
    banks = list(spec.banks)
    outcomes: dict[tuple[str, str], Outcome] = {}
    pooled: dict[str, tuple[PDModel, int]] = {}
    for variant in spec.variants:
        training, features = VARIANTS[variant]
        if training == "pooled":
            model = _fit(frame, y, fold.train, fold.valid, feature_sets[features], mspec, ds,
                         {"joint": spec.name, "variant": variant, "banks": banks})
            pooled[variant] = (model, len(fold.train))
            step(f"fitted the {variant} model")
    for bank in banks:
        p = parts[bank]
        n_test_bad = int(y[p["test"]].sum())
        no_test = ("" if 0 < n_test_bad < len(p["test"]) else
                   f"its test loans hold {n_test_bad} defaults in {len(p['test'])} loans; AUC needs both outcomes")
        for variant in spec.variants:
            training, features = VARIANTS[variant]
            o = Outcome(bank, variant)
            outcomes[(bank, variant)] = o
            if features == "platform+bank" and not spec.banks[bank].features:
                o.note = "the bank supplies no features of its own (banks.<bank>.features = false)"
            elif no_test:
                o.note = no_test
            elif training == "pooled":
                o.model, o.fit_rows = pooled[variant]
            else:
                o.note = _too_few(y, p, spec.min_bad)
                if not o.note:
                    o.model = _fit(frame, y, p["train"], p["valid"], feature_sets[features], mspec, ds,
                                   {"joint": spec.name, "variant": variant, "bank": bank})
                    o.fit_rows = len(p["train"])
            if training == "own":
                step(f"fitted {bank}'s {variant} model" if o.model is not None else f"skipped {bank}'s {variant} model")
            if o.model is not None:
                X = frame[o.model.feature_ids]
                o.pd = {part: o.model.predict_pd(X.iloc[idx]) for part, idx in p.items() if len(idx)}
        step(f"scored {bank}'s test loans")
    return outcomes


def evaluate_outcome(o: Outcome, spec: JointSpec, mspec: ModelSpec, frame: pd.DataFrame, y: np.ndarray,
                     p: dict[str, np.ndarray], segments: list[str]) -> None:
    """The variant's test evaluation on the bank's loans and the outcomes at the bank's cut-off."""
    test = p["test"]
    o.evaluation = evaluate_predictions(
        y[test], o.pd["test"], scaling=mspec.scaling, master_scale=mspec.master_scale, frame=frame.iloc[test],
        segments=segments, min_rows=spec.min_segment_rows, reference_pd=o.pd.get("train"))
    bank = spec.banks[o.bank]
    p_test = o.pd["test"]
    o.cutoff = (npl_cutoff(p_test, bank.max_bad_rate) if bank.max_bad_rate is not None
                else approval_cutoff(p_test, bank.approval_rate))  # type: ignore[arg-type]
    o.at_cutoff = at_cutoff(y[test], p_test, o.cutoff)
