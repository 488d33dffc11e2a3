"""Benchmark: techscore's TreeSHAP engine against shap.TreeExplainer, LightGBM pred_contrib and woodelf.

All engines explain the same rows of the same LightGBM model in one run, each repeat timing every engine in
turn, so each repeat gives its own speed-up ratios under the same machine load; the best ratio and the spread
over repeats are reported. Numba compile time is kept out of the timings (a warm-up call) and reported apart:
cold (a fresh process with an empty numba cache) and warm (loading the cache).

    python benchmarks/bench_treeshap.py                      # 500 trees, depth 6, 2000 rows
    python benchmarks/bench_treeshap.py --rows 300 --trees 50 # quick

Writes benchmarks/results/treeshap.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "treeshap.json"

COLD_COMPILE = """
import time, numpy as np, lightgbm as lgb
t0 = time.perf_counter()
from techscore.explain.treeshap import TreeShap
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 3)); y = (X[:, 0] > 0).astype(int)
b = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 4}, lgb.Dataset(X, y), 2)
t1 = time.perf_counter(); e = TreeShap(b); e.shap_values(X); e.raw_margin(X); t2 = time.perf_counter()
print(t2 - t1)
"""


def make_data(n: int, n_features: int, nan_rate: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Credit-like synthetic data: skewed ratios, counts, interactions and missing values."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    X[:, 1::4] = rng.lognormal(size=X[:, 1::4].shape)
    X[:, 2::4] = rng.poisson(2.0, size=X[:, 2::4].shape)
    logit = X[:, 0] - 0.5 * np.log1p(X[:, 1]) + 0.3 * X[:, 2] * (X[:, 3] > 0) + 0.2 * X[:, 4:8].sum(axis=1)
    y = (logit + rng.logistic(size=n) > 0.5).astype(int)
    X[rng.random(X.shape) < nan_rate] = np.nan
    return X, y


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def cold_compile_seconds() -> float | None:
    """Compile time of the kernels in a fresh process with an empty numba cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        try:
            done = subprocess.run([sys.executable, "-c", COLD_COMPILE], env=env, capture_output=True, text=True,
                                  timeout=600, check=True)
        except (subprocess.SubprocessError, OSError):
            return None
        return float(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2000, help="rows explained by every engine")
    parser.add_argument("--trees", type=int, default=500)
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--leaves", type=int, default=63)
    parser.add_argument("--features", type=int, default=40)
    parser.add_argument("--train-rows", type=int, default=20000)
    parser.add_argument("--nan-rate", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-woodelf", action="store_true", help="skip woodelf-explainer even if installed")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-compile subprocess")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    import lightgbm as lgb
    import pandas as pd
    import psutil
    import shap

    from techscore.explain.treeshap import TreeShap

    load_before = os.getloadavg()
    busy_before = psutil.cpu_percent(interval=1.0)
    X, y = make_data(args.train_rows + args.rows, args.features, args.nan_rate, args.seed)
    X_train, y_train, X_test = X[: args.train_rows], y[: args.train_rows], X[args.train_rows:]
    params = {"objective": "binary", "num_leaves": args.leaves, "max_depth": args.depth, "learning_rate": 0.05,
              "min_data_in_leaf": 5, "verbose": -1, "seed": args.seed, "deterministic": True}
    t_train, booster = timed(lambda: lgb.train(params, lgb.Dataset(X_train, y_train), args.trees))
    frame = pd.DataFrame(X_test, columns=booster.feature_name())

    cold = None if args.no_cold else cold_compile_seconds()
    t_init, engine = timed(TreeShap, booster)
    t_first, _ = timed(engine.shap_values, X_test[:8])  # warm-up: loads (or compiles) the kernels

    explainer = shap.TreeExplainer(booster)

    def run_shap(data):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = explainer.shap_values(data)
        return out[1] if isinstance(out, list) else out

    engines = {
        "techscore": engine.shap_values,
        "lightgbm_pred_contrib": lambda data: booster.predict(data, pred_contrib=True)[:, :-1],
        "shap_tree_explainer": run_shap,
        "lightgbm_predict": lambda data: booster.predict(data, raw_score=True),
    }
    woodelf_note = "skipped (--no-woodelf)"
    if not args.no_woodelf:
        try:
            from woodelf import WoodelfExplainer

            wood = WoodelfExplainer(booster)
            wood.shap_values(frame.head(8), verbose=False)  # warm-up: loads the model
            engines["woodelf"] = lambda data: np.asarray(
                wood.shap_values(pd.DataFrame(data, columns=frame.columns), verbose=False), dtype=np.float64)
            woodelf_note = "woodelf-explainer (path-dependent, float32)"
        except Exception as exc:  # not installed, or fails on this model
            woodelf_note = f"skipped: {type(exc).__name__}: {exc}"[:200]

    seconds: dict[str, list[float]] = {k: [] for k in engines}
    outputs: dict[str, np.ndarray] = {}
    for _ in range(args.repeats):
        for name, fn in engines.items():
            dt, out = timed(fn, X_test)
            seconds[name].append(dt)
            outputs[name] = np.asarray(out)
    load_after = os.getloadavg()

    n = len(X_test)
    ratios = {  # per repeat, same-repeat ratio of techscore's speed to each engine's
        name: [s / t for s, t in zip(seconds[name], seconds["techscore"], strict=True)]
        for name in engines if name != "techscore"
    }
    reference = outputs["shap_tree_explainer"]
    diffs = {name: float(np.max(np.abs(outputs[name] - reference)))
             for name in engines if name not in ("shap_tree_explainer", "lightgbm_predict")}
    margin = engine.expected_value + outputs["techscore"].sum(axis=1)
    result = {
        "benchmark": "treeshap",
        "model": {"trees": booster.num_trees(), "num_leaves": args.leaves, "max_depth": args.depth,
                  "features": args.features, "train_rows": args.train_rows, "nan_rate": args.nan_rate,
                  "train_seconds": t_train},
        "rows": n,
        "repeats": args.repeats,
        "engine_layout": engine.stats,
        "techscore_init_seconds": t_init,
        "techscore_first_call_seconds": t_first,
        "numba_cold_compile_seconds": cold,
        "rows_per_second_best": {name: n / min(s) for name, s in seconds.items()},
        "seconds": seconds,
        "speedup_vs": {name: {"best": max(r), "median": statistics.median(r), "min": min(r)}
                       for name, r in ratios.items()},
        "max_abs_diff_vs_shap": diffs,
        "max_abs_margin_error_vs_raw_score": float(np.max(np.abs(margin - outputs["lightgbm_predict"]))),
        "woodelf": woodelf_note,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_avg_before": load_before, "load_avg_after": load_after,
                    "cpu_busy_percent_before": busy_before},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print_table(result)
    return result


