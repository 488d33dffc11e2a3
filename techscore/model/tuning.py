"""Hyper-parameter tuning with Optuna: seeded TPE over LightGBM's parameters, pruning on validation AUC.

* The study lives in SQLite (`<workspace>/mlruns/optuna.db` by default) under a stable name
  (`<experiment>-<model spec>`), so an interrupted study resumes where it stopped when run again.
* Objective: out-of-time experiments maximise the validation AUC (the test period is never looked at);
  cross-validated experiments maximise the CV AUC (mean test-fold AUC) of boosters fitted exactly as the
  pipeline fits them, so `train` with the tuned spec reproduces the best trial. That CV AUC is optimistic by
  the selection over trials, as every tuned CV figure is.
* Pruning: a LightGBM callback reports the validation AUC (with inner CV its mean over the inner folds) every
  `REPORT_EVERY` rounds of every fold (steps offset per fold, so trials compare like with like); the median or
  Hyperband pruner stops poor trials early, never before `WARMUP_ROUNDS` rounds.
* Tracking: the Optuna callback `mlflow_trial_logger` logs each finished trial as a nested MLflow run under one
  parent run (params, CV/validation AUC, best iterations, state).
* The first trial of the default search space is the model spec's own parameters (clipped into the search
  ranges, e.g. an L1 of 0 becomes 1e-4), so the study starts from the spec; the best parameters are written back
  as a new model spec, `models/<spec name>_tuned.toml`.
* The best trial's run: the tuned spec is trained by the training pipeline (`techscore.model.training.train`, no
  registration) on the same dataset, and its artifact set (metrics.json, membership.parquet, predictions, model,
  specs) is written to `<workspace>/mlruns/outputs/<experiment>_tuned` and logged to the tune's parent run, so
  `RunArtifacts.load` reads a tune run as it reads a `train` run.

>>> from techscore.model.tuning import tune                               # doctest: +SKIP
>>> res = tune("experiments/polish.toml", trials=50)                    # doctest: +SKIP
>>> res.best_value, res.spec_path                                       # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from techscore.dataset.frame import LoanDataset
from techscore.exceptions import SpecError
from techscore.model.fit import fit_booster_for
from techscore.model.metrics import auc
from techscore.model.split import Fold, make_folds
from techscore.specs import ExperimentSpec, LearnerSpec, ModelSpec, load_experiment

__all__ = ["PRUNERS", "REPORT_EVERY", "SEARCH_SPACE", "TuneResult", "default_search_space", "mlflow_trial_logger",
           "objective_value", "pruning_callback", "spec_params", "study_name", "tune", "tuned_spec", "with_derived",
           "write_model_spec"]

PRUNERS: tuple[str, ...] = ("median", "hyperband", "none")
REPORT_EVERY = 10
"""Rounds between two reports of the validation AUC to the pruner (each report is a write to the study)."""
WARMUP_ROUNDS = 200
"""Rounds before a trial can be pruned."""
SearchSpace = Callable[[Any], dict[str, Any]]


SEARCH_SPACE: dict[str, tuple[str, float, float, bool]] = {
    "learning_rate": ("float", 0.01, 0.2, True),
    "num_leaves": ("int", 4, 96, True),
    "min_child_samples": ("int", 3, 100, True),
    "feature_fraction": ("float", 0.3, 1.0, False),
    "bagging_fraction": ("float", 0.5, 1.0, False),
    "lambda_l1": ("float", 1e-4, 10.0, True),
    "lambda_l2": ("float", 1e-4, 30.0, True),
    "min_gain_to_split": ("float", 0.0, 1.0, False),
    "scale_pos_weight": ("float", 1.0, 10.0, True),
    "path_smooth": ("float", 0.0, 10.0, False),
}
"""The default search space: LightGBM parameter (as named in `LearnerSpec`) -> (kind, low, high, log scale)."""


def default_search_space(trial) -> dict[str, Any]:
    """LightGBM parameters Optuna samples from `SEARCH_SPACE`."""
    params = {}
    for name, (kind, low, high, log) in SEARCH_SPACE.items():
        suggest = trial.suggest_int if kind == "int" else trial.suggest_float
        params[name] = suggest(name, low, high, log=log)
    return with_derived(params)


def spec_params(learner: LearnerSpec) -> dict[str, Any]:
    """The learner's own values of the `SEARCH_SPACE` parameters, clipped into their ranges (the first trial
    of a new study, so tuning starts from the spec)."""
    out = {}
    for name, (kind, low, high, _) in SEARCH_SPACE.items():
        value = min(max(getattr(learner, name), low), high)
        out[name] = int(round(value)) if kind == "int" else float(value)
    return out


def with_derived(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters that follow from sampled ones: bagging runs every round when bagging_fraction < 1."""
    out = dict(params)
    if "bagging_fraction" in out:
        out["bagging_freq"] = 1 if out["bagging_fraction"] < 1.0 else 0
    return out


