"""MLflow tracking as a training callback: one run per training, everything a validator needs logged to it.

`mlflow_callback(...)` returns a callable the pipeline calls at each stage (`start`, `fold`, `end`, `failed`);
training code never asks whether tracking is on. The run holds:

* the experiment and model spec files (`spec/`), params (the model spec flattened, split and data options);
* the dataset as MLflow dataset inputs (fingerprint as digest, row counts of train / valid / test);
* metrics: `train_*`, `valid_*`, `test_*` (AUC, Gini, KS, Brier, log loss, lift, score PSI), `challenger_*`,
  `cv_*` and per-fold AUC, segment AUCs as `test_auc.<segment>.<value>`, and the validation learning curve;
* artifacts: `metrics.json`, `segments.csv`, `tables/`, `plots/`, `challenger/points.csv`, `predictions.parquet`,
  `model/` (the PDModel folder: `booster.txt`, `pdmodel.json`), `spec/`;
* the booster in LightGBM's flavour (`booster`, text format, no pickle) and the pyfunc model (`pd_model`:
  PD, score, grade) registered with alias `challenger`.

The default store is the workspace's SQLite file (`techscore.workspace.default_mlflow_uri`); any URI works via
`MLFLOW_TRACKING_URI` or `tracking_uri`.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from techscore.dataset.frame import LABEL
from techscore.model.events import TrainEnv, TrainResult

__all__ = ["MlflowCallback", "BOOSTER_NAME", "MODEL_NAME", "ensure_experiment", "metric_name", "mlflow_callback", "tracking_uri_for",
           "using_tracking_uri"]

BOOSTER_NAME = "booster"
MODEL_NAME = "pd_model"
_UNSAFE = re.compile(r"[^0-9A-Za-z_\-. /]")


def tracking_uri_for(tracking_uri: str | None = None, workspace: Path | None = None) -> str:
    """`tracking_uri`, else $MLFLOW_TRACKING_URI, else the workspace's local SQLite store."""
    from techscore.workspace import default_mlflow_uri

    return tracking_uri or default_mlflow_uri(workspace)


def _artifact_root(uri: str) -> str | None:
    """Artifacts of a local SQLite store live beside the database (not in the current directory)."""
    if uri.startswith("sqlite:///"):
        return (Path(uri[len("sqlite:///"):]).parent / "artifacts").as_uri()
    return None


