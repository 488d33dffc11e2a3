"""Profile: where one single-record `POST /v1/score` spends its time, stage by stage, in-process.

Builds the benchmark's demo-like model (`bench_serve.py`: 200 trees of 15 leaves, 30 features and an industry
section, reason references), drives the service's ASGI app directly (no socket, no HTTP parser, no load
generator) with one record per request, top-5 reasons, audit on, and reports per request:

* wall and CPU time of the whole request (CPU of every thread of the process: the audit writer's included);
* the time inside each stage (a timer wrapped around the service's own functions while the real requests run;
  stages nest, so `score` holds `check` and `shap`); what is left is FastAPI/Starlette routing and middleware;
* the audit commit alone (one row, `synchronous=FULL`: the fsync wait a request cannot avoid), timed apart;
* as many requests again at `--rate` per second (Poisson arrivals, in-process): p50/p99 from each scheduled time,
  the service's own queueing and commit waits without sockets or load generator (CPU is shared all the same);
* optionally (`--cprofile N`) the top functions by cumulative time.

It is a development tool for finding hot spots, not a benchmark of the service: the figures depend on the machine
and its load. Writes benchmarks/results/serve_stages.json with the command.

    python benchmarks/profile_serve.py                      # 2,000 requests after 200 warm-up
    python benchmarks/profile_serve.py --requests 300 --cprofile 25
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import importlib
import json
import os
import pstats
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_score import make_features  # noqa: E402
from bench_serve import MODELS, prepare_model, request_bodies  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "serve_stages.json"

STAGES: dict[str, list[str]] = {
    "parse": ["techscore.serve.app:_parse_request"],
    "score (all)": ["techscore.serve.engine:OnlineScorer.score"],
    "  records to columns or table": ["techscore.serve.engine:records_table", "techscore.serve.engine:record_columns"],
    "  row checks": ["techscore.scoring.score:ChunkScorer.check", "techscore.serve.engine:check_values"],
    "  model (shap, pd, grade, top-k)": ["techscore.scoring.score:ChunkScorer.score_matrix",
                                         "techscore.scoring.score:ChunkScorer.score_rows"],
    "    shap kernel": ["techscore.explain.treeshap:TreeShap.shap_values"],
    "  reason sentences": ["techscore.serve.engine:OnlineScorer._reason"],
    "audit hash": ["techscore.serve.app:features_hash"],
    "audit submit": ["techscore.serve.audit:AuditLog.submit"],
    "json response": ["starlette.responses:JSONResponse.render", "techscore.serve.app:json_body"],
    "metrics": ["prometheus_client.metrics:MetricWrapperBase.labels",
                "prometheus_client.metrics:Histogram.observe", "prometheus_client.metrics:Counter.inc"],
}
"""Stage -> the functions timed for it (`module:Class.attr` or `module:function`; absent ones are skipped)."""


def _resolve(target: str):
    module_name, _, attr = target.partition(":")
    try:
        owner = importlib.import_module(module_name)
    except ImportError:
        return None, None
    *path, name = attr.split(".")
    for part in path:
        owner = getattr(owner, part, None)
        if owner is None:
            return None, None
    return (owner, name) if hasattr(owner, name) else (None, None)


def install_timers(totals: dict[str, float]) -> list:
    """Wrap each stage's functions with a timer adding to `totals[stage]`; returns how to undo it."""
    undo = []
    for stage, targets in STAGES.items():
        for target in targets:
            owner, name = _resolve(target)
            if owner is None:
                continue
            original = owner.__dict__.get(name, getattr(owner, name))
            func = original.__func__ if isinstance(original, staticmethod) else original

            def timed(*args, __f=func, __s=stage, **kwargs):
                t0 = time.perf_counter()
                try:
                    return __f(*args, **kwargs)
                finally:
                    totals[__s] = totals.get(__s, 0.0) + time.perf_counter() - t0

            functools.update_wrapper(timed, func)
            setattr(owner, name, staticmethod(timed) if isinstance(original, staticmethod) else timed)
            undo.append((owner, name, original))
    return undo


def remove_timers(undo: list) -> None:
    for owner, name, original in reversed(undo):
        setattr(owner, name, original)


