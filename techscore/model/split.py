"""Splitting a dataset: out of time (train < A <= validation < B <= test) or stratified k folds.

Each split is a `Fold` of row positions: `train` fits the booster, `valid` drives early stopping and fits the
calibrator, `test` is only ever scored. Folds are deterministic in the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from techscore.exceptions import ModelError
from techscore.specs import SplitSpec

__all__ = ["Fold", "cv_folds", "full_fold", "holdout", "make_folds", "out_of_time"]


@dataclass(frozen=True)
class Fold:
    """Row positions of one split; `name` is `oot`, `fold1`..`foldk` or `full` (all rows, no test)."""

    name: str
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    period: dict[str, str] | None = None
    """Out-of-time splits: the date range of each part (for reports)."""
    inner_folds: int = 0
    """When > 0, `valid` is empty and early stopping and calibration use this many inner folds of `train`."""
    repeat: int = 1
    """Repeated cross-validation: which partition of the rows (1 = the experiment's own seed) the fold is from."""

    def sizes(self, y: np.ndarray) -> dict[str, dict[str, float]]:
        """Rows, defaults and default rate of each part."""
        out = {}
        for part in ("train", "valid", "test"):
            idx = getattr(self, part)
            bad = int(y[idx].sum()) if len(idx) else 0
            out[part] = {"rows": len(idx), "bad": bad, "bad_rate": bad / len(idx) if len(idx) else float("nan")}
        return out


def _check(parts: dict[str, np.ndarray], y: np.ndarray, what: str) -> None:
    for part, idx in parts.items():
        if len(idx) == 0:
            raise ModelError(f"{what}: the {part} part is empty.")
        classes = np.unique(y[idx])
        if len(classes) < 2:
            raise ModelError(f"{what}: the {part} part holds only label {classes[0]} ({len(idx)} rows); "
                             "it needs both defaults and non-defaults.")


def holdout(y: np.ndarray, positions: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split `positions` into (kept, held out) with `fraction` of each class held out, both sorted."""
    rng = np.random.default_rng(seed)
    held = []
    for c in (0, 1):
        idx = positions[y[positions] == c]
        n = int(round(fraction * len(idx)))
        if len(idx) >= 2:
            n = min(max(n, 1), len(idx) - 1)
        held.append(rng.permutation(idx)[:n] if n > 0 else idx[:0])
    out = np.sort(np.concatenate(held))
    return np.setdiff1d(positions, out, assume_unique=True), out


def cv_folds(y: np.ndarray, k: int, *, seed: int = 0, valid_fraction: float = 0.2, inner_folds: int = 0,
             repeats: int = 1) -> list[Fold]:
    """Stratified k folds, `repeats` times over (partition r shuffled with seed + r - 1; folds `fold1`..`foldk`,
    then `r2fold1`..); each fold's training rows hold out `valid_fraction` (stratified) for validation, or with
    `inner_folds` keep all training rows (validation by inner cross-validation)."""
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y)
    if np.bincount(y.astype(int), minlength=2).min() < k:
        raise ModelError(f"cv = {k} needs at least {k} defaults and {k} non-defaults; got "
                         f"{int(y.sum())} defaults in {len(y)} rows.")
    folds = []
    for r in range(1, repeats + 1):
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed + r - 1)
        for i, (rest, test) in enumerate(splitter.split(np.zeros(len(y)), y), start=1):
            name = f"fold{i}" if r == 1 else f"r{r}fold{i}"
            if inner_folds:
                train, valid = np.sort(rest), rest[:0]
            else:
                train, valid = holdout(y, rest, valid_fraction, seed + (r - 1) * k + i)
            fold = Fold(name, train, valid, np.sort(test), inner_folds=inner_folds, repeat=r)
            parts = {"train": train, "test": fold.test, **({} if inner_folds else {"valid": valid})}
            _check(parts, y, f"cv {name}")
            folds.append(fold)
    return folds


def out_of_time(dates: pd.Series, y: np.ndarray, train_before, test_from) -> Fold:
    """Train on rows dated before `train_before`, validate on [train_before, test_from), test on the rest."""
    d = pd.to_datetime(pd.Series(dates)).to_numpy()
    if pd.isna(d).any():
        raise ModelError(f"out-of-time split: {int(pd.isna(d).sum())} rows have no date.")
    a, b = np.datetime64(pd.Timestamp(train_before)), np.datetime64(pd.Timestamp(test_from))
    train, valid, test = np.flatnonzero(d < a), np.flatnonzero((d >= a) & (d < b)), np.flatnonzero(d >= b)

    def period(idx: np.ndarray) -> str:
        return f"{pd.Timestamp(d[idx].min()).date()} .. {pd.Timestamp(d[idx].max()).date()}" if len(idx) else ""

    _check({"train": train, "valid": valid, "test": test}, np.asarray(y),
           f"out-of-time split (train before {pd.Timestamp(a).date()}, test from {pd.Timestamp(b).date()})")
    return Fold("oot", train, valid, test, {p: period(i) for p, i in (("train", train), ("valid", valid),
                                                                      ("test", test))})


def make_folds(frame: pd.DataFrame, y: np.ndarray, spec: SplitSpec) -> list[Fold]:
    """The folds an experiment's split spec asks for."""
    if spec.kind == "cv":
        return cv_folds(y, int(spec.cv), seed=spec.seed, valid_fraction=spec.valid_fraction,  # type: ignore[arg-type]
                        inner_folds=spec.inner_folds, repeats=spec.repeats)
    if spec.date_column not in frame.columns:
        raise ModelError(f"out-of-time split: the data has no date column '{spec.date_column}'; "
                         "use cv = 5 for data without dates.")
    return [out_of_time(frame[spec.date_column], y, spec.train_before, spec.test_from)]


def full_fold(y: np.ndarray, *, seed: int = 0, valid_fraction: float = 0.2, inner_folds: int = 0) -> Fold:
    """All rows and no test (the final model of a cross-validated experiment): a stratified validation share
    for early stopping and calibration, or with `inner_folds` all rows with inner cross-validation."""
    everything = np.arange(len(y))
    if inner_folds:
        return Fold("full", everything, everything[:0], everything[:0], inner_folds=inner_folds)
    train, valid = holdout(np.asarray(y), everything, valid_fraction, seed)
    return Fold("full", train, valid, np.array([], dtype=np.int64))
