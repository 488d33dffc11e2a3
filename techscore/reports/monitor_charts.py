"""Charts of the monitoring report: figures over as-of dates and per date pair.

Dates and numbers only on the images wherever possible, so one image serves both languages; legends and titles
are HTML around them. The drivers chart names features, so it is drawn once per language.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from techscore.explain.plots import ACCENT
from techscore.figures import new_figure, style, to_png

BAND_COLOURS = ("#e3f2e6", "#fff4d6", "#fde2e1")
"""Backgrounds of the PSI bands: stable (< 0.1), moderate (0.1 to 0.25), significant (>= 0.25)."""
LINE_COLOURS = ("#1f4e79", "#c0392b", "#2e7d32", "#b26a00", "#6a1b9a", "#00838f")
"""Line colours, in the order the report's HTML legends list the series."""


def _months(dates) -> list[str]:
    return [pd.Timestamp(d).strftime("%Y-%m") for d in dates]


def _axis(fig, n: int, labels: list[str]):
    ax = fig.add_subplot()
    ax.set_xticks(np.arange(n), labels, fontsize=7, rotation=45 if n > 6 else 0)
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(axis="y", color="#e4e7eb", lw=0.6)
    ax.set_xlim(-0.5, n - 0.5)
    return ax


PSI_AXIS_MAX = 1.0
"""The PSI chart's axis stops here; a larger value is drawn at the top with its number (one feature far off the
scale would otherwise flatten the 0.1 / 0.25 bands every other line is read against)."""


def psi_chart(dates: list[str], series: list[np.ndarray]) -> bytes:
    """PSI per date of each series (the score first), over the 0.1 / 0.25 bands."""
    with style():
        fig = new_figure(6.4, 2.5)
        ax = _axis(fig, len(dates), _months(dates))
        peak = max([0.0, *(float(np.nanmax(s)) for s in series if np.isfinite(s).any())])
        top = min(max(0.3, peak * 1.15), PSI_AXIS_MAX * 1.1)
        for (lo, hi), colour in zip(((0, 0.1), (0.1, 0.25), (0.25, top)), BAND_COLOURS, strict=True):
            ax.axhspan(lo, hi, color=colour, lw=0, zorder=0)
        for y in (0.1, 0.25):
            ax.axhline(y, color="#9aa5b1", lw=0.8, ls="--", zorder=1)
        x = np.arange(len(dates))
        for i, s in enumerate(series):
            colour = LINE_COLOURS[i % len(LINE_COLOURS)]
            shown = np.minimum(s, PSI_AXIS_MAX)
            ax.plot(x, shown, color=colour, lw=2.2 if i == 0 else 1.2, marker="o", ms=3.5 if i == 0 else 2.5, zorder=3)
            for xi, v in zip(x, s, strict=True):
                if np.isfinite(v) and v > PSI_AXIS_MAX:
                    ax.annotate(f"▲{v:.2f}", (xi, PSI_AXIS_MAX), xytext=(0, 3), textcoords="offset points",
                                ha="center", fontsize=6, color=colour)
        ax.set_ylim(0, top)
        return to_png(fig)


def line_chart(dates: list[str], values: np.ndarray, *, percent: bool = True) -> bytes:
    """One series over dates (e.g. the portfolio's mean PD), each point labelled."""
    with style():
        fig = new_figure(6.4, 2.2)
        ax = _axis(fig, len(dates), _months(dates))
        x = np.arange(len(dates))
        ax.plot(x, values, color=ACCENT, lw=2, marker="o", ms=4)
        for xi, v in zip(x, values, strict=True):
            if np.isfinite(v):
                ax.annotate(f"{100 * v:.2f}%" if percent else f"{v:.3f}", (xi, v), xytext=(0, 5),
                            textcoords="offset points", ha="center", fontsize=6.5, color=ACCENT)
        finite = values[np.isfinite(values)]
        if finite.size:
            lo, hi = float(finite.min()), float(finite.max())
            pad = 0.2 * ((hi - lo) or abs(hi) or 1.0)
            ax.set_ylim(max(lo - pad, 0) if percent else lo - pad, hi + 1.5 * pad)
        if percent:
            ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.1f}%")
        return to_png(fig)


def pair_chart(dates: list[str], expected: np.ndarray, realized: np.ndarray, *, percent: bool,
               band: np.ndarray | None = None) -> bytes:
    """Two series over dates: an estimate (dashed), with `band` (a half-width per date, e.g. two standard errors)
    shaded around it, and the realized figure (solid)."""
    from matplotlib.ticker import PercentFormatter

    with style():
        fig = new_figure(6.4, 2.2)
        ax = _axis(fig, len(dates), _months(dates))
        x = np.arange(len(dates))
        if band is not None:
            ax.fill_between(x, expected - band, expected + band, color=LINE_COLOURS[0], alpha=0.12, lw=0)
        ax.plot(x, expected, color=LINE_COLOURS[0], lw=1.6, ls="--", marker="o", ms=3)
        ax.plot(x, realized, color=LINE_COLOURS[1], lw=2, marker="s", ms=3.5)
        if percent:   # as many decimals as the axis's range needs (0.59% to 0.66% must not all read 0.6%)
            ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=None))
        return to_png(fig)


def grade_mix_chart(dates: list[str], shares: pd.DataFrame, colours: list[str]) -> bytes:
    """Stacked bars: the share of firms in each grade (columns of `shares`, best first) per date."""
    with style():
        fig = new_figure(6.4, 2.4)
        ax = _axis(fig, len(dates), _months(dates))
        bottom = np.zeros(len(dates))
        for grade, colour in zip(shares.columns, colours, strict=True):
            v = shares[grade].to_numpy(dtype=float)
            ax.bar(np.arange(len(dates)), v, bottom=bottom, color=colour, width=0.7, lw=0)
            bottom += v
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
        return to_png(fig)


def drivers_chart(names: list[str], contributions: np.ndarray) -> bytes:
    """Horizontal bars of the features' contributions to the change of the mean log-odds (red: risk added)."""
    n = len(names)
    with style():
        fig = new_figure(6.4, 0.45 + 0.24 * max(n, 1))
        ax = fig.add_subplot()
        y = np.arange(n)[::-1]
        colours = ["#c0392b" if c > 0 else "#2471a3" for c in contributions]
        ax.barh(y, contributions, color=colours, height=0.65)
        ax.set_yticks(y, names, fontsize=7.5)
        ax.axvline(0, color="#52606d", lw=0.8)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", color="#e4e7eb", lw=0.6)
        ax.set_axisbelow(True)
        span = float(np.max(np.abs(contributions))) if n else 0.0
        span = span if span > 0 else 1.0
        for yi, c in zip(y, contributions, strict=True):
            ax.annotate(f"{c:+.4f}", (c, yi), xytext=(3 if c >= 0 else -3, 0), textcoords="offset points",
                        ha="left" if c >= 0 else "right", va="center", fontsize=6.5)
        ax.set_xlim(-1.35 * span if (contributions < 0).any() else -0.05 * span,
                    1.35 * span if (contributions > 0).any() else 0.05 * span)
        return to_png(fig)
