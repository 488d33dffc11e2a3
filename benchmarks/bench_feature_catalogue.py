"""Benchmark: the whole feature catalogue as of one date, against reading the raw Parquet it is computed from.

Baseline: `pd.read_parquet` of the seven raw tables (the least any run must do). Measured: the catalogue's
`compute` for every firm (point-in-time views plus all features), on the tables already in memory. The figure is
the ratio compute / read (target: at most about 3). Also reports the slowest nodes and features and the peak memory
of the process.

    python benchmarks/bench_feature_catalogue.py --firms 20000          # quick
    python benchmarks/bench_feature_catalogue.py --firms 1000000        # the issue's size (~10M IP rights, ~20M invoices)
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
from techscore.sources.schema import CERTIFICATIONS, INNOVATION_INDICATORS, IP_KINDS

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=20_000)
    parser.add_argument("--ip-per-firm", type=float, default=10)
    parser.add_argument("--trades-per-firm", type=float, default=20)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    world = make_world(args.firms, args.ip_per_firm, args.trades_per_firm)
    catalogue = load_catalogue(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in world.items():
            frame.to_parquet(Path(tmp) / f"{name}.parquet")
        del world
        reads, computes = [], []
        timings: dict[str, float] = {}
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            tables = {name: pd.read_parquet(Path(tmp) / f"{name}.parquet") for name in (
                "enterprises", "financials", "innovation_indicators", "ip_rights", "supply_chain", "tax", "loans")}
            reads.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            frame = catalogue.compute(tables, AS_OF, timings=timings)
            computes.append(time.perf_counter() - t0)
            del tables
    read, compute = min(reads), min(computes)
    slowest = sorted(timings.items(), key=lambda kv: -kv[1])[:8]
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    rows = {"ip_rights": int(args.firms * args.ip_per_firm), "supply_chain": int(args.firms * args.trades_per_firm)}
    print(f"firms {args.firms:,}  ip rows {rows['ip_rights']:,}  invoices {rows['supply_chain']:,}  "
          f"features {frame.shape[1]}")
    print(f"{'step':<34}{'seconds':>10}")
    print(f"{'read raw Parquet (baseline)':<34}{read:>10.2f}")
    print(f"{'compute catalogue':<34}{compute:>10.2f}")
    print(f"{'ratio compute / read':<34}{compute / read:>10.2f}")
    print(f"peak RSS {peak_gib:.1f} GiB; slowest steps: " + ", ".join(f"{k} {v:.2f}s" for k, v in slowest))
    out = ROOT / "benchmarks" / "results" / "feature_catalogue.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "firms": args.firms, **rows, "features": frame.shape[1], "read_seconds": read, "compute_seconds": compute,
        "ratio": compute / read, "peak_rss_gib": peak_gib, "slowest": dict(slowest),
    }, indent=2))


if __name__ == "__main__":
    main()
