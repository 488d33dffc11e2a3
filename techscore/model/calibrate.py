"""Calibrating the booster's raw margin into a probability of default, fitted on the validation set.

`platt` (default) is a logistic map of the margin, ``logit(PD) = a * margin + b``: affine in log-odds, so the
booster's SHAP values scaled by `a` still add up to the calibrated log-odds. `isotonic` is a monotone step
function (linear between steps), which fits large validation sets more closely but is not additive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from techscore.exceptions import ModelError
from techscore.specs import CALIBRATION_METHODS

__all__ = ["Calibrator", "affine_fit", "fit_calibrator", "sigmoid"]

EPS = 1e-9


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function."""
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


@dataclass(frozen=True)
class Calibrator:
    """A fitted map from raw margin (log-odds) to PD; plain numbers only, so it saves as JSON."""

    method: str
    params: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in CALIBRATION_METHODS:
            raise ModelError(f"calibration method must be one of {', '.join(CALIBRATION_METHODS)}; got {self.method!r}.")

    @property
    def additive(self) -> bool:
        """True when calibrated log-odds are an affine function of the margin (SHAP stays additive)."""
        return self.method in ("platt", "none")

    def log_odds(self, margin: np.ndarray) -> np.ndarray:
        """Calibrated log-odds of default (platt and none only)."""
        margin = np.asarray(margin, dtype=np.float64)
        if self.method == "none":
            return margin
        if self.method == "platt":
            return self.params["a"] * margin + self.params["b"]
        p = np.clip(self.predict(margin), EPS, 1 - EPS)
        return np.log(p / (1 - p))

    def predict(self, margin: np.ndarray) -> np.ndarray:
        """PD for each raw margin."""
        margin = np.asarray(margin, dtype=np.float64)
        if self.method == "isotonic":
            x, y = np.asarray(self.params["x"]), np.asarray(self.params["y"])
            return np.clip(np.interp(margin, x, y), EPS, 1 - EPS)
        return sigmoid(self.log_odds(margin))

    def to_dict(self) -> dict:
        return {"method": self.method, "params": self.params}

    @classmethod
    def from_dict(cls, doc: dict) -> Calibrator:
        return cls(method=doc["method"], params=dict(doc.get("params", {})))


def _platt(margin: np.ndarray, y: np.ndarray, iterations: int = 100) -> tuple[float, float]:
    """Maximum-likelihood (a, b) of ``P(y=1) = sigmoid(a * margin + b)`` on Platt's smoothed targets, so that a
    separable validation set still gives finite coefficients."""
    n1, n0 = float(y.sum()), float(len(y) - y.sum())
    t = np.where(y == 1, (n1 + 1) / (n1 + 2), 1 / (n0 + 2))
    return _logistic_fit(margin, t, start=np.log((n1 + 1) / (n0 + 1)), iterations=iterations)


def affine_fit(margin: np.ndarray, probability: np.ndarray) -> tuple[float, float]:
    """(a, b) of the affine log-odds map ``sigmoid(a * margin + b)`` closest (cross-entropy) to known
    probabilities rather than to 0/1 outcomes: the best any Platt calibration of `margin` could do, e.g. against
    a synthetic world's true PDs (`techscore.reports.oracle`)."""
    t = np.clip(np.asarray(probability, dtype=np.float64), 0.0, 1.0)
    rate = float(np.clip(t.mean(), EPS, 1 - EPS))
    return _logistic_fit(np.asarray(margin, dtype=np.float64), t, start=float(np.log(rate / (1 - rate))))


def _logistic_fit(margin: np.ndarray, t: np.ndarray, *, start: float, iterations: int = 100) -> tuple[float, float]:
    """Minimise the cross-entropy of ``sigmoid(a * margin + b)`` against targets `t` in [0, 1]: Newton's method
    with a backtracking line search (Lin, Lin and Weng 2007), from a = 0, b = `start`."""
    if np.ptp(margin) < 1e-12:  # a constant booster: only the base rate can be learned
        rate = float(np.clip(t.mean(), EPS, 1 - EPS))
        return 0.0, float(np.log(rate / (1 - rate)))
    X = np.column_stack([margin, np.ones_like(margin)])

    def loss(w: np.ndarray) -> float:
        z = X @ w
        return float(np.sum(np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))) - t * z))

    w = np.array([0.0, start])
    f = loss(w)
    for _ in range(iterations):
        p = sigmoid(X @ w)
        grad = X.T @ (p - t)
        if np.abs(grad).max() < 1e-9 * len(t):
            break
        hess = X.T @ (X * (p * (1 - p))[:, None]) + 1e-12 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        scale, decrease = 1.0, float(grad @ step)
        while scale > 1e-10:
            trial = w - scale * step
            f_trial = loss(trial)
            if f_trial <= f - 1e-4 * scale * decrease:
                break
            scale /= 2
        else:
            break
        w, f = trial, f_trial
    return float(w[0]), float(w[1])


def fit_calibrator(margin: np.ndarray, y: np.ndarray, method: str = "platt") -> Calibrator:
    """Fit the calibration map on validation margins and labels."""
    margin = np.asarray(margin, dtype=np.float64)
    y = np.asarray(y).astype(np.float64)
    if method not in CALIBRATION_METHODS:
        raise ModelError(f"calibration method must be one of {', '.join(CALIBRATION_METHODS)}; got {method!r}.")
    if method == "none":
        return Calibrator("none")
    if len(np.unique(y)) < 2:
        raise ModelError(f"calibration needs both defaults and non-defaults in the validation set; got only {y[0]:.0f}.")
    if method == "platt":
        a, b = _platt(margin, y)
        return Calibrator("platt", {"a": a, "b": b})
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(out_of_bounds="clip", y_min=EPS, y_max=1 - EPS, increasing=True).fit(margin, y)
    return Calibrator("isotonic", {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()})