def study_name(spec: ExperimentSpec, model: ModelSpec) -> str:
    """The stable study name an experiment and model spec tune under (so a study resumes)."""
    return f"{spec.name}-{model.name}"


def pruning_callback(trial, offset: int = 0, every: int = REPORT_EVERY) -> Callable:
    """LightGBM callback reporting the validation metric (under `lightgbm.cv`: its mean over the folds) to
    `trial` every `every` rounds (step `offset` + round) and raising `optuna.TrialPruned` when the pruner says
    so."""
    import optuna

    def _callback(env) -> None:
        if (env.iteration + 1) % every or not env.evaluation_result_list:
            return
        value = env.evaluation_result_list[0][2]
        trial.report(float(value), offset + env.iteration + 1)
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned at round {env.iteration + 1} (validation {value:.4f})")

    _callback.order = 25  # after LightGBM's own evaluation recording, before early stopping (30)
    return _callback


def objective_value(
    dataset: LoanDataset,
    folds: Sequence[Fold],
    spec: ModelSpec,
    *,
    cv: bool,
    callbacks_for: Callable[[int], Sequence[Callable]] | None = None,
) -> tuple[float, dict[str, float]]:
    """The value a trial maximises and its details, measured exactly as `train` measures it.

    Out of time: the validation AUC of the early-stopped booster (the test period is never touched). Cross-
    validated: the CV AUC, the mean test-fold AUC of boosters fitted as the pipeline fits them (early stopping
    on inner folds or the hold-out, then the refit), so `train` with the tuned spec reproduces the best trial.
    `callbacks_for(k)` gives the LightGBM callbacks of fold `k` (pruning).
    """
    X, y = dataset.X, dataset.y.to_numpy()
    if not cv:
        fold = folds[0]
        fit = fit_booster_for(spec, dataset.features, X.iloc[fold.train], y[fold.train], X.iloc[fold.valid],
                              y[fold.valid], callbacks=callbacks_for(0) if callbacks_for else ())
        value = auc(y[fold.valid], fit.valid_margin)
        return value, {"valid_auc": value, "best_iteration": float(fit.best_iteration)}
    details: dict[str, float] = {}
    values = []
    for k, fold in enumerate(folds):
        fit = fit_booster_for(spec, dataset.features, X.iloc[fold.train], y[fold.train], X.iloc[fold.valid],
                              y[fold.valid], inner_folds=fold.inner_folds,
                              callbacks=callbacks_for(k) if callbacks_for else ())
        value = auc(y[fold.test], fit.booster.predict(X.iloc[fold.test], raw_score=True))
        details[f"{fold.name}_test_auc"] = value
        details[f"{fold.name}_best_iteration"] = float(fit.best_iteration)
        values.append(value)
    details["cv_auc_mean"] = float(np.mean(values))
    details["cv_auc_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return details["cv_auc_mean"], details


def mlflow_trial_logger(experiment: str, parent_run_id: str, *, tracking_uri: str | None = None) -> Callable:
    """Optuna callback: log each finished trial as a nested MLflow run (params, values, state) under the parent."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    exp_id = client.get_run(parent_run_id).info.experiment_id

    def _log(study, trial) -> None:
        run = client.create_run(exp_id, run_name=f"trial-{trial.number}",
                                tags={MLFLOW_PARENT_RUN_ID: parent_run_id, "optuna.study": study.study_name,
                                      "optuna.trial": str(trial.number), "optuna.state": trial.state.name})
        now = int(time.time() * 1000)
        metrics = [Metric(k, float(v), now, 0) for k, v in trial.user_attrs.items()
                   if isinstance(v, int | float) and math.isfinite(v)]
        if trial.value is not None:
            metrics.append(Metric("objective", float(trial.value), now, 0))
        client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in trial.params.items()], metrics=metrics)
        client.set_terminated(run.info.run_id, "FINISHED" if trial.state.name != "FAIL" else "FAILED")

    return _log


@dataclass
class TuneResult:
    """What a tuning session produced."""

    study: Any
    best_params: dict[str, Any]
    best_value: float
    objective: str
    spec: ModelSpec
    spec_path: Path | None
    trials: int
    """Trials in the study (all sessions, including resumed ones)."""
    parent_run_id: str | None = None
    details: dict[str, float] = field(default_factory=dict)
    run_dir: Path | None = None
    """The best trial's run artifact set (`techscore.model.artifacts`), also logged to the parent run."""


def _pruner(name: str):
    import optuna

    # no pruning in the first WARMUP_ROUNDS: a slow learning rate must not be judged by its first rounds
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=WARMUP_ROUNDS)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=WARMUP_ROUNDS)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise SpecError(f"pruner must be one of {', '.join(PRUNERS)}; got {name!r}.")


