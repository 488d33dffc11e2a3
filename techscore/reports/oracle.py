"""The model against the truth of a synthetic world: model AUC vs the oracle's, and PD calibration by grade
against each loan's true 12-month PD (`techscore.synth.truth`).

The oracle ranks loans by their true PD, so its AUC is the best any model could reach on the same loans and
outcomes; the gap is what the model leaves on the table. Calibration compares, in each grade, the model's mean PD
with the mean true PD (the aim: within 1 percentage point), beside the observed default rate, which is noisy.

>>> report = oracle_report(result.predictions, "demo-output/world")   # doctest: +SKIP
>>> oracle_summary(report)                                            # doctest: +SKIP
'oracle: model AUC 0.801 vs oracle AUC 0.874 on 9,812 test loans; ...'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from techscore.exceptions import SchemaError
from techscore.model.metrics import auc
from techscore.synth.truth import LOAN_TRUTH_FILE, TRUE_PD

__all__ = ["CALIBRATION_AIM", "OracleReport", "oracle_report", "oracle_summary", "read_loan_truth"]

CALIBRATION_AIM = 0.01
"""Largest acceptable gap between the mean model PD and the mean true PD of a grade."""


@dataclass(frozen=True)
class OracleReport:
    """Model AUC, oracle AUC and the per-grade calibration table (grade, loans, defaults, observed rate, mean model
    PD, mean true PD, gap = model - true)."""

    loans: int
    model_auc: float
    oracle_auc: float
    by_grade: pd.DataFrame

    @property
    def max_grade_gap(self) -> float:
        gaps = self.by_grade["gap"].abs()
        return float(gaps.max()) if len(gaps) else float("nan")

    def as_dict(self) -> dict:
        return {"loans": self.loans, "model_auc": self.model_auc, "oracle_auc": self.oracle_auc,
                "max_grade_gap": self.max_grade_gap, "by_grade": self.by_grade.to_dict(orient="records")}


def read_loan_truth(world: str | Path) -> pd.DataFrame:
    """loan_id and true 12-month PD of each loan of a synthetic world folder."""
    path = Path(world) / LOAN_TRUTH_FILE
    if not path.is_file():
        raise SchemaError(f"{path} does not exist; the world was written before loan truth was recorded "
                          f"(regenerate it with techscore synth).")
    return pd.read_parquet(path, columns=["loan_id", TRUE_PD])


def oracle_report(predictions: pd.DataFrame, world: str | Path | pd.DataFrame, *, label: str = "label",
                  grade_order: list[str] | None = None) -> OracleReport:
    """Compare a run's test predictions (loan_id, label, pd, grade) with the world's true PDs."""
    need = [c for c in ("loan_id", label, "pd", "grade") if c not in predictions.columns]
    if need:
        raise SchemaError(f"predictions are missing column{'s' if len(need) > 1 else ''} {', '.join(need)}; "
                          f"expected loan_id, {label}, pd and grade.")
    truth = world if isinstance(world, pd.DataFrame) else read_loan_truth(world)
    rows = predictions[["loan_id", label, "pd", "grade"]].astype({"loan_id": "string"}).merge(
        truth.astype({"loan_id": "string"}), on="loan_id", how="left", validate="many_to_one")
    unmatched = int(rows[TRUE_PD].isna().sum())
    if unmatched:
        shown = ", ".join(rows.loc[rows[TRUE_PD].isna(), "loan_id"].astype(str).head(5))
        raise SchemaError(f"{unmatched} predicted loans have no true PD in the world's {LOAN_TRUTH_FILE} "
                          f"(e.g. {shown}); were the predictions made on another world?")
    y = rows[label].to_numpy(dtype=np.float64)
    table = (rows.assign(grade=rows["grade"].astype(str))
             .groupby("grade", sort=False)
             .agg(loans=(label, "size"), defaults=(label, "sum"), mean_pd=("pd", "mean"), mean_true_pd=(TRUE_PD, "mean")))
    if grade_order is not None:
        table = table.reindex([g for g in grade_order if g in table.index])
    else:
        table = table.sort_values("mean_true_pd")
    table["observed_rate"] = table["defaults"] / table["loans"]
    table["gap"] = table["mean_pd"] - table["mean_true_pd"]
    return OracleReport(loans=len(rows), model_auc=auc(y, rows["pd"]), oracle_auc=auc(y, rows[TRUE_PD]),
                        by_grade=table.reset_index())


def oracle_summary(report: OracleReport) -> str:
    """One line for the demo: the AUCs, the grades within the calibration aim, and the worst grade."""
    t = report.by_grade
    if not len(t):
        return f"oracle: no test loans to compare (model AUC {report.model_auc:.3f})."
    within = t["gap"].abs() <= CALIBRATION_AIM
    worst = t.loc[t["gap"].abs().idxmax()]
    return (f"oracle: model AUC {report.model_auc:.3f} vs oracle AUC {report.oracle_auc:.3f} (true PDs ranked) on "
            f"{report.loans:,} test loans; mean PD within {CALIBRATION_AIM * 100:.0f} pp of the true PD in "
            f"{int(within.sum())} of {len(t)} grades ({t.loc[within, 'loans'].sum() / report.loans:.1%} of loans), "
            f"largest gap {worst['gap'] * 100:+.2f} pp in {worst['grade']} ({int(worst['loans']):,} loans)")
