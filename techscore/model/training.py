"""The training pipeline: experiment spec -> dataset -> folds -> calibrated LightGBM PD model -> evaluation.

Steps, each a function of its own:

1. `techscore.dataset.load_dataset`: the loan dataset (built point in time from raw tables with the spec's
   workspace's catalogue, reused when its fingerprint matches) or a tabular file;
2. `make_folds`: out of time (train < A <= validation < B <= test) or stratified k folds;
3. `fit_fold`: booster with early stopping on validation, calibrator on validation (`fit_pd_model`), and the
   WOE scorecard challenger on the same rows;
4. `evaluate_predictions`: AUC, Gini, KS, Brier, log loss, lift, calibration by grade, PSI, by segment;
5. `write_outputs`: `metrics.json`, `segments.csv`, tables, PNG plots, predictions, the saved model;
6. callbacks (MLflow tracking by default) log and register what the run produced.

For cross-validated experiments (data without dates) the test metrics are out-of-fold; the registered model is
then fitted the same way on all rows (a stratified validation share drives early stopping and calibration).

>>> from techscore.model.training import train                  # doctest: +SKIP
>>> result = train("experiments/polish.toml")                # doctest: +SKIP
>>> result.metrics["cv_auc_mean"], result.run_id             # doctest: +SKIP
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from techscore.catalogue import load_catalogue
from techscore.dataset.experiment import load_dataset, point_in_time
from techscore.dataset.frame import LABEL, LoanDataset
from techscore.exceptions import ModelError, SpecError
from techscore.model import metrics as M
from techscore.model.artifacts import (
    MEMBERSHIP_FILE,
    METRICS_FILE,
    PREDICTIONS_FILE,
    SCORECARD_FILE,
    SEGMENTS_FILE,
    json_ready,
    membership_table,
)
from techscore.model.card import CardTable, card_table
from techscore.model.champion import CANDIDATES, ChampionChoice, select_champion, shipped_card
from techscore.model.events import Callback, TrainEnv, TrainResult, emit
from techscore.model.fit import fit_pd_model
from techscore.model.leakage import guard_training
from techscore.model.lgbm import BoosterFit
from techscore.model.pdmodel import PDModel
from techscore.model.reject_inference import infer_rejects, rejected_applicants, rejects_during
from techscore.model.scale import grade_table, pd_to_grade, pd_to_score
from techscore.model.scorecard import ScorecardModel, fit_scorecard
from techscore.model.split import Fold, embargo_metrics, full_fold, make_folds
from techscore.progress import Progress
from techscore.specs import (
    ExperimentSpec,
    MasterScaleSpec,
    ModelSpec,
    RejectInferenceSpec,
    ScalingSpec,
    load_experiment,
)

__all__ = ["Evaluation", "FoldOutput", "evaluate", "evaluate_predictions", "fit_fold", "run_params", "train",
           "write_outputs"]

PARTS = ("train", "valid", "test")
HEADLINE = ("auc", "gini", "ks", "brier", "log_loss")


# --- 3. fitting a fold ------------------------------------------------------------------------------------------
@dataclass
class FoldOutput:
    """One fold's champion and challenger and their PDs on each part of the fold."""

    fold: Fold
    model: PDModel
    fit: BoosterFit
    pd: dict[str, np.ndarray]
    valid_rows: np.ndarray
    """Positions of the rows `pd["valid"]` scores (the hold-out, or the inner out-of-fold rows)."""
    challenger: ScorecardModel | None = None
    challenger_pd: dict[str, np.ndarray] = field(default_factory=dict)
    choice: ChampionChoice | None = None
    """What was compared inside the training part and why the shipped model won (`techscore.model.champion`)."""
    card: CardTable | None = None
    """The scorecard that is (part of) the shipped model; None when LightGBM ships alone."""


