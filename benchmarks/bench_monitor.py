"""Benchmark: `techscore monitor` over twelve monthly dates against twelve plain `featurize` + `score` runs.

For a synthetic world of N firms (`techscore.synth.generate`, cached under the cache folder) and a PD model trained
on a separate small world with the catalogue's features (cached too), two child processes run on the same machine
in the same benchmark run:

* baseline: for each date, `featurize_table` (validate the raw tables, features as of the date, Parquet) then
  `score_file` with reason codes: what twelve `techscore score DATA --as-of D` runs do;
* monitor: `run_monitor` (features, scores with reason codes, stability, drivers, migration, early-warning list per
  date) and the monitoring report (HTML, and PDF when Chromium is installed), without MLflow tracking.

Each child reports its wall time; its peak resident memory is the larger of its own high-water mark (VmHWM) and
the largest total resident memory of its process tree (with the Chromium that prints the PDF) sampled every 0.2 s. Target (issue 16): monitor within 20 minutes on 2 cores
and 8 GiB peak at N = 1,000,000 and 12 dates; the ratio monitor / baseline is reported.

    python benchmarks/bench_monitor.py                         # 1,000,000 firms, 12 dates (the figure)
    python benchmarks/bench_monitor.py --firms 20000           # smoke

Results: a table on stdout and `benchmarks/results/monitor.json` (with the command).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "monitor.json"


def peak_rss_gib() -> float:
    """This process's own peak resident memory (VmHWM), GiB."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 2**20
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def monthly_dates(first: str, n: int) -> list[str]:
    import pandas as pd

    return [d.date().isoformat() for d in pd.date_range(first, periods=n, freq="MS")]


def ensure_world(folder: Path, firms: int, seed: int) -> Path:
    """The synthetic world in `folder`, generated once (a marker file says it is complete)."""
    done = folder / ".complete"
    if not done.exists():
        from techscore.synth import generate

        generate(firms, seed, folder)
        done.write_text("ok")
    return folder


def ensure_model(cache: Path, train_firms: int, seed: int, learner_rounds: int) -> Path:
    """A PD model on the catalogue's features, trained on a small world of its own (features as of 2024-01-01,
    label: a loan default in the following 12 months), saved in `cache` once."""
    folder = cache / f"model-{train_firms}-{seed}-{learner_rounds}"
    if (folder / ".complete").exists():
        return folder
    import numpy as np
    import pandas as pd

    from techscore.catalogue import load_catalogue
    from techscore.dataset.build import featurize
    from techscore.model.fit import fit_pd_model
    from techscore.specs import load_model_spec

    world = ensure_world(cache / f"train-world-{train_firms}-{seed + 1}", train_firms, seed + 1)
    catalogue = load_catalogue(ROOT)
    as_of = pd.Timestamp("2024-01-01")
    X = featurize(world, None, as_of, catalogue=catalogue)
    loans = pd.read_parquet(world / "loans.parquet", columns=["uscc", "default_date"])
    when = pd.to_datetime(loans["default_date"], errors="coerce")
    bad = set(loans.loc[(when >= as_of) & (when < as_of + pd.DateOffset(months=12)), "uscc"].astype(str))
    y = np.asarray([u in bad for u in X.index.astype(str)], dtype=int)
    spec = load_model_spec(ROOT / "models" / "pd_lgbm_sme_v1.toml", workspace=ROOT)
    spec = spec.model_copy(update={"learner": spec.learner.model_copy(update={
        "num_boost_round": learner_rounds, "early_stopping_rounds": 0, "refit": False})})
    cut = int(0.8 * len(X))
    model, _ = fit_pd_model(X.iloc[:cut], y[:cut], X.iloc[cut:], y[cut:], catalogue.features, spec,
                            catalogue_version=catalogue.version)
    model.save(folder)
    (folder / ".complete").write_text("ok")
    return folder


def child_baseline(world: str, model_dir: str, dates: list[str], reasons: int) -> dict:
    from techscore.model.pdmodel import PDModel
    from techscore.scoring import featurize_table, score_file

    model = PDModel.load(model_dir)
    per_date = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-monitor-base-") as tmp:
        for as_of in dates:
            t0 = time.perf_counter()
            table = featurize_table(world, as_of, model, Path(tmp) / "features.parquet", workspace=ROOT)
            t1 = time.perf_counter()
            summary = score_file(model, table, Path(tmp) / "scores.parquet", reasons=reasons)
            per_date.append({"as_of": as_of, "featurize_seconds": t1 - t0, "score_seconds": time.perf_counter() - t1,
                             "scored": summary.scored, "rejected": summary.rejected})
    return {"seconds": time.perf_counter() - start, "per_date": per_date, "own_peak_rss_gib": peak_rss_gib()}


