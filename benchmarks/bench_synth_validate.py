"""Speed and memory of generating a synthetic world and of validating it, each in its own child process.

For N firms:

* synth: `techscore.synth.generate(N, seed, out)`: rows written per second (all seven tables) and peak RSS;
* validate: `techscore.sources.validation.validate(out)` on that world: rows checked per second and peak RSS;
* baselines, measured in the same run on the same files: ``copy`` reads every table with pyarrow and writes it
  again as zstd Parquet (the I/O floor of writing the world), ``read`` reads every table into pandas (the floor of
  validating it). Reported as ratios synth / copy and validate / read.

Target (issue "Foundation"): 1,000,000 firms in a few minutes, peak RSS < 8 GiB for both.

    python benchmarks/bench_synth_validate.py --firms 20000          # quick
    python benchmarks/bench_synth_validate.py --firms 1000000        # the figure

Results: a table on stdout and `benchmarks/results/synth_validate.json`.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "synth_validate.json"
TABLES = ("enterprises", "financials", "ip_rights", "innovation_indicators", "supply_chain", "tax", "loans")


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def child_synth(firms: int, seed: int, out: str) -> dict:
    from techscore.synth import generate

    t0 = time.perf_counter()
    summary = generate(firms, seed, out)
    return {"seconds": time.perf_counter() - t0, "rows": summary.rows, "peak_rss_gib": peak_rss_gib(),
            "default_rate_12m": summary.default_rate_12m}


def child_validate(out: str) -> dict:
    from techscore.sources.validation import validate

    t0 = time.perf_counter()
    result = validate(out)
    return {"seconds": time.perf_counter() - t0, "rows": {k: int(v) for k, v in result.counts["input"].items()},
            "problems": len(result.problems), "peak_rss_gib": peak_rss_gib()}


def child_copy(out: str) -> dict:
    import pyarrow.parquet as pq

    out = Path(out)
    t0 = time.perf_counter()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for t in TABLES:
            table = pq.read_table(out / f"{t}.parquet")
            pq.write_table(table, Path(tmp) / f"{t}.parquet", compression="zstd")
            rows[t] = table.num_rows
            del table
    return {"seconds": time.perf_counter() - t0, "rows": rows, "peak_rss_gib": peak_rss_gib()}


def child_read(out: str) -> dict:
    import pandas as pd

    out = Path(out)
    t0 = time.perf_counter()
    frames = {t: pd.read_parquet(out / f"{t}.parquet") for t in TABLES}
    return {"seconds": time.perf_counter() - t0, "rows": {t: len(f) for t, f in frames.items()},
            "peak_rss_gib": peak_rss_gib()}


CHILDREN = {"synth": child_synth, "validate": child_validate, "copy": child_copy, "read": child_read}


def run_child(name: str, *args: object) -> dict:
    """Run one measurement in a fresh interpreter; it prints its result as JSON on the last line."""
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); "
            f"import bench_synth_validate as b; print(json.dumps(b.CHILDREN[{name!r}](*{list(args)!r})))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="world folder (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "world"
        results = {
            "synth": run_child("synth", args.firms, args.seed, str(out)),
            "copy": run_child("copy", str(out)),
            "read": run_child("read", str(out)),
        }
        try:
            results["validate"] = run_child("validate", str(out))
        except RuntimeError as exc:  # the validator is another module; report without it
            results["validate"] = {"error": str(exc)[-500:]}
    rows = sum(results["synth"]["rows"].values())
    for r in results.values():
        if "seconds" in r:
            r["rows_per_second"] = rows / r["seconds"]
    report = {
        "firms": args.firms, "seed": args.seed, "total_rows": rows, "rows": results["synth"]["rows"],
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "results": results,
        "ratios": {
            "synth_over_copy": results["synth"]["seconds"] / results["copy"]["seconds"],
            "validate_over_read": (results["validate"]["seconds"] / results["read"]["seconds"]
                                   if "seconds" in results["validate"] else None),
        },
    }
    print(f"synthetic world: {args.firms:,} firms, {rows:,} rows")
    print(f"{'step':<10}{'seconds':>10}{'rows/s':>14}{'peak RSS GiB':>14}")
    for name, r in results.items():
        if "seconds" in r:
            print(f"{name:<10}{r['seconds']:>10.1f}{r['rows_per_second']:>14,.0f}{r['peak_rss_gib']:>14.2f}")
        else:
            print(f"{name:<10} failed: {r['error'][:200]}")
    for name, value in report["ratios"].items():
        if value is not None:
            print(f"{name}: {value:.2f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
