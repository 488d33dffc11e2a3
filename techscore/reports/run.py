"""What a training run left behind, gathered for the reports: model, metrics, tables, plots, dataset, references.

A run is named by its MLflow run id (its artifacts are downloaded once into a cache folder) or by a local
outputs folder written by `techscore.model.train.write_outputs` (for runs trained without tracking). Files are
found by name anywhere under the run's artifacts, so the reports do not depend on the exact artifact layout.
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

import pandas as pd

from techscore.exceptions import ReportError

REPORTS_ARTIFACT_PATH = "reports"
"""Artifact folder of the run the reports are logged to."""
EXPLAIN_ARTIFACT_PATH = "explain"
"""Artifact folder of the run the SHAP summaries and reason-code references are logged to."""
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class RunContext:
    """A training run as the reports see it."""

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
    raise ReportError(f"run {run_id or root} holds no saved PD model ({MODEL_FILE}); was it trained by techscore?"
                      + (f" ({'; '.join(errors)[:300]})" if errors else ""))


def open_run(run: str | Path, *, tracking_uri: str | None = None, cache: str | Path | None = None) -> RunContext:
    """The run `run`: an MLflow run id (artifacts downloaded into `cache`, default a temporary folder) or a local
    outputs folder of `techscore train`."""
    local = Path(str(run)).expanduser()
    if local.is_dir():
        report = _read_json(find_artifact(local, "metrics.json"))
        model = _load_model(local, "", None)
        return RunContext(
            run_id=str(report.get("run_id") or local.name), root=local, model=model, report=report,
            metrics=dict(report.get("metrics") or {}), experiment=str(report.get("experiment", "")),
        )
    run_id = str(run)
    from mlflow.exceptions import MlflowException

    from techscore.model.registry import client

    c = client(tracking_uri)
    try:
        info = c.get_run(run_id)
    except MlflowException as exc:
        raise ReportError(f"no MLflow run {run_id!r} at {c.tracking_uri}: {exc.message}") from exc
    root = Path(cache) if cache is not None else Path(tempfile.mkdtemp(prefix=f"techscore-run-{run_id[:8]}-"))
    root.mkdir(parents=True, exist_ok=True)
    import mlflow.artifacts

    try:
        with _no_progress_bars():
            mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(root), tracking_uri=c.tracking_uri)
    except MlflowException as exc:
        raise ReportError(f"cannot download the artifacts of run {run_id}: {exc.message}") from exc
    try:
        experiment = c.get_experiment(info.info.experiment_id).name
    except MlflowException:
        experiment = ""
    start = pd.Timestamp(info.info.start_time, unit="ms").strftime("%Y-%m-%d %H:%M") if info.info.start_time else ""
    return RunContext(
        run_id=run_id, root=root, model=_load_model(root, run_id, c.tracking_uri, dict(info.data.tags)),
        report=_read_json(find_artifact(root, "metrics.json")), metrics=dict(info.data.metrics),
        params=dict(info.data.params), tags={k: v for k, v in info.data.tags.items() if not k.startswith("mlflow.log")},
        run_name=info.info.run_name or "", experiment=experiment, experiment_id=info.info.experiment_id,
        start_time=start, tracking_uri=c.tracking_uri, tracked=True,
    )


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


def run_experiment(ctx: RunContext, workspace: str | Path | None = None):
    """The experiment spec the run was trained with (its copy among the artifacts), or None."""
    from techscore.specs import load_experiment

    path = ctx.find("experiment.toml")
    if path is None:
        return None
    from techscore.workspace import workspace as find_workspace

    return load_experiment(path, workspace=find_workspace(workspace), check_model=False)


def run_dataset(ctx: RunContext, *, workspace: str | Path | None = None):
    """The run's dataset, loaded as training loaded it (from the experiment spec; the cached build is reused).

    Raises ReportError when the run has no experiment spec or the data it names are gone.
    """
    from techscore.dataset.experiment import load_dataset

    spec = run_experiment(ctx, workspace)
    if spec is None:
        raise ReportError(f"run {ctx.run_id} holds no experiment spec (experiment.toml); cannot find its data.")
    try:
        return load_dataset(spec), spec
    except (FileNotFoundError, OSError) as exc:
        raise ReportError(f"the data of run {ctx.run_id} cannot be loaded: {exc}") from exc


def split_rows(ctx: RunContext, dataset, spec) -> tuple[pd.Index, pd.Index]:
    """Index labels of the dataset rows the model was trained on and tested on (out of time or out of fold)."""
    import numpy as np

    from techscore.model.split import make_folds

    frame = dataset.frame
    pred_path = ctx.find("predictions.parquet")
    test = None
    if pred_path is not None:
        pred = pd.read_parquet(pred_path, columns=None)
        if "loan_id" in pred.columns and "loan_id" in frame.columns:
            pos = pd.Index(frame["loan_id"].astype("string")).get_indexer(pred["loan_id"].astype("string"))
            test = frame.index[pos[pos >= 0]]
        elif "row" in pred.columns:
            test = pd.Index(pred["row"]).intersection(frame.index)
    folds = make_folds(frame, dataset.y.to_numpy(), spec.split)
    if test is None:
        test = frame.index[np.concatenate([f.test for f in folds])]
    train = frame.index[folds[0].train] if spec.split.kind == "oot" else frame.index.difference(test)
    return pd.Index(train), pd.Index(test)
