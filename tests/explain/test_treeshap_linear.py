"""The linear-time TreeSHAP pass (deep leaf-wise trees) gives LightGBM's `pred_contrib` values, alone or mixed with
the pattern tables, on NaN-heavy, zero-as-missing and categorical trees."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from techscore.explain import TreeShap
from techscore.explain import _linear as LIN
from techscore.explain._layout import plan_model
from techscore.explain._tree_arrays import MISSING_ZERO, model_arrays
from tests.explain.test_treeshap import assert_exact, missing_types, train


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh generator per test: each test's data does not depend on which tests ran before it."""
    return np.random.default_rng(20261202)


def deep_data(rng, n: int, n_features: int, nan_rate: float) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, n_features))
    X[:, 1::3] = rng.lognormal(size=X[:, 1::3].shape)
    logit = X[:, :4].sum(axis=1) + np.sin(3 * X[:, 1]) + X[:, 2] * X[:, -1]
    y = (logit + rng.logistic(size=n) > 0).astype(int)
    X[rng.random(X.shape) < nan_rate] = np.nan
    return X, y


def deepest_path(booster) -> int:
    """Most internal nodes on a root-to-leaf path over the model's trees."""
    def depth(tree, node: int) -> int:
        if node < 0:
            return 0
        return 1 + max(depth(tree, int(tree.left_child[node])), depth(tree, int(tree.right_child[node])))

    return max(depth(t, 0) for t in model_arrays(booster).trees if t.n_internal)


@pytest.fixture(scope="module")
def deep63():
    X, y = deep_data(np.random.default_rng(63), 3000, 10, nan_rate=0.3)
    booster = train(X, y, rounds=6, num_leaves=63, max_depth=-1, min_data_in_leaf=3)
    return booster, X


@pytest.mark.parametrize("method", ["linear", "auto"])
def test_deep_nan_heavy_trees(deep63, rng, method) -> None:
    booster, _ = deep63
    assert deepest_path(booster) >= 12
    engine = TreeShap(booster, method=method)
    assert engine.stats["linear_trees"] == (6 if method == "linear" else engine.stats["linear_trees"])
    test, _ = deep_data(rng, 301, 10, nan_rate=0.4)  # not a multiple of the pass's row group
    test[:5] = np.nan
    assert_exact(booster, test, engine)


def test_255_leaves_and_features_repeated_on_paths(rng) -> None:
    X, y = deep_data(rng, 4000, 4, nan_rate=0.1)  # four features: every deep path splits on each many times
    booster = train(X, y, rounds=4, num_leaves=255, max_depth=-1, min_data_in_leaf=2)
    assert max(t.n_leaves for t in model_arrays(booster).trees) > 200
    assert deepest_path(booster) >= 16
    engine = TreeShap(booster, method="linear")
    assert engine.stats["linear_trees"] == 4
    test, _ = deep_data(rng, 200, 4, nan_rate=0.2)
    assert_exact(booster, test, engine)


def test_zero_as_missing_on_deep_trees(rng) -> None:
    X, y = deep_data(rng, 3000, 8, nan_rate=0.1)
    X[rng.random(X.shape) < 0.25] = 0.0
    booster = train(X, y, rounds=5, num_leaves=63, max_depth=-1, zero_as_missing=True)
    assert MISSING_ZERO in missing_types(booster)
    test, _ = deep_data(rng, 250, 8, nan_rate=0.2)
    test[rng.random(test.shape) < 0.3] = 0.0
    test[:3, :] = -0.0
    assert_exact(booster, test, TreeShap(booster, method="linear"))


def test_categorical_deep_trees(rng) -> None:
    n = 3000
    X, y = deep_data(rng, n, 6, nan_rate=0.1)
    cats = rng.integers(0, 40, size=n)
    y = y ^ (cats % 7 == 0)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    frame["sector"] = pd.Categorical(np.where(rng.random(n) < 0.05, None, [f"s{c}" for c in cats]))
    booster = train(frame, y.astype(int), rounds=5, num_leaves=63, max_depth=-1, max_cat_to_onehot=4)
    assert any((t.decision_type & 1).any() for t in model_arrays(booster).trees)
    engine = TreeShap(booster, method="linear")
    phi = engine.shap_values(frame.head(300))
    contrib = booster.predict(frame.head(300), pred_contrib=True)
    np.testing.assert_allclose(phi, contrib[:, :-1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(engine.expected_value + phi.sum(axis=1),
                               booster.predict(frame.head(300), raw_score=True), rtol=0, atol=1e-9)


def test_every_method_gives_the_same_values(deep63, rng) -> None:
    booster, X = deep63
    test = X[:257]
    values = {m: TreeShap(booster, method=m).shap_values(test) for m in ("tables", "linear", "auto")}
    np.testing.assert_allclose(values["linear"], values["tables"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(values["auto"], values["tables"], rtol=0, atol=1e-12)


def test_auto_keeps_shallow_trees_on_tables_and_sends_deep_ones_to_the_linear_pass(rng) -> None:
    X, y = deep_data(rng, 3000, 30, nan_rate=0.05)
    shallow = train(X, y, rounds=5, num_leaves=15, max_depth=4)
    assert TreeShap(shallow).stats["linear_trees"] == 0
    deep = train(X, y, rounds=5, num_leaves=255, max_depth=-1, min_data_in_leaf=2)
    stats = TreeShap(deep).stats
    tables = TreeShap(deep, method="tables").stats
    assert stats["linear_trees"] >= 1 and stats["fallback_leaves"] < tables["fallback_leaves"]


def test_deterministic_across_threads_and_batches(deep63) -> None:
    booster, X = deep63
    test = X[:700]
    one = TreeShap(booster, method="linear", n_threads=1).shap_values(test)
    engine = TreeShap(booster, method="linear", n_threads=2)
    np.testing.assert_array_equal(engine.shap_values(test), one)
    pieces = np.vstack([engine.shap_values(test[i:i + 97]) for i in range(0, len(test), 97)])
    np.testing.assert_array_equal(pieces, one)


def test_plan_memory_is_stated_and_linear_in_the_nodes(deep63) -> None:
    booster, _ = deep63
    model = model_arrays(booster)
    layout = plan_model(model, None, 2**20, "linear")
    nodes = sum(t.n_internal + t.n_leaves - 1 for t in model.trees)
    assert layout.stats["linear_nodes"] == nodes
    assert layout.stats["table_bytes"] == 0
    assert layout.stats["plan_bytes"] < 4 * LIN.NODE_BYTES * nodes + 2**16


def test_gauss_points_integrate_polynomials_of_the_stated_degree_exactly() -> None:
    u, w = LIN.gauss_points(9)
    for d in range(1, 19):
        n = LIN.points_for(d)
        # integral_0^1 u^(d-1) du = 1/d, the highest degree a d-feature path needs
        assert abs((w[n, :n] * u[n, :n] ** (d - 1)).sum() - 1.0 / d) < 1e-15
    n = LIN.points_for(4)
    assert abs((w[n, :n] * u[n, :n] ** 4).sum() - 0.2) > 1e-6  # one degree more is not exact: the bound is tight


def test_unknown_method_is_named(deep63) -> None:
    booster, _ = deep63
    with pytest.raises(ValueError, match="method must be one of auto, tables, linear; got 'fast'"):
        TreeShap(booster, method="fast")
