"""Speed of private matching (ECDH-PSI over Curve25519) against a plain hash intersection, in the same run.

Two parties of N codes each, sharing a fraction of them (default half):

* baseline: a plain hash intersection, as two parties would do it without privacy: each hashes its codes with
  SHA-256, A sends its hashes, the intersection is a set lookup (deterministic hashes of low-entropy codes are
  trivially reversed by hashing candidate codes: not private);
* techscore: `techscore.joint.psi` round1 (A) -> round2 (B) -> finish (A), in memory, 1 process and 2 processes.

The figure is the seconds per N and the ratio to the baseline; also the message sizes and the peak memory of
the process. Results: a table on stdout and `benchmarks/results/psi.json`.

    python benchmarks/bench_psi.py --n 10000      # quick
    python benchmarks/bench_psi.py --n 100000     # the figure (100,000 codes per side)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import time
from pathlib import Path

import numpy as np

from techscore.joint import psi
from techscore.sources.uscc import ALPHABET, complete

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "psi.json"


def make_codes(n: int, overlap: float, seed: int) -> tuple[list[str], list[str]]:
    """Two lists of `n` distinct valid codes each, sharing round(overlap * n)."""
    rng = np.random.default_rng(seed)
    letters = np.array(list(ALPHABET))
    codes: list[str] = []
    seen: set[str] = set()
    while len(codes) < 2 * n:
        bodies = ["".join(row) for row in letters[rng.integers(0, 31, size=(2 * n, 17))]]
        for c in complete(bodies).tolist():
            if c not in seen:
                seen.add(c)
                codes.append(c)
    k = round(overlap * n)
    a = codes[:n]
    b = a[:k] + codes[n : 2 * n - k]
    rng.shuffle(b)
    return a, b


def plain_hash_intersection(a: list[str], b: list[str]) -> list[str]:
    sent = {hashlib.sha256(c.encode()).digest(): c for c in a}
    theirs = {hashlib.sha256(c.encode()).digest() for c in b}
    return sorted(c for h, c in sent.items() if h in theirs)


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def run_psi(a: list[str], b: list[str], workers: int) -> dict:
    (state, m1), t1 = timed(psi.round1, a, workers=workers)
    m2, t2 = timed(psi.round2, m1, b, workers=workers)
    shared, t3 = timed(psi.finish, state, m2, workers=workers)
    return {
        "shared": shared,
        "seconds": t1 + t2 + t3,
        "round1_s": t1,
        "round2_s": t2,
        "finish_s": t3,
        "message_bytes": len(m1.blinded) + len(m2.blinded) + len(m2.peer_blinded),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="codes per side")
    parser.add_argument("--overlap", type=float, default=0.5, help="shared fraction of each side")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="baseline repeats (fastest kept)")
    args = parser.parse_args()

    a, b = make_codes(args.n, args.overlap, args.seed)
    expected, base_s = None, float("inf")
    for _ in range(args.repeat):
        expected, s = timed(plain_hash_intersection, a, b)
        base_s = min(base_s, s)
    runs = {}
    for workers in (1, 2):
        res = run_psi(a, b, workers)
        assert res.pop("shared") == expected, "PSI result differs from the plain intersection"
        runs[workers] = res

    rows = [("plain SHA-256 intersection (baseline)", base_s, 1.0)]
    rows += [(f"ECDH-PSI, {w} process{'es' if w > 1 else ''}", r["seconds"], r["seconds"] / base_s) for w, r in runs.items()]
    print(f"\nN = {args.n:,} codes per side, {len(expected):,} shared, load average {os.getloadavg()[0]:.1f}")
    print(f"{'method':<40}{'seconds':>10}{'x baseline':>12}{'us/code':>10}")
    for name, s, ratio in rows:
        print(f"{name:<40}{s:>10.2f}{ratio:>12.0f}{s / args.n * 1e6:>10.1f}")
    for w, r in runs.items():
        print(f"  {w} proc: round1 {r['round1_s']:.2f} s, round2 {r['round2_s']:.2f} s, finish {r['finish_s']:.2f} s")
    mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"messages exchanged: {runs[1]['message_bytes'] / 2**20:.1f} MiB; peak memory {mib:.0f} MiB")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "n_per_side": args.n,
                "shared": len(expected),
                "baseline": "plain SHA-256 hash intersection (not private)",
                "baseline_seconds": base_s,
                "psi": {f"{w}_process": r | {"ratio_to_baseline": r["seconds"] / base_s} for w, r in runs.items()},
                "peak_rss_mib": mib,
                "load_average_1m": os.getloadavg()[0],
                "cpu_count": os.cpu_count(),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
