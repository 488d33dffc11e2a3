"""Benchmark: the full `score` path with top-5 reason codes against a bare LightGBM `predict` on the same rows.

One run builds a feature table (Parquet: valid codes, numeric features with missing values, one categorical) and
LightGBM PD models of the shapes asked for (500 trees each: leaf-wise with 31 or 63 leaves and no depth limit, or
depth 6), then, per model, alternates two child processes on the same rows:

* baseline: `booster.predict` of all rows, already in memory as the float matrix LightGBM reads;
* score: `score_file` end to end (read Parquet in chunks -> schema guard and row checks -> TreeSHAP -> PD, score,
  grade -> top-5 reason codes -> write Parquet scores and rejects), with its peak resident memory.

Each pair of runs gives a throughput ratio under the same machine load; the machine may be busy, so the ratios
are what to read, not the rows per second. Writes benchmarks/results/score.json.

    python benchmarks/bench_score.py                                  # 1,000,000 rows; 31 and 63 leaves, depth 6
    python benchmarks/bench_score.py --models leaves31 --rows 200000   # one model
    python benchmarks/bench_score.py --quick                           # 20,000 rows, 50 trees, one repeat
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "score.json"
SECTIONS = ("C", "I", "M", "F", "L", "G", "E")

PEAK_RSS = """
def peak_rss_mb():
    # VmHWM: this process's own peak (ru_maxrss survives exec on Linux, so it would report the parent's)
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

PREDICT_CHILD = PEAK_RSS + """
import json, sys, time
import numpy as np, pyarrow.parquet as pq
from techscore.model.pdmodel import PDModel
from techscore.scoring.guard import InputSchema, check_rows
model = PDModel.load(sys.argv[1])
table = pq.read_table(sys.argv[2], columns=model.feature_ids)
X = check_rows(table, InputSchema.from_model(model), require_id=False).X   # the matrix LightGBM reads
del table
model.booster.predict(X[:1000])                                               # warm-up
start = time.perf_counter()
p = model.booster.predict(X)
seconds = time.perf_counter() - start
print(json.dumps({"rows": len(X), "seconds": seconds,
                  "peak_rss_mb": peak_rss_mb()}))
"""

SCORE_CHILD = PEAK_RSS + """
import json, sys, time
from techscore.model.pdmodel import PDModel
from techscore.scoring import score_file
model = PDModel.load(sys.argv[1])
import techscore.explain.treeshap, pyarrow.parquet                            # imports outside the timing
import lightgbm as lgb, numpy as np                                           # kernels loaded outside the timing
X = np.random.default_rng(0).normal(size=(200, 3))
tiny = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 4}, lgb.Dataset(X, (X[:, 0] > 0) * 1), 2)
techscore.explain.treeshap.TreeShap(tiny).shap_values(X)
before = peak_rss_mb()
start = time.perf_counter()
s = score_file(model, sys.argv[2], sys.argv[3], reasons=int(sys.argv[4]), chunk_rows=int(sys.argv[5]))
seconds = time.perf_counter() - start
print(json.dumps({"rows": s.input, "scored": s.scored, "rejected": s.rejected, "seconds": seconds,
                  "rss_before_mb": before, "peak_rss_mb": peak_rss_mb()}))
"""


def make_features(n: int, n_numeric: int, seed: int):
    """A credit-like feature table: skewed ratios, counts, flags, an industry section, 5% missing values."""
    import pandas as pd

    from techscore.sources.uscc import complete

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_numeric))
    X[:, 1::4] = rng.lognormal(size=X[:, 1::4].shape)
    X[:, 2::4] = rng.poisson(2.0, size=X[:, 2::4].shape)
    X[:, 3::4] = rng.random(X[:, 3::4].shape) < 0.3
    section = rng.choice(SECTIONS, n, p=[0.35, 0.25, 0.15, 0.1, 0.05, 0.05, 0.05])
    logit = (X[:, 0] - 0.5 * np.log1p(X[:, 1]) + 0.3 * X[:, 2] * (X[:, 3] > 0) + 0.2 * X[:, 4:8].sum(axis=1)
             + 0.5 * (section == "F") - 2.5)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X[rng.random(X.shape) < 0.05] = np.nan
    numbers = rng.choice(10**9, size=n, replace=False)
    codes = complete(np.char.add("9144030", np.char.zfill(numbers.astype(str), 10)))
    frame = pd.DataFrame(X, columns=[f"x{i:02d}" for i in range(n_numeric)])
    frame.insert(0, "uscc", pd.array(codes, dtype="string"))
    frame["industry_section"] = pd.Categorical(section, categories=list(SECTIONS))
    return frame, y


MODELS = {"leaves31": (31, -1), "leaves63": (63, -1), "depth6": (63, 6)}
"""Model shapes: name -> (num_leaves, max_depth)."""


def build_model(frame, y, trees: int, leaves: int, depth: int, seed: int):
    from techscore.catalogue.meta import FeatureMeta
    from techscore.model.fit import fit_pd_model
    from techscore.specs import LearnerSpec, ModelSpec

    features = [FeatureMeta(id=c, group="bench", name_zh=c, name_en=c, description=c, unit="", sources=(), direction=0,
                            kind="categorical" if c == "industry_section" else "numeric")
                for c in frame.columns if c != "uscc"]
    spec = ModelSpec(name="bench", seed=seed, monotone=False, learner=LearnerSpec(
        num_leaves=leaves, max_depth=depth, learning_rate=0.05, num_boost_round=trees,
        early_stopping_rounds=0, refit=False, min_child_samples=5, num_threads=2, extra={"deterministic": True}))
    cut = int(0.8 * len(frame))
    model, _ = fit_pd_model(frame.iloc[:cut], y[:cut], frame.iloc[cut:], y[cut:], features, spec)
    return model


