"""Speed and memory of computing the whole feature catalogue, against reading the raw tables.

For a synthetic world of N firms (`techscore.synth.generate`), at one as-of date:

* baseline: read the seven raw Parquet tables into pandas (`pandas.read_parquet`, pyarrow engine);
* techscore: compute ALL catalogue features for ALL firms (`Catalogue.compute`, point-in-time views included)
  from the tables already in memory (loaded by `techscore.sources.load.load_sources`, timed separately).

Each measurement runs in its own child process (so its peak memory is its own); each is repeated and the fastest
run kept. Target (issue: feature catalogue, part 5): compute / read <= 3 at N = 1,000,000 with peak memory of
the computing process < 8 GiB. The slowest nodes and features are listed so a slow one can be found.
(`bench_feature_catalogue.py` times the same on a denser random world, in one process.)

    python benchmarks/bench_features.py --firms 10000              # quick
    python benchmarks/bench_features.py --firms 1000000 --repeat 2 # the figure

Results: a table on stdout and `benchmarks/results/features.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "features.json"
TABLES = ("enterprises", "financials", "ip_rights", "innovation_indicators", "supply_chain", "tax", "loans")


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def child_read(world: Path) -> dict:
    import pandas as pd

    t0 = time.perf_counter()
    frames = {t: pd.read_parquet(world / f"{t}.parquet") for t in TABLES if (world / f"{t}.parquet").exists()}
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": {t: len(f) for t, f in frames.items()}, "peak_rss_gib": peak_rss_gib()}


def child_features(world: Path, as_of: str) -> dict:
    from techscore.catalogue import load_catalogue
    from techscore.sources.load import load_sources

    t0 = time.perf_counter()
    sources = load_sources(world)
    load_seconds = time.perf_counter() - t0
    rss_loaded = peak_rss_gib()
    cat = load_catalogue(ROOT)
    timings: dict[str, float] = {}
    t1 = time.perf_counter()
    frame = cat.compute(sources, as_of, timings=timings)
    seconds = time.perf_counter() - t1
    slowest = sorted(timings.items(), key=lambda kv: -kv[1])[:15]
    return {
        "seconds": seconds, "load_seconds": load_seconds, "firms": len(frame), "features": frame.shape[1],
        "catalogue_version": cat.version, "peak_rss_gib": peak_rss_gib(), "rss_after_load_gib": rss_loaded,
        "missing_share": float(frame.isna().to_numpy().mean()), "slowest": slowest,
    }


def run_child(mode: str, world: Path, as_of: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--world", str(world), "--as-of", as_of],
        check=True, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def ensure_world(n_firms: int, seed: int, folder: Path | None) -> Path:
    folder = folder or Path(tempfile.gettempdir()) / f"techscore-bench-world-{n_firms}-{seed}"
    meta = folder / "world.json"
    if meta.exists():
        config = json.loads(meta.read_text())["config"]
        if config["n_firms"] == n_firms and config["seed"] == seed:
            return folder
    from techscore.synth import generate

    print(f"generating a world of {n_firms:,} firms in {folder} ...", flush=True)
    t0 = time.perf_counter()
    generate(n_firms, seed, folder)
    print(f"  done in {time.perf_counter() - t0:.0f} s", flush=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--firms", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default="2026-01-01", help="as-of date (default: just after the world ends)")
    parser.add_argument("--world", type=Path, default=None, help="use (or create) the world in this folder")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", choices=("read", "features"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child == "read":
        print(json.dumps(child_read(args.world)))
        return
    if args.child == "features":
        print(json.dumps(child_features(args.world, args.as_of)))
        return

    world = ensure_world(args.firms, args.seed, args.world)
    run_child("read", world, args.as_of)  # warm the OS file cache; not counted
    reads, feats = [], []
    for _ in range(args.repeat):  # interleaved, so background load hits both alike
        reads.append(run_child("read", world, args.as_of))
        feats.append(run_child("features", world, args.as_of))
    read = min(reads, key=lambda r: r["seconds"])
    feat = min(feats, key=lambda r: r["seconds"])
    ratio = feat["seconds"] / read["seconds"]
    result = {
        "firms": args.firms, "seed": args.seed, "as_of": args.as_of, "repeat": args.repeat,
        "rows": read["rows"], "features": feat["features"], "catalogue_version": feat["catalogue_version"],
        "baseline_read_parquet_seconds": read["seconds"], "baseline_peak_rss_gib": read["peak_rss_gib"],
        "load_sources_seconds": feat["load_seconds"], "compute_seconds": feat["seconds"],
        "ratio_compute_to_read": ratio, "target_ratio": 3.0,
        "features_peak_rss_gib": feat["peak_rss_gib"], "rss_after_load_gib": feat["rss_after_load_gib"],
        "target_peak_rss_gib": 8.0, "missing_share": feat["missing_share"],
        "slowest": [{"id": k, "seconds": v} for k, v in feat["slowest"]],
        "cpu_count": os.cpu_count(), "load_average": os.getloadavg(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))

    print(f"\nfeature catalogue, {args.firms:,} firms, {feat['features']} features, as of {args.as_of}")
    print(f"{'measure':<44}{'seconds':>10}{'peak GiB':>10}")
    print(f"{'baseline: read raw Parquet (pandas)':<44}{read['seconds']:>10.2f}{read['peak_rss_gib']:>10.2f}")
    print(f"{'load_sources (typed, for information)':<44}{feat['load_seconds']:>10.2f}{'':>10}")
    print(f"{'compute all features (views included)':<44}{feat['seconds']:>10.2f}{feat['peak_rss_gib']:>10.2f}")
    verdict = "ok" if ratio <= 3 and feat["peak_rss_gib"] < 8 else "OVER TARGET"
    print(f"ratio compute / read = {ratio:.2f} (target <= 3), peak {feat['peak_rss_gib']:.2f} GiB (< 8): {verdict}")
    print("slowest steps:", ", ".join(f"{k} {v:.2f}s" for k, v in feat["slowest"][:8]))
    print(f"written {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
