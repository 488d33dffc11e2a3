"""The champion modes' shipped models on the synthetic SME book (shared by the champion and export tests)."""

from __future__ import annotations

from techscore.model.card import card_table
from techscore.model.champion import select_champion
from techscore.model.fit import fit_pd_model
from techscore.model.scorecard import fit_scorecard
from techscore.specs import LearnerSpec, ModelSpec
from tests.export.conftest import FEATURES, sme_book

SPEC = ModelSpec(name="m", seed=3, learner=LearnerSpec(num_boost_round=300, early_stopping_rounds=30, refit=False,
                                                       min_child_samples=30))


def champion_book() -> dict:
    """LightGBM and the scorecard fitted on 3,000 firms of the book, validated on 1,500 more: the training rows
    `X`, the LightGBM model `lgbm`, the scorecard's `card` and `shipped[mode]` = `select_champion`'s result."""
    X, y = sme_book(4500, 41)
    tr, va = slice(0, 3000), slice(3000, None)
    lgbm, fit = fit_pd_model(X.iloc[tr], y[tr], X.iloc[va], y[va], FEATURES, SPEC)
    sc = fit_scorecard(X.iloc[tr], y[tr], FEATURES, SPEC.scaling)
    shipped = {mode: select_champion(lgbm, fit, X.iloc[tr], y[tr], X.iloc[va], y[va], SPEC, mode=mode, scorecard=sc)
               for mode in ("scorecard", "blend", "auto")}
    return {"X": X.iloc[tr], "lgbm": lgbm, "card": card_table(sc), "shipped": shipped}
