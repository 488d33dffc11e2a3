"""Real data no one on the project wrote: the Polish bankruptcy file through the cross-validated pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from techscore.model.training import train
from techscore.specs import ExperimentSpec, LearnerSpec, ModelSpec

pytestmark = pytest.mark.slow


def test_polish_cv_quick_check(polish, tmp_path):
    """A 35% stratified subsample, 3 folds with inner CV repeated over 2 partitions, a quick learner:
    discrimination far above chance on every fold, out-of-fold PDs calibrated to the bad rate, reports in the
    real column names. (The WOE
    challenger on these 64 columns is exercised by the full `experiments/polish.toml` run, not here: slow.)"""
    from techscore.dataset.frame import LoanDataset
    from techscore.dataset.tabular import stratified_sample

    keep = stratified_sample(polish.y.to_numpy(), 0.35, seed=0)
    ds = LoanDataset(frame=polish.frame.iloc[keep], features=polish.features, fingerprint=polish.fingerprint,
                     name="polish-sample", summary={})
    spec = ExperimentSpec.model_validate({
        "name": "polish_quick", "challenger": False, "registered_model": "",
        "data": {"tabular": "1year.arff", "target": "bankruptcy"}, "split": {"cv": 3, "inner_folds": 3, "repeats": 2},
    })
    # LightGBM forced: the CV mechanics are under test here; the champion choice is tested in test_champion*
    mspec = ModelSpec(name="quick", champion="lightgbm",
                      learner=LearnerSpec(learning_rate=0.15, num_boost_round=200, early_stopping_rounds=20))
    result = train(spec, model_spec=mspec, dataset=ds, tracking=False, out=tmp_path / "out")
    m = result.metrics
    names = [f"{r}fold{k}" for r in ("", "r2") for k in (1, 2, 3)]
    assert m["cv_auc_mean"] > 0.85 and all(m[f"{f}_test_auc"] > 0.8 for f in names)
    # cv metrics average all six folds; pooled metrics and predictions hold each row once (first partition)
    assert list(result.tables["folds"]["fold"]) == names
    assert m["cv_auc_mean"] == pytest.approx(np.mean([m[f"{f}_test_auc"] for f in names]))
    assert abs(m["test_mean_pd"] - m["test_bad_rate"]) < 0.015
    assert len(result.predictions) == len(keep) and result.predictions["row"].is_unique
    assert set(result.predictions["fold"]) == {"fold1", "fold2", "fold3"}
    names = result.tables["importance"]["name"].tolist()
    assert all(isinstance(n, str) and n for n in names) and "/" in names[0]  # display names, not f000


def test_polish_tuning_on_cv_auc(polish, tmp_path):
    """Tuning a cross-validated experiment maximises the pipeline's own CV AUC: training with the tuned spec
    reproduces the best trial's value exactly."""
    from techscore.dataset.frame import LoanDataset
    from techscore.dataset.tabular import stratified_sample
    from techscore.model.tuning import tune

    keep = stratified_sample(polish.y.to_numpy(), 0.35, seed=1)
    ds = LoanDataset(frame=polish.frame.iloc[keep], features=polish.features, fingerprint="sample", name="sample")
    ws = tmp_path
    (ws / "models").mkdir()
    (ws / "experiments").mkdir()
    (ws / "models" / "quick.toml").write_text('name = "quick"\nchampion = "lightgbm"\n[learner]\n'
                                              'num_boost_round = 150\nearly_stopping_rounds = 20\n', encoding="utf-8")
    (ws / "experiments" / "p.toml").write_text(
        'name = "p"\nmodel = "models/quick.toml"\nchallenger = false\n[data]\ntabular = "x.arff"\n'
        'target = "bankruptcy"\n[split]\ncv = 3\ninner_folds = 3\n', encoding="utf-8")
    res = tune(ws / "experiments" / "p.toml", trials=3, dataset=ds, storage=f"sqlite:///{ws / 'optuna.db'}",
               tracking=False)
    assert res.objective == "cv_auc_mean" and res.trials == 3 and res.best_value > 0.85
    assert all(res.details[f"fold{k}_best_iteration"] <= 150 for k in (1, 2, 3))
    again = train(ws / "experiments" / "p.toml", model_spec=ws / "models" / "quick_tuned.toml", dataset=ds,
                  tracking=False, out=tmp_path / "out")
    assert again.metrics["cv_auc_mean"] == pytest.approx(res.best_value, abs=1e-12)
