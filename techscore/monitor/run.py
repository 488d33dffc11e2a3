"""`techscore monitor`: score a portfolio at each as-of date from the raw tables, compare consecutive dates, write
the tables and the report, and log one MLflow run per date.

It scales with the number of dates: the raw tables are read and validated once, and each date's features are
computed from them (`techscore.scoring.raw.raw_features`: the same frame `featurize_table` writes, point in time
exactly as before). SHAP values are computed in chunks, and each date's scores with reason codes go straight to
`scores.parquet` / `scores.csv`; the comparison tables, small, are kept and written at the end.

Memory (the validated raw tables stay in memory for the whole run, so the rest must stay small beside them): the
tables are arranged once so that each date's point-in-time views are slices, not copies (`load_tables`); the
feature frame of a date is freed as soon as its snapshot (features as the model reads them, SHAP values) is taken;
the earlier date's snapshot waits on disk (`_Parked`, a pickle in the run's temporary folder: exact) while the next
date's features, snapshot and event signals are computed, and is read back only for the comparisons, so two
dates' snapshots are in memory together only while their comparison tables are computed; after each date the
allocators hand the memory they freed back (`_release_memory`).
"""

from __future__ import annotations

import ctypes
import pickle
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from techscore.model.pdmodel import PDModel
from techscore.monitor.backtest import backtest_table
from techscore.monitor.drivers import driver_table
from techscore.monitor.events import EVENT_TABLES, event_codes_by_firm, event_signals, of_firms
from techscore.monitor.migration import migration_matrix
from techscore.monitor.performance import PerformanceEstimator, reference_dates
from techscore.monitor.snapshot import Snapshot, take_snapshot
from techscore.monitor.spec import MonitorSpec
from techscore.monitor.stability import stability_table
from techscore.monitor.warnings import early_warnings
from techscore.scoring.raw import RawTables, for_many_dates, load_raw, raw_features
from techscore.scoring.score import VALIDATION_RULE_COLUMN

__all__ = ["MonitorResult", "TABLES", "monitor_features", "run_monitor"]

TABLES: tuple[str, ...] = ("scores", "stability", "drivers", "migration", "early_warnings", "events", "performance",
                           "backtest")
"""Tables written to the output folder, each as Parquet and CSV."""
STREAMED: tuple[str, ...] = ("scores",)
"""Tables written date by date as they are computed (one row per firm and date), never held whole in memory."""


@dataclass
class MonitorResult:
    """The comparison tables over all dates (keyed by `as_of_before`, `as_of_after`), the runs logged and the
    seconds spent per step. The per-firm `scores` are on disk only (`table("scores")` reads them)."""

    tables: dict[str, pd.DataFrame]
    out: Path
    runs: list[str]
    seconds: dict[str, float] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        """A table of the run by name, from memory or from the output folder."""
        return self.tables[name] if name in self.tables else pd.read_parquet(self.out / f"{name}.parquet")


def _read_firms(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        return pd.read_parquet(path, columns=["uscc"])["uscc"].astype(str).tolist()
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str)["uscc"].str.strip().tolist()
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def monitor_features(spec: MonitorSpec, model: PDModel, firms: list[str] | None = None,
                     on_date: Callable[[str], None] | None = None, *, raw: RawTables | None = None,
                     dates: list[str] | None = None) -> Iterator[tuple[str, pd.DataFrame]]:
    """Each date of `spec` (or `dates`) with the portfolio's feature frame as of it (what `featurize_table` writes
    for that date), the raw tables read and validated once for all dates (`raw`, when already loaded by
    `load_raw`)."""
    from techscore.catalogue import load_catalogue

    raw = raw if raw is not None else load_tables(spec)
    catalogue = load_catalogue(spec.workspace)
    for as_of in spec.dates if dates is None else dates:
        if on_date is not None:
            on_date(as_of)
        yield as_of, raw_features(raw, as_of, model, catalogue, firms)