def fit_fold(
    dataset: LoanDataset,
    fold: Fold,
    spec: ModelSpec,
    *,
    challenger: bool = False,
    lgb_callbacks: Sequence[Callable] = (),
    info: dict | None = None,
    rejects: pd.DataFrame | None = None,
    reject_inference: RejectInferenceSpec | None = None,
    champion: str | None = None,
) -> FoldOutput:
    """Fit the champion (and the challenger) on `fold.train` / `fold.valid` and score every part of the fold.

    The champion is chosen inside the fold's training part as `champion` (default: the model spec's) says:
    LightGBM, the WOE scorecard or their blend (`techscore.model.champion.select_champion`).

    With `reject_inference` (and `rejects`, the rejected applicants with their ``applied`` date), the LightGBM
    champion's training part is first augmented or reweighted with the rejects of its period
    (`techscore.model.reject_inference`); the scorecard takes no weights, so the champion is then LightGBM.
    """
    X, y = dataset.X, dataset.y.to_numpy()
    part = {p: getattr(fold, p) for p in PARTS}
    mode = champion or spec.champion
    X_train, y_train, weight, ri_info = X.iloc[part["train"]], y[part["train"]], None, {}
    if reject_inference is not None and reject_inference.method != "none" and rejects is not None:
        aug = infer_rejects(X_train, y_train, rejects_during(rejects, dataset.frame["issued"].iloc[part["train"]]),
                            reject_inference)
        X_train, y_train, weight = aug.X, aug.y, aug.weight
        ri_info = {"reject_inference": {k: v for k, v in aug.info.items() if k != "bands"}}
        if mode not in ("auto", "lightgbm"):
            raise SpecError(f"reject inference ({reject_inference.method}) fits the LightGBM champion only; "
                            f"champion = {mode!r} cannot take it (use \"auto\" or \"lightgbm\").")
        mode = "lightgbm"
    model, fit = fit_pd_model(
        X_train, y_train, X.iloc[part["valid"]], y[part["valid"]], dataset.features, spec,
        catalogue_version=dataset.summary.get("catalogue_version"),
        info={"dataset_fingerprint": dataset.fingerprint, "fold": fold.name, **ri_info, **(info or {})},
        callbacks=lgb_callbacks, inner_folds=fold.inner_folds, sample_weight=weight,
    )
    scorecard = (fit_scorecard(X.iloc[part["train"]], y[part["train"]], dataset.features, spec.scaling)
                 if challenger else None)
    model, choice, scorecard, margin = select_champion(
        model, fit, X.iloc[part["train"]], y[part["train"]], X.iloc[part["valid"]], y[part["valid"]], spec,
        mode=mode, inner_folds=fold.inner_folds, scorecard=scorecard)
    model.info["champion"] = choice.to_dict()
    pds = {p: model.predict_pd(X.iloc[idx]) for p, idx in part.items() if len(idx) and p != "valid"}
    valid_rows = part["valid"] if fit.valid_index is None else part["train"][fit.valid_index]
    if fit.valid_margin is not None:  # out of sample even when the booster was refit on these rows
        pds["valid"] = model.calibrator.predict(fit.valid_margin if margin is None else margin)
    out = FoldOutput(fold, model, fit, pds, valid_rows if fit.valid_margin is not None else part["valid"][:0],
                     choice=choice, card=shipped_card(choice, scorecard))
    if challenger and scorecard is not None:
        out.challenger = scorecard
        out.challenger_pd = {p: scorecard.predict_pd(X.iloc[idx]) for p, idx in part.items() if len(idx)}
    return out


# --- 4. evaluation ----------------------------------------------------------------------------------------------
@dataclass
class Evaluation:
    """Metrics and tables of one model on one set of rows."""

    metrics: dict[str, float]
    lift: pd.DataFrame
    calibration: pd.DataFrame
    segments: pd.DataFrame
    psi: pd.DataFrame | None = None


