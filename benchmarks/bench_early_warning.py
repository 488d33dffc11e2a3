"""How well monitoring finds what the synthetic world planted, on a demo-size world (a quality figure, not speed).

Generates the world `techscore demo` makes (30,000 firms, seed 42 by default), trains the demo experiment's model
on it (no tracking), and runs `techscore monitor` with `experiments/monitor_demo.toml`'s dates and thresholds.
Against the world's ground truth (`ground_truth.json`, `firm_truth.parquet`) it reports:

* the early-warning list against defaults within 6 months of each date (`techscore.monitor.evaluation`): lift of the
  first 5% of firms in the early-warning order (later PD first; for comparison, by the largest PD rise), recall of
  the month's list and of the watch list (at the watch grade or worse, or listed) with the shares of firms they
  name, pooled over the dates whose 6 months are observed;
* the planted shock (industry section, start month): per month the section's mean log-odds change against the other
  sections' largest, the section's top mover, and the months flagged (`FLAG_RULE`), which should be the months after
  the start and none before.

Results: `benchmarks/results/early_warning.json` (with the command line).

    python benchmarks/bench_early_warning.py --firms 6000 --out /tmp/early_warning.json   # smoke
    python benchmarks/bench_early_warning.py                                               # the figure
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from techscore.cli.demo import DEMO_EXPERIMENT, DEMO_FIRMS, DEMO_SEED
from techscore.model.training import train
from techscore.monitor.evaluation import POOLED, segment_shift, warning_performance
from techscore.monitor.run import run_monitor
from techscore.monitor.spec import load_monitor_spec
from techscore.specs import load_experiment
from techscore.synth import generate
from techscore.synth.plants import FIRM_TRUTH_FILE

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "early_warning.json"
MONITOR_SPEC = ROOT / "experiments" / "monitor_demo.toml"
SHORT_WINDOW = ("sc_sales_change_3m", "sc_late_rate_as_buyer_3m")
"""The short-window supply-chain features; their gain share in the trained model is reported."""
FLAG_RULE = ("section change minus portfolio change > 2 x the largest such rise over the earlier months not "
             "flagged (at least two of them), and > 0.001 log-odds")
LATE = ("sc_late_rate_as_buyer_3m", "sc_late_rate_as_buyer", "sc_days_late_as_buyer")
"""The features of the shock's most visible move (shocked firms pay their suppliers late): their CSI per month."""


