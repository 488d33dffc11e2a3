"""Benchmark: techscore's default pipeline against the usual peers on the same folds of public default datasets.

Each dataset is an experiment spec in `experiments/` (the data it names, the model spec it names: techscore's
default). All models see the same stratified k-fold partition (shuffle, `--seed`; the split techscore's own `cv`
experiments make, checked fold by fold) and, in each fold, only its training rows; the test rows are only scored.

- **techscore**: `ts.train(spec)` with the experiment's own model spec and split settings (inner folds and
  everything else as the spec says), only the partition set to `--folds` / `--seed` and one repeat; its
  out-of-fold PDs. Whatever the default pipeline ships (its champion), this measures it unchanged.
- **lightgbm_default**: `LGBMClassifier()` with LightGBM's defaults.
- **lightgbm_credit**: common credit settings: 15 leaves, learning rate 0.05, 50 rows per leaf, row and column
  subsampling 0.8, up to 3000 rounds early-stopped (200) on log loss on a stratified 20% of the training rows.
- **hist_gradient_boosting**: scikit-learn's `HistGradientBoostingClassifier()` (categories from the dtype).
- **optbinning_scorecard**: optbinning `BinningProcess` (WOE) + `LogisticRegression`.
- **toad_scorecard**: toad `Combiner` (chi-square bins) + `WOETransformer` + `LogisticRegression`.

AUC, KS and Brier per fold, their mean and std over folds, techscore's rank among the models (1 = best, on mean
AUC and on mean Brier); JSON in `benchmarks/results/peers.json` with the command, and a Markdown table printed. A
peer whose package is missing or fails is recorded with its error, never dropped.

    python benchmarks/bench_peers.py                                        # full: every dataset, 5 folds
    python benchmarks/bench_peers.py --folds 2 --sample 0.3 --out /tmp/peers.json   # smoke

The peers need `pip install -e .[bench]` (toad, scorecardpy; optbinning is a runtime dependency).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedKFold, train_test_split

import techscore as ts

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ("polish", "australian", "germancredit")
"""Experiment specs in `experiments/`: Polish year 1 and Australian credit from ../shared/data, German credit
from the `scorecardpy` package."""
METRICS = ("auc", "ks", "brier")
Peer = Callable[[pd.DataFrame, np.ndarray, pd.DataFrame, int, int], np.ndarray]
"""(X_train, y_train, X_test, seed, threads) -> PD of each test row."""


# --- metrics -----------------------------------------------------------------------------------------------------
def fold_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """AUC, KS (largest gap between the two classes' cumulative score distributions) and Brier."""
    fpr, tpr, _ = roc_curve(y, p)
    return {"auc": float(roc_auc_score(y, p)), "ks": float(np.max(tpr - fpr)),
            "brier": float(brier_score_loss(y, p))}


# --- peers -------------------------------------------------------------------------------------------------------
def _as_text(X: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as plain object strings (missing as NaN): what the scorecard toolkits expect."""
    out = X.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(object).where(out[c].notna(), np.nan)
    return out


def _categorical(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]


def lightgbm_default(X, y, X_test, seed, threads):
    import lightgbm as lgb

    model = lgb.LGBMClassifier(random_state=seed, n_jobs=threads, verbose=-1)
    return model.fit(X, y).predict_proba(X_test)[:, 1]


def lightgbm_credit(X, y, X_test, seed, threads):
    import lightgbm as lgb

    fit_rows, stop_rows = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=seed)
    model = lgb.LGBMClassifier(
        n_estimators=3000, learning_rate=0.05, num_leaves=15, min_child_samples=50, subsample=0.8,
        subsample_freq=1, colsample_bytree=0.8, random_state=seed, n_jobs=threads, verbose=-1)
    model.fit(X.iloc[fit_rows], y[fit_rows], eval_set=[(X.iloc[stop_rows], y[stop_rows])], eval_metric="binary_logloss",
              callbacks=[lgb.early_stopping(200, verbose=False)])
    return model.predict_proba(X_test)[:, 1]


def hist_gradient_boosting(X, y, X_test, seed, threads):
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(random_state=seed, categorical_features="from_dtype")
    return model.fit(X, y).predict_proba(X_test)[:, 1]


def optbinning_scorecard(X, y, X_test, seed, threads):
    from optbinning import BinningProcess
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    Xt = _as_text(X)
    binning = BinningProcess(list(Xt.columns), categorical_variables=_categorical(X))
    model = make_pipeline(binning, LogisticRegression(max_iter=1000))
    return model.fit(Xt, y).predict_proba(_as_text(X_test))[:, 1]


def toad_scorecard(X, y, X_test, seed, threads):
    import toad
    from sklearn.linear_model import LogisticRegression

    cats = _categorical(X)  # toad's bins take missing numbers apart (empty_separate) but not missing categories
    Xt, Xs = (_as_text(d).fillna({c: "missing" for c in cats}) for d in (X, X_test))
    frame = Xt.assign(_target=y)
    combiner = toad.transform.Combiner().fit(frame, y="_target", method="chi", min_samples=0.05,
                                             empty_separate=True)
    binned = combiner.transform(frame)
    woe = toad.transform.WOETransformer().fit(binned.drop(columns="_target"), binned["_target"])
    train_woe = woe.transform(binned.drop(columns="_target")).astype("float64")
    test_woe = woe.transform(combiner.transform(Xs)).astype("float64")
    model = LogisticRegression(max_iter=1000).fit(train_woe, y)
    return model.predict_proba(test_woe[train_woe.columns])[:, 1]


PEERS: dict[str, tuple[str, Peer]] = {
    "lightgbm_default": ("lightgbm", lightgbm_default),
    "lightgbm_credit": ("lightgbm", lightgbm_credit),
    "hist_gradient_boosting": ("sklearn", hist_gradient_boosting),
    "optbinning_scorecard": ("optbinning", optbinning_scorecard),
    "toad_scorecard": ("toad", toad_scorecard),
}
"""Name -> (package it needs, fit-and-predict function)."""


# --- one dataset -------------------------------------------------------------------------------------------------
def _summary(folds: list[dict]) -> dict:
    out: dict = {"status": "ok", "folds": folds}
    for m in (*METRICS, "seconds"):
        values = np.array([f[m] for f in folds], dtype=np.float64)
        out[f"{m}_mean"] = float(values.mean())
        out[f"{m}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return out


def _failure(status: str, exc: BaseException) -> dict:
    return {"status": status, "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exception(exc)[-3:]}


def run_techscore(spec, ds, y: np.ndarray, partition: list[np.ndarray]) -> dict:
    """The default pipeline on the partition, through the public API; its out-of-fold PDs scored per fold."""
    split = spec.split.model_copy(update={"cv": len(partition), "repeats": 1})
    spec = spec.model_copy(update={"split": split})
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_peers_") as out:
        result = ts.train(spec, dataset=ds, tracking=False, register=False, out=out)
    seconds = time.perf_counter() - start
    tested = [f.test for f in result.folds]
    if len(tested) != len(partition) or any(not np.array_equal(a, np.sort(b)) for a, b in zip(tested, partition, strict=False)):
        raise RuntimeError("techscore's folds differ from the benchmark's partition; the comparison would not be fair.")
    pred = result.predictions
    positions = ds.frame.index.get_indexer(pred["row"])
    pd_ = np.full(len(y), np.nan)
    pd_[positions] = pred["pd"].to_numpy()
    folds = [{"fold": i, **fold_metrics(y[t], pd_[t]), "seconds": seconds / len(partition)}
             for i, t in enumerate(partition, start=1)]
    out = _summary(folds)
    out["model_spec"] = result.model_spec.name
    out["seconds_total"] = seconds  # includes the final model on all rows and the run's reports
    for key in ("champion", "selection"):
        if key in result.model.info:
            out[key] = result.model.info[key]
    return out


def run_peer(name: str, X: pd.DataFrame, y: np.ndarray, partition: list[np.ndarray], seed: int, threads: int) -> dict:
    package, fit = PEERS[name]
    try:
        __import__(package)
    except Exception as exc:  # noqa: BLE001 - recorded, not hidden
        return _failure("unavailable", exc)
    folds = []
    try:
        for i, test in enumerate(partition, start=1):
            train = np.setdiff1d(np.arange(len(y)), test)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p = np.asarray(fit(X.iloc[train], y[train], X.iloc[test], seed, threads), dtype=np.float64)
            folds.append({"fold": i, **fold_metrics(y[test], p), "seconds": time.perf_counter() - start})
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - recorded, not hidden (a Rust panic in toad is a BaseException)
        return {**_failure("failed", exc), "folds_done": folds}
    return _summary(folds)


def ranks(models: dict[str, dict]) -> dict[str, int | None]:
    """techscore's place among the models that ran: 1 = highest mean AUC, 1 = lowest mean Brier."""
    ok = {k: v for k, v in models.items() if v.get("status") == "ok"}
    if "techscore" not in ok:
        return {"auc": None, "brier": None, "models": len(ok)}
    auc = sorted(ok, key=lambda k: -ok[k]["auc_mean"])
    brier = sorted(ok, key=lambda k: ok[k]["brier_mean"])
    return {"auc": auc.index("techscore") + 1, "brier": brier.index("techscore") + 1, "models": len(ok)}


def run_dataset(name: str, *, folds: int, seed: int, threads: int, peers: list[str], log,
                sample: float | None = None) -> dict:
    try:
        spec = ts.load_experiment(ROOT / "experiments" / f"{name}.toml", workspace=ROOT)
        if sample is not None:  # smoke runs only: a stratified share of the rows, drawn with the split's seed
            spec = spec.model_copy(update={"data": spec.data.model_copy(update={"sample": sample})})
        ds = ts.load_dataset(spec)
    except Exception as exc:  # noqa: BLE001 - a registry dataset whose package is missing, say
        return _failure("unavailable", exc)
    y = ds.y.to_numpy()
    X = ds.X
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    partition = [np.sort(test) for _, test in splitter.split(np.zeros(len(y)), y)]
    entry: dict = {
        "status": "ok", "experiment": f"experiments/{name}.toml", "source": str(ds.summary.get("source", "")),
        "rows": len(y), "sample": sample, "defaults": int(y.sum()), "features": X.shape[1],
        "categorical": sum(f.kind == "categorical" for f in ds.features), "models": {},
    }
    log(f"{name}: {len(y):,} rows, {X.shape[1]} features; techscore ...")
    try:
        entry["models"]["techscore"] = run_techscore(spec, ds, y, partition)
    except Exception as exc:  # noqa: BLE001 - recorded, not hidden
        entry["models"]["techscore"] = _failure("failed", exc)
    for peer in peers:
        log(f"{name}: {peer} ...")
        entry["models"][peer] = run_peer(peer, X, y, partition, seed, threads)
    entry["techscore_rank"] = ranks(entry["models"])
    return entry


# --- report ------------------------------------------------------------------------------------------------------
def markdown(results: dict) -> str:
    lines = ["| dataset | model | AUC | KS | Brier |", "| --- | --- | --- | --- | --- |"]
    for name, entry in results["datasets"].items():
        if entry["status"] != "ok":
            lines.append(f"| {name} | (dataset {entry['status']}: {entry['error']}) | | | |")
            continue
        for model, r in entry["models"].items():
            if r["status"] != "ok":
                lines.append(f"| {name} | {model} ({r['status']}: {r['error'][:80]}) | | | |")
                continue
            cells = [f"{r[f'{m}_mean']:.4f} ± {r[f'{m}_std']:.4f}" for m in METRICS]
            lines.append(f"| {name} | {model} | {' | '.join(cells)} |")
        rank = entry["techscore_rank"]
        lines.append(f"| {name} | techscore's rank of {rank['models']} | AUC {rank['auc']} | | Brier {rank['brier']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS), help="experiment names in experiments/")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="threads of the boosting peers")
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--sample", type=float, default=None, help="smoke runs: a stratified share of each dataset")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "peers.json")
    args = parser.parse_args()
    peers = [p for p in args.peers.split(",") if p]
    unknown = sorted(set(peers) - set(PEERS))
    if unknown:
        parser.error(f"unknown peers {', '.join(unknown)}; known: {', '.join(PEERS)}")

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    results = {
        "command": "python " + shlex.join(["benchmarks/bench_peers.py", *sys.argv[1:]]),
        "folds": args.folds, "seed": args.seed, "split": "StratifiedKFold(shuffle=True), the same for every model",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "versions": _versions(), "datasets": {},
    }
    start = time.perf_counter()
    for name in [d for d in args.datasets.split(",") if d]:
        results["datasets"][name] = run_dataset(name, folds=args.folds, seed=args.seed, threads=args.threads,
                                                peers=peers, log=log, sample=args.sample)
    results["seconds"] = time.perf_counter() - start
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    print(markdown(results))
    print(f"\n{results['command']}  ({results['seconds']:.0f} s) -> {args.out}")


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("techscore", "lightgbm", "scikit-learn", "optbinning", "toad", "scorecardpy", "pandas", "numpy"):
        with contextlib.suppress(PackageNotFoundError):
            out[package] = version(package)
        out.setdefault(package, "not installed")
    return out


if __name__ == "__main__":
    main()
