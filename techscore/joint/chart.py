"""The comparison chart of a joint experiment: per bank, each variant's AUC with its interval, the AUC differences
of the comparisons with theirs, and the approval and bad rates at the bank's cut-off.

Banks are ordered from the most training loans to the fewest, so the panel of differences reads as "how much
does pooling give as the bank gets smaller". Agg canvas, no pyplot state (as `techscore.model.plots`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["comparison_chart"]

COLORS = ("#1f4e79", "#c55a11", "#548235", "#7030a0", "#808080")


def _banks(table: pd.DataFrame) -> list[str]:
    sizes = table.groupby("bank", sort=False)["bank_train_loans"].first()
    return list(sizes.sort_values(ascending=False, kind="stable").index)


def comparison_chart(table: pd.DataFrame, differences: pd.DataFrame, *, level: str = "95%") -> Figure:
    """Three panels: AUC by bank and variant (bars, interval whiskers); AUC difference by bank and comparison
    (points, interval whiskers, zero line); approval rate at the cut-off (bars) with the approved loans'
    observed bad rate (markers, right axis)."""
    fig = Figure(figsize=(15.0, 4.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax_auc, ax_diff, ax_cut = fig.subplots(1, 3)
    banks = _banks(table)
    variants = list(dict.fromkeys(table["variant"]))
    x = np.arange(len(banks))
    width = 0.8 / max(len(variants), 1)
    labels = [f"{b}\n({int(table.loc[table['bank'] == b, 'bank_train_loans'].iloc[0]):,} train)" for b in banks]
    rate_ax = ax_cut.twinx()
    for i, v in enumerate(variants):
        t = table[table["variant"] == v].set_index("bank").reindex(banks)
        pos = x - 0.4 + width * (i + 0.5)
        auc = t["auc"].to_numpy(dtype=float)
        err = np.vstack([auc - t["auc_lo"].to_numpy(dtype=float), t["auc_hi"].to_numpy(dtype=float) - auc])
        color = COLORS[i % len(COLORS)]
        ax_auc.bar(pos, auc, width, color=color, label=v)
        ax_auc.errorbar(pos, auc, yerr=err, fmt="none", ecolor="black", capsize=2, lw=0.8)
        ax_cut.bar(pos, t["approval_rate"].to_numpy(dtype=float), width, color=color, alpha=0.85, label=v)
        rate_ax.plot(pos, t["approved_bad_rate"].to_numpy(dtype=float), "o", color="black", ms=4)
    lo = np.nanmin(table["auc_lo"].to_numpy(dtype=float)) if table["auc_lo"].notna().any() else 0.5
    ax_auc.set(ylim=(max(0.0, min(0.5, lo - 0.05)), 1.04), ylabel="AUC on the bank's test loans",
               title=f"AUC with {level} bootstrap interval")
    ax_auc.set_xticks(x, labels, fontsize=8)
    ax_auc.axhline(0.5, color="grey", lw=0.6, ls=":")
    ax_auc.legend(fontsize=8, loc="upper center", ncol=len(variants), frameon=False)

    comparisons = list(dict.fromkeys(differences["comparison"]))
    cw = 0.8 / max(len(comparisons), 1)
    for i, c in enumerate(comparisons):
        d = differences[differences["comparison"] == c].set_index("bank").reindex(banks)
        pos = x - 0.4 + cw * (i + 0.5)
        mid = d["auc_diff"].to_numpy(dtype=float)
        err = np.vstack([mid - d["diff_lo"].to_numpy(dtype=float), d["diff_hi"].to_numpy(dtype=float) - mid])
        ax_diff.errorbar(pos, mid, yerr=err, fmt="o", color=COLORS[i % len(COLORS)], capsize=3, label=c)
    ax_diff.axhline(0.0, color="black", lw=0.8)
    ax_diff.set(ylabel="AUC difference (variant - baseline)", title=f"AUC gain with {level} paired interval")
    ax_diff.set_xticks(x, labels, fontsize=8)
    if comparisons:
        ax_diff.legend(fontsize=8)

    ax_cut.set(ylim=(0, 1.15), ylabel="approval rate at the bank's cut-off (bars)", title="At the bank's cut-off")
    rate_ax.set_ylabel("observed bad rate of approved (dots)")
    worst = np.nanmax(table["approved_bad_rate"].to_numpy(dtype=float)) if table["approved_bad_rate"].notna().any() else 0
    rate_ax.set_ylim(0, max(worst, 1e-3) * 1.35)  # room for the legend above the dots
    ax_cut.set_xticks(x, labels, fontsize=8)
    ax_cut.legend(fontsize=8, loc="upper center", ncol=len(variants), frameon=False)
    return fig
