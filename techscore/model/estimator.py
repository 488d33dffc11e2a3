"""`TechScoreClassifier`: the techscore PD model as a scikit-learn estimator.

The same fit as the training pipeline (`techscore.model.fit.fit_pd_model`): LightGBM with early stopping on a
stratified validation share, optional monotone constraints, calibration on the validation share. Works on
NumPy arrays and on DataFrames with any column names (real names are mapped to safe ids `f000`, ... and kept as
display names); category, string or object columns are categorical features.

>>> clf = TechScoreClassifier(directions={"total liabilities / total assets": 1}).fit(X, y)  # doctest: +SKIP
>>> clf.predict_proba(X)[:, 1]                                                              # doctest: +SKIP
>>> clf.model_.predict_frame(clf.to_model_frame(X))                                         # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from techscore.catalogue.meta import FeatureMeta
from techscore.model.fit import fit_pd_model
from techscore.model.split import holdout
from techscore.specs import (
    CALIBRATION_METHODS,
    CalibrationSpec,
    LearnerSpec,
    MasterScaleSpec,
    ModelSpec,
    ScalingSpec,
)

__all__ = ["TechScoreClassifier"]

MIN_VALID_PER_CLASS = 5
"""Below this many validation rows of either class, the estimator trains without a validation share: all rounds,
calibration on the training margins (tiny data, e.g. scikit-learn's estimator checks)."""


class TechScoreClassifier(ClassifierMixin, BaseEstimator):
    """Calibrated, optionally monotone LightGBM PD classifier (binary).

    Parameters
    ----------
    learning_rate, num_leaves, min_child_samples, feature_fraction, bagging_fraction, bagging_freq, lambda_l2 :
        LightGBM parameters (see `techscore.specs.LearnerSpec`); `learner_params` adds any other.
    n_estimators : maximum boosting rounds.
    early_stopping_rounds : patience on the validation share (0: train all rounds).
    valid_fraction : stratified share of the training rows held out for early stopping and calibration.
    refit : after early stopping, refit on all rows with the best number of rounds scaled up.
    calibration : one of ``CALIBRATION_METHODS`` (platt, isotonic, none).
    directions : declared risk directions (+1 PD rises with the value, -1 falls), a mapping by column name or a
        sequence aligned to the columns; given, they become monotone constraints.
    scaling, master_scale : `ScalingSpec` and `MasterScaleSpec` of the fitted `model_` (defaults when None).
    random_state : seed (None means 0: techscore is deterministic).
    num_threads : LightGBM threads (fixed for reproducible models).

    Attributes
    ----------
    model_ : the fitted `PDModel`; booster_, calibrator_ : its booster and calibrator; classes_ ; n_features_in_ ;
    feature_names_in_ (DataFrame input with string column names); best_iteration_.
    """

    def __init__(
        self,
        *,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        n_estimators: int = 3000,
        min_child_samples: int = 20,
        feature_fraction: float = 1.0,
        bagging_fraction: float = 1.0,
        bagging_freq: int = 0,
        lambda_l2: float = 0.0,
        early_stopping_rounds: int = 200,
        valid_fraction: float = 0.2,
        refit: bool = True,
        calibration: str = "platt",
        directions: Mapping[str, int] | Sequence[int] | None = None,
        learner_params: Mapping[str, object] | None = None,
        scaling: ScalingSpec | None = None,
        master_scale: MasterScaleSpec | None = None,
        random_state: int | None = 42,
        num_threads: int = 1,
    ) -> None:
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.n_estimators = n_estimators
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.bagging_fraction = bagging_fraction
        self.bagging_freq = bagging_freq
        self.lambda_l2 = lambda_l2
        self.early_stopping_rounds = early_stopping_rounds
        self.valid_fraction = valid_fraction
        self.refit = refit
        self.calibration = calibration
        self.directions = directions
        self.learner_params = learner_params
        self.scaling = scaling
        self.master_scale = master_scale
        self.random_state = random_state
        self.num_threads = num_threads

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        return tags

    # --- input handling ---------------------------------------------------------------------------------------
    def _model_frame(self, X, *, reset: bool) -> pd.DataFrame:
        """X as a DataFrame with safe ids as columns (categoricals as category dtype)."""
        if isinstance(X, pd.DataFrame):
            _check_feature_names(self, X, reset=reset)
            _check_n_features(self, X, reset=reset)
            if X.shape[0] < 1:
                raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required.")
            cols = {}
            for i, c in enumerate(X.columns):
                col = X[c]
                if isinstance(col.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(col):
                    cols[f"f{i:03d}"] = col.astype("string")
                else:
                    values = col.to_numpy(dtype=np.float64, na_value=np.nan)
                    if np.isinf(values).any():
                        raise ValueError(f"Input column {c!r} contains infinity.")
                    cols[f"f{i:03d}"] = values
            frame = pd.DataFrame(cols, index=X.index)
        else:
            arr = validate_data(self, X, reset=reset, ensure_all_finite="allow-nan", dtype=np.float64)
            frame = pd.DataFrame(arr, columns=[f"f{i:03d}" for i in range(arr.shape[1])])
        if reset:
            return frame
        return self.model_.prepare(frame)

    def _features(self, X, frame: pd.DataFrame) -> list[FeatureMeta]:
        names = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else [f"x{i}" for i in range(frame.shape[1])]
        directions = self._directions(names)
        out = []
        for i, (fid, name) in enumerate(zip(frame.columns, names, strict=True)):
            categorical = not pd.api.types.is_numeric_dtype(frame[fid])
            out.append(FeatureMeta(
                id=fid, group="tabular", name_zh=name, name_en=name, description=f"input column {i}", unit="",
                sources=(), direction=0 if categorical else directions[i],
                kind="categorical" if categorical else "numeric",  # type: ignore[arg-type]
            ))
        return out

    def _directions(self, names: list[str]) -> list[int]:
        d = self.directions
        if d is None:
            return [0] * len(names)
        if isinstance(d, Mapping):
            unknown = sorted(set(map(str, d)) - set(names))
            if unknown:
                raise ValueError(f"directions name columns that are not in X: {', '.join(unknown[:5])}.")
            values = [int(d.get(n, 0)) for n in names]
        else:
            values = [int(v) for v in d]
            if len(values) != len(names):
                raise ValueError(f"directions must have one entry per column ({len(names)}); got {len(values)}.")
        bad = [v for v in values if v not in (-1, 0, 1)]
        if bad:
            raise ValueError(f"directions must be -1, 0 or 1; got {bad[0]}.")
        return values

    def _spec(self) -> ModelSpec:
        if self.calibration not in CALIBRATION_METHODS:
            raise ValueError(f"calibration must be one of {', '.join(CALIBRATION_METHODS)}; got {self.calibration!r}.")
        for name in ("n_estimators", "num_leaves", "min_child_samples", "num_threads"):
            value = getattr(self, name)
            if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}.")
        if not isinstance(self.valid_fraction, Real) or not (0 <= self.valid_fraction < 1):
            raise ValueError(f"valid_fraction must be in [0, 1); got {self.valid_fraction!r}.")
        extra = dict(self.learner_params or {})
        known = {k: extra.pop(k) for k in list(extra) if k in LearnerSpec.model_fields and k != "extra"}
        learner = LearnerSpec(
            learning_rate=self.learning_rate, num_leaves=self.num_leaves, num_boost_round=self.n_estimators,
            min_child_samples=self.min_child_samples, feature_fraction=self.feature_fraction,
            bagging_fraction=self.bagging_fraction, bagging_freq=self.bagging_freq, lambda_l2=self.lambda_l2,
            early_stopping_rounds=self.early_stopping_rounds, refit=self.refit, num_threads=self.num_threads,
            **known, extra=extra,
        )
        return ModelSpec(
            name="TechScoreClassifier", seed=0 if self.random_state is None else int(self.random_state),
            monotone=self.directions is not None, learner=learner, calibration=CalibrationSpec(method=self.calibration),
            scaling=self.scaling or ScalingSpec(), master_scale=self.master_scale or MasterScaleSpec(),
        )

    # --- estimator API ----------------------------------------------------------------------------------------
    def fit(self, X, y):
        """Fit booster and calibrator; `y` must hold exactly two classes (the second sorted one is "default")."""
        spec = self._spec()
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        frame = self._model_frame(X, reset=True)
        y = column_or_1d(y, warn=True)
        if len(y) != len(frame):
            raise ValueError(f"X and y have inconsistent numbers of samples: {len(frame)} and {len(y)}.")
        check_classification_targets(y)
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type != "binary":
            raise ValueError(f"Only binary classification is supported. The type of the target is {y_type}.")
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError(f"{type(self).__name__} needs 2 classes (defaults and non-defaults); got 1 class.")
        y01 = (y == self.classes_[1]).astype(np.int64)
        features = self._features(X, frame)
        for f in features:
            if f.kind == "categorical":
                frame[f.id] = frame[f.id].astype(pd.CategoricalDtype(sorted(frame[f.id].dropna().unique())))
        train, valid = np.arange(len(y01)), np.array([], dtype=np.int64)
        if self.valid_fraction > 0 and np.bincount(y01).min() * self.valid_fraction >= MIN_VALID_PER_CLASS:
            train, valid = holdout(y01, train, self.valid_fraction, spec.seed)
        self.model_, fit = fit_pd_model(frame.iloc[train], y01[train], frame.iloc[valid], y01[valid], features, spec)
        self.booster_ = self.model_.booster
        self.calibrator_ = self.model_.calibrator
        self.best_iteration_ = fit.best_iteration
        return self

    def to_model_frame(self, X) -> pd.DataFrame:
        """X as the fitted `model_` reads it (safe ids, training encoding): for `model_.predict_frame` or SHAP."""
        check_is_fitted(self)
        return self._model_frame(X, reset=False)

    def decision_function(self, X) -> np.ndarray:
        """Calibrated log-odds of the positive class (for Platt calibration, affine in the booster margin)."""
        check_is_fitted(self)
        return self.model_.log_odds(self._model_frame(X, reset=False))

    def predict_proba(self, X) -> np.ndarray:
        """Columns: P(classes_[0]), P(classes_[1]) (the calibrated PD)."""
        check_is_fitted(self)
        p = self.model_.predict_pd(self._model_frame(X, reset=False))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        """classes_[1] where the calibrated PD is above one half, else classes_[0]."""
        positive = self.decision_function(X) > 0  # PD above one half, as scikit-learn reads decision_function
        return self.classes_[positive.astype(int)]
