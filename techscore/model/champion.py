"""Which model ships: LightGBM, the WOE scorecard or their blend in log-odds, chosen by inner cross-validated log
loss inside the training part.

Evidence never touches the test rows. Each candidate is judged on the out-of-sample rows the calibrator is fitted
on: the inner out-of-fold rows of the training part (cross-validated experiments with inner folds; the scorecard
is refitted on the same inner folds as the boosters' first repeat), else the validation rows (the scorecard
fitted on the training rows). On those rows each candidate is a logistic model of the out-of-sample margins:

* ``lightgbm``: LightGBM's raw margin (Platt calibration);
* ``scorecard``: the scorecard's log-odds (its Platt recalibration);
* ``blend``: both margins (a stacked logistic; its two coefficients are the blend weights, both must be positive).

Their log loss is cross-validated over those rows (the logistic fitted on the other folds, stratified, seeded), so
the blend's extra weight is not rewarded in sample. `auto` ships the lowest (ties to the simpler model, in the order
above); the other modes force a candidate and still record the comparison.

Calibration comes after blending: the shipped booster's margin is ``w_lightgbm * LightGBM + w_scorecard *
scorecard`` (see `techscore.model.blend`) and the calibrator of the model spec is fitted on that margin's
out-of-sample values, exactly as for LightGBM alone, so Platt calibration keeps the explanations additive.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from techscore.catalogue.meta import FeatureMeta
from techscore.exceptions import ModelError
from techscore.model.blend import blend_booster, card_log_odds
from techscore.model.calibrate import fit_calibrator
from techscore.model.card import CardTable, card_table
from techscore.model.lgbm import BoosterFit
from techscore.model.pdmodel import PDModel
from techscore.model.scorecard import ScorecardModel, fit_scorecard
from techscore.specs import CHAMPION_MODES, ModelSpec

__all__ = ["CANDIDATES", "ChampionChoice", "compare_candidates", "select_champion"]

CANDIDATES = ("lightgbm", "scorecard", "blend")
STACK_FOLDS = 5
STACK_C = 100.0
"""Inverse ridge strength of the candidates' logistic fits (margins are log-odds; barely regularised)."""


@dataclass
class ChampionChoice:
    """The comparison behind one shipped model."""

    mode: str
    winner: str
    reason: str
    weights: tuple[float, float] = (1.0, 0.0)
    """(LightGBM, scorecard) weights of the shipped margin."""
    candidates: list[dict] = field(default_factory=list)
    """One row per candidate: inner_log_loss, inner_auc, weight_lightgbm, weight_scorecard, eligible, note."""
    evidence: dict = field(default_factory=dict)
    """Which rows judged: source (inner_cv / valid / none), rows, defaults, folds."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def table(self, fold: str) -> pd.DataFrame:
        """The candidates as rows of the run's `champion_selection` table."""
        return pd.DataFrame([{"fold": fold, **c, "chosen": c["candidate"] == self.winner} for c in self.candidates])


def _logistic(X: np.ndarray, y: np.ndarray):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=STACK_C, max_iter=1000).fit(X, y)


def compare_candidates(margin_lightgbm: np.ndarray, margin_scorecard: np.ndarray, y: np.ndarray, *,
                       mode: str = "auto", seed: int = 0, source: str = "inner_cv") -> ChampionChoice:
    """Cross-validated log loss of each candidate on out-of-sample margins and labels `y`; the winner under
    `mode` (auto or a forced candidate) and its weights."""
    from sklearn.metrics import log_loss, roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y).astype(int)
    inputs = {"lightgbm": [0], "scorecard": [1], "blend": [0, 1]}
    M = np.column_stack([margin_lightgbm, margin_scorecard]).astype(np.float64)
    folds = min(STACK_FOLDS, int(np.bincount(y, minlength=2).min()))
    evidence = {"source": source, "rows": len(y), "defaults": int(y.sum()), "folds": folds}
    if folds < 2:
        return ChampionChoice(mode, "lightgbm" if mode == "auto" else mode,
                              f"{int(y.sum())} defaults out of sample: too few to compare; kept "
                              f"{'lightgbm' if mode == 'auto' else mode}.",
                              _weights("lightgbm" if mode == "auto" else mode, M, y), [], evidence)
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(M, y))
    rows = []
    for name, cols in inputs.items():
        pred = np.empty(len(y))
        for rest, held in splits:
            pred[held] = _logistic(M[rest][:, cols], y[rest]).predict_proba(M[held][:, cols])[:, 1]
        w = _weights(name, M, y)
        eligible = name != "blend" or min(w) > 0
        rows.append({"candidate": name, "inner_log_loss": float(log_loss(y, pred, labels=[0, 1])),
                     "inner_auc": float(roc_auc_score(y, pred)), "weight_lightgbm": w[0], "weight_scorecard": w[1],
                     "eligible": eligible,
                     "note": "" if eligible else "a blend weight is not positive (the margins are redundant)"})
    ranked = sorted((r for r in rows if r["eligible"]), key=lambda r: r["inner_log_loss"])  # stable: simpler first
    best = ranked[0]
    winner = best["candidate"] if mode == "auto" else mode
    others = ", ".join(f"{r['candidate']} {r['inner_log_loss']:.5f}" for r in rows if r["candidate"] != winner)
    chosen = next(r for r in rows if r["candidate"] == winner)
    if mode == "auto":
        reason = (f"{winner}: lowest inner cross-validated log loss {chosen['inner_log_loss']:.5f} "
                  f"({others}) over {len(y)} out-of-sample rows ({source}).")
    else:
        reason = (f"{winner}: forced by champion = \"{mode}\"; inner cross-validated log loss "
                  f"{chosen['inner_log_loss']:.5f} ({others}); auto would ship {best['candidate']}.")
    return ChampionChoice(mode, winner, reason, (chosen["weight_lightgbm"], chosen["weight_scorecard"]), rows,
                          evidence)