def print_table(r: dict) -> None:
    m = r["model"]
    print(f"TreeSHAP, {m['trees']} trees (num_leaves {m['num_leaves']}, max_depth {m['max_depth']}), "
          f"{m['features']} features, {r['rows']} rows, best of {r['repeats']}")
    print(f"{'engine':<24}{'rows/s':>12}{'techscore x (best/med/min)':>30}{'max |diff| vs shap':>22}")
    for name, rps in r["rows_per_second_best"].items():
        sp = r["speedup_vs"].get(name)
        ratio = f"{sp['best']:.1f} / {sp['median']:.1f} / {sp['min']:.1f}" if sp else "-"
        diff = r["max_abs_diff_vs_shap"].get(name)
        print(f"{name:<24}{rps:>12.0f}{ratio:>30}{'' if diff is None else f'{diff:.2e}':>22}")
    cold = r["numba_cold_compile_seconds"]
    print(f"techscore init {r['techscore_init_seconds']:.2f} s, first call {r['techscore_first_call_seconds']:.2f} s, "
          f"cold numba compile {'n/a' if cold is None else f'{cold:.1f} s'}; tables "
          f"{r['engine_layout']['table_bytes'] / 2**20:.1f} MiB; peak RSS {r['peak_rss_mb']:.0f} MiB")
    print(f"load average before {r['machine']['load_avg_before'][0]:.2f}, after {r['machine']['load_avg_after'][0]:.2f} "
          f"on {r['machine']['cpus']} CPUs; woodelf: {r['woodelf']}")


if __name__ == "__main__":
    main()
