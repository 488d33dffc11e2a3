"""Tuning: seeded TPE, pruning through a LightGBM callback, a resumable SQLite study, nested MLflow runs."""

from __future__ import annotations

import optuna
import pytest
from mlflow import MlflowClient

from techscore.exceptions import SpecError
from techscore.model.lgbm import fit_booster
from techscore.model.tuning import pruning_callback, tune
from techscore.specs import load_model_spec
from tests.model.conftest import EXPERIMENT_TOML, MODEL_TOML, make_loan_dataset, write_workspace

pytestmark = pytest.mark.slow


def _workspace(tmp_path, mlflow_experiment: str):
    """A workspace with a fast model spec (60 rounds) and the synthetic experiment logging to `mlflow_experiment`,
    its experiment text and a loan dataset."""
    model = MODEL_TOML.replace("num_boost_round = 300", "num_boost_round = 60")
    experiment = EXPERIMENT_TOML.replace('mlflow_experiment = "techscore-test-synthetic"',
                                         f'mlflow_experiment = "{mlflow_experiment}"')
    return write_workspace(tmp_path, model=model, experiment=experiment), experiment, make_loan_dataset(n=1500, seed=3)


def test_study_resumes_and_writes_tuned_spec(tmp_path, tracking_uri):
    ws, experiment, ds = _workspace(tmp_path, "techscore-test-tune")
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    kwargs = dict(dataset=ds, storage=storage, tracking_uri=tracking_uri, pruner="median")
    first = tune(ws / "experiments" / "synthetic.toml", trials=2, **kwargs)
    assert first.trials == 2 and first.objective == "valid_auc"
    second = tune(ws / "experiments" / "synthetic.toml", trials=2, **kwargs)  # same stable study name: resumes
    assert second.trials == 4 and second.study.study_name == "synthetic-test_lgbm"
    trials = optuna.load_study(study_name="synthetic-test_lgbm", storage=storage).trials
    assert len(trials) == 4
    # the study starts from the spec's own parameters, once
    assert trials[0].user_attrs["from_spec"] == "test_lgbm" and trials[0].params["learning_rate"] == 0.1
    assert sum("from_spec" in t.user_attrs for t in trials) == 1
    assert second.best_value >= first.best_value
    spec = load_model_spec(ws / "models" / "test_lgbm_tuned.toml")
    assert spec.name == "test_lgbm_tuned" and spec.learner.learning_rate == pytest.approx(second.best_params["learning_rate"])
    assert spec.learner.num_boost_round == 60 and spec.seed == 7
    assert (ws / "models" / "test_lgbm_tuned.toml").read_text().startswith("# Written by `techscore tune`")
    # trials measured on other folds do not mix: resuming after the split changed is an error naming the study
    moved = experiment.replace("train_before = 2021-01-01", "train_before = 2020-07-01")
    assert moved != experiment
    (ws / "experiments" / "synthetic.toml").write_text(moved, encoding="utf-8")
    with pytest.raises(SpecError, match="study 'synthetic-test_lgbm' .* another split"):
        tune(ws / "experiments" / "synthetic.toml", trials=1, **kwargs)
    assert len(optuna.load_study(study_name="synthetic-test_lgbm", storage=storage).trials) == 4

    client = MlflowClient(tracking_uri=tracking_uri)
    exp = client.get_experiment_by_name("techscore-test-tune")
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 2 and len(children) == 4
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {r.info.run_id for r in parents}
    assert all("learning_rate" in r.data.params and "objective" in r.data.metrics for r in children
               if r.data.tags["optuna.state"] == "COMPLETE")


def test_tune_writes_the_best_trials_run_artifact_set(tmp_path, tracking_uri):
    from techscore.model.artifacts import RunArtifacts
    from techscore.model.training import train

    ws, _, ds = _workspace(tmp_path, "techscore-test-tune-run")
    res = tune(ws / "experiments" / "synthetic.toml", trials=2, dataset=ds,
               storage=f"sqlite:///{tmp_path / 'optuna.db'}", tracking_uri=tracking_uri)
    assert res.run_dir == ws / "mlruns" / "outputs" / "synthetic_tuned"
    tracked = RunArtifacts.load(res.parent_run_id, tracking_uri=tracking_uri, cache=tmp_path / "cache")
    local = RunArtifacts.load(res.run_dir)
    # the run is the tuned spec trained as `train` trains it: same rows per part, same metrics, same PDs
    again = train(ws / "experiments" / "synthetic.toml", model_spec=res.spec_path, dataset=ds, tracking=False,
                  out=tmp_path / "again")
    for run in (tracked, local):
        assert run.model.feature_ids == again.model.feature_ids
        assert run.report["model_spec"] == "test_lgbm_tuned" and run.report["metrics"] == pytest.approx(
            again.report["metrics"], nan_ok=True)
        for part in ("train", "valid", "test"):
            rows = run.rows(part, ds.frame)
            assert len(rows) > 0 and rows.equals(RunArtifacts.load(tmp_path / "again").rows(part, ds.frame))
        assert run.predictions["pd"].to_numpy() == pytest.approx(again.predictions["pd"].to_numpy())
    # the validation AUC of the run is the best trial's objective (calibration keeps the order)
    assert local.report["metrics"]["valid_auc"] == pytest.approx(res.best_value, abs=1e-3)


def test_pruning_callback_stops_a_poor_trial(loan_dataset):
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=0.999))
    trial = study.ask()
    X, y = loan_dataset.X, loan_dataset.y.to_numpy()
    with pytest.raises(optuna.TrialPruned, match="pruned at round 10"):
        fit_booster(X.iloc[:3000], y[:3000], X.iloc[3000:], y[3000:], params={"objective": "binary", "metric": "auc",
                    "verbosity": -1, "num_threads": 1}, num_boost_round=100, callbacks=[pruning_callback(trial)])
    reported = study.trials[0].intermediate_values
    assert list(reported) == [10] and 0.5 < reported[10] < 0.999
