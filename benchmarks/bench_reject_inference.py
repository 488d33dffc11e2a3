"""Reject inference against the truth: each method's AUC and calibration on ALL applicants, not just the approved.

For each seed and each approval setting, a synthetic world with applications (`techscore.synth.applications`):

* ``mar``: the banks approve on the scorecard points alone (firm age, leverage, tax grade, all observed) with 5%
  random overrides: outcomes are missing at random given the features;
* ``mnar``: the decision also uses the loan officer's view of the firm's unobserved frailty (``soft_info`` 1.0):
  missing not at random.

Features of every application are built as of its application month (`reject_inference.applicant_features`,
the whole catalogue). The model (LightGBM with `models/pd_lgbm_sme_v1.toml`'s learner and monotone constraints,
the booster's own probability, no refit, no separate calibrator) trains on applications before 2022 (the approved
ones with their outcomes; the rejected ones as each method uses them) and stops early on the approved
applications of 2022 (what a bank can validate on). The test is every application of 2024 with a complete
window (2023 is the embargo): approved and rejected, with the outcome and true PD only the truth holds.

Per method: AUC against the outcomes on all applicants (and on the approved only, what the bank can measure, and
on the rejected only), the oracle AUC (true PDs ranked), calibration error against the true PD on all applicants
(mean over applicants of |mean PD - mean true PD| of their grade on the model spec's master scale, and the same
over ten equal-count PD bands), and the mean PD vs the mean true PD of the rejected test applicants.

    python benchmarks/bench_reject_inference.py --firms 3000 --seeds 0        # smoke
    python benchmarks/bench_reject_inference.py                               # the figures (20,000 firms, 3 seeds)

Results: a table on stdout and `benchmarks/results/reject_inference.json` (with the command).
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from techscore.catalogue import load_catalogue
from techscore.model.lgbm import lgb_params
from techscore.model.metrics import auc
from techscore.model.reject_inference import METHODS, applicant_features, infer_rejects, lgb_fitter
from techscore.model.scale import pd_to_grade
from techscore.sources.asof import sort_by_known
from techscore.sources.load import load_sources
from techscore.specs import RejectInferenceSpec, load_model_spec
from techscore.synth import generate
from techscore.synth.applications import APPLICATION_TRUTH_FILE, APPLICATIONS_FILE, TRUE_BAD, ApprovalRule
from techscore.synth.truth import TRUE_PD

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "reject_inference.json"
MODEL_SPEC = ROOT / "models" / "pd_lgbm_sme_v1.toml"
SETTINGS = {"mar": 0.0, "mnar": 1.0}
TRAIN_BEFORE, VALID_BEFORE, TEST_FROM, TEST_BEFORE = "2022-01-01", "2023-01-01", "2024-01-01", "2025-01-01"


def applicants(world: Path, catalogue) -> tuple[pd.DataFrame, list[str]]:
    """Every application with its features, decision and truth."""
    apps = pd.read_parquet(world / APPLICATIONS_FILE).merge(pd.read_parquet(world / APPLICATION_TRUTH_FILE),
                                                            on="application_id", validate="one_to_one")
    apps["applied"] = pd.to_datetime(apps["applied"])
    ids = [i for i in catalogue.ids if catalogue.party(i) is None]
    feats = applicant_features(sort_by_known(load_sources(world)), apps, ids, catalogue=catalogue)
    return pd.concat([apps, feats], axis=1), ids


def calibration_errors(p: np.ndarray, true_pd: np.ndarray, grades: np.ndarray) -> dict[str, float]:
    """Mean over rows of |mean PD - mean true PD| of the row's grade, and of its PD decile."""
    frame = pd.DataFrame({"p": p, "t": true_pd, "g": grades, "d": pd.qcut(p, 10, labels=False, duplicates="drop")})
    out = {}
    for name, key in (("by_grade", "g"), ("by_decile", "d")):
        g = frame.groupby(key, observed=True).agg(n=("p", "size"), p=("p", "mean"), t=("t", "mean"))
        out[f"calibration_error_{name}"] = float((g["n"] * (g["p"] - g["t"]).abs()).sum() / g["n"].sum())
    return out


def evaluate(method: str, frame: pd.DataFrame, ids: list[str], mspec, seed: int) -> dict:
    """Fit with `method` on the training period and measure on all test applicants."""
    train = frame[frame["applied"] < TRAIN_BEFORE]
    valid = frame[(frame["applied"] >= TRAIN_BEFORE) & (frame["applied"] < VALID_BEFORE) & frame["approved"]]
    valid = valid[valid[TRUE_BAD].notna()]
    test = frame[(frame["applied"] >= TEST_FROM) & (frame["applied"] < TEST_BEFORE) & frame[TRUE_BAD].notna()]
    ok, rejected = train[train["approved"] & train[TRUE_BAD].notna()], train[~train["approved"]]
    spec = RejectInferenceSpec(method=method, seed=seed)
    t0 = time.perf_counter()
    aug = infer_rejects(ok[ids], ok[TRUE_BAD].to_numpy(), rejected[ids], spec, fitter=lgb_fitter(seed=seed))
    features = [f for f in load_catalogue().features if f.id in set(ids)]
    params = lgb_params(mspec.learner, seed, features, mspec.monotone)
    train_set = lgb.Dataset(aug.X, aug.y, weight=aug.weight, free_raw_data=True)
    valid_set = lgb.Dataset(valid[ids], valid[TRUE_BAD].to_numpy(), reference=train_set)
    booster = lgb.train(params, train_set, num_boost_round=mspec.learner.num_boost_round, valid_sets=[valid_set],
                        callbacks=[lgb.early_stopping(mspec.learner.early_stopping_rounds, verbose=False)])
    seconds = time.perf_counter() - t0
    p = np.asarray(booster.predict(test[ids], num_iteration=booster.best_iteration), dtype=np.float64)
    y, true_pd, approved = test[TRUE_BAD].to_numpy(), test[TRUE_PD].to_numpy(), test["approved"].to_numpy()
    rej = ~approved
    return {
        "method": method, "train_rows": len(aug.y), "rounds": int(booster.best_iteration), "seconds": seconds,
        "auc_all": auc(y, p), "auc_approved": auc(y[approved], p[approved]), "auc_rejected": auc(y[rej], p[rej]),
        "oracle_auc_all": auc(y, true_pd),
        "mean_abs_pd_error_all": float(np.abs(p - true_pd).mean()),
        **{f"{k}_all": v for k, v in calibration_errors(p, true_pd, pd_to_grade(p, mspec.master_scale)).items()},
        "mean_pd_all": float(p.mean()), "mean_true_pd_all": float(true_pd.mean()),
        "mean_pd_rejected": float(p[rej].mean()), "mean_true_pd_rejected": float(true_pd[rej].mean()),
        "info": {k: v for k, v in aug.info.items() if k != "bands"},
    }


