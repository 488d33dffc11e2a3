"""SHAP plots as PNG bytes: global importance, beeswarm, dependence and per-firm waterfall, in Chinese or English.

Figures are drawn on matplotlib's Agg canvas without pyplot (no global state, safe in threads) in the house
style of `techscore.figures` (a CJK-capable font, so Chinese labels render).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from techscore.bilingual import Lang, axis_scale, check_lang, feature_name, format_pd, format_value
from techscore.explain.shap_values import Explanation
from techscore.figures import new_figure, style, to_png
from techscore.model.calibrate import sigmoid

RISK_UP = "#c0392b"
RISK_DOWN = "#2471a3"
NEUTRAL = "#7f8c8d"
ACCENT = "#1f4e79"
_LOW_HIGH = ("#2471a3", "#c0392b")


_TEXT = {
    "mean_abs": ("平均 |SHAP|（对数几率）", "mean |SHAP| (log-odds)"),
    "shap": ("SHAP 值（对数几率）", "SHAP value (log-odds)"),
    "low": ("低", "low"),
    "high": ("高", "high"),
    "feature_value": ("特征值", "feature value"),
    "missing": ("缺失", "missing"),
    "base": ("基准", "base"),
    "model": ("模型", "model"),
    "others": ("其余 {n} 项", "{n} other features"),
    "declared": ("声明方向", "declared direction"),
    "up": ("风险随数值上升", "risk rises with value"),
    "down": ("风险随数值下降", "risk falls with value"),
    "none": ("未声明", "none declared"),
    "logodds": ("对数几率", "log-odds"),
    "calibrated": ("校准后违约概率", "calibrated PD"),
    "pd": ("违约概率", "PD"),
}


def _t(key: str, lang: Lang, **kw) -> str:
    zh, en = _TEXT[key]
    return (zh if lang == "zh" else en).format(**kw)


def _used(imp: pd.DataFrame) -> pd.DataFrame:
    """Features the model uses (mean |SHAP| > 0); all of them when none is used."""
    used = imp[imp["mean_abs_shap"] > 0]
    return used if len(used) else imp


def _short(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def importance_bar(explanation: Explanation, lang: str = "zh", *, top: int = 20) -> bytes:
    """Global importance: horizontal bars of mean |SHAP| for the `top` features, largest at the top."""
    lang = check_lang(lang)
    imp = _used(explanation.importance()).head(top).iloc[::-1]
    metas = explanation.meta
    with style():
        fig = new_figure(7.0, 0.8 + 0.28 * len(imp))
        ax = fig.add_subplot()
        ax.barh(range(len(imp)), imp["mean_abs_shap"], color=ACCENT, height=0.65)
        ax.set_yticks(range(len(imp)), [_short(feature_name(metas[f], lang)) for f in imp["feature"]])
        ax.set_xlabel(_t("mean_abs", lang))
        for i, v in enumerate(imp["mean_abs_shap"]):
            ax.text(v, i, f" {v:.3f}", va="center", fontsize=7.5, color="#333")
        ax.margins(x=0.12)
        return to_png(fig)


def _swarm_offsets(x: np.ndarray, width: float = 0.4, bins: int = 60, seed: int = 0) -> np.ndarray:
    """Vertical offsets that spread points sharing an x bin (a quick beeswarm)."""
    if len(x) == 0:
        return np.zeros(0)
    lo, hi = float(np.min(x)), float(np.max(x))
    span = hi - lo or 1.0
    b = np.minimum(((x - lo) / span * bins).astype(int), bins - 1)
    order = np.lexsort((np.random.default_rng(seed).random(len(x)), b))
    rank_in_bin = np.empty(len(x), dtype=np.int64)
    sorted_b = b[order]
    starts = np.searchsorted(sorted_b, sorted_b, side="left")
    rank_in_bin[order] = np.arange(len(x)) - starts
    counts = np.bincount(b, minlength=bins)
    peak = max(int(counts.max()), 1)
    sign = np.where(rank_in_bin % 2 == 0, 1.0, -1.0)
    return sign * np.ceil(rank_in_bin / 2) / peak * width * 2


def _value_colour(col: pd.Series) -> np.ndarray:
    """Each value's percentile rank (0-1) among the column's values; NaN where missing or not numeric."""
    num = pd.to_numeric(col, errors="coerce") if not isinstance(col.dtype, pd.CategoricalDtype) else pd.Series(np.nan, index=col.index)
    return num.rank(pct=True).to_numpy(dtype=np.float64, na_value=np.nan)


def beeswarm(explanation: Explanation, lang: str = "zh", *, top: int = 15, max_points: int = 2000, seed: int = 0) -> bytes:
    """SHAP beeswarm: for each of the `top` features a row of points (one per firm) at its SHAP value,
    coloured from low (blue) to high (red) feature value; grey where the value is missing or a category."""
    from matplotlib.colors import LinearSegmentedColormap

    lang = check_lang(lang)
    imp = _used(explanation.importance()).head(top)
    n = len(explanation.values)
    rows = np.arange(n)
    if n > max_points:
        rows = np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))
    cmap = LinearSegmentedColormap.from_list("lowhigh", _LOW_HIGH)
    cols = {f: i for i, f in enumerate(explanation.feature_ids)}
    metas = explanation.meta
    with style():
        fig = new_figure(7.0, 0.9 + 0.36 * len(imp))
        ax = fig.add_subplot()
        for pos, fid in enumerate(imp["feature"].iloc[::-1]):
            j = cols[fid]
            x = explanation.values[rows, j]
            c = _value_colour(explanation.data.iloc[rows, j])
            y = pos + _swarm_offsets(x, seed=seed)
            miss = np.isnan(c)
            ax.scatter(x[miss], y[miss], s=5, color="#b3b3b3", linewidths=0, rasterized=True)
            ax.scatter(x[~miss], y[~miss], s=5, c=c[~miss], cmap=cmap, vmin=0, vmax=1, linewidths=0, rasterized=True)
        ax.axvline(0, color="#888", lw=0.6)
        ax.set_yticks(range(len(imp)), [_short(feature_name(metas[f], lang)) for f in imp["feature"].iloc[::-1]])
        ax.set_xlabel(_t("shap", lang))
        from matplotlib.cm import ScalarMappable

        sm = ScalarMappable(cmap=cmap)
        sm.set_array([0, 1])
        cb = fig.colorbar(sm, ax=ax, ticks=[0, 1], aspect=40, pad=0.02)
        cb.ax.set_yticklabels([_t("low", lang), _t("high", lang)])
        cb.set_label(_t("feature_value", lang))
        cb.outline.set_visible(False)
        return to_png(fig)


def dependence(explanation: Explanation, feature_id: str, lang: str = "zh", *, max_points: int = 3000, seed: int = 0) -> bytes:
    """SHAP dependence of one feature: its value (x) against its SHAP value (y), with its declared direction.
    Categories are drawn as strips; missing values as a separate strip at the left."""
    lang = check_lang(lang)
    if feature_id not in explanation.feature_ids:
        raise KeyError(f"feature {feature_id!r} is not in the explanation; it has {len(explanation.feature_ids)} features.")
    j = explanation.feature_ids.index(feature_id)
    meta = explanation.features[j]
    n = len(explanation.values)
    rows = np.arange(n)
    if n > max_points:
        rows = np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))
    shap = explanation.values[rows, j]
    col = explanation.data.iloc[rows, j]
    rng = np.random.default_rng(seed)
    scale, unit_zh, unit_en = axis_scale(meta)
    with style():
        fig = new_figure(4.2, 3.0)
        ax = fig.add_subplot()
        categorical = meta.kind == "categorical" or isinstance(col.dtype, pd.CategoricalDtype) or col.dtype == object
        if categorical:
            labels = col.astype("string").fillna(_t("missing", lang))
            cats = sorted(labels.unique().tolist())
            pos = labels.map({c: i for i, c in enumerate(cats)}).to_numpy(dtype=float)
            ax.scatter(pos + rng.uniform(-0.25, 0.25, len(pos)), shap, s=6, color=NEUTRAL, alpha=0.6, linewidths=0, rasterized=True)
            ax.set_xticks(range(len(cats)), [_short(c, 10) for c in cats], rotation=0 if len(cats) < 8 else 90)
        else:
            x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan) * scale
            ok = np.isfinite(x)
            colour = RISK_UP if meta.direction > 0 else (RISK_DOWN if meta.direction < 0 else NEUTRAL)
            ax.scatter(x[ok], shap[ok], s=6, color=colour, alpha=0.55, linewidths=0, rasterized=True)
            logx = bool(ok.any() and np.nanmin(x[ok]) > 0
                        and (meta.unit == "yuan" or np.nanmax(x[ok]) / np.nanmin(x[ok]) > 1e4))
            if logx:
                ax.set_xscale("log")
            if (~ok).any() and ok.any():
                lo, hi = np.nanmin(x[ok]), np.nanmax(x[ok])
                xm = lo / 3 if logx else lo - 0.08 * ((hi - lo) or 1.0)
                ax.scatter(np.full((~ok).sum(), xm), shap[~ok], s=6, color="#999", alpha=0.6, linewidths=0, rasterized=True)
                ax.annotate(_t("missing", lang), (xm, np.nanmax(shap[~ok])), xytext=(0, 4), textcoords="offset points",
                            ha="center", fontsize=7, color="#666")
        ax.axhline(0, color="#888", lw=0.6)
        unit = ""
        if not categorical and meta.unit not in ("", "category", "flag"):
            u = unit_zh if lang == "zh" else unit_en
            unit = (f"（{u}）" if lang == "zh" else f" ({u})") if u else ""
        ax.set_xlabel(_short(feature_name(meta, lang), 40) + unit)
        ax.set_ylabel(_t("shap", lang))
        word = {1: "up", -1: "down", 0: "none"}[int(meta.direction)]
        ax.set_title(f"{_t('declared', lang)}: {_t(word, lang)}", fontsize=8, color="#555", loc="left")
        return to_png(fig)


def waterfall(
    explanation: Explanation, row: int, lang: str = "zh", *, max_display: int = 10, calibrated_pd: float | None = None,
) -> bytes:
    """One firm's waterfall, from the base log-odds through its largest contributions to its model log-odds.

    The `max_display - 1` largest |SHAP| features get a bar each (label "name = value"); the rest are one bar.
    The ends are labelled with the PD they mean, and `calibrated_pd` (the model's final PD) when given.
    """
    lang = check_lang(lang)
    values = explanation.values[row]
    metas = explanation.features
    order = np.argsort(-np.abs(values), kind="stable")
    shown = order[: max(1, max_display - 1)]
    rest = order[len(shown):]
    labels, deltas = [], []
    for j in shown:
        v = explanation.data.iloc[row, j]
        name = _short(feature_name(metas[j], lang), 16 if lang == "zh" else 30)
        labels.append(f"{name} = {_short(format_value(v, metas[j], lang), 12 if lang == 'zh' else 20)}")
        deltas.append(float(values[j]))
    if len(rest):
        labels.append(_t("others", lang, n=len(rest)))
        deltas.append(float(values[rest].sum()))
    base = float(explanation.base)
    final = base + float(values.sum())
    with style():
        fig = new_figure(7.0, 1.2 + 0.32 * len(deltas))
        ax = fig.add_subplot()
        start = base
        ys = np.arange(len(deltas))[::-1]
        for y, d, _lab in zip(ys, deltas, labels, strict=True):
            colour = RISK_UP if d > 0 else RISK_DOWN
            ax.barh(y, d, left=start, color=colour, height=0.62)
            ax.text(start + d if d > 0 else start, y, f" {d:+.3f}", va="center", ha="left", fontsize=7.5, color="#222")
            start += d
        ax.set_yticks(ys, labels)
        ax.axvline(base, color="#666", lw=0.8, ls="--")
        ax.axvline(final, color="#111", lw=0.9)
        lo = min(base, final, *(base + np.cumsum(deltas)))
        hi = max(base, final, *(base + np.cumsum(deltas)))
        pad = 0.18 * ((hi - lo) or 1.0)
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(-1.5, len(deltas) + 0.5)
        mid = (lo + hi) / 2

        def note(x: float, y: float, text: str, colour: str) -> None:
            ax.text(x, y, text, ha="right" if x > mid else "left", va="center", fontsize=7.5, color=colour)

        note(base, -1.0, f" {_t('base', lang)} {base:.2f} ({_t('pd', lang)} {format_pd(float(sigmoid(base)))}) ", "#555")
        tail = f" {_t('model', lang)} {final:.2f} ({_t('pd', lang)} {format_pd(float(sigmoid(final)))})"
        if calibrated_pd is not None:
            tail += f"; {_t('calibrated', lang)} {format_pd(calibrated_pd)}"
        note(final, len(deltas) - 0.1, tail + " ", "#111")
        ax.set_xlabel(_t("logodds", lang))
        return to_png(fig)
