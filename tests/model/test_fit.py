"""Fitting: monotone constraints honoured, unsafe names refused, deterministic models, inner CV."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from techscore.exceptions import ModelError
from techscore.model.fit import fit_booster_for, fit_pd_model
from techscore.model.lgbm import (
    average_boosters,
    fit_booster,
    fit_booster_cv,
    lgb_params,
    monotone_constraints,
)
from techscore.model.metrics import auc
from techscore.model.split import cv_folds, out_of_time
from techscore.model.training import fit_fold
from techscore.specs import LearnerSpec, ModelSpec
from tests.model.conftest import TRUE_EFFECTS

SPEC = ModelSpec(name="m", seed=5, learner=LearnerSpec(num_leaves=15, learning_rate=0.1, num_boost_round=200,
                                                       early_stopping_rounds=20, min_child_samples=5),
                 champion="lightgbm")  # these tests are about the LightGBM fit (test_champion: the selection)


def _fit(ds, spec):
    X, y = ds.X, ds.y.to_numpy()
    return fit_pd_model(X.iloc[:3000], y[:3000], X.iloc[3000:], y[3000:], ds.features, spec)


def _violations(model, X, feature: str, direction: int) -> int:
    """Rows whose PD moves against `direction` as `feature` sweeps its range, all else fixed."""
    grid = np.nanquantile(X[feature], np.linspace(0.01, 0.99, 15))
    rows = X.iloc[:200]
    pds = np.column_stack([model.predict_pd(rows.assign(**{feature: v})) for v in grid])
    steps = np.diff(pds, axis=1) * direction
    return int((steps < -1e-12).any(axis=1).sum())


def test_constraints_align_with_columns(loan_dataset):
    assert monotone_constraints(loan_dataset.features) == [-1, 1, 1, -1, 1, 0, 0]


def test_monotone_constraints_honoured(loan_dataset):
    model, _ = _fit(loan_dataset, SPEC)
    assert model.info["monotone_constraints"] == [-1, 1, 1, -1, 1, 0, 0]
    for feature, direction in TRUE_EFFECTS.items():
        assert _violations(model, loan_dataset.X, feature, direction) == 0, feature
    free, _ = _fit(loan_dataset, SPEC.model_copy(update={"monotone": False}))
    assert sum(_violations(free, loan_dataset.X, f, d) for f, d in TRUE_EFFECTS.items()) > 0


def test_unsafe_feature_names_are_refused(loan_dataset):
    X = loan_dataset.X.rename(columns={"fin_leverage": "leverage [x]"})
    with pytest.raises(ModelError, match=r"unsafe: leverage \[x\]"):
        fit_booster(X, loan_dataset.y.to_numpy(), None, None, params={"verbosity": -1}, num_boost_round=2)


def test_same_spec_and_seed_same_model_bytes(loan_dataset):
    a, _ = _fit(loan_dataset, SPEC)
    b, _ = _fit(loan_dataset, SPEC)
    assert a.booster.model_to_string() == b.booster.model_to_string()
    assert a.calibrator == b.calibrator
    c, _ = _fit(loan_dataset, SPEC.model_copy(update={"seed": 6, "learner": SPEC.learner.model_copy(
        update={"feature_fraction": 0.7})}))
    assert c.booster.model_to_string() != a.booster.model_to_string()


def test_early_stopping_trims_to_best_iteration(loan_dataset):
    model, fit = _fit(loan_dataset, SPEC)
    assert model.booster.num_trees() == fit.best_iteration < 200
    assert len(fit.evals["valid"]) > fit.best_iteration


def test_inner_cross_validation_fit(loan_dataset):
    y = loan_dataset.y.to_numpy()
    fold = cv_folds(y, 4, seed=0, inner_folds=3)[0]
    spec = SPEC.model_copy(update={"learner": SPEC.learner.model_copy(update={"inner_cv_model": "refit"})})
    out = fit_fold(loan_dataset, fold, spec)
    assert len(out.valid_rows) == len(fold.train) and out.fit.valid_index is not None
    assert out.model.booster.num_trees() == out.fit.best_iteration
    assert auc(y[fold.test], out.pd["test"]) > 0.7
    assert auc(y[out.valid_rows], out.pd["valid"]) > 0.7  # out of fold, not in-sample


def test_fold_scores_every_part(loan_dataset):
    y = loan_dataset.y.to_numpy()
    fold = out_of_time(loan_dataset.frame["issued"], y, "2022-01-01", "2023-01-01")
    out = fit_fold(loan_dataset, fold, SPEC, challenger=True)
    assert {k: len(v) for k, v in out.pd.items()} == {"train": len(fold.train), "valid": len(fold.valid),
                                                      "test": len(fold.test)}
    assert set(out.challenger_pd) == {"train", "valid", "test"}
    assert auc(y[fold.test], out.pd["test"]) > 0.75 and auc(y[fold.test], out.challenger_pd["test"]) > 0.7


def test_average_boosters_is_one_exact_booster(loan_dataset):
    X, y = loan_dataset.X, loan_dataset.y.to_numpy()
    params = {"objective": "binary", "verbosity": -1, "num_leaves": 7, "bagging_fraction": 0.7, "bagging_freq": 1,
              "num_threads": 1}
    boosters = [lgb.train({**params, "seed": s}, lgb.Dataset(X, y), num_boost_round=25) for s in range(3)]
    merged = average_boosters(boosters, num_iteration=20)
    mean = np.mean([b.predict(X, raw_score=True, num_iteration=20) for b in boosters], axis=0)
    assert merged.num_trees() == 60 and merged.feature_name() == boosters[0].feature_name()
    assert np.allclose(merged.predict(X, raw_score=True), mean, atol=1e-12)
    assert np.allclose(merged.predict(X.iloc[:200], pred_contrib=True).sum(axis=1), mean[:200], atol=1e-10)
    cuts = [5, 12, 25]  # each booster cut at its own round
    ragged = average_boosters(boosters, num_iteration=cuts)
    mean = np.mean([b.predict(X, raw_score=True, num_iteration=n) for b, n in zip(boosters, cuts, strict=True)], axis=0)
    assert ragged.num_trees() == sum(cuts) and np.allclose(ragged.predict(X, raw_score=True), mean, atol=1e-12)
    with pytest.raises(ModelError, match="2 iteration counts for 3 boosters"):
        average_boosters(boosters, num_iteration=[5, 12])
    with pytest.raises(ModelError, match="do not share their features"):
        average_boosters([boosters[0], lgb.train(params, lgb.Dataset(X.iloc[:, :3], y), num_boost_round=2)])


def test_inner_cv_average_model(loan_dataset):
    y = loan_dataset.y.to_numpy()
    fold = cv_folds(y, 4, seed=0, inner_folds=3)[0]
    spec = SPEC.model_copy(update={"learner": SPEC.learner.model_copy(update={"inner_cv_model": "average"})})
    out = fit_fold(loan_dataset, fold, spec)
    assert out.model.booster.num_trees() == 3 * out.fit.best_iteration
    assert auc(y[fold.test], out.pd["test"]) > 0.7


def test_inner_cv_repeats_bag_every_inner_booster(loan_dataset):
    """Repeated inner CV averages all repeats x folds boosters, each cut at its repeat's best round; the
    out-of-fold margins average the repeats; one repeat is the plain inner CV, and the result is reproducible."""
    X, y = loan_dataset.X, loan_dataset.y.to_numpy()
    fold = cv_folds(y, 4, seed=0, inner_folds=3)[0]

    def fit(repeats: int):
        spec = SPEC.model_copy(update={"learner": SPEC.learner.model_copy(update={"inner_cv_repeats": repeats})})
        return fit_booster_for(spec, loan_dataset.features, X.iloc[fold.train], y[fold.train], inner_folds=3)

    one, three = fit(1), fit(3)
    parts = [fit_booster_cv(X.iloc[fold.train], y[fold.train], params=lgb_params(SPEC.learner, SPEC.seed + r,
                            loan_dataset.features, True), num_boost_round=200, early_stopping_rounds=20, folds=3,
                            seed=SPEC.seed + r, combine="average") for r in range(3)]
    assert one.booster.model_to_string() == parts[0].booster.model_to_string()
    assert three.booster.num_trees() == 3 * sum(p.best_iteration for p in parts)
    test = X.iloc[fold.test]
    bagged = np.mean([p.booster.predict(test, raw_score=True) for p in parts], axis=0)
    assert np.allclose(three.booster.predict(test, raw_score=True), bagged, atol=1e-10)
    assert np.allclose(three.valid_margin, np.mean([p.valid_margin for p in parts], axis=0), atol=1e-12)
    assert three.booster.model_to_string() == fit(3).booster.model_to_string()
    assert auc(y[fold.test], three.booster.predict(test, raw_score=True)) > 0.7


# --- calibration on the model that ships ------------------------------------------------------------------------
REFIT = SPEC.model_copy(update={"learner": SPEC.learner.model_copy(update={"refit": True})})


def test_refit_calibrator_sees_out_of_fold_margins_of_the_shipped_configuration(loan_dataset):
    """With a refit, the calibrator is fitted on the validation rows' margins from boosters built as the shipped
    one is (its parameters and number of rounds, on folds of train + validation), each row scored by a booster
    that did not see it, not on the early-stopped booster's margins (fewer rounds: another model)."""
    from sklearn.model_selection import StratifiedKFold

    from techscore.model.calibrate import fit_calibrator
    from techscore.model.lgbm import lgb_params

    X, y = loan_dataset.X, loan_dataset.y.to_numpy()
    model, fit = _fit(loan_dataset, REFIT)
    shipped_rounds = model.booster.num_trees()
    early_stopped, _ = _fit(loan_dataset, SPEC)
    assert shipped_rounds == fit.refit_rounds > early_stopped.booster.num_trees()
    assert fit.calibration == {"source": "cross_fit", "rounds": shipped_rounds, "folds": 5, "rows": len(y) - 3000}
    # the same margins, rebuilt with LightGBM alone: five boosters of the shipped parameters and rounds
    params = lgb_params(REFIT.learner, REFIT.seed, model.features, REFIT.monotone)
    margin = np.zeros(len(y))
    for rest, held in StratifiedKFold(5, shuffle=True, random_state=REFIT.seed).split(np.zeros(len(y)), y):
        booster = lgb.train(params, lgb.Dataset(X.iloc[rest], label=y[rest].astype(float),
                                                categorical_feature=["profile_industry_section"]),
                            num_boost_round=shipped_rounds)
        margin[held] = booster.predict(X.iloc[held], raw_score=True)
    expected = fit_calibrator(margin[3000:], y[3000:], "platt")  # the validation rows' out-of-fold margins
    assert model.calibrator.params == pytest.approx(expected.params, rel=1e-9)
    assert np.allclose(fit.valid_margin, margin[3000:])  # validation metrics read the same out-of-fold margins
    assert model.info["calibration"]["source"] == "cross_fit"
    # deterministic: same spec and seed, same booster bytes and calibrator
    again, _ = _fit(loan_dataset, REFIT)
    assert again.booster.model_to_string() == model.booster.model_to_string() and again.calibrator == model.calibrator