UNREAD_COLUMNS: dict[str, tuple[str, ...]] = {"supply_chain": ("invoice_id",), "enterprises": ("name",)}
"""Raw columns no feature or event signal reads (a feature that starts reading one fails loudly: the column is
gone): dropped once validated, so neither the tables nor each date's views of them carry them."""


def load_tables(spec: MonitorSpec) -> RawTables:
    """The spec's raw tables validated once and arranged for many dates (`techscore.scoring.raw.for_many_dates`:
    every feature as `featurize_table` computes it), the memory the validation freed handed back."""
    raw = for_many_dates(load_raw(spec.resolve(spec.data)), unread=UNREAD_COLUMNS)
    _release_memory()
    return raw


def _release_memory() -> None:
    """Hand freed memory back to the system between dates: Arrow's allocator keeps what it freed (and the next
    allocations are mostly NumPy's, which cannot use it), and glibc's keeps the free pages between the live blocks
    of its heap (NumPy arrays up to 32 MiB live there once larger ones were freed), which without a trim add up
    date after date."""
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim this way
        pass


def _scored_rows(model: PDModel, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of a date's feature frame that are scored: valid, with at least one model feature known."""
    keep = frame[model.feature_ids].notna().any(axis=1).to_numpy(bool)
    if VALIDATION_RULE_COLUMN in frame:
        keep = keep & frame[VALIDATION_RULE_COLUMN].isna().to_numpy(bool)
    return (frame if keep.all() else frame.loc[keep]).reset_index(drop=True)


def _date_snapshot(spec: MonitorSpec, model: PDModel, as_of: str, frames: list[pd.DataFrame],
                   explainer) -> tuple[Snapshot, pd.Series | None]:
    """The date's snapshot and segment per firm from its feature frame, handed over in `frames` (a one-element
    list this function empties, so the frame is freed as soon as the firms to score are selected)."""
    frame = _scored_rows(model, frames.pop())
    segment = None
    if spec.segment is not None:
        if spec.segment not in frame:
            raise spec.error("segment", f"{spec.segment!r} is not a column of the model's features")
        segment = frame.set_index(frame["uscc"].astype(str))[spec.segment]
    return take_snapshot(model, frame, as_of, explainer=explainer), segment


class _Parked:
    """A snapshot kept on disk between its date and the next (pickled: every value read back exactly)."""

    def __init__(self, snap: Snapshot, folder: Path) -> None:
        self.as_of = snap.as_of
        self.path = folder / f"snapshot-{snap.as_of}.pickle"
        with self.path.open("wb") as f:
            pickle.dump(snap, f, protocol=pickle.HIGHEST_PROTOCOL)

    def load(self) -> Snapshot:
        with self.path.open("rb") as f:
            snap = pickle.load(f)  # noqa: S301 - written by this run, in its own temporary folder
        self.path.unlink()
        return snap


class _ScoresWriter:
    """Appends each date's scores to `scores.parquet` and `scores.csv` (written beside, moved in at the end)."""

    def __init__(self, out: Path, reasons: int, feature_ids: list[str]) -> None:
        fields = [pa.field("uscc", pa.string()), pa.field("pd", pa.float64()), pa.field("grade", pa.string())]
        for j in range(1, min(reasons, len(feature_ids)) + 1):
            fields += [pa.field(f"reason_{j}", pa.string()), pa.field(f"reason_{j}_shap", pa.float64())]
        self.schema = pa.schema([*fields, pa.field("as_of", pa.string())])
        self.paths = {ext: out / f"scores.{ext}" for ext in ("parquet", "csv")}
        self.tmp = {ext: p.with_name(f".{p.name}.tmp") for ext, p in self.paths.items()}
        self.parquet = pq.ParquetWriter(self.tmp["parquet"], self.schema, compression="zstd")
        self.csv = pacsv.CSVWriter(self.tmp["csv"], self.schema)

    def write(self, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame.astype({c: "string" for c in frame.columns if c.startswith("reason_")
                                                   and not c.endswith("_shap")}),
                                     schema=self.schema, preserve_index=False)
        self.parquet.write_table(table)
        self.csv.write_table(table)

    def close(self, keep: bool = True) -> None:
        self.parquet.close()
        self.csv.close()
        for ext, tmp in self.tmp.items():
            if keep:
                tmp.replace(self.paths[ext])
            else:
                tmp.unlink(missing_ok=True)


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
    for name, frame in parts.items():  # the per-firm scores as Parquet (a million rows of CSV per run is too many)
        path = folder / f"{name}_{snap.as_of}.{'parquet' if name in STREAMED else 'csv'}"
        frame.to_parquet(path, index=False) if name in STREAMED else frame.to_csv(path, index=False)
        client.log_artifact(rid, str(path), artifact_path="monitor")
        path.unlink()
    client.set_terminated(rid)
    return rid


def _outcome_window(spec: MonitorSpec, model: PDModel) -> int:
    """The label window: the spec's, else the model's provenance, else 12 months."""
    return int(spec.outcomes.window_months or model.info.get("window_months") or 12)


def run_monitor(spec: MonitorSpec, *, tracking: bool = True, tracking_uri: str | None = None,
                on_date: Callable[[str], None] | None = None) -> MonitorResult:
    """Score the portfolio at each date of `spec`, compare each date with the one before, write the tables and
    `monitor.json` to `spec.out` and (with `tracking`) log one MLflow run per date. `on_date(as_of)` is called as
    each date starts. The report (`techscore.reports.monitor_report`) reads the output folder."""
    from techscore.explain.treeshap import TreeShap
    from techscore.model.tracking import ensure_experiment, tracking_uri_for

    started = time.perf_counter()
    # resolved before MLflow is first used: loading a registered model can set $MLFLOW_TRACKING_URI to MLflow's own
    # default (mlflow.db in the current folder), which a later resolution would pick up
    uri = tracking_uri_for(tracking_uri, spec.workspace)
    model = PDModel.from_mlflow(spec.model, tracking_uri=uri)
    firms = _read_firms(spec.resolve(spec.firms)) if spec.firms else None
    features = {f.id: f for f in model.features}
    explainer = TreeShap(model.booster)
    out = spec.resolve(spec.out)
    out.mkdir(parents=True, exist_ok=True)
    t = spec.thresholds
    collected: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES if name not in STREAMED}
    runs: list[str] = []
    seconds: dict[str, float] = {"features": 0.0, "scores": 0.0, "comparisons": 0.0}
    client = experiment_id = None
    if tracking:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        experiment_id = ensure_experiment(client, spec.experiment)
    from techscore.dataset.build import default_observation_end

    # the raw tables, validated once: features for every date, the event signals and the outcomes read them
    # (rejected rows left out, as in scoring)
    loaded = load_tables(spec)
    raw = {name: loaded.result.valid[name] for name in EVENT_TABLES}
    window = _outcome_window(spec, model)
    observed = (pd.Timestamp(spec.outcomes.observation_end) if spec.outcomes.observation_end
                else default_observation_end(raw["loans"]))
    performance = PerformanceEstimator(raw["loans"], window_months=window, observation_end=observed)
    mark = time.perf_counter()
    references = (reference_dates(spec.dates, window) if spec.outcomes.reference_dates is None
                  else spec.outcomes.reference_dates)
    for as_of, frame in monitor_features(spec, model, firms, raw=loaded, dates=references):
        frame = _scored_rows(model, frame)
        performance.add_reference(as_of, pd.Series(model.predict_pd(frame), index=frame["uscc"].astype(str)))
        del frame
    _release_memory()
    seconds["features"] += time.perf_counter() - mark
    parked: _Parked | None = None
    events = pd.DataFrame()
    scores = _ScoresWriter(out, t.reasons, model.feature_ids)
    done = False
    try:
        with tempfile.TemporaryDirectory(prefix="techscore-monitor-") as tmp:
            mark = time.perf_counter()
            for as_of, frame in monitor_features(spec, model, firms, on_date, raw=loaded):
                frames = [frame]  # handed over: the snapshot frees the frame as soon as it has selected the firms
                del frame
                now = time.perf_counter()
                seconds["features"] += now - mark
                snap, segment = _date_snapshot(spec, model, as_of, frames, explainer)
                parts = {"scores": snap.scores(t.reasons).reset_index().assign(as_of=as_of)}
                scores.write(parts["scores"])
                mark, seconds["scores"] = time.perf_counter(), seconds["scores"] + time.perf_counter() - now
                parts["performance"] = pd.DataFrame([performance.row(as_of, snap.scores()["pd"])])
                parts["backtest"] = backtest_table(parts["scores"], raw["loans"], snap.grades,
                                                   window_months=window, observation_end=observed,
                                                   amber_p=spec.outcomes.amber_p, red_p=spec.outcomes.red_p)
                if client is None:  # the per-firm scores are on disk: only an MLflow run would log them again
                    del parts["scores"]
                _release_memory()  # before two snapshots meet
                if parked is not None:
                    parts["events"] = of_firms(events, snap.uscc)
                    previous = parked.load()
                    parts["stability"] = stability_table(previous, snap, features=features)
                    parts["drivers"] = driver_table(previous, snap, segments=segment)
                    parts["migration"] = _migration_long(previous, snap)
                    parts["early_warnings"] = early_warnings(previous, snap, features, pd_factor=t.pd_factor,
                                                             grade_drop=t.grade_drop, watch_grade=t.watch_grade,
                                                             reasons=t.reasons,
                                                             events=event_codes_by_firm(parts["events"]))
                    del previous
                for name, part in parts.items():
                    if name not in STREAMED:
                        collected[name].append(part)
                if client is not None:
                    runs.append(_log_run(spec, client, experiment_id, snap, parts, Path(tmp)))
                del parts, segment
                later = spec.dates[spec.dates.index(as_of) + 1:]
                parked = _Parked(snap, Path(tmp)) if later else None
                del snap
                if later:  # the event signals read the raw tables only: computed while no snapshot is in memory
                    events = event_signals(raw, as_of, later[0], options=spec.events)
                _release_memory()
                seconds["comparisons"] += time.perf_counter() - mark
                mark = time.perf_counter()
        done = True
    finally:
        scores.close(keep=done)
    # dates without rows (no events, no ended window) are left out of the concatenation, keeping the columns
    tables = {name: pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
              for name, frames in collected.items()}
    for name, frame in tables.items():
        frame.to_parquet(out / f"{name}.parquet", index=False)
        frame.to_csv(out / f"{name}.csv", index=False)
    seconds["total"] = time.perf_counter() - started
    _write_manifest(spec, model, out, runs, uri if tracking else None, seconds)
    return MonitorResult(tables=tables, out=out, runs=runs, seconds=seconds)


MANIFEST = "monitor.json"
"""What the output folder holds and how it was made: the spec's name, model, dates and thresholds, the master
scale, the model's features (names in both languages), the runs logged and the seconds per step. The report reads
it with the tables."""


def _write_manifest(spec: MonitorSpec, model: PDModel, out: Path, runs: list[str], uri: str | None,
                    seconds: dict[str, float]) -> None:
    import json

    manifest = {
        "name": spec.name, "model": spec.model, "dates": spec.dates, "segment": spec.segment,
        "experiment": spec.experiment, "tracking_uri": uri, "runs": runs,
        "thresholds": spec.thresholds.model_dump(), "grades": list(model.master_scale.grades),
        "features": {f.id: {"name_zh": f.name_zh, "name_en": f.name_en, "unit": f.unit} for f in model.features},
        "tables": [name for name in TABLES if (out / f"{name}.parquet").exists()], "seconds": seconds,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
