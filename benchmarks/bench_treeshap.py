"""Benchmark: techscore's TreeSHAP engine against shap.TreeExplainer, LightGBM pred_contrib and woodelf.

One run trains LightGBM models of several shapes on the same credit-like data: leaf-wise models of 15, 31, 63 and
255 leaves without a depth limit (500 trees each) and the depth-limited ones (300 trees of depth 4, 500 of depth
6). On each model every engine explains the same rows, each repeat timing every engine in turn, so each repeat
gives its own speed-up ratios under the same machine load; the best ratio and the spread over repeats are
reported. Engines: techscore (`method="auto"`: pattern tables or the linear-time pass, per tree), techscore with
tables only (the engine before the linear-time pass), `pred_contrib`, `shap.TreeExplainer`, woodelf and plain
`predict`. Numba compile time is kept out of the timings (a warm-up call) and reported apart. The engine's memory
(tables, plan, per-thread scratch) is stored per model.

    python benchmarks/bench_treeshap.py                      # every model, 2000 rows (quiet machine)
    python benchmarks/bench_treeshap.py --models leaves31,leaves63 --rows 5000
    python benchmarks/bench_treeshap.py --quick              # 100 trees, 200 rows: a rough look

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


SLOW_ENGINES = ("lightgbm_pred_contrib", "shap_tree_explainer")
MODELS = {  # name: (trees, num_leaves, max_depth)
    "depth4": (300, 15, 4),
    "depth6": (500, 63, 6),
    "leaves15": (500, 15, -1),
    "leaves31": (500, 31, -1),
    "leaves63": (500, 63, -1),
    "leaves255": (500, 255, -1),
}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, of {', '.join(MODELS)}")
    parser.add_argument("--rows", type=int, default=2000, help="rows explained by every engine")
    parser.add_argument("--slow-rows", type=int, default=None,
                        help="rows for pred_contrib and shap.TreeExplainer, whose cost per row is fixed (default: "
                             "--rows); their rows per second are compared with the others'")
    parser.add_argument("--woodelf-rows", type=int, default=None,
                        help="rows for woodelf (default: --rows; its cost per row falls as rows grow)")
    parser.add_argument("--trees", type=int, default=None, help="trees of every model (default: per model)")
    parser.add_argument("--features", type=int, default=60)
    parser.add_argument("--train-rows", type=int, default=20000)
    parser.add_argument("--nan-rate", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="100 trees, 200 rows, 5000 training rows, one repeat, no cold compile")
    parser.add_argument("--no-woodelf", action="store_true", help="skip woodelf-explainer even if installed")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-compile subprocess")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.trees = args.trees or 100
        args.rows, args.train_rows, args.repeats, args.no_cold = min(args.rows, 200), 5000, 1, True
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; expected some of {', '.join(MODELS)}")

    import psutil

    load_before = os.getloadavg()
    busy_before = psutil.cpu_percent(interval=1.0)
    cold = None if args.no_cold else cold_compile_seconds()
    X, y = make_data(args.train_rows + args.rows, args.features, args.nan_rate, args.seed)
    data = (X[: args.train_rows], y[: args.train_rows], X[args.train_rows:])
    models = {}
    for name in names:
        trees, leaves, depth = MODELS[name]
        models[name] = bench_model(args, data, args.trees or trees, leaves, depth)
        print_table(name, models[name])
    result = {
        "benchmark": "treeshap",
        "command": "python benchmarks/bench_treeshap.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "rows": len(data[2]),
        "repeats": args.repeats,
        "data": {"features": args.features, "train_rows": args.train_rows, "nan_rate": args.nan_rate},
        "numba_cold_compile_seconds": cold,
        "models": models,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_avg_before": load_before, "load_avg_after": os.getloadavg(),
                    "cpu_busy_percent_before": busy_before},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    return result


def bench_model(args, data, trees: int, leaves: int, depth: int) -> dict:
    """Train one model and time every engine on the same rows; ratios are techscore's speed over each engine's."""
    import lightgbm as lgb
    import pandas as pd
    import shap

    from techscore.explain.treeshap import TreeShap

    X_train, y_train, X_test = data
    params = {"objective": "binary", "num_leaves": leaves, "max_depth": depth, "learning_rate": 0.05,
              "min_data_in_leaf": 5, "verbose": -1, "seed": args.seed, "deterministic": True}
    t_train, booster = timed(lambda: lgb.train(params, lgb.Dataset(X_train, y_train), trees))
    frame = pd.DataFrame(X_test, columns=booster.feature_name())
    t_init, engine = timed(TreeShap, booster)
    t_first, _ = timed(engine.shap_values, X_test[:8])  # warm-up: loads (or compiles) the kernels
    t_init_tables, tables_only = timed(lambda: TreeShap(booster, method="tables"))
    tables_only.shap_values(X_test[:8])
    explainer = shap.TreeExplainer(booster)

    def run_shap(rows):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = explainer.shap_values(rows)
        return out[1] if isinstance(out, list) else out

    engines = {
        "techscore": engine.shap_values,
        "techscore_tables_only": tables_only.shap_values,
        "lightgbm_pred_contrib": lambda rows: booster.predict(rows, pred_contrib=True)[:, :-1],
        "shap_tree_explainer": run_shap,
        "lightgbm_predict": lambda rows: booster.predict(rows, raw_score=True),
    }
    woodelf_note = "skipped (--no-woodelf)"
    if not args.no_woodelf:
        try:
            from woodelf import WoodelfExplainer

            wood = WoodelfExplainer(booster)
            wood.shap_values(frame.head(8), verbose=False)  # warm-up: loads the model
            engines["woodelf"] = lambda rows: np.asarray(
                wood.shap_values(pd.DataFrame(rows, columns=frame.columns), verbose=False), dtype=np.float64)
            woodelf_note = "woodelf-explainer (path-dependent, float32)"
        except Exception as exc:  # not installed, or fails on this model
            woodelf_note = f"skipped: {type(exc).__name__}: {exc}"[:200]

    slow = min(args.slow_rows or len(X_test), len(X_test))
    rows_of = {name: slow if name in SLOW_ENGINES else len(X_test) for name in engines}
    if "woodelf" in engines:
        rows_of["woodelf"] = min(args.woodelf_rows or len(X_test), len(X_test))
    seconds: dict[str, list[float]] = {k: [] for k in engines}
    outputs: dict[str, np.ndarray] = {}
    for _ in range(args.repeats):
        for name, fn in engines.items():
            dt, out = timed(fn, X_test[: rows_of[name]])
            seconds[name].append(dt)
            outputs[name] = np.asarray(out)
    per_row = {name: [s / rows_of[name] for s in secs] for name, secs in seconds.items()}
    ratios = {  # per repeat, same-repeat ratio of techscore's speed to each engine's
        name: [s / t for s, t in zip(per_row[name], per_row["techscore"], strict=True)]
        for name in engines if name != "techscore"
    }
    reference = outputs["lightgbm_pred_contrib"]
    common = min(rows_of.values())
    diffs = {name: float(np.max(np.abs(outputs[name][:common] - reference[:common])))
             for name in engines if name not in ("lightgbm_pred_contrib", "lightgbm_predict")}
    margin = engine.expected_value + outputs["techscore"].sum(axis=1)
    return {
        "trees": booster.num_trees(), "num_leaves": leaves, "max_depth": depth,
        "deepest_path": max_depth_of(booster), "train_seconds": t_train,
        "engine_layout": engine.stats,
        "engine_memory_bytes": engine.memory_bytes(),
        "tables_only_layout": tables_only.stats,
        "techscore_init_seconds": t_init,
        "techscore_tables_only_init_seconds": t_init_tables,
        "techscore_first_call_seconds": t_first,
        "rows": rows_of,
        "rows_per_second_best": {name: 1 / min(s) for name, s in per_row.items()},
        "seconds": seconds,
        "speedup_vs": {name: {"best": max(r), "median": statistics.median(r), "min": min(r)}
                       for name, r in ratios.items()},
        "max_abs_diff_vs_pred_contrib": diffs,
        "max_abs_margin_error_vs_raw_score": float(np.max(np.abs(margin - outputs["lightgbm_predict"]))),
        "woodelf": woodelf_note,
    }


def max_depth_of(booster) -> int:
    """Most splits on a root-to-leaf path over the model's trees."""
    from techscore.explain._tree_arrays import model_arrays

    deepest = 0
    for tree in model_arrays(booster).trees:
        stack = [(0, 1)] if tree.n_internal else []
        while stack:
            node, depth = stack.pop()
            deepest = max(deepest, depth)
            stack += [(int(c), depth + 1) for c in (tree.left_child[node], tree.right_child[node]) if c >= 0]
    return deepest


def print_table(name: str, r: dict) -> None:
    print(f"{name}: {r['trees']} trees (num_leaves {r['num_leaves']}, max_depth {r['max_depth']}, deepest path "
          f"{r['deepest_path']}), techscore x (best/median/min)")
    for engine, rps in r["rows_per_second_best"].items():
        sp = r["speedup_vs"].get(engine)
        ratio = f"{sp['best']:.1f} / {sp['median']:.1f} / {sp['min']:.1f}" if sp else "-"
        diff = r["max_abs_diff_vs_pred_contrib"].get(engine)
        print(f"  {engine:<24}{rps:>12.0f} rows/s{ratio:>24}{'' if diff is None else f'{diff:>12.1e}'}")
    mem = r["engine_memory_bytes"]
    print(f"  init {r['techscore_init_seconds']:.2f} s; layout {r['engine_layout']}; memory bound "
          f"{mem['bound'] / 2**20:.1f} MiB; woodelf: {r['woodelf']}")


if __name__ == "__main__":
    main()