def flagged(shift: pd.DataFrame) -> list[str]:
    """Later dates of the comparisons where the shocked section's mean log-odds rose well beyond the portfolio's,
    judged against the earlier months that were not flagged (a sequential rule: no use of the truth, and a
    publication month in which the section fell does not raise the bar)."""
    relative = (shift["segment_change"] - shift["portfolio_change"]).to_numpy()
    out, calm = [], []
    for after, value in zip(shift["as_of_after"], relative, strict=True):
        if len(calm) >= 2 and value > max(2 * max(max(calm), 0.0), 0.001):
            out.append(after)
        else:
            calm.append(value)
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=DEMO_FIRMS)
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    parser.add_argument("--horizon-months", type=int, default=6)
    parser.add_argument("--top", type=float, default=0.05)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-early-warning-") as tmp:
        base = Path(tmp)
        world = base / "world"
        generate(args.firms, args.seed, world)
        spec = load_experiment(ROOT / DEMO_EXPERIMENT)
        data = spec.data.model_copy(update={"path": str(world), "dataset": str(base / "dataset")})
        trained = train(spec.model_copy(update={"data": data, "challenger": False}), tracking=False,
                        out=base / "out")
        monitor = load_monitor_spec(MONITOR_SPEC, workspace=ROOT)
        monitor = monitor.model_copy(update={"model": str(trained.paths["model"]), "data": str(world),
                                             "out": str(base / "monitor")})
        monitored = run_monitor(monitor, tracking=False)
        tables = monitored.tables | {"scores": monitored.table("scores")}
        grades = json.loads((base / "monitor" / "monitor.json").read_text(encoding="utf-8"))["grades"]
        truth = json.loads((world / "ground_truth.json").read_text(encoding="utf-8"))
        firms = pd.read_parquet(world / FIRM_TRUTH_FILE)
    shock = truth["plants"]["shock"]
    importance = trained.tables["importance"]
    short = importance.loc[importance["feature"].isin(SHORT_WINDOW), ["feature", "gain_share"]]
    gain_share = {str(f): round(float(g), 4) for f, g in zip(short["feature"], short["gain_share"], strict=True)}
    defaults = firms.set_index("uscc")["default_date"]
    perf = warning_performance(tables["scores"], tables["early_warnings"], defaults,
                               horizon_months=args.horizon_months, top=args.top, observed_until=truth["snapshot"],
                               watch_grade=monitor.thresholds.watch_grade, grades=grades)
    pooled = perf.loc[perf["as_of_after"] == POOLED].iloc[0]
    by_grade = []
    for grade in grades[1:]:  # the watch list at each possible watch grade, for choosing one
        row = warning_performance(tables["scores"], tables["early_warnings"], defaults, horizon_months=args.horizon_months,
                                  top=args.top, observed_until=truth["snapshot"], watch_grade=grade, grades=grades)
        row = row.loc[row["as_of_after"] == POOLED].iloc[0]
        by_grade.append({"watch_grade": grade, "recall_at_watch": round(float(row["recall_at_watch"]), 4),
                         "watched_share": round(float(row["watched_share"]), 4),
                         "watch_lift": round(float(row["watch_lift"]), 2)})
    section = shock["segment"]["section"]
    shift = segment_shift(tables["drivers"], section)
    stab = tables["stability"]
    csi = (stab.loc[stab["item"].isin(LATE)].pivot(index="as_of_after", columns="item", values="psi")
           .round(4).reset_index())
    after_start = [d for d in shift["as_of_after"] if pd.Timestamp(d) > pd.Timestamp(shock["start"])]
    result = {
        "benchmark": "early_warning",
        "command": "python benchmarks/" + Path(__file__).name + (" " + " ".join(sys.argv[1:]) if argv is None
                                                                 else " " + " ".join(argv)).rstrip(),
        "firms": args.firms, "seed": args.seed, "dates": monitor.dates, "thresholds": monitor.thresholds.model_dump(),
        "test_auc": round(float(trained.metrics["test_auc"]), 4),
        "short_window_gain_share": gain_share,
        "early_warning": {
            "horizon_months": args.horizon_months, "top_share": args.top,
            "dates_pooled": int(perf["complete"].sum()) - 1,
            "firm_dates": int(pooled["firms"]), "defaults": int(pooled["defaults"]),
            "default_rate": round(float(pooled["default_rate"]), 5),
            "order": "later PD, highest first (techscore.monitor.warnings.warning_priority)",
            "top_lift": round(float(pooled["top_lift"]), 2),
            "rise_lift": round(float(pooled["rise_lift"]), 2),
            "recall_at_watch": round(float(pooled["recall_at_watch"]), 4),
            "watched_share": round(float(pooled["watched_share"]), 4),
            "watch_lift": round(float(pooled["watch_lift"]), 2),
            "recall_listed": round(float(pooled["recall_listed"]), 4),
            "listed_share": round(float(pooled["listed_share"]), 4),
            "listed_lift": round(float(pooled["listed_lift"]), 2),
            "watch_by_grade": by_grade,
            "by_date": json.loads(perf.to_json(orient="records")),
        },
        "shock": {
            "section": section, "start": shock["start"], "flag_rule": FLAG_RULE,
            "months_after_start": after_start, "months_flagged": flagged(shift),
            "by_date": json.loads(shift.to_json(orient="records")),
            "late_payment_csi": json.loads(csi.to_json(orient="records")),
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("command", "test_auc", "seconds")} | {  # noqa: T201
        "early_warning": {k: v for k, v in result["early_warning"].items() if k != "by_date"},
        "shock": {k: v for k, v in result["shock"].items() if k != "by_date"}}, ensure_ascii=False, indent=2))
    return result


if __name__ == "__main__":
    main()
