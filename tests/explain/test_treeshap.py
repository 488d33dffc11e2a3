"""techscore's TreeSHAP engine gives LightGBM's own `pred_contrib` values on every split rule LightGBM has."""

from __future__ import annotations

import warnings

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from techscore.exceptions import ModelError, SchemaError
from techscore.explain import TreeShap
from techscore.explain._tree_arrays import (
    CATEGORICAL_MASK,
    DEFAULT_LEFT_MASK,
    MISSING_NAN,
    MISSING_NONE,
    MISSING_ZERO,
    ZERO_THRESHOLD,
    model_arrays,
)

ATOL = 1e-9


def train(X, y, *, rounds: int = 20, categorical="auto", objective: str = "binary", **params) -> lgb.Booster:
    base = {"objective": objective, "verbose": -1, "num_threads": 1, "seed": 7, "deterministic": True,
            "min_data_in_leaf": 3, "min_data_per_group": 3, "cat_smooth": 1.0, "num_leaves": 15}
    return lgb.train(base | params, lgb.Dataset(X, y, categorical_feature=categorical), rounds)


def assert_exact(booster: lgb.Booster, X, engine: TreeShap | None = None) -> np.ndarray:
    """Values, base and margin equal LightGBM's `pred_contrib` and `raw_score` for every row."""
    engine = engine or TreeShap(booster)
    phi = engine.shap_values(X)
    contrib = booster.predict(X, pred_contrib=True)
    raw = booster.predict(X, raw_score=True)
    assert phi.shape == (len(X), booster.num_feature()) and phi.dtype == np.float64
    np.testing.assert_allclose(phi, contrib[:, :-1], rtol=0, atol=ATOL)
    np.testing.assert_allclose(engine.expected_value, contrib[:, -1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(engine.expected_value + phi.sum(axis=1), raw, rtol=0, atol=ATOL)
    np.testing.assert_allclose(engine.raw_margin(X), raw, rtol=0, atol=1e-12)
    return phi


def decision_types(booster: lgb.Booster) -> np.ndarray:
    return np.concatenate([t.decision_type for t in model_arrays(booster).trees] or [np.zeros(0, int)])


def missing_types(booster: lgb.Booster) -> set[int]:
    return set(((decision_types(booster) >> 2) & 3).tolist())


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(20240607)


# ---------------------------------------------------------------------------------------------- missing values
def test_nan_goes_the_default_way_in_both_directions(rng) -> None:
    n = 1500
    X = rng.normal(size=(n, 4))
    holes = rng.random((n, 4)) < 0.2
    X[holes] = np.nan
    # missing in column 0 signals default, missing in column 1 signals the opposite
    y = ((np.nan_to_num(X[:, 0], nan=3.0) + np.nan_to_num(X[:, 1], nan=-3.0) + 0.3 * rng.normal(size=n)) > 0)
    booster = train(X, y.astype(int), rounds=30)
    dt = decision_types(booster)
    nan_splits = dt[((dt >> 2) & 3) == MISSING_NAN]
    assert {bool(d & DEFAULT_LEFT_MASK) for d in nan_splits} == {True, False}
    test = rng.normal(size=(600, 4))
    test[rng.random((600, 4)) < 0.3] = np.nan
    test[:4] = np.nan
    test[4:8] = 0.0
    assert_exact(booster, test)


def test_values_at_the_thresholds_go_left(rng) -> None:
    X = rng.integers(0, 6, size=(800, 3)).astype(float)
    y = (X[:, 0] + X[:, 1] > 5).astype(int)
    booster = train(X, y, rounds=10)
    thresholds = np.concatenate([t.threshold for t in model_arrays(booster).trees])
    # every threshold, the doubles just beside it, and infinities
    values = np.concatenate([thresholds, np.nextafter(thresholds, np.inf), np.nextafter(thresholds, -np.inf),
                             [np.inf, -np.inf]])
    test = np.repeat(values[:, None], 3, axis=1)
    test[:, 1] = rng.permutation(values)
    assert_exact(booster, test)


def test_zero_as_missing(rng) -> None:
    n = 1500
    X = rng.normal(size=(n, 3))
    X[rng.random((n, 3)) < 0.3] = 0.0
    X[rng.random((n, 3)) < 0.1] = np.nan
    y = ((X[:, 0] == 0) | (np.nan_to_num(X[:, 1]) > 0.5)).astype(int)
    booster = train(X, y, rounds=30, zero_as_missing=True)
    assert MISSING_ZERO in missing_types(booster)
    z = ZERO_THRESHOLD
    edge = np.array([0.0, -0.0, np.nan, z, -z, np.nextafter(z, 1), -np.nextafter(z, 1), 1e-35, -1e-35,
                     1.1e-35, 1e-300, -1e-300, np.inf, -np.inf])
    test = rng.normal(size=(300, 3))
    test[rng.random((300, 3)) < 0.3] = 0.0
    test[: len(edge), 0] = edge
    test[: len(edge), 1] = edge[::-1]
    test[: len(edge), 2] = edge
    assert_exact(booster, test)


def test_without_missing_handling_nan_is_read_as_zero(rng) -> None:
    n = 1000
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    booster = train(X, y, rounds=25, use_missing=False)
    assert missing_types(booster) == {MISSING_NONE}
    test = rng.normal(size=(300, 3))
    test[rng.random((300, 3)) < 0.3] = np.nan
    phi = assert_exact(booster, test)
    zeros = np.where(np.isnan(test), 0.0, test)
    np.testing.assert_array_equal(phi, TreeShap(booster).shap_values(zeros))


# ---------------------------------------------------------------------------------------------- categorical
@pytest.fixture(scope="module")
def categorical_model(rng):
    n = 1500
    frame = pd.DataFrame({
        "revenue": rng.lognormal(size=n),
        "sector": pd.Categorical(rng.choice(["software", "chips", "biotech", "robots", "cloud", "ai"], n)),
        "province": pd.Categorical(rng.choice(["GD", "ZJ", "JS", "BJ", "SH"], n)),
        "patents": rng.poisson(3, n).astype(float),
    })
    frame.loc[rng.random(n) < 0.1, "sector"] = np.nan
    score = (frame["sector"].isin(["chips", "ai"]).to_numpy() * 1.5 + (frame["province"] == "BJ").to_numpy()
             + 0.3 * frame["patents"].to_numpy() - np.log(frame["revenue"].to_numpy()))
    y = (score + rng.normal(size=n) > 1).astype(int)
    booster = train(frame, y, rounds=30, max_cat_to_onehot=2)
    assert (decision_types(booster) & CATEGORICAL_MASK).any()
    return booster, frame


def test_pandas_categories_are_coded_as_at_training(categorical_model, rng) -> None:
    booster, frame = categorical_model
    test = frame.sample(400, random_state=1).reset_index(drop=True)
    assert_exact(booster, test)


def test_unseen_and_missing_categories_behave_as_lightgbm(categorical_model) -> None:
    booster, frame = categorical_model
    test = frame.head(12).copy()
    # categories in another order, plus one never seen at training, and missing values
    sectors = ["quantum", "ai", "software", "chips", None, "biotech", "robots", "cloud", "quantum", None, "ai", "x"]
    test["sector"] = pd.Categorical(sectors, categories=["x", "quantum", "robots", "software", "ai", "chips",
                                                         "cloud", "biotech"])
    test["province"] = pd.Categorical(["BJ"] * 6 + ["SH"] * 3 + ["TW"] * 3)
    assert_exact(booster, test)


def test_frame_columns_are_taken_by_name(categorical_model) -> None:
    booster, frame = categorical_model
    test = frame.head(50)
    engine = TreeShap(booster)
    shuffled = test[["patents", "province", "revenue", "sector"]].assign(firm_id=np.arange(50))
    np.testing.assert_array_equal(engine.shap_values(shuffled), engine.shap_values(test))


def test_integer_coded_categoricals_follow_lightgbm_casts(rng) -> None:
    n = 1500
    X = np.column_stack([rng.integers(0, 40, n), rng.normal(size=n)]).astype(float)
    y = (np.isin(X[:, 0], [1, 3, 7, 12, 33]) ^ (X[:, 1] > 1)).astype(int)
    booster = train(X, y, rounds=20, categorical=[0], max_cat_to_onehot=2)
    assert (decision_types(booster) & CATEGORICAL_MASK).any()
    odd = np.array([np.nan, -1.0, -0.5, -0.0, 0.999, 1.0, 1.7, 3.2, 7.9999, 31.5, 32.0, 63.0, 64.0, 1000.0,
                    2.0**31 - 1, 2.0**31, 1e12, -1e12, np.inf, -np.inf])
    test = np.column_stack([np.concatenate([odd, rng.integers(0, 40, 200)]), rng.normal(size=len(odd) + 200)])
    assert_exact(booster, test)


# ---------------------------------------------------------------------------------------------- tree shapes
def test_monotone_constraints(rng) -> None:
    n = 1500
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] - X[:, 1] + 0.5 * X[:, 2] * X[:, 3] + rng.normal(size=n) > 0).astype(int)
    booster = train(X, y, rounds=40, monotone_constraints=[1, -1, 0, 0], monotone_constraints_method="advanced")
    test = rng.normal(size=(300, 4))
    phi = assert_exact(booster, test)
    # raising a +1-constrained feature never lowers the margin
    engine = TreeShap(booster)
    up = test.copy()
    up[:, 0] += 0.5
    assert (engine.raw_margin(up) >= engine.raw_margin(test) - 1e-12).all()
    assert phi.shape == (300, 4)