async def post(app, body: bytes) -> tuple[int, bytes]:
    """One `POST /v1/score` through the ASGI app; (status, body)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/v1/score", "raw_path": b"/v1/score", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())],
             "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000), "state": {}}
    sent = False
    status, parts = 0, []

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # no disconnect: cancelled when the app is done

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            parts.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(parts)


async def drive(app, bodies: list[bytes], n: int, warmup: int, totals: dict, profile: cProfile.Profile | None,
                rate: float = 0.0, seed: int = 0):
    async with app.router.lifespan_context(app):
        for i in range(warmup):
            status, out = await post(app, bodies[i % len(bodies)])
            assert status == 200, out[:500]
        undo = install_timers(totals)
        try:
            wall, cpu = [], []
            if profile:
                profile.enable()
            for i in range(n):
                t0, c0 = time.perf_counter(), time.process_time()
                status, out = await post(app, bodies[(warmup + i) % len(bodies)])
                cpu.append(time.process_time() - c0)
                wall.append(time.perf_counter() - t0)
                assert status == 200, out[:500]
            if profile:
                profile.disable()
        finally:
            remove_timers(undo)
        audit = app.state.service["audit"]
        commits = audit.commits
        paced = await open_loop(app, bodies, rate, n, seed) if rate else None
        commits = audit.commits - commits
    return np.array(wall), np.array(cpu), paced, commits


async def open_loop(app, bodies: list[bytes], rate: float, n: int, seed: int) -> dict:
    """n requests at Poisson arrivals of `rate` per second, in-process: latency from each scheduled time (the
    service's own queueing and the audit commits it waits for, without sockets or a load generator)."""
    loop = asyncio.get_running_loop()
    offsets = np.cumsum(np.random.default_rng(seed).exponential(1 / rate, size=n))
    start = loop.time() + 0.05
    latencies: list[float] = []

    async def one(i: int, at: float) -> None:
        await asyncio.sleep(max(0.0, at - loop.time()))
        status, out = await post(app, bodies[i % len(bodies)])
        assert status == 200, out[:500]
        latencies.append(loop.time() - at)

    await asyncio.gather(*(one(i, start + t) for i, t in enumerate(offsets)))
    ms = np.array(latencies) * 1e3
    return {"rate_rps": rate, "requests": n, "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2), "max_ms": round(float(ms.max()), 2)}


def audit_commit_alone(path: Path, n: int) -> dict:
    """Wall time of committing one decision row (one transaction, one fsync) n times."""
    from techscore.serve.audit import AuditLog, AuditRecord

    log = AuditLog(path)
    times = []
    try:
        for i in range(n):
            row = AuditRecord("r", i, "2026-12-02T00:00:00+00:00", "c", "m", "1", None, "9144", "0" * 64, 0.01, 600.0,
                              "BB", ("x01", "x02"))
            t0 = time.perf_counter()
            log.append([row])
            times.append(time.perf_counter() - t0)
    finally:
        log.close()
    us = np.array(times) * 1e6
    return {"commits": n, "p50_us": round(float(np.percentile(us, 50)), 1),
            "p99_us": round(float(np.percentile(us, 99)), 1), "mean_us": round(float(us.mean()), 1)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--train-rows", type=int, default=20_000)
    parser.add_argument("--model", default="demo", choices=list(MODELS))
    parser.add_argument("--cprofile", type=int, default=0, help="Also print the top N functions by cumulative time.")
    parser.add_argument("--rate", type=float, default=200.0,
                        help="Then as many requests again at this rate (Poisson arrivals, in-process); 0: not.")
    parser.add_argument("--audit-dir", type=Path, default=None,
                        help="Where the audit trail is written (default: a temporary folder on the disk; a tmpfs "
                             "such as /dev/shm shows the request without the fsync wait).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from techscore.serve import ServiceConfig, create_app, load_served_model

    with tempfile.TemporaryDirectory(prefix="profile-serve-") as tmp:
        work = Path(tmp)
        train, y = make_features(args.train_rows, 30, args.seed)
        records = make_features(500, 30, args.seed + 1)[0]
        folder, _ = prepare_model(train, y, args.model, work, None, args.seed)
        bodies = request_bodies(records, folder)[0]
        served = load_served_model(folder)
        trail = tempfile.mkdtemp(prefix="profile-serve-audit-", dir=args.audit_dir)
        app = create_app(ServiceConfig(model=str(folder), audit=Path(trail) / "audit.sqlite", reasons=5), served=served)
        totals: dict[str, float] = {}
        profile = cProfile.Profile() if args.cprofile else None
        wall, cpu, paced, commits = asyncio.run(drive(app, bodies, args.requests, args.warmup, totals, profile,
                                                      args.rate, args.seed))
        fsync = audit_commit_alone(Path(trail) / "alone.sqlite", min(args.requests, 500))
        shutil.rmtree(trail, ignore_errors=True)
    n = args.requests
    stages = {name: round(totals.get(name, 0.0) / n * 1e6, 1) for name in STAGES}
    top = [s for s in STAGES if not s.startswith(" ")]
    stages["(not in a stage: routing, middleware, event loop, audit wait)"] = round(
        float(wall.mean()) * 1e6 - sum(stages[s] for s in top), 1)
    result = {"benchmark": "serve_stages", "command": shlex.join(["python", "benchmarks/profile_serve.py",
                                                                  *(argv if argv is not None else sys.argv[1:])]),
              "model": {"name": args.model, "shape": MODELS[args.model]}, "requests": n,
              "audit_dir": str(args.audit_dir or tempfile.gettempdir()),
              "request_us": {"wall_mean": round(float(wall.mean()) * 1e6, 1),
                             "wall_p50": round(float(np.percentile(wall, 50)) * 1e6, 1),
                             "wall_p99": round(float(np.percentile(wall, 99)) * 1e6, 1),
                             "cpu_mean": round(float(cpu.mean()) * 1e6, 1)},
              "stages_us_per_request": stages, "audit_commit_alone": fsync}
    if paced:
        result["open_loop"] = {**paced, "audit_commits": commits}
    if profile:
        pstats.Stats(profile, stream=sys.stdout).sort_stats("cumulative").print_stats(args.cprofile)
    text = json.dumps(result, indent=2) + "\n"
    sys.stdout.write(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
