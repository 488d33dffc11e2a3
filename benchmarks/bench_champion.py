"""Benchmark: the default pipeline with `champion = "auto"` against the same pipeline forced to ship LightGBM.

Both are `techscore.model.training.train` on the same experiment (same folds, seeds and model spec), once with
`champion = "lightgbm"` (what techscore shipped before the champion comparison) and once with `"auto"` (LightGBM,
the WOE scorecard or their blend, chosen inside each training part). Per dataset: CV AUC, Brier and log loss
(means over the experiment's folds), the scorecard challenger's, and how many outer folds each candidate won.

Datasets: `polish` (`experiments/polish.toml`: UCI Polish bankruptcy year 1, 7,027 firms, 5-fold CV over three
partitions, inner 5 folds) and `australian` (Statlog Australian credit, 690 applicants, 8 of 14 columns
categorical, stratified 5-fold CV with 5 inner folds, the default model spec).

    python benchmarks/bench_champion.py                          # full: both datasets (Polish takes the longest)
    python benchmarks/bench_champion.py --datasets australian    # quick
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from techscore.model.training import train
from techscore.specs import load_experiment

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
AUSTRALIAN = SHARED / "australian_credit" / "australian.dat"
CATEGORICAL = (0, 3, 4, 5, 7, 8, 10, 11)
MODES = ("lightgbm", "auto")
KEYS = ("cv_auc_mean", "cv_brier_mean", "cv_log_loss_mean", "cv_challenger_auc_mean", "cv_challenger_brier_mean")


def australian_experiment(folder: Path) -> Path:
    """A workspace in `folder` with the Statlog data as CSV (codes of categorical columns as text) and a 5-fold
    CV experiment on the repository's default model spec; returns the experiment file."""
    raw = pd.read_csv(AUSTRALIAN, sep=r"\s+", header=None)
    table = pd.DataFrame({f"A{i + 1}": ("c" + raw[i].astype(str)) if i in CATEGORICAL else raw[i].astype(float)
                          for i in range(14)}).assign(y=raw[14])
    table.to_csv(folder / "australian.csv", index=False)
    (folder / "experiments").mkdir()
    spec = folder / "experiments" / "australian.toml"
    spec.write_text(f'name = "australian"\nmodel = "{(ROOT / "models" / "pd_lgbm_v1.toml").as_posix()}"\n'
                    '[data]\ntabular = "australian.csv"\ntarget = "y"\n[split]\ncv = 5\ninner_folds = 5\nseed = 0\n',
                    encoding="utf-8")
    return spec


def run(experiment: Path, mode: str, out: Path) -> dict:
    spec = load_experiment(experiment).model_copy(update={"champion": mode})
    start = time.perf_counter()
    result = train(spec, tracking=False, out=out)
    row = {k: result.metrics.get(k) for k in KEYS}
    row["seconds"] = round(time.perf_counter() - start, 1)
    row["folds_won"] = {k.removeprefix("champion_folds_"): v for k, v in result.metrics.items()
                        if k.startswith("champion_folds_")}
    row["shipped"] = result.report.get("champion_selection", {}).get("shipped")
    row["reason"] = result.report.get("champion_selection", {}).get("reason")
    return row


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["polish", "australian"], choices=["polish", "australian"])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "champion.json")
    args = parser.parse_args(argv)
    results: dict = {"command": "python benchmarks/bench_champion.py " + " ".join(argv or sys.argv[1:]),
                     "datasets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        experiments = {"polish": ROOT / "experiments" / "polish.toml"}
        if "australian" in args.datasets:
            (tmp_path / "aus").mkdir()
            experiments["australian"] = australian_experiment(tmp_path / "aus")
        for name in args.datasets:
            results["datasets"][name] = {mode: run(experiments[name], mode, tmp_path / f"{name}_{mode}")
                                         for mode in MODES}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(json.dumps(results, indent=2))  # noqa: T201
    return results


if __name__ == "__main__":
    main()
