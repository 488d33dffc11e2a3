"""The joint experiment's tables and files: the comparison by bank and variant, the AUC differences (paired
bootstrap), their Markdown and chart, and each child run's files."""

from __future__ import annotations

import shutil
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from techscore.dataset.frame import LABEL
from techscore.joint.compare import bootstrap_auc
from techscore.joint.fitting import Outcome
from techscore.joint.spec import VARIANTS, JointSpec

if TYPE_CHECKING:
    from techscore.joint.experiment import JointResult

__all__ = ["child_files", "comparison_tables", "markdown_table", "write_files"]


# --- tables -----------------------------------------------------------------------------------------------------
def _seed(spec: JointSpec, bank: str) -> list[int]:
    """Each bank's bootstrap stream: the spec's seed and a stable hash of the bank id (independent of order)."""
    return [int(spec.bootstrap.seed), zlib.crc32(bank.encode("utf-8"))]


def comparison_tables(spec: JointSpec, outcomes: dict[tuple[str, str], Outcome], y: np.ndarray,
                      parts: dict[str, dict[str, np.ndarray]], fold) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per bank x variant and one per bank x comparison, with bootstrap intervals."""
    from techscore.model.scale import pd_to_score

    comparisons = spec.comparison_list
    pool_train = len(fold.train)
    rows, diffs = [], []
    for bank, bank_spec in spec.banks.items():
        p = parts[bank]
        test_y = y[p["test"]]
        ran = {v: outcomes[(bank, v)] for v in spec.variants if outcomes[(bank, v)].ran}
        pairs = [(c.variant, c.baseline) for c in comparisons if c.variant in ran and c.baseline in ran]
        boot = (bootstrap_auc(test_y, {v: o.pd["test"] for v, o in ran.items()}, pairs, n=spec.bootstrap.n,
                              level=spec.bootstrap.level, seed=_seed(spec, bank)) if ran else None)
        ci = boot.aucs.set_index("model") if boot is not None else pd.DataFrame()
        dt = boot.differences.set_index(["variant", "baseline"]) if boot is not None else pd.DataFrame()
        base = {"bank": bank, "bank_train_loans": len(p["train"]), "bank_share_of_pool": len(p["train"]) / pool_train,
                "test_loans": len(p["test"]), "test_defaults": int(test_y.sum()),
                "test_bad_rate": float(test_y.mean()) if len(test_y) else float("nan")}
        for variant in spec.variants:
            o = outcomes[(bank, variant)]
            training, features = VARIANTS[variant]
            row = {**base, "variant": variant, "training": training, "features": features, "fit_loans": o.fit_rows}
            if o.ran:
                m = o.evaluation.metrics  # type: ignore[union-attr]
                row.update(auc=m["auc"], auc_lo=ci.loc[variant, "auc_lo"], auc_hi=ci.loc[variant, "auc_hi"],
                           gini=m["gini"], ks=m["ks"], brier=m["brier"], log_loss=m["log_loss"],
                           mean_pd=m["mean_pd"], calibration_oe=m["bad_rate"] / m["mean_pd"],
                           score_psi=m.get("score_psi", float("nan")))
                row.update(cutoff_rule=bank_spec.cutoff_rule, max_bad_rate=bank_spec.max_bad_rate or float("nan"),
                           cutoff_pd=o.cutoff,
                           cutoff_score=float(pd_to_score(np.array([o.cutoff]), o.model.scaling)[0])
                           if np.isfinite(o.cutoff) else float("nan"),
                           **o.at_cutoff)
                first = next(((c.name, c.baseline) for c in comparisons
                              if c.variant == variant and (variant, c.baseline) in dt.index), None)
                if first is not None:
                    d = dt.loc[(variant, first[1])]
                    row.update(compared_with=first[1], auc_diff=d["auc_diff"], diff_lo=d["diff_lo"],
                               diff_hi=d["diff_hi"], p_value=d["p_value"])
            row["note"] = o.note
            rows.append(row)
        for c in comparisons:
            row = {"bank": bank, "comparison": c.name, "variant": c.variant, "baseline": c.baseline,
                   "bank_train_loans": len(p["train"]), "test_loans": len(p["test"]),
                   "test_defaults": int(test_y.sum())}
            if (c.variant, c.baseline) in dt.index:
                d = dt.loc[(c.variant, c.baseline)]
                row.update(auc_variant=ci.loc[c.variant, "auc"], auc_baseline=ci.loc[c.baseline, "auc"],
                           auc_diff=d["auc_diff"], diff_lo=d["diff_lo"], diff_hi=d["diff_hi"],
                           diff_se=d["diff_se"], p_value=d["p_value"])
            else:
                why = [f"{v}: {outcomes[(bank, v)].note}" for v in (c.variant, c.baseline)
                       if not outcomes[(bank, v)].ran]
                row["note"] = "; ".join(why)
            diffs.append(row)
    table = pd.DataFrame(rows)
    order = ["bank", "variant", "training", "features", "bank_train_loans", "bank_share_of_pool", "fit_loans",
             "test_loans", "test_defaults", "test_bad_rate", "auc", "auc_lo", "auc_hi", "gini", "ks", "brier",
             "log_loss", "mean_pd", "calibration_oe", "score_psi", "cutoff_rule", "max_bad_rate", "cutoff_pd",
             "cutoff_score", "approval_rate", "approved", "approved_bad_rate", "approved_expected_bad_rate",
             "refused_bad_rate", "compared_with", "auc_diff", "diff_lo", "diff_hi", "p_value", "note"]
    table = table.reindex(columns=order)
    dorder = ["bank", "comparison", "variant", "baseline", "bank_train_loans", "test_loans", "test_defaults",
              "auc_variant", "auc_baseline", "auc_diff", "diff_lo", "diff_hi", "diff_se", "p_value", "note"]
    return table, pd.DataFrame(diffs).reindex(columns=dorder)


# --- files ------------------------------------------------------------------------------------------------------
def markdown_table(frame: pd.DataFrame, columns: Sequence[str], digits: int = 3) -> str:
    """A Markdown table of `columns` (numbers rounded, missing as a dash)."""
    def cell(v: object) -> str:
        if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA:
            return "-"
        if isinstance(v, float | np.floating):
            return f"{v:.{digits}f}"
        return str(v)

    head = "| " + " | ".join(columns) + " |\n| " + " | ".join("---" for _ in columns) + " |\n"
    return head + "".join("| " + " | ".join(cell(r[c]) for c in columns) + " |\n"
                          for r in frame.to_dict("records"))


def write_files(result: JointResult, out: Path) -> dict[str, Path]:
    """The experiment's files in `out` (replaced): comparison.csv/.md/.png, auc_differences.csv, the spec copies."""
    from techscore.joint.chart import comparison_chart
    from techscore.model.plots import save_png

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    paths = {"out": out}
    spec = result.spec
    paths["comparison.csv"] = out / "comparison.csv"
    result.table.to_csv(paths["comparison.csv"], index=False)
    paths["auc_differences.csv"] = out / "auc_differences.csv"
    result.differences.to_csv(paths["auc_differences.csv"], index=False)
    level = f"{spec.bootstrap.level:.0%}"
    md = [f"# Joint experiment {spec.name}\n", f"{spec.description}\n" if spec.description else "",
          f"Each bank's own test loans (issued from {spec.split.test_from}); {level} intervals from "
          f"{spec.bootstrap.n} paired bootstrap resamples; each variant's cut-off from its own PDs of the test "
          "applicants (NPL rule or approval rate), outcomes observed after.\n",
          "\n## By bank and variant\n\n",
          markdown_table(result.table, ["bank", "variant", "bank_train_loans", "test_loans", "test_defaults", "auc",
                                        "auc_lo", "auc_hi", "ks", "brier", "calibration_oe", "approval_rate",
                                        "approved_bad_rate", "note"]),
          "\n## AUC differences\n\n",
          markdown_table(result.differences, ["bank", "comparison", "bank_train_loans", "auc_variant", "auc_baseline",
                                              "auc_diff", "diff_lo", "diff_hi", "p_value", "note"])]
    paths["comparison.md"] = out / "comparison.md"
    paths["comparison.md"].write_text("".join(md), encoding="utf-8")
    paths["comparison.png"] = save_png(comparison_chart(result.table, result.differences, level=level),
                                       out / "comparison.png")
    spec_dir = out / "spec"
    spec_dir.mkdir()
    if spec.path is not None:
        paths["spec"] = Path(shutil.copy(spec.path, spec_dir / "joint.toml"))
    if result.model_spec.path is not None:
        paths["model_spec"] = Path(shutil.copy(result.model_spec.path, spec_dir / "model.toml"))
    return paths


