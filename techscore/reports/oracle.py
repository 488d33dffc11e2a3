"""The model against the truth of a synthetic world: model AUC vs the oracle's, and PD calibration by grade
against each loan's true 12-month PD (`techscore.synth.truth`).

The oracle ranks loans by their true PD, so its AUC is the best any model could reach on the same loans and
outcomes; the gap is what the model leaves on the table. Calibration compares, in each grade, the model's mean PD
with the mean true PD (the aim: within 1 percentage point), beside the observed default rate, which is noisy.

Two columns say why a grade misses: `gap_se`, the standard error of its gap (the spread of model minus true PD
over its loans; a grade of a dozen loans cannot show a 1 pp gap), and `affine_gap`, the gap left when the model's
log-odds are mapped by the best affine map fitted to the true PDs themselves (`calibrate.affine_fit`): the best
any Platt calibration could do. A grade whose `affine_gap` still misses the aim misses it through the shape of
the booster's margin, which only a non-affine map (isotonic, giving up SHAP additivity) could bend.

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
from techscore.model.calibrate import EPS, affine_fit, sigmoid
from techscore.model.metrics import auc
from techscore.synth.truth import LOAN_TRUTH_FILE, TRUE_PD

__all__ = ["CALIBRATION_AIM", "OracleReport", "oracle_report", "oracle_summary", "read_loan_truth"]

CALIBRATION_AIM = 0.01
"""Largest acceptable gap between the mean model PD and the mean true PD of a grade."""


@dataclass(frozen=True)
class OracleReport:
    """Model AUC, oracle AUC and the per-grade calibration table (grade, loans, defaults, observed rate, mean model
    PD, mean true PD, gap = model - true, its standard error `gap_se`, and `affine_gap`, the gap after the best
    affine recalibration of the model's log-odds against the true PDs, whose slope and intercept are `affine`)."""

    loans: int
    model_auc: float
    oracle_auc: float
    by_grade: pd.DataFrame
    affine: tuple[float, float] = (1.0, 0.0)

    @property
    def max_grade_gap(self) -> float:
        gaps = self.by_grade["gap"].abs()
        return float(gaps.max()) if len(gaps) else float("nan")

    def as_dict(self) -> dict:
        return {"loans": self.loans, "model_auc": self.model_auc, "oracle_auc": self.oracle_auc,
                "max_grade_gap": self.max_grade_gap, "affine": list(self.affine),
                "by_grade": self.by_grade.to_dict(orient="records")}


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
    p = np.clip(rows["pd"].to_numpy(dtype=np.float64), EPS, 1 - EPS)
    log_odds = np.log(p / (1 - p))
    a, b = affine_fit(log_odds, rows[TRUE_PD].to_numpy(dtype=np.float64))
    rows = rows.assign(grade=rows["grade"].astype(str), error=rows["pd"] - rows[TRUE_PD],
                       affine_pd=sigmoid(a * log_odds + b))
    table = (rows.groupby("grade", sort=False)
             .agg(loans=(label, "size"), defaults=(label, "sum"), mean_pd=("pd", "mean"), mean_true_pd=(TRUE_PD, "mean"),
                  error_sd=("error", "std"), mean_affine_pd=("affine_pd", "mean")))
    if grade_order is not None:
        table = table.reindex([g for g in grade_order if g in table.index])
    else:
        table = table.sort_values("mean_true_pd")
    table["observed_rate"] = table["defaults"] / table["loans"]
    table["gap"] = table["mean_pd"] - table["mean_true_pd"]
    table["gap_se"] = (table.pop("error_sd") / np.sqrt(table["loans"])).fillna(0.0)
    table["affine_gap"] = table.pop("mean_affine_pd") - table["mean_true_pd"]
    return OracleReport(loans=len(rows), model_auc=auc(y, rows["pd"]), oracle_auc=auc(y, rows[TRUE_PD]),
                        by_grade=table.reset_index(), affine=(a, b))


def oracle_summary(report: OracleReport) -> str:
    """One line for the demo: the AUCs, the grades within the calibration aim, and the worst grade with its standard
    error and what the best affine recalibration against the truth would leave there."""
    t = report.by_grade
    if not len(t):
        return f"oracle: no test loans to compare (model AUC {report.model_auc:.3f})."
    within = t["gap"].abs() <= CALIBRATION_AIM
    worst = t.loc[t["gap"].abs().idxmax()]
    return (f"oracle: model AUC {report.model_auc:.3f} vs oracle AUC {report.oracle_auc:.3f} (true PDs ranked) on "
            f"{report.loans:,} test loans; mean PD within {CALIBRATION_AIM * 100:.0f} pp of the true PD in "
            f"{int(within.sum())} of {len(t)} grades ({t.loc[within, 'loans'].sum() / report.loans:.1%} of loans), "
            f"largest gap {worst['gap'] * 100:+.2f} pp in {worst['grade']} ({int(worst['loans']):,} loans, standard "
            f"error {worst['gap_se'] * 100:.2f} pp); the best affine recalibration against the true PDs leaves "
            f"{worst['affine_gap'] * 100:+.2f} pp there ({_why(worst['affine_gap'])})")


def _why(affine_gap: float) -> str:
    if abs(affine_gap) > CALIBRATION_AIM:
        return "the margin's shape: no SHAP-additive calibration reaches the aim in that grade"
    return "within the aim: a better-fitted Platt map would close it"
