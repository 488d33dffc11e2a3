"""A run as a typed artifact set: written once by training, read by one reader (`RunArtifacts.load`).

`techscore.model.training.write_outputs` writes, and every reader (explain, the reports, joint, scoring, the CLI)
reads through `RunArtifacts`, so no reader re-derives a split or guesses a column:

=========================  ==========================================================================================
``metrics.json``           experiment, split kind, model spec, dataset fingerprint, the metrics (keys built from
                           `techscore.model.vocabulary`), champion and challenger metrics by part
``membership.parquet``     which dataset rows the final model was trained on, validated on and tested on: ``row``
                           (the dataset's index label), ``part`` (train, valid, test) and ``loan_id`` when the data
                           has loans; for cross-validated runs ``test`` holds the out-of-fold rows
``predictions.parquet``    the test (or out-of-fold) rows with label, pd, score, grade (and the challenger's)
``segments.csv``           metrics by segment (``segment``, ``value``, ``model``)
``tables/*.csv``           lift, calibration by grade, importance, master scale, splits, PSI tables
``model/``                 the `PDModel` (and ``references.json``, the reason-code references, once explained)
``spec/``                  copies of the experiment and model spec files
=========================  ==========================================================================================

A run is named by its MLflow run id (its artifacts are downloaded once into a cache folder) or by a local outputs
folder (runs trained without tracking).

>>> run = RunArtifacts.load("mlruns/outputs/demo")          # doctest: +SKIP
>>> run.rows("train", dataset.frame)                          # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from techscore.exceptions import RunError

__all__ = [
    "EXPLAIN_ARTIFACT_PATH", "MEMBERSHIP_FILE", "METRICS_FILE", "PART_NAMES", "PREDICTIONS_FILE",
    "REPORTS_ARTIFACT_PATH", "SCORECARD_FILE", "SEGMENTS_FILE", "RunArtifacts", "find_artifact", "json_ready", "member_rows",
    "membership_table",
]

METRICS_FILE = "metrics.json"
MEMBERSHIP_FILE = "membership.parquet"
PREDICTIONS_FILE = "predictions.parquet"
SEGMENTS_FILE = "segments.csv"
SCORECARD_FILE = "scorecard.json"
"""In the model folder when the champion is or contains the WOE scorecard: its points table (`CardTable`)."""
PART_NAMES: tuple[str, ...] = ("train", "valid", "test", "embargo")
REPORTS_ARTIFACT_PATH = "reports"
"""Artifact folder of the run the reports are logged to."""
EXPLAIN_ARTIFACT_PATH = "explain"
"""Artifact folder of the run the SHAP summaries and reason-code references are logged to."""
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def json_ready(obj: object) -> object:
    """`obj` as strict JSON takes it: NaN and infinities become null, numpy scalars plain numbers."""
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_ready(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def membership_table(frame: pd.DataFrame, parts: dict[str, np.ndarray]) -> pd.DataFrame:
    """Split membership as row ids: one row per (dataset row, part) from the positions of each part in `frame`."""
    pieces = []
    for part in PART_NAMES:
        pos = np.asarray(parts.get(part, np.array([], dtype=np.int64)), dtype=np.int64)
        piece = pd.DataFrame({"row": frame.index[pos].to_numpy(), "part": pd.array([part] * len(pos), dtype="string")})
        if "loan_id" in frame.columns:
            piece["loan_id"] = frame["loan_id"].astype("string").to_numpy()[pos]
        pieces.append(piece)
    return pd.concat(pieces, ignore_index=True)


def member_rows(membership: pd.DataFrame, part: str, frame: pd.DataFrame) -> pd.Index:
    """Index labels of `frame` in `part` of a membership table, in the frame's order (each row once); rows are
    matched by loan id when both have one (a rebuilt dataset may number its rows otherwise), else by row label."""
    if part not in PART_NAMES:
        raise ValueError(f"part must be one of {', '.join(PART_NAMES)}; got {part!r}")
    members = membership[membership["part"] == part]
    if "loan_id" in members.columns and "loan_id" in frame.columns:
        pos = pd.Index(frame["loan_id"].astype("string")).get_indexer(members["loan_id"].astype("string"))
    else:
        pos = frame.index.get_indexer(members["row"])
    return frame.index[np.unique(pos[pos >= 0])]


@dataclass
class RunArtifacts:
    """A training run's artifacts, typed."""

    run_id: str
    root: Path
    """Local folder holding the run's artifacts."""
    model: Any
    """The fitted `PDModel`."""
    report: dict = field(default_factory=dict)
    """metrics.json: experiment, split, model spec, dataset fingerprint, champion and challenger metrics."""
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    run_name: str = ""
    experiment: str = ""
    experiment_id: str = ""
    start_time: str = ""
    tracking_uri: str | None = None
    tracked: bool = False

    # --- reading ----------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, run: str | Path, *, tracking_uri: str | None = None,
             cache: str | Path | None = None) -> RunArtifacts:
        """The run `run`: an MLflow run id (artifacts downloaded into `cache`, default a temporary folder) or a
        local outputs folder of `techscore train`."""
        local = Path(str(run)).expanduser()
        if local.is_dir():
            report = _read_json(find_artifact(local, METRICS_FILE))
            return cls(run_id=str(report.get("run_id") or local.name), root=local, model=_load_model(local, "", None),
                       report=report, metrics=dict(report.get("metrics") or {}),
                       experiment=str(report.get("experiment", "")))
        return _load_tracked(cls, str(run), tracking_uri, cache)

    def find(self, name: str, under: str | None = None) -> Path | None:
        """The artifact called `name` (a file name or a relative path such as `challenger/ks.png`), if any."""
        return find_artifact(self.root, name, under=under)

    def table(self, name: str) -> pd.DataFrame | None:
        """A CSV table of the run (`segments.csv`, `tables/lift.csv`, ...) or None when the run has none."""
        path = self.find(name if name.endswith(".csv") else f"{name}.csv")
        if path is None:
            return None
        try:
            return pd.read_csv(path)
        except (pd.errors.EmptyDataError, OSError):
            return None

    def pngs(self, folder: str) -> dict[str, bytes]:
        """PNG images in the artifact folder `folder` (by name, in name order)."""
        hits = sorted(p for p in self.root.rglob("*.png") if p.parent.name == folder)
        return {p.stem: p.read_bytes() for p in hits}

    @property
    def segments(self) -> pd.DataFrame | None:
        """Metrics by segment: columns `segment`, `value`, `model` and the vocabulary's metric names."""
        return self.table(SEGMENTS_FILE)

    @property
    def predictions(self) -> pd.DataFrame:
        """The test (or out-of-fold) rows with label, pd, score and grade."""
        path = self.find(PREDICTIONS_FILE)
        if path is None:
            raise RunError(f"run {self.run_id} holds no {PREDICTIONS_FILE}; was it trained by techscore?")
        return pd.read_parquet(path)

    @property
    def membership(self) -> pd.DataFrame:
        """Which rows the final model was trained (`train`), validated (`valid`) and tested (`test`) on."""
        path = self.find(MEMBERSHIP_FILE)
        if path is None:
            raise RunError(f"run {self.run_id} holds no {MEMBERSHIP_FILE} (split membership); it was trained by an "
                           "older techscore: train it again to report on it.")
        return pd.read_parquet(path)

    def rows(self, part: str, frame: pd.DataFrame) -> pd.Index:
        """Index labels of `frame` in `part` (train, valid, test, or embargo: the out-of-time gap left out); rows are matched by loan id when both have one,
        else by the dataset's row label."""
        return member_rows(self.membership, part, frame)

    def experiment_spec(self, workspace: str | Path | None = None):
        """The experiment spec the run was trained with (its copy among the artifacts), or None."""
        from techscore.specs import load_experiment
        from techscore.workspace import workspace as find_workspace

        path = self.find("experiment.toml")
        if path is None:
            return None
        return load_experiment(path, workspace=find_workspace(workspace), check_model=False)

    def dataset(self, *, workspace: str | Path | None = None):
        """(dataset, experiment spec): the run's data loaded as training loaded it (the cached build reused).

        Raises RunError when the run has no experiment spec or the data it names are gone.
        """
        from techscore.dataset.experiment import load_dataset

        spec = self.experiment_spec(workspace)
        if spec is None:
            raise RunError(f"run {self.run_id} holds no experiment spec (experiment.toml); cannot find its data.")
        try:
            return load_dataset(spec), spec
        except (FileNotFoundError, OSError) as exc:
            raise RunError(f"the data of run {self.run_id} cannot be loaded: {exc}") from exc

    # --- adding to the run ------------------------------------------------------------------------------------
    def log_artifacts(self, folder: Path, artifact_path: str) -> bool:
        """Log the files of `folder` to the run under `artifact_path`; False for an untracked (folder) run."""
        if not self.tracked:
            return False
        from techscore.model.registry import client

        client(self.tracking_uri).log_artifacts(self.run_id, str(folder), artifact_path)
        return True

    def log_files(self, files: list[Path], artifact_path: str) -> bool:
        """Log just `files` (not the rest of their folder) to the run under `artifact_path`."""
        if not self.tracked:
            return False
        from techscore.model.registry import client

        c = client(self.tracking_uri)
        for f in files:
            c.log_artifact(self.run_id, str(f), artifact_path)
        return True