def evaluate_predictions(
    y: np.ndarray,
    pd_: np.ndarray,
    *,
    scaling: ScalingSpec,
    master_scale: MasterScaleSpec,
    frame: pd.DataFrame | None = None,
    segments: Sequence[str] = (),
    min_rows: int = 30,
    reference_pd: np.ndarray | None = None,
) -> Evaluation:
    """Metrics of PDs against labels: headline metrics, lift by decile, calibration by grade, by segment and,
    with `reference_pd` (e.g. the training rows), the PSI of the score against the reference."""
    y = np.asarray(y)
    pd_ = np.asarray(pd_, dtype=np.float64)
    metrics = M.summary(y, pd_)
    grades = pd_to_grade(pd_, master_scale)
    calibration = M.calibration_by_grade(y, pd_, grades, order=master_scale.grades, pd_upper=master_scale.pd_upper)
    seg = (M.segment_metrics(frame, y, pd_, list(segments), min_rows=min_rows)
           if frame is not None and segments else pd.DataFrame())
    psi = None
    if reference_pd is not None and len(reference_pd):
        psi = M.psi_table(pd_to_score(reference_pd, scaling, rounded=False), pd_to_score(pd_, scaling, rounded=False))
        metrics["score_psi"] = float(psi["psi"].sum())
    return Evaluation(metrics, M.lift_table(y, pd_), calibration, seg, psi)


def evaluate(
    model: PDModel,
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    frame: pd.DataFrame | None = None,
    segments: Sequence[str] = (),
    min_rows: int = 30,
    reference: pd.DataFrame | None = None,
) -> Evaluation:
    """Evaluate a fitted model on rows `X` with labels `y` (segments read from `frame`, default `X`; score PSI
    against the rows `reference` when given)."""
    ref = model.predict_pd(reference) if reference is not None else None
    return evaluate_predictions(np.asarray(y), model.predict_pd(X), scaling=model.scaling,
                                master_scale=model.master_scale, frame=X if frame is None else frame,
                                segments=segments, min_rows=min_rows, reference_pd=ref)