def ensure_experiment(client, name: str) -> str:
    """Id of MLflow experiment `name`, created (with artifacts beside a local SQLite store) when missing."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    root = _artifact_root(client.tracking_uri)
    return client.create_experiment(name, artifact_location=None if root is None else f"{root}/{name}")


@contextmanager
def using_tracking_uri(uri: str) -> Iterator[None]:
    """Point MLflow's fluent API (tracking and registry) at `uri` for the block, then restore what was set.

    MLflow resolves some references through the fluent API even when a client is given (a logged model named
    by a registry source), so model logging and registration run inside this block.
    """
    import mlflow
    from mlflow.tracking import is_tracking_uri_set

    # MLflow's setters also export MLFLOW_TRACKING_URI / MLFLOW_REGISTRY_URI; restoring through them would leave
    # MLflow's *default* URI (./mlflow.db) in the environment, where `default_mlflow_uri` would take it for a
    # choice of the user's. So the block restores the explicit settings and the variables as they were.
    saved_env = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    tracking = mlflow.get_tracking_uri() if is_tracking_uri_set() else None
    registry = saved_env["MLFLOW_REGISTRY_URI"]  # MLflow's setter exports every explicit registry URI
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(tracking)
        mlflow.set_registry_uri(registry)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def metric_name(name: str) -> str:
    """`name` as MLflow accepts a metric key (unsafe characters replaced, at most 250 characters)."""
    return _UNSAFE.sub("_", name)[:250]


class MlflowCallback:
    """Logs a training to MLflow; created by `mlflow_callback`.

    `registered_model`: register the pyfunc model under this name (alias `challenger`); `parent_run_id`: open the
    run as a child of that run; `tags`: extra run tags.
    """

    def __init__(self, experiment: str, *, tracking_uri: str | None = None, registered_model: str | None = None,
                 workspace: Path | None = None, run_name: str | None = None, parent_run_id: str | None = None,
                 tags: dict[str, str] | None = None) -> None:
        self.experiment = experiment
        self.uri = tracking_uri_for(tracking_uri, workspace)
        self.registered_model = registered_model
        self.run_name = run_name
        self.parent_run_id = parent_run_id
        self.tags = dict(tags or {})
        self.run_id: str | None = None
        self._client = None

    # the pipeline calls the callback with each stage's environment
    def __call__(self, env: TrainEnv) -> None:
        getattr(self, f"_on_{env.stage}")(env)

    @property
    def client(self):
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        return self._client

    def _on_start(self, env: TrainEnv) -> None:
        from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

        r = env.result
        exp_id = ensure_experiment(self.client, self.experiment)
        tags = {"techscore.dataset_fingerprint": r.dataset.fingerprint, "techscore.model_spec": r.model_spec.name,
                "techscore.split": r.experiment.split.kind if r.experiment else "", **self.tags}
        if r.dataset.summary.get("catalogue_version"):
            tags["techscore.catalogue_version"] = str(r.dataset.summary["catalogue_version"])
        if self.parent_run_id:
            tags[MLFLOW_PARENT_RUN_ID] = self.parent_run_id
        name = self.run_name or f"{r.experiment.name if r.experiment else 'train'}-{r.model_spec.name}"
        tags[MLFLOW_RUN_NAME] = name
        run = self.client.create_run(exp_id, tags=tags, run_name=name)
        self.run_id = r.run_id = run.info.run_id
        from mlflow.entities import Param

        self.client.log_batch(self.run_id, params=[Param(k, v) for k, v in sorted(r.params.items())])
        self._log_inputs(r)

    def _log_inputs(self, r: TrainResult) -> None:
        import mlflow.data
        from mlflow.entities import Dataset, DatasetInput, InputTag

        frame = r.dataset.frame
        source = str(r.dataset.path) if r.dataset.path is not None else r.dataset.name
        cols = [c for c in frame.columns if c in (LABEL, *r.dataset.feature_ids)]
        inputs = []
        parts = {"all": np.arange(len(frame))}
        for f in r.folds[:1] if r.experiment is not None and r.experiment.split.kind == "oot" else []:
            parts.update(train=f.train, valid=f.valid, test=f.test)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for context, idx in parts.items():
                sample = frame.iloc[idx[:1000]][cols]
                digest = f"{r.dataset.fingerprint[:12]}-{context}-{len(idx)}"
                ds = mlflow.data.from_pandas(sample, source=source, targets=LABEL, name=f"{r.dataset.name}-{context}",
                                             digest=digest[:36])
                e = ds._to_mlflow_entity()
                profile = json.dumps({"num_rows": len(idx), "num_bad": int(frame[LABEL].to_numpy()[idx].sum()),
                                      "num_features": len(r.dataset.feature_ids)})
                entity = Dataset(name=e.name, digest=e.digest, source_type=e.source_type, source=e.source,
                                 schema=e.schema, profile=profile)
                inputs.append(DatasetInput(entity, tags=[InputTag("mlflow.data.context", context)]))
            self.client.log_inputs(self.run_id, datasets=inputs)

    def _on_fold(self, env: TrainEnv) -> None:
        if env.fold is not None and env.fold_metrics:
            self._log_metrics({f"{env.fold.name}_{k}": v for k, v in env.fold_metrics.items()}, step=env.done)

    def _log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(metric_name(k), float(v), now, step) for k, v in metrics.items()
                 if v is not None and np.isfinite(v)]
        for i in range(0, len(items), 900):
            self.client.log_batch(self.run_id, metrics=items[i:i + 900])

    def _on_end(self, env: TrainEnv) -> None:
        r = env.result
        metrics = dict(r.metrics)
        seg = r.tables.get("segments")
        if seg is not None and len(seg):
            champ = seg[seg["model"] == "champion"] if "model" in seg else seg
            for row in champ.itertuples():
                if np.isfinite(row.auc):
                    metrics[f"test_auc.{row.segment}.{row.value}"] = row.auc
        self._log_metrics(metrics)
        curve, best = r.learning_curve
        if curve:
            import time

            from mlflow.entities import Metric

            now = int(time.time() * 1000)
            name = f"valid_curve_{r.model_spec.learner.early_stopping_metric}"
            items = [Metric(name, float(v), now, i + 1) for i, v in enumerate(curve)]
            for i in range(0, len(items), 900):
                self.client.log_batch(self.run_id, metrics=items[i:i + 900])
        self._log_tags(r)
        self._log_artifacts(r)
        self._log_models(r)
        self.client.set_terminated(self.run_id, "FINISHED")

    def _on_failed(self, env: TrainEnv) -> None:
        if self.run_id is not None:
            r = env.result
            self._log_tags(r)
            self._log_metrics(r.metrics)
            for name, table in r.tables.items():  # what is known so far (the leakage guard's findings)
                self.client.log_text(self.run_id, table.to_csv(index=False), f"tables/{name}.csv")
            self.client.set_tag(self.run_id, "techscore.error", f"{type(env.error).__name__}: {env.error}"[:5000])
            self.client.set_terminated(self.run_id, "FAILED")

    def _log_tags(self, r: TrainResult) -> None:
        for key, value in r.tags.items():
            self.client.set_tag(self.run_id, key, value)

    def _log_artifacts(self, r: TrainResult) -> None:
        out = r.paths.get("out")
        if out is None:
            return
        for item in sorted(Path(out).iterdir()):  # model/ too: `runs:/<id>/model` is the plain PDModel folder
            if item.is_dir():
                self.client.log_artifacts(self.run_id, str(item), artifact_path=item.name)
            else:
                self.client.log_artifact(self.run_id, str(item))

    def _log_models(self, r: TrainResult) -> None:
        import mlflow
        import mlflow.lightgbm
        import mlflow.pyfunc

        from techscore.model.pyfunc import (
            ARTIFACT_KEY,
            CODE_FILE,
            input_example,
            model_signature,
            pip_requirements,
        )

        model = r.model
        example = input_example(model, r.dataset.X)
        with using_tracking_uri(self.uri), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with mlflow.start_run(run_id=self.run_id, nested=mlflow.active_run() is not None):
                booster_info = mlflow.lightgbm.log_model(model.booster, name=BOOSTER_NAME,
                                                         pip_requirements=pip_requirements())
                info = mlflow.pyfunc.log_model(
                    name=MODEL_NAME, python_model=str(CODE_FILE), artifacts={ARTIFACT_KEY: str(r.paths["model"])},
                    signature=model_signature(model), input_example=example, pip_requirements=pip_requirements(),
                )
            r.model_uri = info.model_uri
            self.client.set_tag(self.run_id, "techscore.model_uri", info.model_uri)
            self.client.set_tag(self.run_id, "techscore.booster_uri", booster_info.model_uri)
            if self.registered_model:
                from techscore.model.registry import CHALLENGER, register

                mv = register(info.model_uri, self.registered_model, alias=CHALLENGER, run_id=self.run_id,
                              tracking_uri=self.uri, tags={"experiment": r.experiment.name if r.experiment else ""})
                r.registered_model, r.model_version = self.registered_model, str(mv.version)


def mlflow_callback(experiment: str, **kwargs) -> MlflowCallback:
    """A training callback that logs the run to MLflow experiment `experiment` (see `MlflowCallback`)."""
    return MlflowCallback(experiment, **kwargs)
