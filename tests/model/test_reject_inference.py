"""Reject inference on small hand-built cases with known answers, and each method end to end on a toy population."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from techscore.exceptions import SpecError
from techscore.model.reject_inference import (
    approval_weights,
    fuzzy_rows,
    infer_rejects,
    lgb_fitter,
    out_of_fold,
    parcel,
)
from techscore.specs import ExperimentSpec, RejectInferenceSpec, parse_spec


def test_approval_weights_are_inverse_probabilities_clipped():
    w = approval_weights(np.array([0.5, 0.25, 1.0, 0.01, 0.0]), max_weight=20)
    np.testing.assert_allclose(w, [2.0, 4.0, 1.0, 20.0, 20.0])


def test_approval_weights_refuse_probabilities_outside_0_1():
    with pytest.raises(ValueError, match=r"approval probabilities must be in \[0, 1\]"):
        approval_weights(np.array([0.5, 1.2]), max_weight=10)
    with pytest.raises(ValueError, match="max_weight must be at least 1; got 0.5"):
        approval_weights(np.array([0.5]), max_weight=0.5)


def test_parcel_assigns_band_bad_rate_times_prudence():
    # approved: 4 bands of 5 rows (PDs 0.01..0.20), bad rates 0, 0.2, 0.4, 0.6 (0, 1, 2, 3 bads)
    pd_ok = np.arange(1, 21) / 100
    y_ok = np.zeros(20)
    y_ok[[5, 10, 11, 15, 16, 17]] = 1
    # rejects: 10 in the lowest band, 10 in the second, 10 in the third, 20 in the top band
    pd_rej = np.r_[np.full(10, 0.02), np.full(10, 0.07), np.full(10, 0.12), np.full(20, 0.5)]
    labels, table = parcel(pd_ok, y_ok, pd_rej, bands=4, prudence=1.5, seed=3)
    assert table["accepted"].tolist() == [5, 5, 5, 5]
    np.testing.assert_allclose(table["accepted_bad_rate"], [0.0, 0.2, 0.4, 0.6])
    np.testing.assert_allclose(table["rejected_bad_rate_assigned"], [0.0, 0.3, 0.6, 0.9])
    assert table["rejected"].tolist() == [10, 10, 10, 20]
    assert table["rejected_bad"].tolist() == [0, 3, 6, 18]
    assert [int(labels[s].sum()) for s in (slice(0, 10), slice(10, 20), slice(20, 30), slice(30, 50))] == [0, 3, 6, 18]
    again, _ = parcel(pd_ok, y_ok, pd_rej, bands=4, prudence=1.5, seed=3)
    other, _ = parcel(pd_ok, y_ok, pd_rej, bands=4, prudence=1.5, seed=4)
    assert np.array_equal(labels, again)  # seeded
    assert not np.array_equal(labels, other) and labels.sum() == other.sum()  # other rows, same counts


def test_parcel_caps_the_assigned_rate_at_one():
    labels, table = parcel(np.array([0.1, 0.9]), np.array([0.0, 1.0]), np.full(4, 0.95), bands=2, prudence=3,
                           seed=0)
    assert table["rejected_bad_rate_assigned"].tolist() == [0.0, 1.0]
    assert labels.tolist() == [1.0, 1.0, 1.0, 1.0]


def test_fuzzy_rows_split_each_reject_by_its_pd():
    positions, labels, weights = fuzzy_rows(np.array([0.1, 0.4, 0.75]), reject_weight=2.0)
    assert positions.tolist() == [0, 1, 2, 0, 1, 2]
    assert labels.tolist() == [1, 1, 1, 0, 0, 0]
    np.testing.assert_allclose(weights, [0.2, 0.8, 1.5, 1.8, 1.2, 0.5])
    np.testing.assert_allclose(weights[:3] + weights[3:], 2.0)


def _population(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Applicants with two features, outcomes from a logistic truth, approval on x1 only (at random given X)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2.5 + 1.2 * X["x1"] + 0.5 * X["x2"])))).astype(float)
    approved = rng.random(n) < 1 / (1 + np.exp(3.0 * X["x1"].to_numpy()))  # risky x1 mostly rejected
    return X, y, approved


@pytest.mark.parametrize("method", ["none", "augmentation", "parcelling", "fuzzy"])
def test_infer_rejects_shapes_and_weights(method):
    X, y, approved = _population(3_000, seed=1)
    spec = RejectInferenceSpec(method=method, folds=3, seed=0)
    fitter = lgb_fitter({"num_leaves": 7}, num_boost_round=40)
    aug = infer_rejects(X[approved], y[approved], X[~approved], spec, fitter=fitter)
    n_ok, n_rej = int(approved.sum()), int((~approved).sum())
    assert list(aug.X.columns) == ["x1", "x2"] and len(aug.X) == len(aug.y) == len(aug.weight) == len(aug.inferred)
    np.testing.assert_array_equal(aug.y[:n_ok], y[approved])  # the known outcomes are kept as they are
    if method == "none":
        assert len(aug.X) == n_ok and (aug.weight == 1).all()
    elif method == "augmentation":
        assert len(aug.X) == n_ok and not aug.inferred.any()
        assert (aug.weight >= 1).all() and aug.weight.max() <= spec.max_weight
        # approved applicants that look like rejects (high x1) carry more weight
        x1 = X.loc[approved, "x1"].to_numpy()
        assert aug.weight[x1 > 0.5].mean() > 2 * aug.weight[x1 < -0.5].mean()
    elif method == "parcelling":
        assert len(aug.X) == n_ok + n_rej and aug.inferred.sum() == n_rej and (aug.weight == 1).all()
        # rejects are riskier than the approved, and prudence makes them worse than their band
        assert aug.y[aug.inferred].mean() > y[approved].mean()
        assert aug.info["rejected_bad"] == int(aug.y[aug.inferred].sum())
    else:
        assert len(aug.X) == n_ok + 2 * n_rej and aug.inferred.sum() == 2 * n_rej
        np.testing.assert_allclose(aug.weight[aug.inferred].sum(), n_rej * spec.reject_weight)
        assert aug.weight[aug.inferred & (aug.y == 1)].sum() == pytest.approx(aug.info["rejected_mean_pd"] * n_rej)
        pd.testing.assert_frame_equal(aug.X.iloc[n_ok:n_ok + n_rej].reset_index(drop=True),
                                      X[~approved].reset_index(drop=True))


def test_out_of_fold_predicts_each_row_from_the_other_folds():
    X = pd.DataFrame({"x": np.arange(200.0)})
    y = (np.arange(200) % 2).astype(float)

    def memorise(Xf, yf, w):  # 1 for a row the model was fitted on, else 0
        seen = set(Xf["x"])
        return lambda Z: np.array([1.0 if v in seen else 0.0 for v in Z["x"]])
    p = out_of_fold(memorise, X, y, folds=4, seed=0)
    assert (p == 0).all()  # no row was scored by a model that saw it


def test_spec_refuses_an_unknown_method():
    with pytest.raises(SpecError, match="reject_inference.method"):
        parse_spec(ExperimentSpec, {"name": "x", "data": {"path": "w"}, "split": {"cv": 5},
                                    "reject_inference": {"method": "extrapolation"}}, "x.toml")


@pytest.mark.xdist_group("reject_inference_training")
def test_training_applies_reject_inference_to_the_training_part(tmp_path):
    """End to end: a world with applications, its loan dataset, and the pipeline with `[reject_inference]`."""
    from techscore.dataset.build import build_dataset
    from techscore.model.training import train
    from techscore.synth import generate

    world = tmp_path / "world"
    generate(2_000, 5, world, applications=True)
    dataset = build_dataset(world)
    apps = pd.read_parquet(world / "applications.parquet")

    def spec(method: str) -> ExperimentSpec:
        return parse_spec(ExperimentSpec, {
            "name": f"ri_{method}", "model": "models/pd_lgbm_sme_v1.toml", "challenger": False,
            "data": {"path": str(world)}, "split": {"train_before": "2022-01-01", "test_from": "2024-01-01"},
            "reject_inference": {"method": method, "folds": 3}}, f"ri_{method}.toml")

    plain = train(spec("none"), dataset=dataset, tracking=False, out=tmp_path / "none")
    fuzzy = train(spec("fuzzy"), dataset=dataset, tracking=False, out=tmp_path / "fuzzy")
    train_rows = plain.folds[0].train
    issued = dataset.frame["issued"].iloc[train_rows]
    applied = pd.to_datetime(apps["applied"])
    in_period = (~apps["approved"]) & (applied >= issued.min()) & (applied <= issued.max())
    info = fuzzy.model.info["reject_inference"]
    assert info["method"] == "fuzzy" and info["accepted"] == len(train_rows)
    assert info["rejected"] == int(in_period.sum()) > 100
    assert "reject_inference" not in plain.model.info
    X_test = dataset.X.iloc[plain.folds[0].test]
    assert not np.allclose(plain.model.predict_pd(X_test), fuzzy.model.predict_pd(X_test))


def test_training_refuses_reject_inference_without_dates(tmp_path):
    from techscore.model.training import train
    from tests.model.conftest import make_loan_dataset
    spec = parse_spec(ExperimentSpec, {"name": "ri_cv", "data": {"path": str(tmp_path)}, "split": {"cv": 3},
                                       "reject_inference": {"method": "parcelling"}}, "ri_cv.toml")
    with pytest.raises(SpecError, match="reject_inference.method"):
        train(spec, dataset=make_loan_dataset(600), tracking=False, out=tmp_path / "out")


def test_sample_weights_reach_every_booster_the_pipeline_fits():
    """Weights (reject inference's) shift the fit: bads weighted 5x raise the log-odds by about log 5, in the
    early-stopped booster, the refit booster and the cross-fitted calibration boosters."""
    from techscore.model.lgbm import cross_fit_margins, fit_booster
    from tests.model.conftest import make_loan_dataset
    ds = make_loan_dataset(3000, seed=2)
    X, y = ds.X.drop(columns="profile_industry_section"), ds.y.to_numpy().astype(float)
    tr, va = slice(0, 2000), slice(2000, 3000)
    w = np.where(y == 1, 5.0, 1.0)
    params = {"objective": "binary", "verbose": -1, "num_leaves": 7, "seed": 0, "deterministic": True,
              "num_threads": 1, "learning_rate": 0.1}
    for refit in (False, True):
        plain = fit_booster(X[tr], y[tr], X[va], y[va], params=params, num_boost_round=60, refit=refit)
        heavy = fit_booster(X[tr], y[tr], X[va], y[va], params=params, num_boost_round=60, refit=refit, weight=w[tr])
        shift = (heavy.booster.predict(X[va], raw_score=True) - plain.booster.predict(X[va], raw_score=True)).mean()
        assert 0.8 < shift < 2.5, (refit, shift)
    plain_m = cross_fit_margins(X, y, params=params, num_boost_round=60, folds=3, seed=0)
    heavy_m = cross_fit_margins(X, y, params=params, num_boost_round=60, folds=3, seed=0, weight=w)
    assert 0.8 < (heavy_m - plain_m).mean() < 2.5
