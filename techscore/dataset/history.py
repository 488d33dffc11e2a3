"""A firm's key figures over the years before a date, beside its industry peers' quartiles at the same dates.

The firm report draws these; they are features computed point in time by the catalogue (as of yearly dates), so
they are worked out here, beside the other datasets, not in the report layer.

>>> yearly_dates("2024-06-30", 3)[0].date().isoformat()
'2022-06-30'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from techscore.catalogue import Catalogue
from techscore.catalogue.meta import FeatureMeta
from techscore.dataset.build import featurize
from techscore.sources.asof import as_tables
from techscore.sources.industry import section_of

__all__ = ["HISTORY_COLUMNS", "HISTORY_YEARS", "KEY_FIGURES", "key_figure_history", "yearly_dates"]

KEY_FIGURES: tuple[str, ...] = ("rd_intensity", "ip_invention_in_force", "inno_points", "sc_sales_12m")
"""Features drawn over time on a firm's page (those the catalogue has): R&D intensity, invention patents in force,
innovation points, sales over the last 12 months."""
HISTORY_YEARS = 4
"""Yearly as-of dates shown, the last being the report's as-of date."""
HISTORY_COLUMNS: tuple[str, ...] = ("uscc", "feature", "as_of", "value", "peer_q25", "peer_median", "peer_q75",
                                    "peer_n")


def yearly_dates(as_of: Any, years: int = HISTORY_YEARS) -> list[pd.Timestamp]:
    """`years` as-of dates a year apart, ending at `as_of`."""
    d = pd.Timestamp(as_of).normalize()
    return [d - pd.DateOffset(years=years - 1 - i) for i in range(years)]


def key_figure_history(
    sources: Any,
    firms: pd.DataFrame,
    catalogue: Catalogue,
    *,
    ids: Sequence[str] = KEY_FIGURES,
    years: int = HISTORY_YEARS,
) -> tuple[pd.DataFrame, list[FeatureMeta]]:
    """Each firm's key figures at yearly as-of dates, with its industry peers' quartiles at the same dates.

    Parameters
    ----------
    sources : raw tables (`techscore.sources.load.load_sources`) — the features are computed point-in-time.
    firms : columns uscc and as_of (the last date of each firm's series) and section (its industry section).
    catalogue : the catalogue of the run's workspace.
    ids : features to show; those the catalogue lacks are left out.

    Returns
    -------
    (history, metas): history has the columns `HISTORY_COLUMNS`. Peers are all firms of the same section known at
    that date (the platform cohort, not the scored batch).
    """
    ids = [i for i in ids if i in catalogue]
    metas = [catalogue[i] for i in ids]
    cols = list(HISTORY_COLUMNS)
    if not ids or firms.empty:
        return pd.DataFrame(columns=cols), metas
    enterprises = as_tables(sources)["enterprises"].drop_duplicates("uscc").set_index("uscc")
    section = section_of(enterprises["industry"].astype("string")).astype("string")
    wanted = firms.assign(as_of=pd.to_datetime(firms["as_of"]).dt.normalize())
    dates = sorted({d for a in wanted["as_of"].unique() for d in yearly_dates(a, years)})
    parts = []
    for d in dates:
        frame = featurize(sources, None, d, ids=ids, catalogue=catalogue)
        sec = section.reindex(frame.index)
        q = frame.groupby(sec.to_numpy(), dropna=True).quantile([0.25, 0.5, 0.75])
        n = frame.groupby(sec.to_numpy(), dropna=True).count()
        mine = wanted[wanted["as_of"].map(lambda a, d=d: d in yearly_dates(a, years))]
        for row in mine.itertuples(index=False):
            s = getattr(row, "section", None) or (section.get(row.uscc) if row.uscc in section.index else None)
            for fid in ids:
                value = frame.at[row.uscc, fid] if row.uscc in frame.index else np.nan
                qs = [q.at[(s, p), fid] if s is not None and (s, p) in q.index else np.nan for p in (0.25, 0.5, 0.75)]
                parts.append((row.uscc, fid, d, _float(value), *map(_float, qs),
                              int(n.at[s, fid]) if s is not None and s in n.index else 0))
    return pd.DataFrame(parts, columns=cols), metas


def _float(v: object) -> float:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    return f if math.isfinite(f) else float("nan")