def test_features_repeated_many_times_on_deep_paths(rng) -> None:
    n = 2000
    X = rng.normal(size=(n, 2))
    y = (np.sin(3 * X[:, 0]) * np.cos(2 * X[:, 1]) + 0.1 * rng.normal(size=n) > 0).astype(int)
    booster = train(X, y, rounds=15, num_leaves=80, max_depth=-1, min_data_in_leaf=2)
    plans = model_arrays(booster).trees
    assert max(t.n_leaves for t in plans) > 40
    test = rng.normal(size=(400, 2))
    test[::17, 0] = np.nan
    engine = TreeShap(booster)
    assert engine.stats["fallback_leaves"] == 0  # two distinct features: every leaf fits a table
    assert_exact(booster, test, engine)


@pytest.mark.parametrize("table_bits", [0, 2, 5, 12])
def test_deep_trees_tables_and_exact_fallback_agree(rng, table_bits) -> None:
    n = 2000
    X = rng.normal(size=(n, 12))
    X[rng.random((n, 12)) < 0.05] = np.nan
    y = (X[:, :6].sum(axis=1) + np.nan_to_num(X[:, 6] * X[:, 7]) + rng.normal(size=n) > 0).astype(int)
    booster = train(X, y, rounds=8, num_leaves=120, max_depth=-1, min_data_in_leaf=2, feature_fraction=0.8)
    engine = TreeShap(booster, table_bits=table_bits, method="tables")
    auto = TreeShap(booster, table_bits=table_bits)
    if table_bits <= 5:
        assert engine.stats["fallback_leaves"] > 0
        assert auto.stats["linear_trees"] > 0  # small tables: the linear-time pass is cheaper than the fallback
    test = rng.normal(size=(300, 12))
    test[rng.random((300, 12)) < 0.1] = np.nan
    assert_exact(booster, test, engine)
    assert_exact(booster, test, auto)