def child_files(o: Outcome, frame_test: pd.DataFrame, folder: Path, *, log_model: bool, with_plots: bool) -> None:
    """A child run's files: test tables, predictions on the bank's test loans, plots and (own models) the model."""
    from techscore.model import plots
    from techscore.model.training import importance_table

    ev = o.evaluation
    assert ev is not None and o.model is not None
    tables = folder / "tables"
    tables.mkdir(parents=True)
    ev.calibration.to_csv(tables / "calibration_by_grade.csv", index=False)
    ev.lift.to_csv(tables / "lift.csv", index=False)
    if len(ev.segments):
        ev.segments.to_csv(tables / "segments.csv", index=False)
    if ev.psi is not None:
        ev.psi.to_csv(tables / "score_psi.csv", index=False)
    importance_table(o.model).to_csv(tables / "importance.csv", index=False)
    p, y = o.pd["test"], frame_test[LABEL].to_numpy()
    pred = frame_test[["loan_id", "uscc", "issued"]].reset_index(drop=True).assign(
        **{LABEL: y, "pd": p, "score": o.model.score(p), "grade": pd.array(o.model.grade(p), dtype="string"),
           "approved": p <= o.cutoff})
    pred.to_parquet(folder / "predictions.parquet", index=False)
    if with_plots:
        title = f"{o.bank}, {o.variant}, test"
        figs = {"roc": plots.roc_plot({o.variant: (y, p)}, title=f"ROC ({title})"),
                "ks": plots.ks_plot(y, p, title=f"KS ({title})"),
                "calibration": plots.calibration_plot(ev.calibration, title=f"Calibration by grade ({title})")}
        for name, fig in figs.items():
            plots.save_png(fig, folder / "plots" / f"{name}.png")
    if log_model:
        o.model.save(folder / "model")