def run(firms: int, seeds: list[int], settings: list[str], methods: list[str]) -> list[dict]:
    mspec = load_model_spec(MODEL_SPEC)
    catalogue = load_catalogue(ROOT)
    rows = []
    for seed in seeds:
        for setting in settings:
            with tempfile.TemporaryDirectory(prefix="bench_ri_") as tmp:
                world = Path(tmp) / "world"
                generate(firms, seed, world, applications=ApprovalRule(soft_info=SETTINGS[setting]))
                frame, ids = applicants(world, catalogue)
            test = frame[(frame["applied"] >= TEST_FROM) & (frame["applied"] < TEST_BEFORE) & frame[TRUE_BAD].notna()]
            base = {"seed": seed, "setting": setting, "applications": len(frame),
                    "approved_share": float(frame["approved"].mean()), "test_applicants": len(test),
                    "test_rejected": int((~test["approved"]).sum()), "test_defaults": int(test[TRUE_BAD].sum())}
            for method in methods:
                r = {**base, **evaluate(method, frame, ids, mspec, seed)}
                rows.append(r)
                print(f"seed {seed} {setting:4} {method:12} AUC all {r['auc_all']:.4f} (oracle {r['oracle_auc_all']:.4f}, "
                      f"approved {r['auc_approved']:.4f}, rejected {r['auc_rejected']:.4f})  calib err by grade "
                      f"{r['calibration_error_by_grade_all'] * 100:.2f} pp  rejected mean PD "
                      f"{r['mean_pd_rejected'] * 100:.2f}% vs true {r['mean_true_pd_rejected'] * 100:.2f}%",
                      flush=True)
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Mean over seeds per setting and method, and the change against `none` on the same world."""
    frame = pd.DataFrame([{k: v for k, v in r.items() if k != "info"} for r in rows])
    keys = ["auc_all", "auc_approved", "auc_rejected", "oracle_auc_all", "calibration_error_by_grade_all",
            "calibration_error_by_decile_all", "mean_abs_pd_error_all", "mean_pd_rejected", "mean_true_pd_rejected"]
    none = frame.loc[frame["method"] == "none", ["seed", "setting", "auc_all", "calibration_error_by_grade_all"]]
    frame = frame.merge(none, on=["seed", "setting"], how="left", suffixes=("", "_none"))
    frame["auc_all_vs_none"] = frame["auc_all"] - frame["auc_all_none"]
    frame["calibration_error_by_grade_vs_none"] = (frame["calibration_error_by_grade_all"]
                                                   - frame["calibration_error_by_grade_all_none"])
    keys += ["auc_all_vs_none", "calibration_error_by_grade_vs_none"]
    g = frame.groupby(["setting", "method"], sort=False)
    out = g[keys].mean().add_suffix("_mean").join(g[["auc_all_vs_none"]].agg(["min", "max"]).set_axis(
        ["auc_all_vs_none_min", "auc_all_vs_none_max"], axis=1)).join(g.size().rename("seeds"))
    return out.reset_index().to_dict("records")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--firms", type=int, default=20_000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    ap.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows = run(args.firms, args.seeds, args.settings, args.methods)
    summary = summarise(rows)
    for s in summary:
        print(f"{s['setting']:4} {s['method']:12} AUC all {s['auc_all_mean']:.4f} ({s['auc_all_vs_none_mean']:+.4f} vs "
              f"none, range {s['auc_all_vs_none_min']:+.4f}..{s['auc_all_vs_none_max']:+.4f})  calib err by grade "
              f"{s['calibration_error_by_grade_all_mean'] * 100:.2f} pp "
              f"({s['calibration_error_by_grade_vs_none_mean'] * 100:+.2f})")
    result = {
        "benchmark": "reject_inference",
        "command": "python benchmarks/bench_reject_inference.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        "firms": args.firms, "seeds": args.seeds, "settings": {k: {"soft_info": SETTINGS[k]} for k in args.settings},
        "model_spec": str(MODEL_SPEC.relative_to(ROOT)), "split": {"train_before": TRAIN_BEFORE,
        "valid": [TRAIN_BEFORE, VALID_BEFORE], "test": [TEST_FROM, TEST_BEFORE]},
        "defaults": RejectInferenceSpec().model_dump(), "seconds": time.perf_counter() - t0,
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()},
        "summary": summary, "runs": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=float) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
