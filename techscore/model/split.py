"""Splitting a dataset: out of time (train < A <= validation < B - embargo, test >= B) or stratified k folds.

Each split is a `Fold` of row positions: `train` fits the booster, `valid` drives early stopping and fits the
calibrator, `test` is only ever scored. Folds are deterministic in the seed.

Out of time, a loan's label is only known a label window after its issue date, so a loan issued shortly before
the test period is labelled by events inside it (one firm's default can label a training and a test loan). The
embargo leaves out every training or validation loan issued within `embargo_months` (default: the label window)
before the test period; the left-out rows are kept on the fold (`embargo`) so they are counted and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from techscore.exceptions import ModelError
from techscore.specs import SplitSpec

__all__ = ["Fold", "cv_folds", "embargo_metrics", "full_fold", "holdout", "make_folds", "out_of_time"]


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
    embargo: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    """Out of time: rows left out because their outcome window runs into the test period."""
    embargo_months: int = 0

    def sizes(self, y: np.ndarray) -> dict[str, dict[str, float]]:
        """Rows, defaults and default rate of each part (and of the embargoed rows, when there are any)."""
        out = {}
        for part in ("train", "valid", "embargo", "test"):
            idx = getattr(self, part)
            if part == "embargo" and not len(idx):
                continue
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


def out_of_time(dates: pd.Series, y: np.ndarray, train_before, test_from, *, embargo_months: int = 0) -> Fold:
    """Train on rows dated before `train_before`, validate on [train_before, test_from), test on the rest; rows
    before `test_from` dated within `embargo_months` of it are left out of both (`Fold.embargo`).

    `Fold.period` gives each part's date range (train, valid, test: first and last date present; gap: the
    embargoed interval [test_from - embargo_months, test_from)).
    """
    d = pd.to_datetime(pd.Series(dates)).to_numpy()
    if pd.isna(d).any():
        raise ModelError(f"out-of-time split: {int(pd.isna(d).sum())} rows have no date.")
    if embargo_months < 0:
        raise ModelError(f"embargo_months must be 0 or more; got {embargo_months}.")
    a, b = np.datetime64(pd.Timestamp(train_before)), np.datetime64(pd.Timestamp(test_from))
    gap_from = np.datetime64(pd.Timestamp(test_from) - pd.DateOffset(months=embargo_months))
    fitting = d < b
    embargo = np.flatnonzero(fitting & (d >= gap_from)) if embargo_months else np.array([], dtype=np.int64)
    kept = fitting & ~((d >= gap_from) if embargo_months else np.zeros(len(d), dtype=bool))
    train, valid, test = np.flatnonzero(kept & (d < a)), np.flatnonzero(kept & (d >= a)), np.flatnonzero(~fitting)

    def period(idx: np.ndarray) -> str:
        return f"{pd.Timestamp(d[idx].min()).date()} .. {pd.Timestamp(d[idx].max()).date()}" if len(idx) else ""

    what = (f"out-of-time split (train before {pd.Timestamp(a).date()}, test from {pd.Timestamp(b).date()}"
            + (f", embargo {embargo_months} months from {pd.Timestamp(gap_from).date()})" if embargo_months else ")"))
    if embargo_months and not len(valid) and gap_from <= a:
        raise ModelError(f"{what}: the embargo leaves no validation rows; train_before must come more than "
                         f"{embargo_months} months before test_from, or set split.embargo_months lower.")
    _check({"train": train, "valid": valid, "test": test}, np.asarray(y), what)
    periods = {p: period(i) for p, i in (("train", train), ("valid", valid), ("test", test))}
    if embargo_months:
        last = pd.Timestamp(b) - pd.Timedelta(days=1)
        periods["embargo"] = f"{pd.Timestamp(gap_from).date()} .. {last.date()} ({embargo_months} months)"
    return Fold("oot", train, valid, test, periods, embargo=embargo, embargo_months=embargo_months)


def make_folds(frame: pd.DataFrame, y: np.ndarray, spec: SplitSpec) -> list[Fold]:
    """The folds an experiment's split spec asks for. An experiment spec sets the embargo to its label window
    unless it says otherwise; a split spec built alone (embargo_months None) has none."""
    if spec.kind == "cv":
        return cv_folds(y, int(spec.cv), seed=spec.seed, valid_fraction=spec.valid_fraction,  # type: ignore[arg-type]
                        inner_folds=spec.inner_folds, repeats=spec.repeats)
    if spec.date_column not in frame.columns:
        raise ModelError(f"out-of-time split: the data has no date column '{spec.date_column}'; "
                         "use cv = 5 for data without dates.")
    return [out_of_time(frame[spec.date_column], y, spec.train_before, spec.test_from,
                        embargo_months=spec.embargo_months or 0)]


def embargo_metrics(folds: list[Fold]) -> dict[str, float]:
    """The embargo of out-of-time folds as run metrics: its length and the rows it left out."""
    oot = [f for f in folds if f.period is not None]
    if not oot:
        return {}
    return {"embargo_months": float(oot[0].embargo_months), "embargo_rows": float(sum(len(f.embargo) for f in oot))}


def full_fold(y: np.ndarray, *, seed: int = 0, valid_fraction: float = 0.2, inner_folds: int = 0) -> Fold:
    """All rows and no test (the final model of a cross-validated experiment): a stratified validation share
    for early stopping and calibration, or with `inner_folds` all rows with inner cross-validation."""
    everything = np.arange(len(y))
    if inner_folds:
        return Fold("full", everything, everything[:0], everything[:0], inner_folds=inner_folds)
    train, valid = holdout(np.asarray(y), everything, valid_fraction, seed)
    return Fold("full", train, valid, np.array([], dtype=np.int64))