def tuned_spec(base: ModelSpec, params: dict[str, Any], name: str | None = None) -> ModelSpec:
    """`base` with its learner parameters replaced by `params` (unknown names go to `learner.extra`)."""
    learner = base.learner.model_dump()
    extra = dict(learner.pop("extra", {}))
    for k, v in params.items():
        (learner if k in LearnerSpec.model_fields else extra)[k] = v
    return base.model_copy(update={
        "name": name or f"{base.name}_tuned", "learner": LearnerSpec(**learner, extra=extra),
        "description": f"{base.description} (tuned)".strip(),
    })


def write_model_spec(spec: ModelSpec, path: str | Path, header: str = "") -> Path:
    """Write a model spec as TOML (readable back with `load_model_spec`)."""
    import tomli_w

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = spec.model_dump(mode="json")
    if not doc["learner"].get("extra"):
        doc["learner"].pop("extra", None)
    body = tomli_w.dumps(doc)
    comment = "".join(f"# {line}\n" for line in header.splitlines()) if header else ""
    path.write_text(comment + body, encoding="utf-8")
    return path


def tune(
    experiment: str | Path | ExperimentSpec,
    *,
    trials: int | None = None,
    timeout: float | None = None,
    workspace: str | Path | None = None,
    dataset: LoanDataset | None = None,
    storage: str | None = None,
    name: str | None = None,
    pruner: str = "median",
    seed: int | None = None,
    search_space: SearchSpace = default_search_space,
    tracking: bool = True,
    tracking_uri: str | None = None,
    out_spec: str | Path | None = None,
    out: str | Path | None = None,
    callbacks: Sequence[Callable] = (),
) -> TuneResult:
    """Run (or resume) the experiment's Optuna study for `trials` more trials or `timeout` seconds.

    Parameters
    ----------
    storage : Optuna storage URL (default `sqlite:///<workspace>/mlruns/optuna.db`).
    name : study name (default `study_name(spec, model spec)`; stable, so the study resumes).
    pruner : one of ``PRUNERS``.
    seed : TPE sampler seed (default: the model spec's seed).
    out_spec : where to write the best model spec (default `<workspace>/models/<model spec name>_tuned.toml`).
    out : folder for the best trial's run artifact set (default `<workspace>/mlruns/outputs/<experiment>_tuned`;
        replaced each session).
    callbacks : extra Optuna callbacks `fn(study, trial)` (e.g. a progress bar).
    """
    import optuna

    from techscore.dataset.experiment import load_dataset

    if trials is None and timeout is None:
        raise SpecError("tune needs a number of trials or a timeout (seconds).")
    spec = experiment if isinstance(experiment, ExperimentSpec) else load_experiment(experiment, workspace=workspace)
    base = spec.model_spec()
    ds = dataset if dataset is not None else load_dataset(spec)
    folds = make_folds(ds.frame, ds.y.to_numpy(), spec.split)
    cv = spec.split.kind == "cv"
    if storage is None:
        db = spec.workspace / "mlruns" / "optuna.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        storage = f"sqlite:///{db}"
    sname = name or study_name(spec, base)
    logging_level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the library does not chat; the CLI shows progress
    sampler = optuna.samplers.TPESampler(seed=base.seed if seed is None else seed, n_startup_trials=10)
    split = spec.split.model_dump_json()
    try:
        study = optuna.create_study(study_name=sname, storage=storage, direction="maximize", sampler=sampler,
                                    pruner=_pruner(pruner), load_if_exists=True)
        if study.user_attrs.get("split", split) != split:  # trials measured on other folds are not comparable
            raise SpecError(f"study '{sname}' in {storage} was measured on another split "
                            f"({study.user_attrs['split']}); the experiment now has {split}. Tune under a new "
                            "name (--study).")
        study.set_user_attr("split", split)
        if search_space is default_search_space:
            study.enqueue_trial(spec_params(base.learner), user_attrs={"from_spec": base.name}, skip_if_exists=True)
    except BaseException:
        optuna.logging.set_verbosity(logging_level)
        raise
    stride = base.learner.num_boost_round

    def objective(trial) -> float:
        mspec = tuned_spec(base, search_space(trial))
        value, details = objective_value(ds, folds, mspec, cv=cv,
                                         callbacks_for=lambda k: [pruning_callback(trial, offset=k * stride)])
        for key, v in details.items():
            trial.set_user_attr(key, v)
        return value

    cbs = list(callbacks)
    parent = None
    client = None
    if tracking:
        from mlflow import MlflowClient
        from mlflow.entities import Param

        from techscore.model.tracking import ensure_experiment, tracking_uri_for

        uri = tracking_uri_for(tracking_uri, spec.workspace)
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        exp_id = ensure_experiment(client, spec.experiment_name)
        parent = client.create_run(exp_id, run_name=f"tune-{sname}",
                                   tags={"optuna.study": sname, "optuna.storage": storage}).info.run_id
        client.log_batch(parent, params=[Param("study", sname), Param("pruner", pruner),
                                         Param("objective", "cv_auc_mean" if cv else "valid_auc"),
                                         Param("trials_requested", str(trials)), Param("timeout", str(timeout))])
        cbs.insert(0, mlflow_trial_logger(spec.experiment_name, parent, tracking_uri=uri))
    try:
        study.optimize(objective, n_trials=trials, timeout=timeout, callbacks=cbs, gc_after_trial=False)
    except BaseException:
        if client is not None and parent is not None:
            client.set_terminated(parent, "KILLED")
        raise
    finally:
        optuna.logging.set_verbosity(logging_level)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise SpecError(f"study '{sname}' has no completed trial yet; run more trials.")
    best = study.best_trial
    best_spec = tuned_spec(base, with_derived(best.params))
    path = Path(out_spec) if out_spec is not None else spec.workspace / "models" / f"{base.name}_tuned.toml"
    header = (f"Written by `techscore tune` from Optuna study '{sname}' ({len(study.trials)} trials, "
              f"best trial {best.number}).\n{'CV AUC' if cv else 'validation AUC'} of the best trial: "
              f"{best.value:.4f}. Base spec: {base.name}.")
    write_model_spec(best_spec, path, header)
    run_dir = Path(out) if out is not None else spec.workspace / "mlruns" / "outputs" / f"{spec.name}_tuned"
    try:
        _best_run(spec, path, ds, run_dir)
    except BaseException:
        if client is not None and parent is not None:
            client.set_terminated(parent, "FAILED")
        raise
    if client is not None and parent is not None:
        from mlflow.entities import Metric, Param

        now = int(time.time() * 1000)
        client.log_batch(parent, params=[Param(f"best.{k}", str(v)) for k, v in best.params.items()],
                         metrics=[Metric("best_objective", float(best.value), now, 0),
                                  Metric("trials", float(len(study.trials)), now, 0),
                                  Metric("trials_complete", float(len(complete)), now, 0)])
        client.log_artifact(parent, str(path), artifact_path="spec")
        client.log_artifacts(parent, str(run_dir))
        client.set_terminated(parent, "FINISHED")
    return TuneResult(study=study, best_params=dict(best.params), best_value=float(best.value),
                      objective="cv_auc_mean" if cv else "valid_auc", spec=best_spec, spec_path=path,
                      trials=len(study.trials), parent_run_id=parent,
                      details={k: v for k, v in best.user_attrs.items() if isinstance(v, int | float)},
                      run_dir=run_dir)


def _best_run(spec: ExperimentSpec, model_spec: Path, ds: LoanDataset, out: Path) -> None:
    """Train the tuned spec as `train` does (same dataset, folds and seed; untracked, unregistered) and write its
    run artifact set into `out`."""
    from techscore.model.training import train

    train(spec, model_spec=model_spec, dataset=ds, tracking=False, register=False, out=out)
