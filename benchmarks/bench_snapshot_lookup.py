"""Benchmark: looking up one firm's feature record in the service's snapshot store, three embedded stores compared.

Measured per store, on the same random featurized table: the time to build it from the table, to open it in a
fresh serving process, its size on disk, the memory it holds once open (RSS growth), and single-firm lookups
(p50/p99 over random known codes, one at a time, as the service does per request).

- `sqlite`: `techscore.serve.snapshot_store` (one JSON record per firm, primary key on the code; what is served);
- `parquet_dict`: Parquet read into pandas plus a dict from code to row (the record built from the row);
- `duckdb`: a DuckDB table with an index on the code (`SELECT * ... WHERE uscc = ?`).

    python benchmarks/bench_snapshot_lookup.py                               # full scale: 1,000,000 firms x 150
    python benchmarks/bench_snapshot_lookup.py --firms 20000 --lookups 2000 --out /tmp/snapshot_lookup.json  # smoke
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's techscore, whatever is installed
from techscore.serve.snapshot_store import open_snapshot, write_snapshot  # noqa: E402


def make_table(firms: int, features: int, seed: int = 0) -> pd.DataFrame:
    """Random codes (unique, not check-verified: lookups only) and numeric features, 5% missing, one category."""
    rng = np.random.default_rng(seed)
    codes = np.char.add("91440300", np.char.zfill(np.arange(firms).astype(str), 10))
    values = rng.lognormal(0, 1, (firms, features))
    values[rng.random(values.shape) < 0.05] = np.nan
    frame = pd.DataFrame(values, columns=[f"f_{j:03d}" for j in range(features)])
    frame.insert(0, "uscc", codes)
    frame["profile_industry_section"] = rng.choice(list("CIMFL"), firms)
    return frame


def _percentiles(seconds: list[float]) -> dict:
    us = np.asarray(seconds) * 1e6
    return {"p50_us": round(float(np.percentile(us, 50)), 1), "p99_us": round(float(np.percentile(us, 99)), 1),
            "mean_us": round(float(us.mean()), 1)}


def _measure(name: str, build, open_, lookup, codes: list[str], path: Path) -> dict:
    rss = psutil.Process().memory_info().rss
    t0 = time.perf_counter()
    build()
    built = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in path.rglob("*")) if path.is_dir() else path.stat().st_size
    rss = psutil.Process().memory_info().rss
    t0 = time.perf_counter()
    store = open_()
    opened = time.perf_counter() - t0
    held = psutil.Process().memory_info().rss - rss
    times = []
    for code in codes:
        t0 = time.perf_counter()
        record = lookup(store, code)
        times.append(time.perf_counter() - t0)
        assert record, code
    return {"store": name, "build_s": round(built, 2), "open_s": round(opened, 3), "disk_mb": round(size / 2**20, 1),
            "open_rss_mb": round(held / 2**20, 1), **_percentiles(times)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=150)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "snapshot_lookup.json")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    table = make_table(args.firms, args.features, args.seed)
    rng = np.random.default_rng(args.seed + 1)
    codes = table["uscc"].to_numpy()[rng.integers(0, len(table), args.lookups)].tolist()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-snapshot-") as tmp:
        folder = Path(tmp)
        info: dict = {}

        def build_sqlite() -> None:
            info["snap"] = write_snapshot(table, folder / "sqlite", as_of="2024-06-30")

        results.append(_measure("sqlite", build_sqlite, lambda: open_snapshot(info["snap"].path),
                                lambda s, c: s.lookup(c), codes, folder / "sqlite"))
        parquet = folder / "features.parquet"

        def open_parquet():
            frame = pd.read_parquet(parquet)
            return frame, {code: i for i, code in enumerate(frame["uscc"].tolist())}

        def lookup_parquet(store, code):
            frame, index = store
            return frame.iloc[index[code]].to_dict()

        results.append(_measure("parquet_dict", lambda: table.to_parquet(parquet, index=False), open_parquet,
                                lookup_parquet, codes, parquet))
        import duckdb

        db_path = folder / "features.duckdb"

        def build_duckdb() -> None:
            with duckdb.connect(str(db_path)) as db:
                db.register("t", table)
                db.execute("CREATE TABLE features AS SELECT * FROM t")
                db.execute("CREATE UNIQUE INDEX features_uscc ON features (uscc)")

        def lookup_duckdb(db, code):
            cursor = db.execute("SELECT * FROM features WHERE uscc = ?", [code])
            names = [d[0] for d in cursor.description]
            return dict(zip(names, cursor.fetchone(), strict=True))

        results.append(_measure("duckdb", build_duckdb, lambda: duckdb.connect(str(db_path), read_only=True),
                                lookup_duckdb, codes, db_path))
    command = shlex.join(["python", "benchmarks/bench_snapshot_lookup.py", *(sys.argv[1:] if argv is None else argv)])
    out = {"command": command, "scale": "full" if args.firms >= 1_000_000 else "small (not the stated figure)",
           "firms": args.firms, "features": args.features,
           "lookups": args.lookups, "cpus": psutil.cpu_count(), "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(json.dumps(out, indent=2) + "\n")
    return out


if __name__ == "__main__":
    main()