def _weights(name: str, M: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The shipped margin's weights: 1 on a single model (its calibrator scales it), the stacked logistic's
    coefficients for the blend."""
    if name == "lightgbm":
        return 1.0, 0.0
    if name == "scorecard":
        return 0.0, 1.0
    coef = _logistic(M, y).coef_[0]
    return float(coef[0]), float(coef[1])


def _inner_card_log_odds(X: pd.DataFrame, y: np.ndarray, features: list[FeatureMeta], spec: ModelSpec,
                         folds: int) -> np.ndarray:
    """Out-of-fold scorecard log-odds over the training rows, on the boosters' first inner partition."""
    from sklearn.model_selection import StratifiedKFold

    out = np.empty(len(y))
    for rest, held in StratifiedKFold(folds, shuffle=True, random_state=spec.seed).split(np.zeros(len(y)), y):
        card = card_table(fit_scorecard(X.iloc[rest], y[rest], features, spec.scaling))
        out[held] = card_log_odds(card, X.iloc[held])
    return out


def select_champion(model: PDModel, fit: BoosterFit, X_train: pd.DataFrame, y_train: np.ndarray,
                    X_valid: pd.DataFrame, y_valid: np.ndarray, spec: ModelSpec, *, mode: str = "auto",
                    inner_folds: int = 0, scorecard: ScorecardModel | None = None,
                    ) -> tuple[PDModel, ChampionChoice, ScorecardModel | None, np.ndarray | None]:
    """The model to ship from a fitted LightGBM `model` (its `fit` holds the out-of-sample margins), the
    comparison, the shipped scorecard (fitted on the training rows; `scorecard` when already fitted) and the
    shipped model's raw margins on the out-of-sample rows (None when LightGBM ships unchanged)."""
    if mode not in CHAMPION_MODES:
        raise ValueError(f"champion must be one of {', '.join(CHAMPION_MODES)}; got {mode!r}.")
    if mode == "lightgbm" or fit.valid_margin is None:
        why = ("forced by champion = \"lightgbm\"" if mode == "lightgbm" else
               "no out-of-sample rows in the training part to compare on")
        return model, ChampionChoice(mode, "lightgbm", f"lightgbm: {why}.", evidence={"source": "none"}), scorecard, None
    y_train = np.asarray(y_train).astype(int)
    features = model.features
    try:
        sc = scorecard if scorecard is not None else fit_scorecard(X_train, y_train, features, spec.scaling)
        card = card_table(sc)
        if not card.characteristics:
            raise ModelError("the scorecard's binning kept no feature (none reached the minimum information value)")
        if fit.valid_index is not None:  # inner cross-validation over the training rows
            target = y_train[fit.valid_index]
            m_card = _inner_card_log_odds(X_train, y_train, features, spec, max(2, inner_folds))[fit.valid_index]
            source = "inner_cv"
        else:
            target = np.asarray(y_valid).astype(int)
            m_card = card_log_odds(card, model.prepare(X_valid))
            source = "valid"
    except ModelError as exc:
        if mode != "auto":
            raise
        return model, ChampionChoice(mode, "lightgbm", f"lightgbm: the scorecard could not compete ({exc}).",
                                     evidence={"source": "none"}), scorecard, None
    m_lgb = np.asarray(fit.valid_margin, dtype=np.float64)
    choice = compare_candidates(m_lgb, m_card, target, mode=mode, seed=spec.seed, source=source)
    if choice.winner == "lightgbm":
        return model, choice, sc, None
    w_l, w_s = choice.weights
    booster = blend_booster(model.booster, card, features, model.prepare(X_train), lightgbm_weight=w_l,
                            scorecard_weight=w_s)
    margin = w_l * m_lgb + w_s * m_card
    shipped = dataclasses.replace(model, booster=booster,
                                  calibrator=fit_calibrator(margin, target, spec.calibration.method),
                                  info={**model.info, "num_trees": booster.num_trees(),
                                        "calibration": {**fit.calibration, "source": source, "margin": choice.winner}})
    return shipped, choice, sc, margin


def shipped_card(choice: ChampionChoice | None, scorecard: ScorecardModel | None) -> CardTable | None:
    """The scorecard that is (part of) the shipped model, as a plain card; None when LightGBM ships alone."""
    if choice is None or scorecard is None or choice.winner == "lightgbm":
        return None
    return card_table(scorecard)
