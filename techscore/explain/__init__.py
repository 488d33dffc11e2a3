"""Explanations of a PD model's scores: SHAP values, global importance, reason codes, plots, direction checks.

`explain(model, X)` gives SHAP values in log-odds (an `Explanation`); `fit_references` learns what reason
sentences compare a firm with; `reason_codes` gives each firm's top factors with Chinese and English sentences;
`direction_check` tests each feature's SHAP dependence against its declared risk direction; plots are in
`techscore.explain.plots`. `TreeShap` is techscore's exact TreeSHAP engine for LightGBM (the values of
`pred_contrib=True`, much faster).

Names are imported lazily so that importing `techscore.explain` does not load numba or matplotlib.
"""

from __future__ import annotations

from techscore.lazy import callable_module, lazy_exports

_LAZY = {
    "TreeShap": "techscore.explain.treeshap",
    "Explanation": "techscore.explain.shap_values",
    "explain": "techscore.explain.shap_values",
    "load_explanation": "techscore.explain.shap_values",
    "References": "techscore.explain.reasons",
    "REASON_COLUMNS": "techscore.explain.reasons",
    "REFERENCES_FILE": "techscore.explain.reasons",
    "fit_references": "techscore.explain.reasons",
    "reason_codes": "techscore.explain.reasons",
    "reasons_wide": "techscore.explain.reasons",
    "sentence": "techscore.explain.reasons",
    "top_k": "techscore.explain.reasons",
    "direction_check": "techscore.explain.directions",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
callable_module(__name__, "techscore.explain.shap_values:explain")