def child(code: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, of {', '.join(MODELS)}")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows scored (firms in the feature table)")
    parser.add_argument("--trees", type=int, default=500)
    parser.add_argument("--features", type=int, default=40, help="numeric features (plus one categorical)")
    parser.add_argument("--train-rows", type=int, default=50_000)
    parser.add_argument("--reasons", type=int, default=5)
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=2, help="pairs of (predict, score) runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 50 trees, 10,000 training rows, one repeat")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the table and models here (default: temp)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.trees, args.train_rows, args.repeats = min(args.rows, 20_000), 50, 10_000, 1
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; expected some of {', '.join(MODELS)}")

    with tempfile.TemporaryDirectory(prefix="bench-score-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        table = work / "features.parquet"
        rows, _ = make_features(args.rows, args.features, args.seed + 1)
        rows.to_parquet(table, index=False)  # pandas defaults: up to 1Mi rows in one row group
        del rows
        print(f"table: {args.rows:,} rows, {table.stat().st_size / 2**20:.0f} MiB "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
        train, y = make_features(args.train_rows, args.features, args.seed)
        result = {
            "benchmark": "score",
            "command": "python benchmarks/bench_score.py " + " ".join(sys.argv[1:] if argv is None else argv),
            "rows": args.rows, "reasons": args.reasons, "chunk_rows": args.chunk_rows,
            "models": {},
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        for name in names:  # the file is rewritten after each model, so a long run keeps what it measured
            leaves, depth = MODELS[name]
            result["models"][name] = bench_model(args, work / name, table, train, y, leaves, depth)
            print_table(name, result["models"][name], args)
            args.out.write_text(json.dumps(result, indent=2))
    return result


def bench_model(args, work: Path, table: Path, train, y, leaves: int, depth: int) -> dict:
    """Train one model, then alternate bare predict and score with reasons on the same table."""
    import pyarrow.parquet as pq

    from techscore.explain.treeshap import TreeShap

    t0 = time.perf_counter()
    model = build_model(train, y, args.trees, leaves, depth, args.seed)
    model_dir = model.save(work / "model")
    t_model = time.perf_counter() - t0
    print(f"model: {model.booster.num_trees()} trees, {leaves} leaves, max_depth {depth} ({t_model:.0f} s)", flush=True)
    load_before = os.getloadavg()
    runs = []
    for i in range(args.repeats):
        base = child(PREDICT_CHILD, str(model_dir), str(table))
        scored = child(SCORE_CHILD, str(model_dir), str(table), str(work / "scores.parquet"), str(args.reasons),
                       str(args.chunk_rows))
        pair = {"predict": base, "score": scored,
                "predict_rows_per_s": base["rows"] / base["seconds"],
                "score_rows_per_s": scored["rows"] / scored["seconds"]}
        pair["ratio"] = pair["score_rows_per_s"] / pair["predict_rows_per_s"]
        runs.append(pair)
        print(f"run {i + 1}: predict {pair['predict_rows_per_s']:,.0f} rows/s, score with top-{args.reasons} "
              f"{pair['score_rows_per_s']:,.0f} rows/s, ratio {pair['ratio']:.1%}, "
              f"score peak RSS {scored['peak_rss_mb']:.0f} MiB", flush=True)
    load_after = os.getloadavg()
    out = pq.read_table(work / "scores.parquet", columns=["pd"]).slice(0, 20_000).to_pandas()
    sample = pq.read_table(table).slice(0, 20_000).to_pandas()
    pd_error = float(np.max(np.abs(out["pd"].to_numpy() - model.predict_pd(sample))))
    ratios = [r["ratio"] for r in runs]
    engine = TreeShap(model.booster)
    return {
        "trees": model.booster.num_trees(), "num_leaves": leaves, "max_depth": depth,
        "features": args.features + 1, "categorical": 1, "train_rows": args.train_rows,
        "engine_layout": engine.stats, "engine_memory_bytes": engine.memory_bytes(args.chunk_rows),
        "input_mb": table.stat().st_size / 2**20,
        "output_mb": (work / "scores.parquet").stat().st_size / 2**20,
        "runs": runs,
        "ratio": {"best": max(ratios), "median": statistics.median(ratios), "min": min(ratios)},
        "score_peak_rss_mb": max(r["score"]["peak_rss_mb"] for r in runs),
        "score_rss_before_scoring_mb": max(r["score"]["rss_before_mb"] for r in runs),
        "max_abs_pd_error_vs_predict_pd_first_20000": pd_error,
        "load_avg_before": load_before, "load_avg_after": load_after,
    }


def print_table(name: str, r: dict, args) -> None:
    print(f"\n{name}: score vs bare predict, {r['trees']} trees ({r['num_leaves']} leaves, max_depth "
          f"{r['max_depth']}), {r['features']} features, {args.rows:,} rows, top-{args.reasons} reason codes, "
          f"chunks of {args.chunk_rows:,}")
    print(f"{'run':<6}{'predict rows/s':>16}{'score rows/s':>16}{'ratio':>10}{'score peak RSS':>18}")
    for i, run in enumerate(r["runs"], 1):
        print(f"{i:<6}{run['predict_rows_per_s']:>16,.0f}{run['score_rows_per_s']:>16,.0f}{run['ratio']:>10.1%}"
              f"{run['score']['peak_rss_mb']:>14,.0f} MiB")
    q = r["ratio"]
    print(f"ratio best {q['best']:.1%}, median {q['median']:.1%}, min {q['min']:.1%} (aim >= 25%); "
          f"max |PD - predict_pd| {r['max_abs_pd_error_vs_predict_pd_first_20000']:.1e}; load average before "
          f"{r['load_avg_before'][0]:.1f}, after {r['load_avg_after'][0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
