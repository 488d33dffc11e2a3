"""Property tests: on random data and random LightGBM settings, TreeShap equals LightGBM's `pred_contrib`."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from techscore.explain import TreeShap


@st.composite
def problems(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(20, 300))
    n_features = draw(st.integers(1, 6))
    X = rng.normal(size=(n, n_features))
    integer_columns = draw(st.lists(st.booleans(), min_size=n_features, max_size=n_features))
    for j, is_int in enumerate(integer_columns):
        if is_int:  # ties and thresholds sitting on exact values
            X[:, j] = rng.integers(-3, 4, n)
    X[rng.random(X.shape) < draw(st.sampled_from([0.0, 0.05, 0.3]))] = 0.0
    X[rng.random(X.shape) < draw(st.sampled_from([0.0, 0.1, 0.4]))] = np.nan
    categorical = []
    if draw(st.booleans()):
        X[:, 0] = rng.integers(0, draw(st.integers(2, 40)), n)
        X[rng.random(n) < 0.1, 0] = np.nan
        categorical = [0]
    signal = np.nan_to_num(X).dot(rng.normal(size=n_features)) + np.isnan(X[:, -1]) * draw(st.sampled_from([-2, 2]))
    objective = draw(st.sampled_from(["binary", "regression"]))
    y = (signal + rng.normal(size=n) > 0).astype(int) if objective == "binary" else signal + rng.normal(size=n)
    params = {
        "objective": objective,
        "verbose": -1,
        "num_threads": 1,
        "seed": seed % 1000,
        "num_leaves": draw(st.integers(2, 48)),
        "max_depth": draw(st.sampled_from([-1, 1, 2, 3, 6, 10])),
        "min_data_in_leaf": draw(st.integers(1, 10)),
        "min_data_per_group": 1,
        "cat_smooth": 1.0,
        "max_cat_to_onehot": draw(st.sampled_from([1, 4])),
        "zero_as_missing": draw(st.booleans()),
        "use_missing": draw(st.booleans()),
        "learning_rate": draw(st.sampled_from([0.05, 0.3, 1.0])),
    }
    rounds = draw(st.integers(1, 12))
    booster = lgb.train(params, lgb.Dataset(X, y, categorical_feature=categorical or "auto"), rounds)
    test = np.concatenate([X[: min(n, 60)], rng.normal(size=(40, n_features)) * 2])
    test[rng.random(test.shape) < 0.15] = np.nan
    test[rng.random(test.shape) < 0.1] = 0.0
    return booster, test, draw(st.sampled_from([None, 0, 2, 4, 8, 10]))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(problems())
def test_equals_lightgbm_pred_contrib(problem) -> None:
    booster, test, table_bits = problem
    engine = TreeShap(booster, table_bits=table_bits)
    phi = engine.shap_values(test)
    contrib = booster.predict(test, pred_contrib=True)
    raw = booster.predict(test, raw_score=True)
    np.testing.assert_allclose(phi, contrib[:, :-1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(engine.expected_value, contrib[:, -1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(engine.expected_value + phi.sum(axis=1), raw, rtol=0, atol=1e-9)
    np.testing.assert_allclose(engine.raw_margin(test), raw, rtol=0, atol=1e-12)
