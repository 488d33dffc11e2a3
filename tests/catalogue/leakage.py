"""Mutations of a world that touch only what becomes known on or after a date D.

Each mutation takes the world's tables, D, a random generator and the point-in-time settings, and returns new
tables (never modifying its input), or None when the world holds no record it could change. Any feature as of D
must be the same before and after.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from techscore.sources.asof import last_known_year
from techscore.sources.schema import TABLES, TAX_GRADES, PointInTime

Tables = dict[str, pd.DataFrame]

OPTIONAL_COLUMNS: tuple[str, ...] = tuple(
    f"{t.name}.{c.name}" for t in TABLES.values() for c in t.columns if not c.required)
"""Every optional column of the contract, as ``table.column``: data may lack any of them."""


def blank(world: Tables, columns) -> Tables:
    """The world as data lacking `columns` (``table.column``) hold it: those columns all missing, as the loader
    types a column the file does not have."""
    out = dict(world)
    for name, column in (c.split(".", 1) for c in columns):
        if name in out and column in out[name].columns:
            frame = out[name]
            out[name] = frame.assign(**{column: frame[column].mask(pd.Series(True, index=frame.index))})
    return out


def mutate_without(mutation, world: Tables, absent, d: pd.Timestamp, rng: np.random.Generator,
                   pit: PointInTime) -> Tables | None:
    """`mutation` applied to data lacking the `absent` columns: what the mutation would have written in them is
    lost, as it would be in such data. None when the mutation finds nothing to change there."""
    changed = mutation(world, d, rng, pit)
    if changed is None:
        return None
    changed = blank(changed, absent)
    return changed if any(not changed[k].equals(world[k]) for k in world) else None


def _after(d: pd.Timestamp, rng: np.random.Generator, max_days: int = 900) -> pd.Timestamp:
    return d + pd.Timedelta(days=int(rng.integers(0, max_days)))


def _with(world: Tables, name: str, frame: pd.DataFrame) -> Tables:
    return {**world, name: frame}


def _add_row(world: Tables, name: str, rng: np.random.Generator, **values) -> Tables:
    frame = world[name]
    row = frame.iloc[[int(rng.integers(len(frame)))]].copy()
    for column, value in values.items():
        row[column] = pd.Series([value], index=row.index, dtype=frame[column].dtype)
    return _with(world, name, pd.concat([frame, row], ignore_index=True))


def _set(world: Tables, name: str, candidates: np.ndarray, rng: np.random.Generator, **values) -> Tables | None:
    idx = np.flatnonzero(candidates)
    if not len(idx):
        return None
    frame = world[name].copy()
    pos = int(rng.choice(idx))
    for column, value in values.items():
        current = frame.loc[frame.index[pos], column]
        new = value(current) if callable(value) else value
        if isinstance(new, pd.Timestamp) and new == current:
            new += pd.Timedelta(days=1)  # a real change, still on or after D
        frame.loc[frame.index[pos], column] = new
    return _with(world, name, frame)


def _yearly(name: str, known: Callable[[PointInTime], tuple[int, int]]):
    def add_later_year(world: Tables, d: pd.Timestamp, rng: np.random.Generator, pit: PointInTime) -> Tables:
        year = last_known_year(d, known(pit)) + int(rng.integers(1, 3))
        return _add_row(world, name, rng, year=year)

    def change_later_year(world: Tables, d: pd.Timestamp, rng: np.random.Generator, pit: PointInTime):
        frame = world[name]
        later = (frame["year"] > last_known_year(d, known(pit))).to_numpy(dtype=bool, na_value=False)
        column = str(rng.choice([c for c in frame.columns if c not in ("uscc", "year")]))
        dtype = frame[column].dtype

        def value(current):  # always a different value
            if pd.api.types.is_string_dtype(dtype):
                return str(rng.choice([g for g in TAX_GRADES if g != current]))
            base = 0 if pd.isna(current) else current
            if pd.api.types.is_integer_dtype(dtype):
                return int(base) + int(rng.integers(1, 1000))
            return float(base) + float(rng.normal(1e6, 1e5))

        return _set(world, name, later, rng, **{column: value})

    add_later_year.__name__ = f"add_later_{name}"
    change_later_year.__name__ = f"change_later_{name}"
    return add_later_year, change_later_year


def ip_filed_after(world, d, rng, pit):
    return _add_row(world, "ip_rights", rng, ip_id=f"NEW{int(rng.integers(1e9))}", filed=_after(d, rng),
                    granted=pd.NaT, status="pending", status_date=pd.NaT, pledged=False, pledged_date=pd.NaT)


def ip_granted_after(world, d, rng, pit):
    ip = world["ip_rights"]
    pending = ((ip["filed"] < d) & (ip["status"] == "pending")).to_numpy(dtype=bool, na_value=False)
    return _set(world, "ip_rights", pending, rng, granted=_after(d, rng), status="granted")


def ip_lapsed_after(world, d, rng, pit):
    ip = world["ip_rights"]
    ok = ((ip["granted"] < d) & (ip["status"] == "granted")).to_numpy(dtype=bool, na_value=False)
    status = str(rng.choice(["lapsed", "invalid", "transferred_out"]))
    return _set(world, "ip_rights", ok, rng, status=status, status_date=_after(d, rng))


def ip_pledged_after(world, d, rng, pit):
    ip = world["ip_rights"]
    ok = ((ip["granted"] < d) & ~ip["pledged"].fillna(False)).to_numpy(dtype=bool, na_value=False)
    return _set(world, "ip_rights", ok, rng, pledged=True, pledged_date=_after(d, rng))


def trade_after(world, d, rng, pit):
    date = _after(d, rng)
    return _add_row(world, "supply_chain", rng, invoice_id=f"NEW{int(rng.integers(1e9))}", date=date,
                    due_date=date + pd.Timedelta(days=60), paid_date=pd.NaT, amount=float(rng.lognormal(15, 1)))


def paid_after(world, d, rng, pit):
    sc = world["supply_chain"]
    unpaid = ((sc["date"] < d) & ~(sc["paid_date"] < d)).to_numpy(dtype=bool, na_value=False)
    return _set(world, "supply_chain", unpaid, rng, paid_date=_after(d, rng))


def loan_after(world, d, rng, pit):
    issued = _after(d, rng)
    return _add_row(world, "loans", rng, loan_id=f"NEW{int(rng.integers(1e9))}", issued=issued,
                    default_date=issued + pd.Timedelta(days=int(rng.integers(1, 400))))


def default_after(world, d, rng, pit):
    loans = world["loans"]
    ok = ((loans["issued"] < d) & ~(loans["default_date"] < d)).to_numpy(dtype=bool, na_value=False)
    return _set(world, "loans", ok, rng, default_date=_after(d, rng))


def certified_after(world, d, rng, pit):
    ent = world["enterprises"]
    cert = str(rng.choice(["tech_sme", "high_tech", "specialized_sme", "little_giant", "gazelle"]))
    ok = ~(ent[cert] < d).to_numpy(dtype=bool, na_value=False)
    return _set(world, "enterprises", ok, rng, **{cert: _after(d, rng)})


def firm_founded_after(world, d, rng, pit):
    from techscore.sources.uscc import complete

    code = complete([f"91110108MA{int(rng.integers(9_000_000, 9_999_999)):07d}"])[0]
    return _add_row(world, "enterprises", rng, uscc=code, founded=_after(d, rng))


MUTATIONS = (
    *_yearly("financials", lambda p: p.financials_known),
    *_yearly("innovation_indicators", lambda p: p.indicators_known),
    *_yearly("tax", lambda p: p.tax_known),
    ip_filed_after, ip_granted_after, ip_lapsed_after, ip_pledged_after,
    trade_after, paid_after, loan_after, default_after, certified_after, firm_founded_after,
)
"""Every kind of record known only on or after D."""
