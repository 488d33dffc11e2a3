"""Benchmark: `techscore serve` (pd, score, grade and top-5 reasons) against `mlflow models serve` (pd, score, grade,
no reasons) on the same models and records, one record per request, both on loopback, in one run.

One run builds a credit-like feature table and two LightGBM PD models: `demo` (the demo spec's learner: 15 leaves,
no depth limit, 200 trees) and `depth6` (500 trees of depth 6), saves each as a model folder (with reason
references) and as an MLflow pyfunc model, then for each model and each server:

* fixed rate: an open-loop load at `--rate` requests/s (Poisson arrivals, seeded): latency p50/p99 measured from
  each request's scheduled time (so a slow server is charged for the queue it builds), errors, throughput;
* ladder: open-loop steps of rising offered rate (from 10 requests/s, so that a slow server has steps too) until
  p99 passes the largest of `--p99-bounds-ms` or errors appear; the ratio of the two servers' throughputs at equal
  p99 is read off it (the highest throughput each reaches with p99 <= the bound, for each bound);
* max throughput: closed loop, `--concurrency` clients sending back to back.

Then a soak of `techscore serve` on the demo model at its sustainable rate (the highest ladder step with p99 <=
`--ladder-p99-ms` and no error) for `--soak-seconds`: errors, p99 per minute, the service's resident memory (all
its processes) at the start and end. The load generator (`LoopbackHttp`, a minimal keep-alive HTTP/1.1 client on
uvloop) runs in this process on the same machine, so on 2 cores it competes with the server for CPU; the figures
are for that set-up. Writes
benchmarks/results/serve.json with the command.

    python benchmarks/bench_serve.py                      # full: 20 s per step, 10-minute soak
    python benchmarks/bench_serve.py --quick              # smoke run: tiny models, 2 s steps, 5 s soak
    python benchmarks/bench_serve.py --seconds 10 --workers 2   # two worker processes per server (in the JSON)
    python benchmarks/bench_serve.py --models demo --servers techscore --seconds 4 --soak-seconds 0   # a look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_score import build_model, make_features  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "serve.json"
REPO = Path(__file__).resolve().parents[1]
MODELS = {"demo": (15, -1, 200), "depth6": (63, 6, 500)}
"""Model shapes: name -> (num_leaves, max_depth, trees)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_model(train, y, name: str, work: Path, trees_override: int | None, seed: int) -> tuple[Path, Path]:
    """(techscore model folder, MLflow pyfunc folder) of one model shape."""
    import mlflow.pyfunc

    from techscore.explain.reasons import fit_references
    from techscore.model.pyfunc import ARTIFACT_KEY, CODE_FILE, model_signature

    leaves, depth, trees = MODELS[name]
    model = build_model(train, y, trees_override or trees, leaves, depth, seed)
    folder = model.save(work / name / "pd_model")
    fit_references(train, list(model.features), by="industry_section").save(folder)
    pyfunc = work / name / "pyfunc"
    with warnings.catch_warnings():  # "no input example": the signature is given
        warnings.simplefilter("ignore")
        mlflow.pyfunc.save_model(str(pyfunc), python_model=str(CODE_FILE), artifacts={ARTIFACT_KEY: str(folder)},
                                 signature=model_signature(model))
    return folder, pyfunc


def request_bodies(frame, model_folder: Path) -> tuple[list[bytes], list[bytes]]:
    """The same records as techscore and as MLflow requests (one record each)."""
    from techscore.model.pdmodel import PDModel

    features = PDModel.load(model_folder).feature_ids
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    rows = [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()} for r in rows]
    ours = [json.dumps({"records": [{"uscc": str(r["uscc"]), **{f: r[f] for f in features}}], "reasons": 5}).encode()
            for r in rows]
    theirs = [json.dumps({"dataframe_split": {"columns": list(features),
                                              "data": [[None if r[f] is None else (str(r[f]) if f == "industry_section"
                                                                                   else r[f]) for f in features]]}}
                         ).encode() for r in rows]
    return ours, theirs