def find_artifact(root: Path, name: str, *, under: str | None = None) -> Path | None:
    """The shallowest file under `root` whose path ends with `name` (skipping the reports' own outputs)."""
    base = root / under if under else root
    if not base.is_dir():
        return None
    parts = Path(name).parts
    hits = [p for p in base.rglob(parts[-1]) if p.is_file() and p.parts[-len(parts):] == parts
            and REPORTS_ARTIFACT_PATH not in p.relative_to(root).parts[:-1]]
    return min(hits, key=lambda p: (len(p.parts), str(p))) if hits else None


def _load_tracked(cls: type[RunArtifacts], run_id: str, tracking_uri: str | None,
                  cache: str | Path | None) -> RunArtifacts:
    from mlflow.exceptions import MlflowException

    from techscore.model.registry import client

    c = client(tracking_uri)
    try:
        info = c.get_run(run_id)
    except MlflowException as exc:
        raise RunError(f"no MLflow run {run_id!r} at {c.tracking_uri}: {exc.message}") from exc
    root = Path(cache) if cache is not None else Path(tempfile.mkdtemp(prefix=f"techscore-run-{run_id[:8]}-"))
    root.mkdir(parents=True, exist_ok=True)
    import mlflow.artifacts

    try:
        with _no_progress_bars():
            mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(root), tracking_uri=c.tracking_uri)
    except MlflowException as exc:
        raise RunError(f"cannot download the artifacts of run {run_id}: {exc.message}") from exc
    try:
        experiment = c.get_experiment(info.info.experiment_id).name
    except MlflowException:
        experiment = ""
    start = pd.Timestamp(info.info.start_time, unit="ms").strftime("%Y-%m-%d %H:%M") if info.info.start_time else ""
    return cls(
        run_id=run_id, root=root, model=_load_model(root, run_id, c.tracking_uri, dict(info.data.tags)),
        report=_read_json(find_artifact(root, METRICS_FILE)), metrics=dict(info.data.metrics),
        params=dict(info.data.params), tags={k: v for k, v in info.data.tags.items() if not k.startswith("mlflow.log")},
        run_name=info.info.run_name or "", experiment=experiment, experiment_id=info.info.experiment_id,
        start_time=start, tracking_uri=c.tracking_uri, tracked=True,
    )


