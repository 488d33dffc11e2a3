"""Validation plots as PNG: ROC, KS, calibration by grade, score distribution, feature importance, learning curve.

Figures are built on `matplotlib.figure.Figure` with the Agg canvas directly (no pyplot state, no GUI backend),
so plotting is safe in threads and servers. Each function takes labels and predictions (or tables from
`techscore.model.metrics`) and returns a Figure; `save_png` writes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from techscore.figures import style

__all__ = ["calibration_plot", "importance_plot", "ks_plot", "learning_curve_plot", "roc_plot", "save_png",
           "score_distribution_plot"]

SIZE = (6.0, 4.2)


def _figure() -> tuple[Figure, object]:
    fig = Figure(figsize=SIZE, dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def save_png(fig: Figure, path: str | Path) -> Path:
    """Write `fig` as PNG (parent folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with style():  # labels may be Chinese display names: laid out with the CJK font when saved
        fig.savefig(path, format="png", dpi="figure")
    return path


def _roc_points(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    return fpr, tpr


def roc_plot(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], title: str = "ROC (test)") -> Figure:
    """ROC curves of one or more models: `{label: (y, pd)}`; the legend shows each AUC."""
    from techscore.model.metrics import auc

    fig, ax = _figure()
    for label, (y, p) in curves.items():
        fpr, tpr = _roc_points(np.asarray(y), np.asarray(p))
        ax.plot(fpr, tpr, label=f"{label} (AUC {auc(y, p):.3f})")
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=title, xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="lower right")
    return fig


def ks_plot(y: np.ndarray, p: np.ndarray, title: str = "KS (test)") -> Figure:
    """Cumulative share of defaults and non-defaults by PD rank (riskiest first), with the KS gap marked."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    order = np.argsort(-p, kind="mergesort")
    ys = y[order]
    x = np.arange(1, len(y) + 1) / len(y)
    c1 = np.cumsum(ys) / max(ys.sum(), 1)
    c0 = np.cumsum(1 - ys) / max((1 - ys).sum(), 1)
    gap = np.abs(c1 - c0)
    i = int(np.argmax(gap)) if len(gap) else 0
    fig, ax = _figure()
    ax.plot(x, c1, label="defaults")
    ax.plot(x, c0, label="non-defaults")
    if len(gap):
        ax.vlines(x[i], c0[i], c1[i], colors="k", linestyles=":", label=f"KS {gap[i]:.3f}")
    ax.set(xlabel="share of rows (highest PD first)", ylabel="cumulative share", title=title, xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="lower right")
    return fig


def calibration_plot(table: pd.DataFrame, title: str = "Calibration by grade (test)") -> Figure:
    """Mean PD against observed default rate per grade (from `metrics.calibration_by_grade`), log scale."""
    t = table[table["rows"] > 0]
    fig, ax = _figure()
    x = np.arange(len(t))
    ax.bar(x - 0.2, t["mean_pd"], width=0.4, label="mean PD")
    ax.bar(x + 0.2, t["bad_rate"].fillna(0), width=0.4, label="observed default rate")
    ax.set_xticks(x, t["grade"].astype(str))
    if (t["mean_pd"] > 0).all():
        ax.set_yscale("log")
    ax.set(xlabel="grade", ylabel="rate", title=title)
    ax.legend()
    return fig


def score_distribution_plot(y: np.ndarray, score: np.ndarray, title: str = "Score distribution (test)") -> Figure:
    """Histograms of the score for defaults and non-defaults (densities)."""
    y, score = np.asarray(y), np.asarray(score, dtype=float)
    fig, ax = _figure()
    bins = np.histogram_bin_edges(score[np.isfinite(score)], bins=30) if len(score) else 10
    ax.hist(score[y == 0], bins=bins, density=True, alpha=0.6, label="non-defaults")
    ax.hist(score[y == 1], bins=bins, density=True, alpha=0.6, label="defaults")
    ax.set(xlabel="score", ylabel="density", title=title)
    ax.legend()
    return fig


def importance_plot(importance: pd.DataFrame, top: int = 20, title: str = "Feature importance (gain)") -> Figure:
    """Horizontal bars of the top features by gain (`importance` has `name` and `gain` columns)."""
    t = importance.nlargest(top, "gain").iloc[::-1]
    fig = Figure(figsize=(7.0, 0.28 * len(t) + 1.2), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    labels = [n if len(n) <= 48 else n[:45] + "..." for n in t["name"].astype(str)]
    ax.barh(np.arange(len(t)), t["gain"])
    ax.set_yticks(np.arange(len(t)), labels, fontsize=8)
    ax.set(xlabel="total gain", title=title)
    return fig


def learning_curve_plot(curve: list[float], best: int, metric: str, title: str = "Validation learning curve") -> Figure:
    """Validation metric by boosting round with the chosen round marked."""
    fig, ax = _figure()
    ax.plot(np.arange(1, len(curve) + 1), curve)
    if best:
        ax.axvline(best, ls="--", c="grey", label=f"best round {best}")
        ax.legend()
    ax.set(xlabel="boosting round", ylabel=metric, title=title)
    return fig
