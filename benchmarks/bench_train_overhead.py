"""Benchmark: techscore's model fit against a bare `lightgbm.train` with the same parameters on the same data.

Baseline ("bare"): `lightgbm.Dataset` of the training and validation frames, `lightgbm.train` with the same
parameter dict techscore builds from the model spec (same seed, threads, constraints, rounds) and LightGBM's own
early-stopping callback, then the predicted validation margins (what any user does to check or calibrate).

Measured ("techscore"): `techscore.model.fit.fit_pd_model`, the core fit path every training, tuning trial,
joint-modelling fit and `TechScoreClassifier.fit` goes through: spec -> parameters and monotone constraints,
category lists kept with the features, name checks, Dataset construction, `lightgbm.train` with early stopping
and the learning-curve recorder, the booster trimmed to its best iteration (model-string round trip), the
validation margins, Platt calibration, and the `PDModel` assembly. Not included: loading data, the challenger
scorecard, evaluation, plots and MLflow logging (those are the pipeline's reporting, not fitting).

The two are run alternately `--repeats` times in one process (best time of each kept) and the overhead is
`techscore / bare - 1` (target < 25%). Peak RSS of each, measured in a separate child process, is reported too.

    python benchmarks/bench_train_overhead.py --data polish --repeats 3    # quick: Polish data (7,027 x 64)
    python benchmarks/bench_train_overhead.py --rows 200000               # Polish and 200k synthetic loans
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from techscore.catalogue.meta import FeatureMeta
from techscore.dataset.frame import LoanDataset
from techscore.model.fit import fit_pd_model, with_categories
from techscore.model.lgbm import lgb_params
from techscore.specs import LearnerSpec, ModelSpec

ROOT = Path(__file__).resolve().parents[1]
POLISH = Path(__file__).resolve().parents[2] / "shared" / "data" / "polish_bankruptcy" / "1year.arff"


def synthetic(rows: int, seed: int = 0) -> LoanDataset:
    """`rows` loans with 20 numeric features (half with a declared direction) and one categorical."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 20))
    z = -3 + X[:, :10] @ np.linspace(0.6, -0.6, 10)
    cat = rng.choice(list("ABCDEFGH"), rows)
    y = (rng.random(rows) < 1 / (1 + np.exp(-(z + (cat == "A"))))).astype(np.int64)
    X[rng.random(X.shape) < 0.05] = np.nan
    frame = pd.DataFrame(X, columns=[f"x{i:02d}" for i in range(20)])
    frame["sector"] = pd.Categorical(cat, categories=list("ABCDEFGH"))
    frame.insert(0, "label", y)
    directions = [1 if c > 0 else -1 for c in np.linspace(0.6, -0.6, 10)] + [0] * 10
    features = [FeatureMeta(id=f"x{i:02d}", group="finance", name_zh=f"x{i}", name_en=f"x{i}", description="",
                            unit="ratio", sources=(), direction=d) for i, d in enumerate(directions)]  # type: ignore[arg-type]
    features.append(FeatureMeta(id="sector", group="profile", name_zh="sector", name_en="sector", description="",
                                unit="category", sources=(), direction=0, kind="categorical"))
    return LoanDataset(frame=frame, features=features, fingerprint="synthetic", name="synthetic")


def load(data: str, rows: int) -> LoanDataset:
    if data == "polish":
        from techscore.dataset.tabular import load_tabular

        return load_tabular(POLISH, target="bankruptcy")
    return synthetic(rows)


def spec(rounds: int, threads: int) -> ModelSpec:
    return ModelSpec(name="bench", seed=1, learner=LearnerSpec(learning_rate=0.05, num_leaves=31,
                                                               num_boost_round=rounds, early_stopping_rounds=50,
                                                               num_threads=threads))


def split(ds: LoanDataset) -> tuple:
    y = ds.y.to_numpy()
    n = len(y)
    rng = np.random.default_rng(0)
    order = rng.permutation(n)
    train, valid = np.sort(order[: int(0.8 * n)]), np.sort(order[int(0.8 * n):])
    return ds.X.iloc[train], y[train], ds.X.iloc[valid], y[valid]


