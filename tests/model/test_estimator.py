"""TechScoreClassifier: scikit-learn's estimator checks, DataFrames with real names, monotone directions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from techscore.model.estimator import TechScoreClassifier
from techscore.model.metrics import auc


@parametrize_with_checks([TechScoreClassifier(n_estimators=50, early_stopping_rounds=10)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_dataframe_with_unsafe_names_and_categoricals(loan_dataset):
    ds = loan_dataset
    X = ds.X.rename(columns={f.id: f.name_en for f in ds.features})  # "Leverage [liabilities / assets]" etc.
    X["Industry section"] = X["Industry section"].astype(str)
    y = ds.y.to_numpy()
    clf = TechScoreClassifier(n_estimators=200, directions={"R&D intensity": -1, "Late-payment rate as buyer": 1})
    clf.fit(X.iloc[:3000], y[:3000])
    assert list(clf.feature_names_in_) == list(X.columns) and clf.n_features_in_ == 7
    assert clf.booster_.feature_name() == [f"f{i:03d}" for i in range(7)]
    assert clf.model_.features[1].name_en == "Leverage [liabilities / assets]"
    assert clf.model_.features[6].kind == "categorical" and clf.model_.features[0].direction == -1
    p = clf.predict_proba(X.iloc[3000:])[:, 1]
    assert auc(y[3000:], p) > 0.75
    assert np.allclose(p, clf.model_.predict_pd(clf.to_model_frame(X.iloc[3000:])))
    assert clf.calibrator_.method == "platt" and clf.best_iteration_ == clf.booster_.num_trees()
    frame = clf.model_.predict_frame(clf.to_model_frame(X.iloc[:5]))
    assert list(frame.columns) == ["pd", "score", "grade"]
    with pytest.raises(ValueError, match="feature names"):
        clf.predict_proba(X.iloc[:5, ::-1])


def test_string_labels_and_clone(loan_dataset):
    X = loan_dataset.X.drop(columns=["profile_industry_section"]).to_numpy()
    y = np.where(loan_dataset.y.to_numpy() == 1, "bad", "good")
    clf = TechScoreClassifier(n_estimators=100).fit(X, y)
    assert list(clf.classes_) == ["bad", "good"]
    assert set(clf.predict(X[:50])) <= {"bad", "good"}
    # classes_[1] = "good" is the positive class: its probability falls where defaults concentrate
    assert auc(loan_dataset.y.to_numpy(), clf.predict_proba(X)[:, 0]) > 0.75
    assert clone(clf).get_params() == clf.get_params()


def test_parameter_errors_are_raised_in_fit():
    X, y = np.random.default_rng(0).normal(size=(60, 2)), np.r_[np.zeros(30), np.ones(30)]
    with pytest.raises(ValueError, match="calibration must be one of platt, isotonic, none; got 'beta'"):
        TechScoreClassifier(calibration="beta").fit(X, y)
    with pytest.raises(ValueError, match="directions must have one entry per column"):
        TechScoreClassifier(directions=[1]).fit(X, y)
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        TechScoreClassifier().fit(X, np.arange(60) % 3)
    with pytest.raises(ValueError, match="needs 2 classes .*got 1 class"):
        TechScoreClassifier().fit(X, np.ones(60))
    assert pd.isna(TechScoreClassifier().get_params()["directions"])