def test_table_budget_moves_leaves_to_the_fallback(rng) -> None:
    X = rng.normal(size=(600, 6))
    y = (X.sum(axis=1) > 0).astype(int)
    booster = train(X, y, rounds=10, num_leaves=31)
    roomy = TreeShap(booster)
    tight = TreeShap(booster, max_table_bytes=4096)
    assert tight.stats["table_bytes"] <= 4096 < roomy.stats["table_bytes"]
    assert tight.stats["table_bits"] < roomy.stats["table_bits"]
    np.testing.assert_allclose(tight.shap_values(X[:100]), roomy.shap_values(X[:100]), rtol=0, atol=1e-12)


def test_single_leaf_trees_only_move_the_base(rng) -> None:
    X = rng.normal(size=(100, 3))
    booster = train(X, rng.normal(size=100), objective="regression", rounds=3, min_data_in_leaf=60)
    assert all(t.n_leaves == 1 for t in model_arrays(booster).trees)
    phi = assert_exact(booster, X)
    assert not phi.any()


def test_mixed_single_leaf_and_split_trees(rng) -> None:
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] > 0).astype(int)
    # the label is learnt in a few rounds, after which LightGBM grows single-leaf trees
    booster = train(X, y, rounds=60, learning_rate=1.0, min_gain_to_split=0.5, min_data_in_leaf=20)
    sizes = [t.n_leaves for t in model_arrays(booster).trees]
    assert sizes[0] > 1
    assert_exact(booster, rng.normal(size=(50, 3)))