class Server:
    """A server process on a loopback port: started, waited for, measured (RSS of all its processes), stopped."""

    def __init__(self, kind: str, command: list[str], port: int, ready_path: str, score_path: str) -> None:
        self.kind, self.port = kind, port
        self.url = f"http://127.0.0.1:{port}"
        self.score_url = self.url + score_path
        env = {**os.environ, "PYTHONPATH": str(REPO),  # mlflow runs `uvicorn` from PATH: this venv first
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        import httpx

        deadline = time.monotonic() + 300
        while True:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"{kind} exited: {self.log.read().decode(errors='replace')[-3000:]}")
            try:
                if httpx.get(self.url + ready_path, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind} not ready in 300 s")
            time.sleep(0.5)

    def rss_mb(self) -> float:
        import psutil

        root = psutil.Process(self.process.pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def techscore_server(folder: Path, work: Path, workers: int) -> Server:
    port = free_port()
    command = [sys.executable, "-c", "from techscore.cli import main; main()", "serve", "--model", str(folder),
               "--host", "127.0.0.1", "--port", str(port), "--audit", str(work / f"audit-{port}.sqlite"),
               "--reasons", "5", "--workers", str(workers), "--poll-seconds", "0",
               "--max-records", "1000"]
    return Server("techscore serve", command, port, "/readyz", "/v1/score")


def mlflow_server(pyfunc: Path, workers: int) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(pyfunc), "--env-manager", "local",
               "-h", "127.0.0.1", "-p", str(port), "-w", str(workers)]
    return Server("mlflow models serve", command, port, "/ping", "/invocations")


def summarise(latencies: list[float], errors: int, seconds: float, offered: float | None) -> dict:
    lat = np.array(latencies) * 1000 if latencies else np.array([np.nan])
    done = len(latencies)
    return {"offered_rps": offered, "requests": done + errors, "ok": done, "errors": errors,
            "throughput_rps": round(done / seconds, 1), "p50_ms": round(float(np.percentile(lat, 50)), 3),
            "p99_ms": round(float(np.percentile(lat, 99)), 3), "max_ms": round(float(lat.max()), 3)}


class _Stale(Exception):
    """A kept-alive connection closed by the server before it answered."""


class LoopbackHttp:
    """The load generator's HTTP/1.1 client: keep-alive connections to one URL, a POST of a JSON body, the status
    and the body read by Content-Length (or chunks). It spends a small part of what httpx does per request (about
    2 ms of CPU), which matters when the generator shares the 2 cores with the server it measures; both servers
    get the same client."""

    def __init__(self, url: str) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.head = (f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
                     "Content-Length: ").encode()
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, body: bytes) -> int:
        """The response's status; `OSError` or `asyncio.IncompleteReadError` when the exchange fails. A kept-alive
        connection the server closed while idle (uvicorn does after 5 s) answers nothing: the request goes again on
        another connection, as HTTP clients do (the server never saw it)."""
        while self.idle:
            reader, writer = self.idle.pop()
            try:
                return await self._exchange(reader, writer, body, reused=True)
            except _Stale:
                writer.close()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return await self._exchange(reader, writer, body, reused=False)

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, body: bytes, *,
                        reused: bool) -> int:
        try:
            writer.write(b"%s%d\r\n\r\n%s" % (self.head, len(body), body))
            try:
                first = await reader.readline()
            except (ConnectionResetError, BrokenPipeError):
                if reused:
                    raise _Stale from None
                raise
            if not first and reused:
                raise _Stale
            status = int(first.split(b" ", 2)[1])
            length, chunked, close = None, False, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding":
                    chunked = b"chunked" in value.lower()
                elif name == b"connection":
                    close = value.strip().lower() == b"close"
            if chunked:
                while (size := int((await reader.readline()).split(b";")[0], 16)) > 0:
                    await reader.readexactly(size + 2)
                await reader.readline()
            elif length:
                await reader.readexactly(length)
        except _Stale:
            raise
        except BaseException:
            writer.close()
            raise
        if close:
            writer.close()
        else:
            self.idle.append((reader, writer))
        return status

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


async def _exchange(http: LoopbackHttp, body: bytes) -> bool:
    try:
        async with asyncio.timeout(30):
            return await http.post(body) == 200
    except (OSError, ValueError, IndexError, TimeoutError, asyncio.IncompleteReadError):
        return False