def _load_model(root: Path, run_id: str, tracking_uri: str | None, tags: dict[str, str] | None = None):
    """The run's PDModel: a saved folder among its artifacts, else the pyfunc model it logged."""
    from techscore.model.pdmodel import MODEL_FILE, PDModel

    found = find_artifact(root, MODEL_FILE)
    if found is not None:
        return PDModel.load(found.parent)
    uris = [u for u in ((tags or {}).get("techscore.model_uri"),) if u]
    if run_id and _RUN_ID.match(run_id) and not uris:  # MLflow 3 keeps logged models apart from run artifacts
        try:
            import mlflow

            uris = [m.model_uri for m in mlflow.search_logged_models(
                filter_string=f"source_run_id = '{run_id}'", output_format="list")]
        except Exception:  # noqa: BLE001 - older stores have no logged models
            uris = []
    errors = []
    for uri in uris:
        try:
            with _no_progress_bars():
                return PDModel.from_mlflow(uri, tracking_uri=tracking_uri)
        except Exception as exc:  # noqa: BLE001 - not a techscore PD model; try the next
            errors.append(f"{uri}: {exc}")
    raise RunError(f"run {run_id or root} holds no saved PD model ({MODEL_FILE}); was it trained by techscore?"
                   + (f" ({'; '.join(errors)[:300]})" if errors else ""))


@contextmanager
def _no_progress_bars():
    """MLflow draws download progress bars on stderr; a library call must not write to the terminal."""
    key = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    before = os.environ.get(key)
    os.environ[key] = "false"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before


def _read_json(path: Path | None) -> dict:
    if path is None:
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