def test_tiny_and_larger_ensembles(rng) -> None:
    X = rng.normal(size=(3000, 8))
    X[rng.random(X.shape) < 0.05] = np.nan
    y = (np.nan_to_num(X[:, 0]) * X[:, 1] + X[:, 2] > 0).astype(int)
    stump = train(X, y, rounds=1, num_leaves=2)
    assert model_arrays(stump).trees[0].n_leaves == 2
    assert_exact(stump, X[:100])
    big = train(X, y, rounds=150, num_leaves=63, max_depth=6, learning_rate=0.05)
    assert_exact(big, X[:400])


def test_regression_objective_and_shap_treeexplainer(rng) -> None:
    import shap

    X = rng.normal(size=(800, 5))
    X[rng.random(X.shape) < 0.1] = np.nan
    y = np.nan_to_num(X[:, 0]) ** 2 + X[:, 1] + rng.normal(size=800)
    booster = train(X, y, objective="regression", rounds=30)
    phi = assert_exact(booster, X[:200])
    explainer = shap.TreeExplainer(booster)
    np.testing.assert_allclose(phi, explainer.shap_values(X[:200]), rtol=0, atol=ATOL)
    np.testing.assert_allclose(TreeShap(booster).expected_value, explainer.expected_value, rtol=0, atol=1e-12)


def test_binary_model_matches_shap_treeexplainer(categorical_model) -> None:
    import shap

    booster, frame = categorical_model
    test = frame.head(200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # shap warns that a binary LightGBM model's output format changed
        expected = shap.TreeExplainer(booster).shap_values(test)
    expected = expected[1] if isinstance(expected, list) else expected
    np.testing.assert_allclose(TreeShap(booster).shap_values(test), expected, rtol=0, atol=ATOL)


# ---------------------------------------------------------------------------------------------- model handling
def test_best_iteration_is_used_as_predict_uses_it(rng) -> None:
    X = rng.normal(size=(1200, 4))
    y = (X[:, 0] + rng.normal(size=1200) > 0).astype(int)
    train_set = lgb.Dataset(X[:800], y[:800])
    valid = lgb.Dataset(X[800:], y[800:], reference=train_set)
    booster = lgb.train({"objective": "binary", "verbose": -1, "learning_rate": 0.3, "num_threads": 1}, train_set,
                        200, valid_sets=[valid], callbacks=[lgb.early_stopping(5, verbose=False)],
                        keep_training_booster=True)
    assert 0 < booster.best_iteration < booster.current_iteration()
    engine = TreeShap(booster)
    assert_exact(booster, X[:100], engine)
    assert engine.n_trees == booster.best_iteration
    assert TreeShap(booster, num_iteration=booster.current_iteration()).n_trees == booster.current_iteration()


def test_saved_model_and_sklearn_wrapper(categorical_model, tmp_path) -> None:
    booster, frame = categorical_model
    path = tmp_path / "model.txt"
    booster.save_model(path)
    loaded = lgb.Booster(model_file=str(path))
    np.testing.assert_array_equal(TreeShap(loaded).shap_values(frame.head(100)),
                                  TreeShap(booster).shap_values(frame.head(100)))
    clf = lgb.LGBMClassifier(n_estimators=15, num_leaves=7, verbose=-1, min_child_samples=3)
    X = frame[["revenue", "patents"]]
    clf.fit(X, (frame["patents"] > 3).astype(int))
    assert_exact(clf.booster_, X.head(100))


def test_deterministic_across_threads_and_batches(categorical_model) -> None:
    booster, frame = categorical_model
    test = pd.concat([frame] * 3, ignore_index=True)
    one = TreeShap(booster, n_threads=1).shap_values(test)
    two = TreeShap(booster, n_threads=2).shap_values(test)
    engine = TreeShap(booster)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, engine.shap_values(test))
    np.testing.assert_array_equal(one[:7], engine.shap_values(test.head(7)))
    np.testing.assert_array_equal(one[100:101], engine.shap_values(test.iloc[100:101]))


