"""Benchmark: the whole feature catalogue as of one date, against reading the raw Parquet it is computed from.

Baseline: reading the seven raw Parquet tables into typed pandas frames (`techscore.sources.load_sources`, as every
command reads them; the least any run must do); also shown, the bare `pd.read_parquet` of the same files. Measured: the catalogue's
`compute` for every firm (the engine's point-in-time views plus all features), on the tables already in memory,
and the features alone (compute minus the point-in-time cut). The figures are ratios to the read (target: at most
about 3). Also reports the slowest nodes and features and the peak memory of the process.

    python benchmarks/bench_feature_catalogue.py --firms 20000          # quick
    python benchmarks/bench_feature_catalogue.py --firms 1000000        # the issue's size (~10M IP rights, ~20M invoices)
    python benchmarks/bench_feature_catalogue.py --firms 1000000 --synth --as-of 2025-06-01   # `techscore synth` world
    python benchmarks/bench_feature_catalogue.py --folder data/world --as-of 2025-06-01      # an existing world
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from techscore.catalogue import load_catalogue
from techscore.sources.load import load_sources
from techscore.sources.schema import CERTIFICATIONS, INNOVATION_INDICATORS, IP_KINDS, TABLE_NAMES

ROOT = Path(__file__).resolve().parents[1]
AS_OF = pd.Timestamp("2024-07-01")


def _dates(rng: np.random.Generator, start: str, span_days: int, n: int) -> pd.Series:
    return pd.Series(pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, span_days, n), unit="D"))


def make_world(n: int, ip_per_firm: float = 10, trades_per_firm: float = 20, seed: int = 0) -> dict[str, pd.DataFrame]:
    """A random platform of `n` firms with realistic shapes (not realistic values): enough to time the catalogue."""
    rng = np.random.default_rng(seed)
    uscc = pd.Series(np.char.add("9144030", np.char.zfill(np.arange(n).astype(str), 11)), dtype="string")
    ent = pd.DataFrame({
        "uscc": uscc, "name": uscc,
        "industry": pd.Series(rng.choice(["C39", "I65", "M73", "C35", "F51"], n), dtype="string"),
        "region": pd.Series(rng.choice(["440300", "420100", "450100", "110108"], n), dtype="string"),
        "founded": _dates(rng, "1995-01-01", 365 * 29, n),
        "registered_capital": rng.lognormal(15, 1, n),
        "chain_leader": pd.array(rng.random(n) < 0.01, dtype="boolean"),
    })
    for c in CERTIFICATIONS:
        ent[c] = _dates(rng, "2010-01-01", 365 * 15, n).where(rng.random(n) < 0.2)
    firm_year = np.repeat(np.arange(n), 5)
    years = np.tile(np.arange(2019, 2024), n)
    m = len(firm_year)
    revenue = rng.lognormal(17, 1.5, m)
    fin = pd.DataFrame({
        "uscc": uscc.take(firm_year).reset_index(drop=True), "year": pd.array(years, dtype="Int64"),
        "revenue": revenue, "rd_expense": revenue * rng.uniform(0, 0.1, m),
        "total_assets": revenue * rng.uniform(0.5, 2, m), "total_liabilities": revenue * rng.uniform(0.1, 1.5, m),
        "net_profit": revenue * rng.normal(0.05, 0.1, m), "operating_cash_flow": revenue * rng.normal(0.05, 0.1, m),
        "total_costs": revenue * rng.uniform(0.7, 1.0, m), "employees": pd.array(rng.integers(5, 800, m), dtype="Int64"),
        "rd_staff": pd.array(rng.integers(0, 100, m), dtype="Int64"), "high_tech_revenue": revenue * rng.random(m),
    })
    ind = pd.DataFrame({"uscc": fin["uscc"], "year": fin["year"]})
    for c in INNOVATION_INDICATORS:
        ind[c] = np.where(rng.random(m) < 0.1, np.nan, rng.lognormal(0, 1, m))
    k = int(n * ip_per_firm)
    filed = _dates(rng, "2004-01-01", 365 * 20, k)
    granted = (filed + pd.to_timedelta(rng.integers(100, 1500, k), unit="D")).where(rng.random(k) < 0.7)
    ip = pd.DataFrame({
        "uscc": uscc.take(rng.integers(0, n, k)).reset_index(drop=True),
        "ip_id": pd.Series(np.char.add("IP", np.arange(k).astype(str)), dtype="string"),
        "kind": pd.Series(rng.choice(np.array(IP_KINDS), k, p=[.25, .3, .1, .15, .15, .03, .02]), dtype="string"),
        "filed": filed, "granted": granted,
        "status": pd.Series(np.where(granted.notna(), rng.choice(["granted", "lapsed", "invalid"], k, p=[.85, .1, .05]),
                                     "pending"), dtype="string"),
        "status_date": (granted + pd.to_timedelta(rng.integers(0, 2000, k), unit="D")).where(rng.random(k) < 0.2),
        "expires": pd.Series(pd.NaT, index=range(k), dtype="datetime64[ns]"),
        "pledged": pd.array(rng.random(k) < 0.05, dtype="boolean"),
        "pledged_date": (granted + pd.to_timedelta(rng.integers(0, 1000, k), unit="D")).where(rng.random(k) < 0.05),
        "citations": pd.array(rng.poisson(2, k), dtype="Int64"), "claims": pd.array(rng.poisson(8, k), dtype="Int64"),
    })
    t = int(n * trades_per_firm)
    date = _dates(rng, "2021-01-01", 365 * 4, t)
    due = date + pd.to_timedelta(rng.integers(30, 120, t), unit="D")
    sc = pd.DataFrame({
        "invoice_id": pd.Series(np.char.add("INV", np.arange(t).astype(str)), dtype="string"),
        "seller_uscc": uscc.take(rng.integers(0, n, t)).reset_index(drop=True),
        "buyer_uscc": uscc.take(rng.integers(0, n, t)).reset_index(drop=True),
        "date": date, "amount": rng.lognormal(11, 1.5, t), "due_date": due,
        "paid_date": (due + pd.to_timedelta(rng.integers(-60, 90, t), unit="D")).where(rng.random(t) < 0.95),
    })
    tax = pd.DataFrame({"uscc": fin["uscc"], "year": fin["year"],
                        "grade": pd.Series(rng.choice(list("ABMCD"), m), dtype="string")})
    nl = max(1, n // 3)
    loans = pd.DataFrame({
        "loan_id": pd.Series(np.char.add("L", np.arange(nl).astype(str)), dtype="string"),
        "bank_id": pd.Series(rng.choice(["B1", "B2"], nl), dtype="string"),
        "uscc": uscc.take(rng.integers(0, n, nl)).reset_index(drop=True),
        "issued": _dates(rng, "2019-01-01", 365 * 6, nl), "amount": rng.lognormal(14, 1, nl),
        "default_date": pd.Series(pd.NaT, index=range(nl), dtype="datetime64[ns]"),
    })
    loans["default_date"] = (loans["issued"] + pd.to_timedelta(rng.integers(90, 700, nl), unit="D")).where(
        rng.random(nl) < 0.05)
    return {"enterprises": ent, "financials": fin, "innovation_indicators": ind, "ip_rights": ip,
            "supply_chain": sc, "tax": tax, "loans": loans}


def _write_world(args: argparse.Namespace, folder: Path) -> None:
    if args.synth:  # the project's synthetic world (realistic shapes; its own row counts per firm)
        from techscore.synth.world import generate

        generate(args.firms, seed=0, out=folder)
        return
    for name, frame in make_world(args.firms, args.ip_per_firm, args.trades_per_firm).items():
        frame.to_parquet(folder / f"{name}.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=20_000)
    parser.add_argument("--ip-per-firm", type=float, default=10)
    parser.add_argument("--trades-per-firm", type=float, default=20)
    parser.add_argument("--synth", action="store_true", help="use `techscore synth`'s world instead of make_world")
    parser.add_argument("--folder", type=Path, help="an existing world folder to read (nothing is generated)")
    parser.add_argument("--as-of", default=str(AS_OF.date()))
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    catalogue = load_catalogue(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or Path(tmp)
        if args.folder is None:
            _write_world(args, folder)
        bare, reads, computes, cuts = [], [], [], []
        timings: dict[str, float] = {}
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            for name in TABLE_NAMES:  # Arrow read and pandas conversion only (dates of `synth` stay untyped)
                pd.read_parquet(folder / f"{name}.parquet")
            bare.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            tables = load_sources(folder)  # read and typed as every techscore command reads them
            reads.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            frame = catalogue.compute(tables, args.as_of, timings=timings)
            computes.append(time.perf_counter() - t0)
            cuts.append(timings["known_as_of"])
            rows = {name: len(tables[name]) for name in ("ip_rights", "supply_chain")}
            del tables
    read, compute, bare_read = min(reads), min(computes), min(bare)
    features_only = min(c - k for c, k in zip(computes, cuts, strict=True))
    slowest = sorted(timings.items(), key=lambda kv: -kv[1])[:8]
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    world = str(args.folder) if args.folder else "synth" if args.synth else "make_world"
    print(f"firms {len(frame):,}  ip rows {rows['ip_rights']:,}  invoices {rows['supply_chain']:,}  "
          f"features {frame.shape[1]}  world {world}")
    print(f"{'step':<34}{'seconds':>10}")
    print(f"{'read raw Parquet, bare pandas':<34}{bare_read:>10.2f}")
    print(f"{'read raw Parquet, typed (baseline)':<34}{read:>10.2f}")
    print(f"{'compute catalogue':<34}{compute:>10.2f}")
    print(f"{'  of which features (no PIT cut)':<34}{features_only:>10.2f}")
    print(f"{'ratio compute / read':<34}{compute / read:>10.2f}")
    print(f"{'ratio features / read':<34}{features_only / read:>10.2f}")
    print(f"{'ratio compute / bare read':<34}{compute / bare_read:>10.2f}")
    print(f"peak RSS {peak_gib:.1f} GiB; slowest steps: " + ", ".join(f"{k} {v:.2f}s" for k, v in slowest))
    out = ROOT / "benchmarks" / "results" / "feature_catalogue.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "firms": len(frame), "world": world, **rows, "features": frame.shape[1],
        "bare_read_seconds": bare_read, "read_seconds": read, "compute_seconds": compute, "features_seconds": features_only,
        "ratio": compute / read, "features_ratio": features_only / read, "peak_rss_gib": peak_gib,
        "slowest": dict(slowest),
    }, indent=2))


if __name__ == "__main__":
    main()