def _prefixed(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    return {f"{prefix}{k}": float(v) for k, v in metrics.items()}


def importance_table(model: PDModel) -> pd.DataFrame:
    """Gain and split importance of each feature, with display names and declared directions, by gain."""
    b = model.booster
    gain = b.feature_importance("gain")
    table = pd.DataFrame({
        "feature": model.feature_ids, "name": [f.name_en for f in model.features],
        "group": [f.group for f in model.features], "direction": [f.direction for f in model.features],
        "gain": gain, "split": b.feature_importance("split"),
    })
    table["gain_share"] = table["gain"] / max(float(table["gain"].sum()), 1e-300)
    return table.sort_values(["gain", "feature"], ascending=[False, True]).reset_index(drop=True)


# --- the pipeline -----------------------------------------------------------------------------------------------
def _segments(spec: ExperimentSpec | None, dataset: LoanDataset) -> list[str]:
    present = dataset.segments
    if spec is None or spec.segments is None:
        extra = [c for c in (spec.data.segment_columns if spec is not None else []) if c not in present]
        return [*present, *extra]
    missing = [s for s in spec.segments if s not in dataset.frame.columns]
    if missing:
        raise SpecError(f"{spec.shown}: key 'segments' names columns the data does not have: {', '.join(missing)}.")
    return list(spec.segments)


def run_params(spec: ExperimentSpec | None, model_spec: ModelSpec, dataset: LoanDataset) -> dict[str, str]:
    """The run's parameters as MLflow logs them: the model spec, split and data keys flattened (`model.seed`)."""
    flat: dict[str, str] = {}

    def walk(prefix: str, obj: object) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            flat[prefix] = json.dumps(obj) if isinstance(obj, list) else str(obj)

    walk("model", model_spec.model_dump(mode="json", exclude={"description"}))
    if spec is not None:
        walk("split", spec.split.model_dump(mode="json"))
        walk("data", spec.data.model_dump(mode="json", exclude={"directions", "point_in_time"}))
    flat["features.count"] = str(len(dataset.features))
    return {k: v[:6000] for k, v in flat.items()}


def _cv_metrics(outs: list[FoldOutput], y: np.ndarray) -> tuple[dict[str, float], pd.DataFrame]:
    rows = []
    for o in outs:
        t = o.fold.test
        row = {"fold": o.fold.name, "rows": len(t), "bad": int(y[t].sum()), "best_iteration": o.fit.best_iteration,
               **{m: M.summary(y[t], o.pd["test"])[m] for m in HEADLINE}}
        if o.challenger is not None:
            row.update({f"challenger_{m}": M.summary(y[t], o.challenger_pd["test"])[m] for m in HEADLINE})
        rows.append(row)
    table = pd.DataFrame(rows)
    metrics = {}
    for col in table.columns:
        if col in ("fold", "rows", "bad"):
            continue
        metrics[f"cv_{col}_mean"] = float(table[col].mean())
        metrics[f"cv_{col}_std"] = float(table[col].std(ddof=1)) if len(table) > 1 else 0.0
    for r in rows:
        metrics[f"{r['fold']}_test_auc"] = float(r["auc"])
    return metrics, table


def _pooled(outs: list[FoldOutput], part: str) -> tuple[np.ndarray, np.ndarray]:
    """Positions and PDs of `part` (test or valid) over all folds, each row scored by a model that did not
    train on it."""
    idx = np.concatenate([o.fold.test if part == "test" else o.valid_rows for o in outs])
    vals = np.concatenate([o.pd.get(part, np.array([])) for o in outs])
    return idx, vals


def train(
    experiment: str | Path | ExperimentSpec,
    *,
    workspace: str | Path | None = None,
    model_spec: ModelSpec | str | Path | None = None,
    dataset: LoanDataset | None = None,
    callbacks: Sequence[Callback] | None = None,
    tracking: bool = True,
    tracking_uri: str | None = None,
    register: bool = True,
    out: str | Path | None = None,
    progress: Progress | None = None,
) -> TrainResult:
    """Train, calibrate, validate and (by default) track and register the experiment's PD model.

    Parameters
    ----------
    experiment : experiment spec file or object.
    model_spec : override the model spec the experiment names (a file or object).
    dataset : use this dataset instead of loading the experiment's data.
    callbacks : called at each stage with a `TrainEnv`. With `tracking`, the MLflow callback opens the run before
        them (they see `result.run_id`) and, at `end`, logs after them (files they add under `result.paths["out"]`
        or the model folder are logged and registered with the model).
    tracking_uri : MLflow URI (default: $MLFLOW_TRACKING_URI, else the workspace's local SQLite store).
    register : register the pyfunc model in the registry with alias `challenger` (tracking only).
    out : folder for artifacts (default `<workspace>/mlruns/outputs/<experiment name>`; replaced each run).
    progress : `progress(done, total, what)` after each fitted fold.
    """
    from techscore.specs import load_model_spec

    spec = experiment if isinstance(experiment, ExperimentSpec) else load_experiment(experiment, workspace=workspace)
    mspec = (model_spec if isinstance(model_spec, ModelSpec) else
             load_model_spec(model_spec) if model_spec is not None else spec.model_spec())
    if spec.champion is not None:  # the experiment overrides the model spec's champion
        mspec = mspec.model_copy(update={"champion": spec.champion})
    ds = dataset if dataset is not None else load_dataset(spec)
    tracker: list[Callback] = []
    if tracking:
        from techscore.model.tracking import mlflow_callback

        tracker.append(mlflow_callback(spec.experiment_name, tracking_uri=tracking_uri,
                                       registered_model=spec.model_name if register else None,
                                       workspace=spec.workspace))
    others: list[Callback] = list(callbacks or [])
    if progress is not None:
        others.append(lambda env: progress(env.done, env.total, env.fold.name) if env.stage == "fold" and env.fold
                      else None)
    # the tracker opens the run before the others start and logs after they finish (so it logs what they add)
    first, last = [*tracker, *others], [*others, *tracker]
    y = ds.y.to_numpy()
    result = TrainResult(experiment=spec, model_spec=mspec, dataset=ds)
    result.folds = make_folds(ds.frame, y, spec.split)
    result.params = run_params(spec, mspec, ds)
    out_dir = Path(out) if out is not None else spec.workspace / "mlruns" / "outputs" / spec.name
    emit(first, TrainEnv("start", result))
    try:
        _run(result, spec, mspec, ds, y, first)
        write_outputs(result, out_dir)
        emit(last, TrainEnv("end", result))
    except BaseException as exc:
        emit(last, TrainEnv("failed", result, error=exc))
        raise
    return result


def _run(result: TrainResult, spec: ExperimentSpec, mspec: ModelSpec, ds: LoanDataset, y: np.ndarray,
         cbs: Sequence[Callback]) -> None:
    guard_training(result, spec)  # before fitting: records the leakage guard's findings, stops when strict
    segments = _segments(spec, ds)
    cv = spec.split.kind == "cv"
    total = len(result.folds) + (1 if cv else 0)
    outs: list[FoldOutput] = []
    ri = spec.reject_inference
    rejects = None
    if ri.method != "none":
        if cv or spec.data.path is None:
            raise spec.error("reject_inference.method", "needs raw tables with an applications table and an "
                             "out-of-time split (the rejects join the training part of their period).")
        rejects = rejected_applicants(spec.resolve(spec.data.path), ri, ds.X, catalogue=load_catalogue(spec.workspace),
                                      point_in_time=point_in_time(spec.data.point_in_time, shown=spec.shown))
    for n, fold in enumerate(result.folds, start=1):
        o = fit_fold(ds, fold, mspec, challenger=spec.challenger, rejects=rejects, reject_inference=ri)
        outs.append(o)
        fm = {"auc": M.auc(y[fold.test], o.pd["test"]), "best_iteration": float(o.fit.best_iteration)}
        emit(cbs, TrainEnv("fold", result, fold=fold, fold_metrics=fm, done=n, total=total))
    if cv:
        final_fold = full_fold(y, seed=spec.split.seed, valid_fraction=spec.split.valid_fraction,
                               inner_folds=spec.split.inner_folds)
        final = fit_fold(ds, final_fold, mspec, challenger=spec.challenger)
        emit(cbs, TrainEnv("fold", result, fold=final_fold, done=total, total=total))
    else:
        final = outs[0]
    result.model = final.model
    result.model.info.update(experiment=spec.name, split=spec.split.model_dump(mode="json"))
    result.card = final.card

    # rows each metric is computed on: test (out of time or out of fold), valid (pooled over folds), train (final);
    # repeated cv pools the first partition (each row once) and averages the cv_* metrics over every fold
    pooled = [o for o in outs if o.fold.repeat == 1]
    test_idx, test_pd = _pooled(pooled, "test")
    valid_idx, valid_pd = _pooled(pooled, "valid")
    train_idx, train_pd = final.fold.train, final.pd["train"]
    ref_pd = np.concatenate([o.pd["train"] for o in pooled])
    frame = ds.frame
    ev = {
        "test": evaluate_predictions(y[test_idx], test_pd, scaling=mspec.scaling, master_scale=mspec.master_scale,
                                     frame=frame.iloc[test_idx], segments=segments, min_rows=spec.min_segment_rows,
                                     reference_pd=ref_pd),
        "valid": evaluate_predictions(y[valid_idx], valid_pd, scaling=mspec.scaling,
                                      master_scale=mspec.master_scale, reference_pd=ref_pd),
        "train": evaluate_predictions(y[train_idx], train_pd, scaling=mspec.scaling,
                                      master_scale=mspec.master_scale),
    }
    metrics: dict[str, float] = {**result.metrics, **embargo_metrics(result.folds)}
    for p, e in ev.items():
        metrics.update(_prefixed(e.metrics, f"{p}_"))
    metrics["best_iteration"] = float(final.fit.best_iteration)
    metrics["n_trees"] = float(final.model.booster.num_trees())
    tables: dict[str, pd.DataFrame] = {
        "lift": ev["test"].lift, "calibration_by_grade": ev["test"].calibration,
        "segments": ev["test"].segments.assign(model="champion") if len(ev["test"].segments) else ev["test"].segments,
        "importance": importance_table(final.model),
        "master_scale": grade_table(mspec.master_scale, mspec.scaling),
        "splits": _split_table(result.folds, final.fold, y),
        "leakage": result.tables["leakage"],
    }
    if ev["test"].psi is not None:
        tables["score_psi"] = ev["test"].psi
    if not cv:
        f = result.folds[0]
        tables["feature_psi"] = M.feature_psi(ds.X.iloc[f.train], ds.X.iloc[f.test], ds.feature_ids)
        names = {m.id: m.name_en for m in ds.features}
        tables["feature_psi"].insert(1, "name", tables["feature_psi"]["feature"].map(names))
    report = {"experiment": spec.name, "split": spec.split.kind, "model_spec": mspec.name,
              "dataset_fingerprint": ds.fingerprint, "rows": len(ds.frame),
              "champion": {p: e.metrics for p, e in ev.items()}}
    if cv:
        cvm, folds_table = _cv_metrics(outs, y)
        metrics.update(cvm)
        tables["folds"] = folds_table
        report["cv"] = cvm
    predictions = pd.DataFrame({
        "row": frame.index[test_idx], "fold": np.concatenate([[o.fold.name] * len(o.fold.test) for o in pooled]),
        LABEL: y[test_idx], "pd": test_pd, "score": pd_to_score(test_pd, mspec.scaling),
        "grade": pd.array(pd_to_grade(test_pd, mspec.master_scale), dtype="string"),
    })
    for key in ("loan_id", "bank_id", "uscc", "issued"):
        if key in frame.columns:
            predictions[key] = frame[key].to_numpy()[test_idx]

    _champion_record(outs, final, cv, metrics, tables, report)
    if spec.challenger:
        _challenger(pooled, final, y, test_idx, train_idx, frame, segments, spec, mspec, metrics, tables,
                    report, predictions, ref_pd=np.concatenate([o.challenger_pd["train"] for o in pooled]))
        result.challenger = final.challenger
    result.metrics = metrics
    result.tables = tables
    result.report = {**report, "metrics": metrics}
    result.predictions = predictions.sort_values("row", kind="stable").reset_index(drop=True) if cv else predictions
    result.membership = membership_table(frame, {"train": train_idx, "valid": final.fold.valid, "test": test_idx,
                                                 "embargo": final.fold.embargo})
    result.learning_curve = (final.fit.evals.get("valid", []), final.fit.best_iteration)


def _champion_record(outs: list[FoldOutput], final: FoldOutput, cv: bool, metrics: dict, tables: dict,
                     report: dict) -> None:
    """What each training part compared and shipped: the `champion_selection` table (one row per fold and
    candidate), metrics of the shipped model's comparison and, for cross-validation, how often each won."""
    fits = [*outs, final] if cv else outs
    tables["champion_selection"] = pd.concat([o.choice.table(o.fold.name) for o in fits if o.choice is not None],
                                             ignore_index=True)
    choice = final.choice
    if choice is None:
        return
    for c in choice.candidates:
        metrics[f"champion_inner_log_loss_{c['candidate']}"] = c["inner_log_loss"]
    metrics["champion_weight_lightgbm"], metrics["champion_weight_scorecard"] = choice.weights
    report["champion_selection"] = {"mode": choice.mode, "shipped": choice.winner, "reason": choice.reason,
                                    "weights": list(choice.weights), "evidence": choice.evidence,
                                    "candidates": choice.candidates}
    if cv:
        wins = {name: sum(o.choice is not None and o.choice.winner == name for o in outs) for name in CANDIDATES}
        metrics.update({f"champion_folds_{name}": float(n) for name, n in wins.items()})
        report["champion_selection"]["outer_folds_won"] = wins


def _challenger(outs, final, y, test_idx, train_idx, frame, segments, spec, mspec, metrics, tables, report,
                predictions, ref_pd) -> None:
    c_test = np.concatenate([o.challenger_pd["test"] for o in outs])
    ev = {
        "test": evaluate_predictions(y[test_idx], c_test, scaling=mspec.scaling, master_scale=mspec.master_scale,
                                     frame=frame.iloc[test_idx], segments=segments,
                                     min_rows=spec.min_segment_rows, reference_pd=ref_pd),
        "train": evaluate_predictions(y[train_idx], final.challenger_pd["train"], scaling=mspec.scaling,
                                      master_scale=mspec.master_scale),
    }
    if all("valid" in o.challenger_pd for o in outs):  # a hold-out (with inner CV the scorecard has none)
        c_valid = np.concatenate([o.challenger_pd["valid"] for o in outs])
        ev["valid"] = evaluate_predictions(y[np.concatenate([o.fold.valid for o in outs])], c_valid,
                                           scaling=mspec.scaling, master_scale=mspec.master_scale)
    for p, e in ev.items():
        metrics.update(_prefixed(e.metrics, f"challenger_{p}_"))
    report["challenger"] = {p: e.metrics for p, e in ev.items()}
    tables["challenger_points"] = final.challenger.points_table()
    tables["challenger_lift"] = ev["test"].lift
    tables["challenger_calibration_by_grade"] = ev["test"].calibration
    if len(ev["test"].segments):
        tables["segments"] = pd.concat([tables["segments"], ev["test"].segments.assign(model="challenger")],
                                       ignore_index=True)
    names = [*HEADLINE, "lift_top_decile", "score_psi"]
    champion = report["champion"]["test"]
    tables["comparison"] = pd.DataFrame({
        "metric": names, "champion": [champion.get(m, np.nan) for m in names],
        "challenger": [ev["test"].metrics.get(m, np.nan) for m in names],
    }).assign(difference=lambda t: t["champion"] - t["challenger"])
    predictions["challenger_pd"] = c_test
    predictions["challenger_score"] = pd_to_score(c_test, mspec.scaling)


def _split_table(folds: list[Fold], final: Fold, y: np.ndarray) -> pd.DataFrame:
    rows = []
    for f in [*folds, *([final] if final.name == "full" else [])]:
        for part, s in f.sizes(y).items():
            if s["rows"]:
                rows.append({"fold": f.name, "split": part, **s, "period": (f.period or {}).get(part, "")})
    return pd.DataFrame(rows)


# --- 5. outputs -------------------------------------------------------------------------------------------------
def write_outputs(result: TrainResult, out: str | Path) -> dict[str, Path]:
    """Write the run's artifact set into `out` (replaced), as `techscore.model.artifacts` declares it:
    metrics.json, membership.parquet, predictions.parquet, segments.csv, tables/, plots/, the PDModel folder
    `model/` and copies of the spec files under `spec/`."""
    from techscore.model import plots

    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    (out / "tables").mkdir(parents=True)
    paths: dict[str, Path] = {"out": out}
    mspec = result.model_spec
    paths["metrics.json"] = out / METRICS_FILE
    paths["metrics.json"].write_text(json.dumps(json_ready(result.report), indent=2, ensure_ascii=False), encoding="utf-8")
    seg = result.tables.get("segments", pd.DataFrame())
    seg.to_csv(out / SEGMENTS_FILE, index=False)
    paths["segments.csv"] = out / SEGMENTS_FILE
    for name, table in result.tables.items():
        if name in ("segments", "challenger_points"):
            continue
        table.to_csv(out / "tables" / f"{name}.csv", index=False)
    if "challenger_points" in result.tables:
        (out / "challenger").mkdir()
        paths["points"] = out / "challenger" / "points.csv"
        result.tables["challenger_points"].to_csv(paths["points"], index=False)
        (out / "challenger" / "metrics.json").write_text(
            json.dumps(json_ready(result.report.get("challenger", {})), indent=2), encoding="utf-8")
    if result.challenger is not None:  # the challenger's points table as `techscore export` reads it
        try:
            paths["challenger_scorecard"] = card_table(result.challenger).save(out / "challenger" / SCORECARD_FILE)
        except ModelError as exc:  # a scorecard the export cannot represent: say so beside it, train on
            (out / "challenger" / "scorecard_not_exported.txt").write_text(f"{exc}\n", encoding="utf-8")
    pred = result.predictions
    pred.to_parquet(out / PREDICTIONS_FILE, index=False)
    paths["predictions"] = out / PREDICTIONS_FILE
    if result.membership is not None:
        result.membership.to_parquet(out / MEMBERSHIP_FILE, index=False)
        paths["membership"] = out / MEMBERSHIP_FILE

    y, p = pred[LABEL].to_numpy(), pred["pd"].to_numpy()
    curves = {"LightGBM": (y, p)}
    if "challenger_pd" in pred:
        curves["WOE scorecard"] = (y, pred["challenger_pd"].to_numpy())
    title = "test" if result.experiment is None or result.experiment.split.kind == "oot" else "out of fold"
    figs = {
        "roc": plots.roc_plot(curves, title=f"ROC ({title})"),
        "ks": plots.ks_plot(y, p, title=f"KS ({title})"),
        "calibration": plots.calibration_plot(result.tables["calibration_by_grade"],
                                              title=f"Calibration by grade ({title})"),
        "score_distribution": plots.score_distribution_plot(y, pred["score"].to_numpy(),
                                                            title=f"Score distribution ({title})"),
        "importance": plots.importance_plot(result.tables["importance"]),
    }
    curve, best = result.learning_curve
    if curve:
        figs["learning_curve"] = plots.learning_curve_plot(curve, best, mspec.learner.early_stopping_metric)
    if "challenger_pd" in pred:
        cp = pred["challenger_pd"].to_numpy()
        figs["challenger/ks"] = plots.ks_plot(y, cp, title=f"KS, WOE scorecard ({title})")
        figs["challenger/calibration"] = plots.calibration_plot(result.tables["challenger_calibration_by_grade"],
                                                                title=f"Calibration, WOE scorecard ({title})")
        figs["challenger/score_distribution"] = plots.score_distribution_plot(
            y, pred["challenger_score"].to_numpy(), title=f"Score distribution, WOE scorecard ({title})")
    for name, fig in figs.items():
        paths[f"plot:{name}"] = plots.save_png(fig, out / (f"{name}.png" if "/" in name else f"plots/{name}.png"))
    paths["model"] = result.model.save(out / "model")
    if result.card is not None:  # the shipped scorecard, for `techscore export` (SQL, PMML)
        paths["scorecard"] = result.card.save(paths["model"] / SCORECARD_FILE)
    spec_dir = out / "spec"
    spec_dir.mkdir()
    if result.experiment is not None and result.experiment.path is not None:
        paths["experiment_spec"] = Path(shutil.copy(result.experiment.path, spec_dir / "experiment.toml"))
    if mspec.path is not None:
        paths["model_spec"] = Path(shutil.copy(mspec.path, spec_dir / "model.toml"))
    result.paths = paths
    return paths