def test_input_dtypes(rng) -> None:
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] > 0).astype(int)
    booster = train(X, y, rounds=10)
    engine = TreeShap(booster)
    expected = engine.shap_values(X)
    np.testing.assert_allclose(engine.shap_values(X.astype(np.float32)),
                               booster.predict(X.astype(np.float32), pred_contrib=True)[:, :-1], rtol=0, atol=ATOL)
    frame = pd.DataFrame(X, columns=booster.feature_name())
    np.testing.assert_array_equal(engine.shap_values(frame), expected)
    nullable = frame.astype("Float64")
    nullable.iloc[0, 0] = pd.NA
    np.testing.assert_array_equal(engine.shap_values(nullable)[1:], expected[1:])
    assert_exact(booster, frame.assign(Column_0=frame["Column_0"].where(frame.index > 0)))
    assert engine.shap_values(X[:0]).shape == (0, 3)
    assert engine.raw_margin(X[:0]).shape == (0,)


def test_bad_inputs_are_named(categorical_model, rng) -> None:
    booster, frame = categorical_model
    engine = TreeShap(booster)
    with pytest.raises(SchemaError, match="missing 2 columns the model was trained on: revenue, patents"):
        engine.shap_values(frame.drop(columns=["revenue", "patents"]))
    with pytest.raises(SchemaError, match="column 'revenue' has dtype"):
        engine.shap_values(frame.assign(revenue=frame["revenue"].astype(str)))
    with pytest.raises(SchemaError, match="trained with 2 pandas category column"):
        engine.shap_values(frame.assign(sector=frame["sector"].cat.codes.astype(float)))
    with pytest.raises(SchemaError, match="4 feature columns; got shape \\(5, 3\\)"):
        engine.shap_values(np.zeros((5, 3)))
    with pytest.raises(ModelError, match="lightgbm.Booster; got a dict"):
        TreeShap({})
    with pytest.raises(ValueError, match="table_bits must be an integer from 0 to 20; got 30"):
        TreeShap(booster, table_bits=30)


def test_unsupported_models_are_refused(rng) -> None:
    X = rng.normal(size=(300, 3))
    multiclass = train(X, rng.integers(0, 3, 300), objective="multiclass", num_class=3, rounds=2)
    with pytest.raises(ModelError, match="3 trees per iteration \\(multiclass\\)"):
        TreeShap(multiclass)
    linear = train(X, X[:, 0] + rng.normal(size=300), objective="regression", rounds=2, linear_tree=True)
    with pytest.raises(ModelError, match="linear trees"):
        TreeShap(linear)
    forest = train(X, (X[:, 0] > 0).astype(int), rounds=2, boosting="rf", bagging_fraction=0.5, bagging_freq=1)
    with pytest.raises(ModelError, match="random-forest"):
        TreeShap(forest)


def test_engine_pickles_for_spark_executors(categorical_model) -> None:
    import pickle

    booster, frame = categorical_model
    engine = TreeShap(booster)
    clone = pickle.loads(pickle.dumps(engine))
    np.testing.assert_array_equal(clone.shap_values(frame.head(64)), engine.shap_values(frame.head(64)))
    assert clone.expected_value == engine.expected_value
    assert "TreeShap(trees=30" in repr(clone)