def child_monitor(world: str, model_dir: str, dates: list[str], reasons: int, out: str, pdf: bool) -> dict:
    from techscore.monitor.run import run_monitor
    from techscore.monitor.spec import load_monitor_spec
    from techscore.reports.chromium import find_chromium
    from techscore.reports.monitor_report import build_monitor_report

    with tempfile.TemporaryDirectory(prefix="bench-monitor-spec-") as tmp:
        path = Path(tmp) / "monitor.toml"
        path.write_text("\n".join([
            'name = "bench_monitor"', f'model = "{model_dir}"', f'data = "{world}"', f"dates = {json.dumps(dates)}",
            'segment = "profile_industry_section"', f'out = "{out}"', "[thresholds]", "pd_factor = 2.0",
            "grade_drop = 2", 'watch_grade = "CCC"', f"reasons = {reasons}"]) + "\n")
        spec = load_monitor_spec(path, workspace=ROOT)
    start = time.perf_counter()
    result = run_monitor(spec, tracking=False)
    t_monitor = time.perf_counter() - start
    printed = pdf and find_chromium() is not None
    paths = build_monitor_report(result.out, pdf=printed, log=False)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "monitor_seconds": t_monitor, "report_seconds": seconds - t_monitor,
            "steps_seconds": result.seconds, "pdf": printed,
            "report_mib": paths["html"].stat().st_size / 2**20,
            "early_warnings": int(len(result.tables["early_warnings"])),
            "own_peak_rss_gib": peak_rss_gib()}


CHILDREN = {"baseline": child_baseline, "monitor": child_monitor}


def run_child(name: str, *args: object) -> dict:
    """Run one measurement in a fresh process; its `peak_rss_gib` is the larger of its own peak (VmHWM) and the
    largest resident memory of its process tree (itself and Chromium's processes) sampled every 0.2 s."""
    import psutil

    code = (f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_monitor as b; "
            f"print(json.dumps(b.CHILDREN[{name!r}](*{list(args)!r})))")
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")  # files, not pipes: nothing blocks
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=out, stderr=err, text=True,
                            env={**os.environ, "PYTHONHASHSEED": "0"})
    tree_peak = 0
    try:
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            rss = 0
            for p in [root, *root.children(recursive=True)]:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    continue
            tree_peak = max(tree_peak, rss)
            time.sleep(0.2)
    except psutil.Error:
        pass
    proc.wait()
    out.seek(0), err.seek(0)
    stdout, stderr = out.read(), err.read()
    out.close(), err.close()
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child {name} failed:\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["tree_peak_rss_gib"] = tree_peak / 2**30
    result["peak_rss_gib"] = max(result["own_peak_rss_gib"], result["tree_peak_rss_gib"])
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--firms", type=int, default=1_000_000, help="firms in the portfolio (the world)")
    parser.add_argument("--dates", type=int, default=12, help="monthly as-of dates")
    parser.add_argument("--first", default="2025-01-01", help="the first as-of date")
    parser.add_argument("--reasons", type=int, default=3, help="reason codes per firm and early warning")
    parser.add_argument("--train-firms", type=int, default=30_000, help="firms of the model's training world")
    parser.add_argument("--rounds", type=int, default=300, help="boosting rounds of the benchmark's model")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "techscore-bench-monitor",
                        help="keeps the generated worlds and the model between runs")
    parser.add_argument("--no-pdf", action="store_true", help="do not print the report to PDF")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    dates = monthly_dates(args.first, args.dates)
    args.cache.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    world = ensure_world(args.cache / f"world-{args.firms}-{args.seed}", args.firms, args.seed)
    print(f"world: {args.firms:,} firms in {world} ({time.perf_counter() - t0:.0f} s)", flush=True)
    t0 = time.perf_counter()
    model_dir = ensure_model(args.cache, args.train_firms, args.seed, args.rounds)
    print(f"model: {model_dir} ({time.perf_counter() - t0:.0f} s)", flush=True)

    result = {
        "benchmark": "monitor",
        "command": "python benchmarks/bench_monitor.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "firms": args.firms, "dates": dates, "reasons": args.reasons, "model_rounds": args.rounds,
        "target_minutes": 20, "target_peak_rss_gib": 8.0,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-monitor-out-") as out:
        result["monitor"] = run_child("monitor", str(world), str(model_dir), dates, args.reasons, out,
                                      not args.no_pdf)
    m = result["monitor"]
    print(f"monitor: {m['seconds']:.0f} s ({m['monitor_seconds']:.0f} s tables, {m['report_seconds']:.0f} s report), "
          f"peak {m['peak_rss_gib']:.2f} GiB, {m['early_warnings']:,} early warnings", flush=True)
    args.out.write_text(json.dumps(result, indent=2))
    if not args.skip_baseline:
        result["baseline"] = run_child("baseline", str(world), str(model_dir), dates, args.reasons)
        b = result["baseline"]
        result["ratio_monitor_to_baseline"] = m["seconds"] / b["seconds"]
        print(f"baseline (featurize + score x {len(dates)}): {b['seconds']:.0f} s, peak {b['peak_rss_gib']:.2f} GiB; "
              f"ratio monitor / baseline {result['ratio_monitor_to_baseline']:.2f}", flush=True)
    result["within_target"] = m["seconds"] <= 20 * 60 and m["peak_rss_gib"] <= 8.0
    args.out.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
