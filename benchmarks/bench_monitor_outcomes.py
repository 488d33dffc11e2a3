"""Accuracy check: the performance estimated before outcomes (CBPE expected AUC and default rate, `techscore.monitor
.performance`) against the realized figures once the window has passed, on a synthetic world the model never saw.

The model is the demo's champion (trained on the `techscore demo` world, seed 42); the world here is a fresh
`techscore synth` world (default 150,000 firms, seed 7) from the same generator. At each as-of date the firms with a
loan outstanding are scored with features known before the date; their outcomes are defaults within the 12-month
window. As `techscore monitor` does, each date's PDs are first calibrated on the latest reference whose window had
closed by the date (the first dates: one extra date a window before the first); the model's own PDs' figures are
stored beside for comparison. Also stores the backtest's whole-vintage rows. Not a timing benchmark (no figure here
is a speed).

    python benchmarks/bench_monitor_outcomes.py                                  # 150,000 firms, 14 quarterly dates
    python benchmarks/bench_monitor_outcomes.py --firms 20000 --dates 2023-01-01 2023-07-01   # smoke
    python benchmarks/bench_monitor_outcomes.py --world demo-output/world          # an existing world
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from techscore.catalogue import load_catalogue
from techscore.dataset.build import default_observation_end, featurize
from techscore.model.pdmodel import PDModel
from techscore.monitor.backtest import ALL_GRADES, backtest_table
from techscore.monitor.performance import PerformanceEstimator, performance_row, reference_dates
from techscore.sources import load_sources

ROOT = Path(__file__).resolve().parents[1]
DATES = [d.date().isoformat() for d in pd.date_range("2021-07-01", "2024-10-01", freq="QS")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--firms", type=int, default=150_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--world", type=Path, help="an existing raw-data folder (default: synthesise one)")
    ap.add_argument("--model", default="models:/techscore_demo_pd@champion")
    ap.add_argument("--tracking-uri", help="MLflow store holding the model (default: the workspace's)")
    ap.add_argument("--dates", nargs="+", default=DATES)
    ap.add_argument("--window", type=int, default=12)
    ap.add_argument("--references", nargs="*", help="reference dates (default: one window before the first date, "
                    "as `techscore monitor`; none: `--references` alone)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "monitor_outcomes.json")
    args = ap.parse_args()
    from techscore.model.tracking import tracking_uri_for

    model = PDModel.from_mlflow(args.model, tracking_uri=tracking_uri_for(args.tracking_uri, ROOT))
    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as tmp:
        world = args.world
        if world is None:
            from techscore.synth import generate

            world = Path(tmp) / "world"
            generate(args.firms, args.seed, world)
        sources = load_sources(world)
    catalogue = load_catalogue(ROOT)
    loans = sources["loans"]
    end = default_observation_end(loans)
    rows, plain, scores = [], [], []
    estimator = PerformanceEstimator(loans, window_months=args.window, observation_end=end)

    def pds_at(as_of: str) -> pd.Series:
        X = featurize(sources, None, pd.Timestamp(as_of), catalogue=catalogue, ids=model.feature_ids)
        X = X.loc[X[model.feature_ids].notna().any(axis=1)]
        return pd.Series(model.predict_pd(X), index=X.index.astype(str))

    references = reference_dates(args.dates, args.window) if args.references is None else args.references
    for as_of in references:    # as `techscore monitor` does: scored for calibration only
        estimator.add_reference(as_of, pds_at(as_of))
    for as_of in args.dates:
        pds = pds_at(as_of)
        p = pds.to_numpy()
        rows.append(estimator.row(as_of, pds))
        plain.append(performance_row(as_of, pds, loans, window_months=args.window, observation_end=end))
        scores.append(pd.DataFrame({"as_of": as_of, "uscc": pds.index, "pd": p, "grade": model.grade(p)}))
        print(json.dumps({k: rows[-1][k] for k in ("as_of", "calibrated_on", "exposed", "defaults", "expected_auc",
                                                    "realized_auc", "auc_z")}), flush=True)
    bt = backtest_table(pd.concat(scores, ignore_index=True), loans, model.master_scale.grades,
                        window_months=args.window, observation_end=end)
    perf = pd.DataFrame(rows)
    known = perf.loc[perf["outcomes"] == "known"]
    diff = known["auc_difference"].to_numpy(float)
    raw = pd.DataFrame(plain).loc[lambda f: f["outcomes"] == "known", "auc_difference"].to_numpy(float)
    uncalibrated = ({"mean": float(np.mean(raw)), "max_abs": float(np.max(np.abs(raw))),
                     "dates_within_0.02": int((np.abs(raw) <= 0.02).sum())} if len(raw) else None)
    result = {
        "command": "python " + " ".join(sys.argv),
        "world": str(args.world or f"techscore synth --firms {args.firms} --seed {args.seed}"),
        "model": args.model, "window_months": args.window, "observation_end": end.date().isoformat(),
        "dates_known": int(len(known)),
        "auc_difference_mean": float(np.mean(diff)) if len(diff) else None,
        "auc_difference_max_abs": float(np.max(np.abs(diff))) if len(diff) else None,
        "dates_within_0.02": int((np.abs(diff) <= 0.02).sum()),
        "dates_within_2_se": int((np.abs(known["auc_z"].to_numpy(float)) <= 2).sum()),
        # label noise alone: were each estimate exact, the realized AUC would fall within 0.02 of it on this many
        # dates on average (normal, with each date's standard error)
        "dates_within_0.02_if_exact": float(np.sum(2 * norm.cdf(0.02 / known["expected_auc_se"].to_numpy(float)) - 1)),
        "dates_without_reference": int((known["calibrated_on"] == "").sum()),
        "default_rate_mean_abs_difference": {     # realized against the model's mean PD and the calibrated mean
            "expected_default_rate": float(known["default_rate_difference"].abs().mean()),
            "calibrated_default_rate": float((known["realized_default_rate"]
                                              - known["calibrated_default_rate"]).abs().mean())},
        "auc_difference_uncalibrated": uncalibrated,
        "performance": json.loads(perf.to_json(orient="records")),
        "backtest_vintages": json.loads(bt.loc[bt["grade"] == ALL_GRADES].to_json(orient="records")),
        "backtest_lights_by_grade": bt.loc[bt["grade"] != ALL_GRADES].groupby("light").size().to_dict(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("performance", "backtest_vintages")}, indent=2))


if __name__ == "__main__":
    main()