def run_load(coroutine):
    """Runs the load generator on uvloop when installed (less CPU per request than asyncio's loop)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


async def open_loop(url: str, bodies: list[bytes], rate: float, seconds: float, seed: int) -> dict:
    """Poisson arrivals at `rate`/s for `seconds`; latency from each request's scheduled time."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1 / rate, size=int(rate * seconds * 1.2) + 10)
    offsets = np.cumsum(gaps)
    offsets = offsets[offsets < seconds]
    latencies: list[float] = []
    errors = 0
    http = LoopbackHttp(url)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05

    async def one(i: int, at: float) -> None:
        nonlocal errors
        await asyncio.sleep(max(0.0, at - loop.time()))
        if await _exchange(http, bodies[i % len(bodies)]):
            latencies.append(loop.time() - at)
        else:
            errors += 1

    await asyncio.gather(*(one(i, start + t) for i, t in enumerate(offsets)))
    elapsed = max(seconds, loop.time() - start)
    http.close()
    return summarise(latencies, errors, elapsed, rate)


async def closed_loop(url: str, bodies: list[bytes], concurrency: int, seconds: float) -> dict:
    """`concurrency` clients sending back to back for `seconds`: the most the server (and generator) can do."""
    latencies: list[float] = []
    errors = 0
    http = LoopbackHttp(url)
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds

    async def client(c: int) -> None:
        nonlocal errors
        i = c
        while loop.time() < end:
            t0 = loop.time()
            if await _exchange(http, bodies[i % len(bodies)]):
                latencies.append(loop.time() - t0)
            else:
                errors += 1
            i += concurrency

    start = loop.time()
    await asyncio.gather(*(client(c) for c in range(concurrency)))
    elapsed = loop.time() - start
    http.close()
    return summarise(latencies, errors, elapsed, None)


def ladder(url: str, bodies: list[bytes], rates: list[float], seconds: float, p99_stop_ms: float, seed: int) -> list:
    steps = []
    for rate in rates:
        step = run_load(open_loop(url, bodies, rate, seconds, seed))
        steps.append(step)
        if step["errors"] or step["p99_ms"] > p99_stop_ms:
            break
    return steps


def best_under(steps: list[dict], bound_ms: float) -> float:
    ok = [s["throughput_rps"] for s in steps if not s["errors"] and s["p99_ms"] <= bound_ms]
    return max(ok, default=0.0)


def sustainable_rate(steps: list[dict], bound_ms: float) -> float | None:
    """The highest offered rate of a ladder step with p99 <= `bound_ms` and no error (None: none)."""
    ok = [s["offered_rps"] for s in steps if not s["errors"] and s["p99_ms"] <= bound_ms]
    return max(ok, default=None)


def bench_server(server: Server, bodies: list[bytes], args) -> dict:
    run_load(open_loop(server.score_url, bodies, min(args.rate, 50), args.warmup, args.seed))  # warm-up
    out = {"rss_mb_start": round(server.rss_mb(), 1)}
    out["fixed_rate"] = run_load(open_loop(server.score_url, bodies, args.rate, args.seconds, args.seed))
    out["ladder"] = ladder(server.score_url, bodies, args.ladder, args.seconds, max(args.p99_bounds_ms), args.seed)
    out["max_throughput"] = run_load(closed_loop(server.score_url, bodies, args.concurrency, args.seconds))
    out["rss_mb_end"] = round(server.rss_mb(), 1)
    return out


def soak(server: Server, bodies: list[bytes], rate: float, seconds: float, seed: int) -> dict:
    minutes, rss = [], [round(server.rss_mb(), 1)]
    left, n = seconds, 0
    while left > 0:
        part = min(60.0, left)
        minutes.append(run_load(open_loop(server.score_url, bodies, rate, part, seed + n)))
        rss.append(round(server.rss_mb(), 1))
        left, n = left - part, n + 1
    return {"rate_rps": rate, "seconds": seconds, "requests": sum(m["requests"] for m in minutes),
            "errors": sum(m["errors"] for m in minutes), "p99_ms_per_minute": [m["p99_ms"] for m in minutes],
            "rss_mb_start": rss[0], "rss_mb_end": rss[-1], "rss_mb_samples": rss}


def _installed(fast: str, fallback: str) -> str:
    """What uvicorn's "auto" picks: `fast` (httptools, uvloop) when it is installed, else `fallback`."""
    import importlib.util

    return fast if importlib.util.find_spec(fast) else fallback


