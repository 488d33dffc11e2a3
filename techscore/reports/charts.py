"""Small charts of the firm report: a firm's key figure over time beside its peers (median and middle half).

The images carry no words (years and numbers only), so one image serves both languages; titles, units and the
legend are HTML around them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from techscore.bilingual import axis_scale
from techscore.catalogue.meta import FeatureMeta
from techscore.explain.plots import ACCENT
from techscore.figures import new_figure, style, to_png


def trend_chart(history: pd.DataFrame, meta: FeatureMeta) -> bytes:
    """A firm's values of one feature over as-of dates (line) against its peers' median (dashed) and
    25th-75th percentiles (band). `history` has columns as_of, value, peer_q25, peer_median, peer_q75."""
    scale, _, _ = axis_scale(meta)
    h = history.sort_values("as_of")
    x = np.arange(len(h))
    labels = [pd.Timestamp(d).strftime("%Y-%m") for d in h["as_of"]]
    with style():
        fig = new_figure(2.9, 1.9)
        ax = fig.add_subplot()
        q25 = h["peer_q25"].to_numpy(dtype=float) * scale
        q75 = h["peer_q75"].to_numpy(dtype=float) * scale
        med = h["peer_median"].to_numpy(dtype=float) * scale
        val = h["value"].to_numpy(dtype=float) * scale
        ax.fill_between(x, q25, q75, color="#c9d6e3", alpha=0.7, linewidth=0)
        ax.plot(x, med, color="#52606d", lw=1.2, ls="--", marker="o", ms=2.5)
        ax.plot(x, val, color=ACCENT, lw=2.0, marker="o", ms=4)
        for xi, v in zip(x, val, strict=True):
            if np.isfinite(v):
                ax.annotate(_short_number(v), (xi, v), xytext=(0, 5), textcoords="offset points", ha="center",
                            fontsize=7, color=ACCENT)
        ax.set_xticks(x, labels, fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_xlim(-0.4, len(x) - 0.6)
        finite = np.concatenate([a[np.isfinite(a)] for a in (q25, q75, med, val)])
        if finite.size:
            lo, hi = float(finite.min()), float(finite.max())
            pad = 0.15 * ((hi - lo) or max(abs(hi), 1.0))
            ax.set_ylim(min(lo - pad, 0) if lo >= 0 else lo - pad, hi + 1.6 * pad)
        ax.grid(axis="y", color="#e4e7eb", lw=0.6)
        return to_png(fig)


def _short_number(v: float) -> str:
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}".rstrip("0").rstrip(".") if a > 0 else "0"
