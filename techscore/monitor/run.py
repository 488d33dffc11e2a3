"""`techscore monitor`: score a portfolio at each as-of date from the raw tables, compare consecutive dates, write
the tables and log one MLflow run per date."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from techscore.model.pdmodel import PDModel
from techscore.monitor.backtest import backtest_table
from techscore.monitor.drivers import driver_table
from techscore.monitor.events import EVENT_TABLES, event_codes_by_firm, event_signals
from techscore.monitor.migration import migration_matrix
from techscore.monitor.performance import performance_row
from techscore.monitor.snapshot import Snapshot, take_snapshot
from techscore.monitor.spec import MonitorSpec
from techscore.monitor.stability import stability_table
from techscore.monitor.warnings import early_warnings
from techscore.scoring.raw import featurize_table
from techscore.scoring.score import VALIDATION_RULE_COLUMN

__all__ = ["MonitorResult", "TABLES", "run_monitor"]

TABLES: tuple[str, ...] = ("scores", "stability", "drivers", "migration", "early_warnings", "events", "performance",
                           "backtest")
"""Tables written to the output folder, each as Parquet and CSV."""


@dataclass
class MonitorResult:
    """The tables over all dates (comparisons are keyed by `as_of_before`, `as_of_after`) and the runs logged."""

    tables: dict[str, pd.DataFrame]
    out: Path
    runs: list[str]


def _read_firms(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        return pd.read_parquet(path, columns=["uscc"])["uscc"].astype(str).tolist()
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str)["uscc"].str.strip().tolist()
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _date_snapshot(spec: MonitorSpec, model: PDModel, as_of: str, tmp: Path,
                   firms: list[str] | None) -> tuple[Snapshot, pd.Series | None]:
    table = featurize_table(spec.resolve(spec.data), as_of, model, tmp / f"features_{as_of}.parquet",
                            firms=firms, workspace=spec.workspace)
    frame = pd.read_parquet(table.path)
    if VALIDATION_RULE_COLUMN in frame:
        frame = frame.loc[frame[VALIDATION_RULE_COLUMN].isna()]
    frame = frame.loc[frame[model.feature_ids].notna().any(axis=1)].reset_index(drop=True)
    segment = None
    if spec.segment is not None:
        if spec.segment not in frame:
            raise spec.error("segment", f"{spec.segment!r} is not a column of the model's features")
        segment = frame.set_index(frame["uscc"].astype(str))[spec.segment]
    return take_snapshot(model, frame, as_of), segment


def _migration_long(before: Snapshot, after: Snapshot) -> pd.DataFrame:
    m = migration_matrix(before.scores()["grade"], after.scores()["grade"], before.grades)
    long = m.stack().rename("firms").reset_index()
    return long.assign(as_of_before=before.as_of, as_of_after=after.as_of)[
        ["as_of_before", "as_of_after", "from", "to", "firms"]]


def _log_run(spec: MonitorSpec, client, experiment_id: str, snap: Snapshot, parts: dict[str, pd.DataFrame],
             folder: Path) -> str:
    run = client.create_run(experiment_id, run_name=f"{spec.name} {snap.as_of}",
                            tags={"techscore.monitor": spec.name, "techscore.as_of": snap.as_of})
    rid = run.info.run_id
    metrics = {"rows": float(len(snap.uscc)), "mean_pd": float(np.mean(snap.pd))}
    stab = parts.get("stability")
    if stab is not None and len(stab):
        metrics["score_psi"] = float(stab.loc[stab["item"] == "pd", "psi"].iloc[0])
        metrics["features_psi_moderate"] = float((stab["band"] == "moderate").sum())
        metrics["features_psi_significant"] = float(((stab["band"] == "significant") & (stab["kind"] == "feature"))
                                                    .sum())
    if "early_warnings" in parts:
        metrics["early_warnings"] = float(len(parts["early_warnings"]))
    if "events" in parts:
        metrics["events"] = float(len(parts["events"]))
    perf = parts["performance"].iloc[0] if "performance" in parts else None
    if perf is not None:
        metrics |= {k: float(perf[k]) for k in ("expected_auc", "expected_default_rate", "realized_auc",
                                                "realized_default_rate") if np.isfinite(perf[k])}
    if "backtest" in parts and len(parts["backtest"]):
        bt = parts["backtest"]
        metrics["backtest_red_grades"] = float(((bt["light"] == "red") & (bt["grade"] != "(all)")).sum())
    if "drivers" in parts and len(parts["drivers"]):
        whole = parts["drivers"].loc[parts["drivers"]["segment"] == "(all)"]
        metrics["mean_logodds_change"] = float(whole["mean_logodds_after"].iloc[0]
                                               - whole["mean_logodds_before"].iloc[0])
    for key, value in metrics.items():  # names of techscore.model.vocabulary
        client.log_metric(rid, key, value)
    client.log_param(rid, "model", spec.model)
    client.log_param(rid, "as_of", snap.as_of)
    for name, frame in parts.items():
        path = folder / f"{name}_{snap.as_of}.csv"
        frame.to_csv(path, index=False)
        client.log_artifact(rid, str(path), artifact_path="monitor")
    client.set_terminated(rid)
    return rid


def _outcome_window(spec: MonitorSpec, model: PDModel) -> int:
    """The label window: the spec's, else the model's provenance, else 12 months."""
    return int(spec.outcomes.window_months or model.info.get("window_months") or 12)


def run_monitor(spec: MonitorSpec, *, tracking: bool = True, tracking_uri: str | None = None,
                on_date=None) -> MonitorResult:
    """Score the portfolio at each date of `spec`, compare each date with the one before, write the tables to
    `spec.out` and (with `tracking`) log one MLflow run per date. `on_date(as_of)` is called as each date starts."""
    from techscore.model.tracking import ensure_experiment, tracking_uri_for

    # resolved before MLflow is first used: loading a registered model can set $MLFLOW_TRACKING_URI to MLflow's own
    # default (mlflow.db in the current folder), which a later resolution would pick up
    uri = tracking_uri_for(tracking_uri, spec.workspace)
    model = PDModel.from_mlflow(spec.model, tracking_uri=uri)
    firms = _read_firms(spec.resolve(spec.firms)) if spec.firms else None
    features = {f.id: f for f in model.features}
    out = spec.resolve(spec.out)
    out.mkdir(parents=True, exist_ok=True)
    collected: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    runs: list[str] = []
    client = experiment_id = None
    if tracking:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        experiment_id = ensure_experiment(client, spec.experiment)
    from techscore.dataset.build import default_observation_end
    from techscore.sources import validate

    # the raw tables the event signals and outcomes read, validated once (rejected rows left out, as in scoring)
    raw = validate(spec.resolve(spec.data)).valid
    raw = {name: raw[name] for name in EVENT_TABLES}
    window = _outcome_window(spec, model)
    observed = (pd.Timestamp(spec.outcomes.observation_end) if spec.outcomes.observation_end
                else default_observation_end(raw["loans"]))
    previous: Snapshot | None = None
    with tempfile.TemporaryDirectory(prefix="techscore-monitor-") as tmp:
        for as_of in spec.dates:
            if on_date is not None:
                on_date(as_of)
            snap, segment = _date_snapshot(spec, model, as_of, Path(tmp), firms)
            parts = {"scores": snap.scores().reset_index().assign(as_of=as_of)}
            if previous is not None:
                t = spec.thresholds
                parts["stability"] = stability_table(previous, snap)
                parts["drivers"] = driver_table(previous, snap, segments=segment)
                parts["migration"] = _migration_long(previous, snap)
                parts["events"] = event_signals(raw, previous.as_of, as_of, firms=snap.uscc, options=spec.events)
                parts["early_warnings"] = early_warnings(previous, snap, features, pd_factor=t.pd_factor,
                                                         grade_drop=t.grade_drop, watch_grade=t.watch_grade,
                                                         reasons=t.reasons,
                                                         events=event_codes_by_firm(parts["events"]))
            parts["performance"] = pd.DataFrame([performance_row(as_of, snap.scores()["pd"], raw["loans"],
                                                                 window_months=window, observation_end=observed)])
            parts["backtest"] = backtest_table(parts["scores"], raw["loans"], snap.grades, window_months=window,
                                               observation_end=observed, amber_p=spec.outcomes.amber_p,
                                               red_p=spec.outcomes.red_p)
            for name, frame in parts.items():
                collected[name].append(frame)
            if client is not None:
                runs.append(_log_run(spec, client, experiment_id, snap, parts, Path(tmp)))
            previous = snap
    # dates without rows (no events, no ended window) are left out of the concatenation, keeping the columns
    tables = {name: pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
              for name, frames in collected.items()}
    for name, frame in tables.items():
        frame.to_parquet(out / f"{name}.parquet", index=False)
        frame.to_csv(out / f"{name}.csv", index=False)
    return MonitorResult(tables=tables, out=out, runs=runs)