def main(argv: list[str] | None = None) -> dict:
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--train-rows", type=int, default=50_000)
    parser.add_argument("--records", type=int, default=2000, help="Distinct records sent (cycled).")
    parser.add_argument("--features", type=int, default=30)
    parser.add_argument("--rate", type=float, default=200.0, help="The fixed offered rate (requests/s).")
    parser.add_argument("--seconds", type=float, default=20.0, help="Length of each measured step.")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--ladder", type=float, nargs="+",
                        default=[10, 25, 50, 100, 200, 300, 400, 500, 600, 800, 1000, 1200, 1500, 2000])
    parser.add_argument("--ladder-p99-ms", type=float, default=10.0,
                        help="The p99 the sustainable rate (of the soak) keeps.")
    parser.add_argument("--p99-bounds-ms", type=float, nargs="+", default=[10.0, 25.0, 50.0, 100.0, 250.0, 500.0],
                        help="The p99 bounds of the throughput ratio; the ladder stops past the largest.")
    parser.add_argument("--concurrency", type=int, default=32, help="Closed-loop clients for max throughput.")
    parser.add_argument("--workers", type=int, default=1, help="Worker processes of each server.")
    parser.add_argument("--servers", nargs="+", default=["techscore", "mlflow"], choices=["techscore", "mlflow"],
                        help="The servers measured (a smoke run of techscore alone: --servers techscore).")
    parser.add_argument("--soak-seconds", type=float, default=600.0, help="0: no soak.")
    parser.add_argument("--trees", type=int, default=None, help="Override every model's tree count.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="Smoke run: 20 trees, 3,000 training rows, 2 s steps, a short ladder, 5 s soak.")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.train_rows, args.records, args.trees, args.seconds, args.warmup = 3000, 200, 20, 2.0, 1.0
        args.ladder, args.concurrency, args.soak_seconds = [50, 200], 8, min(args.soak_seconds, 5.0)
    command = "python benchmarks/bench_serve.py " + " ".join(argv if argv is not None else sys.argv[1:])
    result = {"benchmark": "serve", "command": command.strip(), "quick": args.quick,
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.system(),
                          "uvicorn_http": _installed("httptools", "h11"), "uvicorn_loop": _installed("uvloop", "asyncio")},
              "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}, "models": {}}
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        work = Path(tmp)
        train, y = make_features(args.train_rows, args.features, args.seed)
        records = make_features(args.records, args.features, args.seed + 1)[0]
        sustainable = None
        for name in args.models:
            folder, pyfunc = prepare_model(train, y, name, work, args.trees, args.seed)
            ours, theirs = request_bodies(records, folder)
            entry: dict = {"shape": dict(zip(("num_leaves", "max_depth", "trees"), MODELS[name], strict=True))}
            if args.trees:
                entry["shape"]["trees"] = args.trees
            for key, bodies in (("techscore", ours), ("mlflow", theirs)):
                if key not in args.servers:
                    continue
                server = (techscore_server(folder, work, args.workers) if key == "techscore"
                          else mlflow_server(pyfunc, args.workers))
                try:
                    entry[key] = bench_server(server, bodies, args)
                finally:
                    server.stop()
                print(json.dumps({name: {key: {k: entry[key][k] for k in ("fixed_rate", "max_throughput")}}}),
                      flush=True)
            if "techscore" in entry and "mlflow" in entry:
                entry["throughput_ratio_at_equal_p99"] = {
                    f"{bound:g}ms": {"techscore_rps": best_under(entry["techscore"]["ladder"], bound),
                                     "mlflow_rps": best_under(entry["mlflow"]["ladder"], bound),
                                     "ratio": (round(best_under(entry["techscore"]["ladder"], bound)
                                                     / best_under(entry["mlflow"]["ladder"], bound), 2)
                                               if best_under(entry["mlflow"]["ladder"], bound) else None)}
                    for bound in args.p99_bounds_ms}
                entry["max_throughput_ratio"] = round(entry["techscore"]["max_throughput"]["throughput_rps"]
                                                      / max(entry["mlflow"]["max_throughput"]["throughput_rps"], 1e-9), 2)
            result["models"][name] = entry
            if "techscore" in entry and (name == "demo" or sustainable is None):
                sustainable = (name, folder, ours, sustainable_rate(entry["techscore"]["ladder"], args.ladder_p99_ms))
        if args.soak_seconds > 0 and sustainable is not None:
            name, folder, ours, rate = sustainable
            rate = rate or args.ladder[0]
            server = techscore_server(folder, work, args.workers)
            try:
                result["soak"] = {"model": name, **soak(server, ours, rate, args.soak_seconds, args.seed)}
            finally:
                server.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("command", "soak") if k in result}, indent=2))
    print(f"-> {args.out}")
    return result


if __name__ == "__main__":
    main()
