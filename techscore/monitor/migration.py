"""Grade migration between two dates: how many firms moved from each grade to each other."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["NEW", "GONE", "migration_matrix"]

NEW = "(new)"
"""Row of firms scored only at the later date."""
GONE = "(gone)"
"""Column of firms scored only at the earlier date."""


def migration_matrix(before: pd.Series, after: pd.Series, grades: Sequence[str]) -> pd.DataFrame:
    """Counts of firms by grade at the earlier date (rows, best first, then `(new)`) and at the later date
    (columns, then `(gone)`). `before` and `after` hold each firm's grade, indexed by firm."""
    for name, s in (("earlier", before), ("later", after)):
        unknown = sorted(set(s.dropna().astype(str)) - set(grades))
        if unknown:
            raise ValueError(f"the {name} date has grades {unknown} outside the master scale {list(grades)}")
        if s.index.duplicated().any():
            raise ValueError(f"the {name} date repeats firm {s.index[s.index.duplicated()][0]!r}")
    joined = pd.concat({"from": before.astype("string"), "to": after.astype("string")}, axis=1)
    joined["from"] = joined["from"].fillna(NEW)
    joined["to"] = joined["to"].fillna(GONE)
    rows, cols = [*grades, NEW], [*grades, GONE]
    counts = pd.crosstab(pd.Categorical(joined["from"], categories=rows),
                         pd.Categorical(joined["to"], categories=cols), dropna=False)
    counts = counts.reindex(index=rows, columns=cols, fill_value=0).astype(int)
    counts.index.name, counts.columns.name = "from", "to"
    return counts