def run_bare(ds: LoanDataset, s: ModelSpec, parts: tuple) -> tuple[float, int]:
    Xt, yt, Xv, yv = parts
    params = lgb_params(s.learner, s.seed, with_categories(ds.features, Xt), s.monotone)
    t = time.perf_counter()
    train = lgb.Dataset(Xt, label=yt)
    valid = lgb.Dataset(Xv, label=yv, reference=train)
    booster = lgb.train(params, train, num_boost_round=s.learner.num_boost_round, valid_sets=[valid],
                        callbacks=[lgb.early_stopping(s.learner.early_stopping_rounds, verbose=False)])
    booster.predict(Xv, raw_score=True, num_iteration=booster.best_iteration)
    return time.perf_counter() - t, booster.best_iteration


def run_techscore(ds: LoanDataset, s: ModelSpec, parts: tuple) -> tuple[float, int]:
    Xt, yt, Xv, yv = parts
    t = time.perf_counter()
    model, fit = fit_pd_model(Xt, yt, Xv, yv, ds.features, s)
    return time.perf_counter() - t, fit.best_iteration


def _child(which: str, data: str, rows: int, rounds: int, threads: int, queue) -> None:
    ds = load(data, rows)
    parts = split(ds)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    (run_bare if which == "bare" else run_techscore)(ds, spec(rounds, threads), parts)
    queue.put((before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def peak_rss(which: str, args) -> dict[str, float]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(which, args.data, args.rows, args.rounds, args.threads, queue))
    proc.start()
    before, after = queue.get()
    proc.join()
    return {"peak_rss_mb": after / 1024, "fit_rss_growth_mb": (after - before) / 1024}


def measure(data: str, args) -> dict:
    """Time both fits alternately on `data`; peak RSS of each in a child process."""
    ds = load(data, args.rows)
    s = spec(args.rounds, args.threads)
    parts = split(ds)
    times: dict[str, list[float]] = {"bare": [], "techscore": []}
    iterations = {}
    run_techscore(ds, s, parts)  # warm-up: imports, first allocation
    for r in range(args.repeats):
        for name, fn in (("bare", run_bare), ("techscore", run_techscore))[:: 1 if r % 2 == 0 else -1]:
            seconds, best = fn(ds, s, parts)
            times[name].append(seconds)
            iterations[name] = best
    best = {k: min(v) for k, v in times.items()}
    median = {k: float(np.median(v)) for k, v in times.items()}
    args.data = data
    memory = {k: peak_rss(k, args) for k in ("bare", "techscore")}
    print(f"\ndata: {data} ({len(ds.frame):,} rows x {len(ds.features)} features), train {len(parts[0]):,} / "
          f"valid {len(parts[2]):,}; threads {args.threads}; best iteration {iterations['techscore']} "
          f"(bare {iterations['bare']}); {args.repeats} alternating repeats")
    print(f"{'':<12}{'best s':>10}{'median s':>10}{'peak RSS MB':>13}")
    for k in ("bare", "techscore"):
        print(f"{k:<12}{best[k]:>10.3f}{median[k]:>10.3f}{memory[k]['peak_rss_mb']:>13.0f}")
    overhead = best["techscore"] / best["bare"] - 1
    print(f"overhead (best): {overhead:+.1%}   (median: {median['techscore'] / median['bare'] - 1:+.1%}; "
          "target < +25%)")
    return {
        "data": data, "rows": len(ds.frame), "features": len(ds.features), "threads": args.threads,
        "rounds_max": args.rounds, "best_iteration": iterations, "repeats": args.repeats, "seconds": times,
        "best_seconds": best, "median_seconds": median, "overhead_best": overhead,
        "overhead_median": median["techscore"] / median["bare"] - 1, "memory": memory,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="polish,synthetic", help="polish, synthetic or both (comma-separated)")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the synthetic data")
    parser.add_argument("--rounds", type=int, default=2000, help="maximum boosting rounds (early stopping on)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "train_overhead.json")
    args = parser.parse_args()
    datasets = [d.strip() for d in args.data.split(",") if d.strip()]
    unknown = set(datasets) - {"polish", "synthetic"}
    if unknown:
        parser.error(f"--data must name polish and/or synthetic; got {', '.join(sorted(unknown))}")
    results = [measure(d, args) for d in datasets]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "train_overhead", "results": results,
        "included": "fit_pd_model: params from spec, categories, name checks, Datasets, lightgbm.train with early "
                    "stopping and learning-curve recording, trim to best iteration, validation margins, Platt, PDModel",
        "baseline": "lightgbm.Dataset x2 + lightgbm.train(same params, early_stopping) + validation margins",
    }, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
