"""Normalising one raw text column as its contract declares, and saying where each value was changed.

Every change the validator makes to a value is one of `techscore.sources.schema.NORMALISATIONS`, applied in that
order (white space, width, case, synonym) and only when the column's contract lists it (`Column.changes`). The
result is the column as kept plus, per change, the rows it altered: each becomes a warning naming file, row,
column, the value as read and the value kept, so no value changes silently. Values the contract does not repair are
left as read and fail their own rule (a code with a zero-width space inside is not a code).

The work runs on the distinct values of the column, after a few whole-column kernels that find nothing to do in
the common case (clean data keep their buffers).

>>> import pyarrow as pa
>>> from techscore.sources.schema import TABLES
>>> kept, changes = normalise(pa.chunked_array([["A", " b", "是"]]), TABLES["ip_rights"].column("pledged"))
>>> kept.to_pylist(), [(rule, mask.tolist()) for rule, mask in changes]
(['A', 'b', 'true'], [('whitespace', [False, True, False]), ('synonym', [False, False, True])])
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from techscore.sources.schema import Column

INVISIBLE = (" \t\n\r\v\f\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
             "\u2028\u2029\u202f\u205f\u3000\u180e\u200b\u200c\u200d\u2060\ufeff")
"""White space and invisible characters removed around a value (``whitespace``): Unicode spaces, tab and line
breaks, no-break and ideographic spaces, zero-width spaces and joiners, word joiner, byte-order mark."""
_FULL_WIDTH = "[\\x{3000}\\x{ff01}-\\x{ff5e}]"
"""Full-width forms (and the ideographic space) that ``width`` makes ASCII."""
_TYPE_SPELLINGS = ("true", "false", "1", "0", "1.0", "0.0")
"""Spellings the bool type reads itself (in any case): not changes."""

Changes = list[tuple[str, np.ndarray]]
"""(rule, row mask) per change applied, in `NORMALISATIONS` order; only changes that altered a row are listed."""


def normalise(values: pa.ChunkedArray, column: Column) -> tuple[pa.ChunkedArray, Changes]:
    """The column as kept after the changes its contract declares, and the rows each change altered.

    `values` must be text (``string``); any other Arrow type is returned as is (a typed Parquet column has nothing
    to normalise). An empty value left after removing white space is missing.
    """
    changes = column.changes
    if not changes or not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return values, []
    if not len(values) or not _candidates(values, column):
        return values, []
    encoded = pc.dictionary_encode(values.combine_chunks())
    current = encoded.dictionary
    index = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    found: Changes = []
    for rule in ("whitespace", "width", "case", "synonym"):
        if rule not in changes:
            continue
        new = _STEPS[rule](current, column)
        if new is None:
            continue
        changed = pc.fill_null(pc.not_equal(new, current), False).to_numpy(zero_copy_only=False)
        if changed.any():
            rows = np.append(changed, False)[index]
            found.append((rule, rows))
            current = new
    if not found:
        return values, []
    current = pc.if_else(pc.equal(pc.utf8_length(current), 0), pa.scalar(None, current.type), current)
    return pa.chunked_array([current.take(encoded.indices)], type=values.type), found


def _candidates(values: pa.ChunkedArray, column: Column) -> bool:
    """Whether any value may need a change (cheap whole-column kernels, no regular expression on ASCII data; a
    False is certain, a True is checked in detail)."""
    changes = column.changes
    if "whitespace" in changes and _differs(values, pc.utf8_trim(values, characters=INVISIBLE)):
        return True
    if "width" in changes and not pc.all(pc.string_is_ascii(values)).as_py() and pc.any(
            pc.match_substring_regex(values, _FULL_WIDTH)).as_py():
        return True
    if "case" in changes and column.choices is None and column.kind != "bool" and _differs(
            values, pc.utf8_upper(values)):
        return True
    known = _known(column)
    if known is not None and ("case" in changes or "synonym" in changes):
        outside = pc.invert(pc.is_in(values, value_set=pa.array(known, type=values.type)))
        return bool(pc.any(pc.fill_null(outside, False)).as_py())
    return False


def _differs(values: pa.ChunkedArray, changed: pa.ChunkedArray) -> bool:
    return bool(pc.any(pc.fill_null(pc.not_equal(changed, values), False)).as_py())


def _known(column: Column) -> tuple[str, ...] | None:
    """The spellings that need no case or synonym change: the choices, or the bool type's own spellings."""
    if column.choices is not None:
        return column.choices
    if column.kind == "bool":
        return (*_TYPE_SPELLINGS, *(s.upper() for s in _TYPE_SPELLINGS), "True", "False")
    return None


def _whitespace(values: pa.Array, column: Column) -> pa.Array:
    return pc.utf8_trim(values, characters=INVISIBLE)


def _width(values: pa.Array, column: Column) -> pa.Array:
    wide = pc.fill_null(pc.match_substring_regex(values, _FULL_WIDTH), False)
    if not pc.any(wide).as_py():
        return values
    return pc.if_else(wide, pc.utf8_normalize(values, form="NFKC"), values)


def _case(values: pa.Array, column: Column) -> pa.Array | None:
    if column.choices is None:
        return None if column.kind == "bool" else pc.utf8_upper(values)
    return _lookup(values, [(c, c) for c in column.choices])


def _synonym(values: pa.Array, column: Column) -> pa.Array | None:
    return _lookup(values, column.spellings) if column.spellings else None


def _lookup(values: pa.Array, pairs: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> pa.Array:
    """Values whose lower case is a key of `pairs` (keys compared in lower case) replaced by its value."""
    keys = pa.array([k.lower() for k, _ in pairs], type=values.type)
    targets = pa.array([v for _, v in pairs], type=values.type)
    pos = pc.index_in(pc.utf8_lower(values), value_set=keys)
    return pc.if_else(pc.is_valid(pos), pc.take(targets, pc.fill_null(pos, 0)), values)


_STEPS = {"whitespace": _whitespace, "width": _width, "case": _case, "synonym": _synonym}
