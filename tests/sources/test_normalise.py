"""One policy for every change of a value: each declared change is a warning naming file, row, column, the value as
read and the value kept; anything the contract does not repair is rejected by the column's own rule."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from techscore.sources import validate
from techscore.sources._normalise import INVISIBLE
from techscore.sources.schema import BOOL_SYNONYMS, NORMALISATIONS, TABLES
from tests.sources.conftest import as_text, make_world, write_text

FULL = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}


def wide(text: str) -> str:
    return "".join(FULL.get(ch, ch) for ch in text)


def with_letters(world) -> int:
    """A row of enterprises whose firm code holds a letter (so its case can change)."""
    return next(i for i, code in enumerate(world["enterprises"]["uscc"]) if re.search("[A-Z]", code))


STATUS_ZH = {"pending": "审查中", "granted": "授权"}
CASES = [
    # table, 0-based row, column, value as read (callable: of the text world and row), rule, value kept
    ("enterprises", 1, "uscc", lambda w, r: w["enterprises"].loc[r, "uscc"] + "\u00a0", "whitespace", None),
    ("enterprises", 2, "uscc", lambda w, r: "\u200b" + w["enterprises"].loc[r, "uscc"], "whitespace", None),
    ("enterprises", 3, "uscc", lambda w, r: "\ufeff" + w["enterprises"].loc[r, "uscc"], "whitespace", None),
    ("enterprises", 4, "uscc", lambda w, r: "\t" + w["enterprises"].loc[r, "uscc"] + "\u3000", "whitespace", None),
    ("enterprises", 5, "uscc", lambda w, r: wide(w["enterprises"].loc[r, "uscc"]), "width", None),
    ("enterprises", with_letters, "uscc", lambda w, r: w["enterprises"].loc[r, "uscc"].lower(), "case", None),
    ("enterprises", 0, "industry", "c39", "case", "C39"),
    ("enterprises", 0, "industry", "\uff23\uff13\uff19", "width", "C39"),
    ("enterprises", 0, "industry", " C39\u3000", "whitespace", "C39"),
    ("enterprises", 0, "region", "\uff14\uff14\uff10\uff13\uff10\uff10", "width", "440300"),
    ("enterprises", 0, "name", " 深圳测试科技有限公司\u200b", "whitespace", "深圳测试科技有限公司"),
    ("enterprises", 0, "chain_leader", "\u3000true", "whitespace", "true"),
    ("enterprises", 0, "chain_leader", "是", "synonym", "true"),
    ("ip_rights", 0, "pledged", "否", "synonym", "false"),
    ("ip_rights", 1, "pledged", "Yes", "synonym", "true"),
    ("ip_rights", 0, "kind", "Invention", "case", "invention"),
    ("ip_rights", 0, "kind", "发明专利", "synonym", "invention"),
    ("ip_rights", 0, "kind", "invention\t", "whitespace", "invention"),
    ("ip_rights", 0, "status", lambda w, r: STATUS_ZH[w["ip_rights"].loc[r, "status"]], "synonym",
     lambda w, r: w["ip_rights"].loc[r, "status"]),
    ("tax", 0, "grade", "b", "case", "B"),
    ("tax", 0, "grade", "\uff22", "width", "B"),
    ("tax", 0, "grade", "B级", "synonym", "B"),
    ("financials", 0, "revenue", " 1200 ", "whitespace", "1200"),
    ("financials", 0, "revenue", "\uff11\uff12\uff10\uff10", "width", "1200"),
    ("loans", 0, "issued", "2021-03-01\u00a0", "whitespace", "2021-03-01"),
]


@pytest.mark.parametrize(("table", "row", "column", "value", "rule", "kept"), CASES,
                         ids=[f"{c[4]}-{c[0]}.{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_each_declared_change_is_a_warning_with_the_value_read_and_kept(tmp_path, fmt, table, row, column, value,
                                                                        rule, kept) -> None:
    text = {name: as_text(frame) for name, frame in make_world().items()}
    row = row(text) if callable(row) else row
    original = text[table].loc[row, column]
    value = value(text, row) if callable(value) else value
    kept = (kept(text, row) if callable(kept) else kept) or original
    text[table].loc[row, column] = value
    result = validate(write_text(text, tmp_path, fmt))
    p = result.problems
    hit = p[(p["table"] == table) & (p["row"] == row + 1) & (p["column"] == column) & (p["rule"] == rule)]
    assert len(hit) == 1, p
    warning = hit.iloc[0]
    assert warning["severity"] == "warning" and warning["file"] == str(tmp_path / f"{table}.{fmt}")
    assert warning["value"] == value and warning["kept"] == kept
    assert f"kept '{kept}'" in warning["message"]
    for ch in set(value) & (set(INVISIBLE) - {" "}):  # the message shows what it removed
        assert f"<U+{ord(ch):04X}>" in warning["message"]
    assert result.ok, p[p["severity"] == "error"]
    assert result.counts.loc[table, "rejected"] == 0
    valid = result.valid[table][column].iloc[row]
    expected = result.valid[table][column].dtype.type(kept) if column == "revenue" else kept
    assert (str(valid).lower() if column in ("chain_leader", "pledged") else
            str(valid.date()) if column == "issued" else valid) == expected


REJECTED = [
    # what the contract does not repair: the value fails its own rule and the row is rejected
    ("enterprises", 1, "uscc", lambda c: c[:6] + "\u200b" + c[6:], "uscc_format"),
    ("enterprises", 1, "region", lambda c: "440\u00a0300", "region"),
    ("ip_rights", 0, "kind", lambda c: "in\u200bvention", "choice"),
    ("tax", 0, "grade", lambda c: "B\u200bB", "choice"),
    ("ip_rights", 0, "pledged", lambda c: "maybe", "type"),
    ("financials", 0, "revenue", lambda c: "1 200", "type"),
]


@pytest.mark.parametrize(("table", "row", "column", "value", "rule"), REJECTED,
                         ids=[f"{c[4]}-{c[0]}.{c[2]}" for c in REJECTED])
def test_what_the_contract_does_not_repair_is_rejected(tmp_path, table, row, column, value, rule) -> None:
    text = {name: as_text(frame) for name, frame in make_world().items()}
    value = value(text[table].loc[row, column])
    text[table].loc[row, column] = value
    result = validate(write_text(text, tmp_path, "csv"))
    p = result.problems
    hit = p[(p["table"] == table) & (p["row"] == row + 1) & (p["column"] == column)]
    assert hit["rule"].tolist() == [rule] and hit["severity"].iloc[0] == "error" and hit["value"].iloc[0] == value
    assert row + 1 in set(result.rejects[table]["row"])


def test_type_spellings_of_true_and_false_are_not_changes(tmp_path) -> None:
    text = {name: as_text(frame) for name, frame in make_world().items()}
    text["ip_rights"]["pledged"] = ["TRUE", "False", "1", "0", "true", "FALSE"] * (len(text["ip_rights"]) // 6)
    result = validate(write_text(text, tmp_path, "csv"))
    assert result.ok and len(result.problems) == 0
    assert result.valid.ip_rights["pledged"].tolist()[:4] == [True, False, True, False]


def test_every_change_rule_is_a_warning_described_in_the_contract() -> None:
    from techscore.sources.validation import RULES

    assert set(NORMALISATIONS) <= set(RULES)
    for column in (c for t in TABLES.values() for c in t.columns):
        assert set(column.changes) <= set(NORMALISATIONS), column.name


# -- no silent path: a property over any cell ---------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?", re.ASCII)
_BOOL = {"true": True, "1": True, "1.0": True, "false": False, "0": False, "0.0": False}


def _as_read(raw: str | None, kind: str):
    """The value a cell holds read strictly by its type, nothing changed; `_UNREADABLE` if it cannot be."""
    if raw is None or raw == "":
        return None
    if kind in ("str", "uscc", "category"):
        return raw
    if kind == "bool":
        return _BOOL.get(raw.lower(), _UNREADABLE)
    if kind in ("int", "float", "money"):
        return float(raw) if _NUMBER.fullmatch(raw) else _UNREADABLE
    if kind == "date":
        return pd.Timestamp(raw) if _DATE.fullmatch(raw) else _UNREADABLE
    raise AssertionError(kind)


_UNREADABLE = object()


def _same(read, kept) -> bool:
    if read is None or (not isinstance(read, str) and read is not _UNREADABLE and pd.isna(read)):
        return pd.isna(kept)
    if read is _UNREADABLE or pd.isna(kept):
        return False
    if isinstance(read, float):
        return float(kept) == read
    return read == kept


_WORLD = {name: as_text(frame) for name, frame in make_world(n_firms=6, seed=3).items()}
_COLUMNS = [(t, c.name) for t, frame in _WORLD.items() for c in TABLES[t].columns if c.name in frame.columns]
_DECORATION = st.text(alphabet=INVISIBLE, max_size=2)
_CASES = st.sampled_from([str, str.lower, str.upper, str.title, wide])


@st.composite
def _cell(draw):
    table, column = draw(st.sampled_from(_COLUMNS))
    frame = _WORLD[table]
    row = draw(st.integers(0, len(frame) - 1))
    spellings = [k for k, _ in TABLES[table].column(column).spellings] or [""]
    base = draw(st.one_of(
        st.just(frame.loc[row, column] or ""),
        st.sampled_from(spellings),
        st.sampled_from([k for k, _ in BOOL_SYNONYMS] + ["TRUE", "1.0", "2020-01-01", "12", "A", "pending"]),
        st.text(alphabet="aB1-. \u00a0\u200b\uff21\uff11是否发明级", max_size=6),
    ))
    value = draw(_DECORATION) + draw(_CASES)(base) + draw(_DECORATION)
    return table, column, row, value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells=st.lists(_cell(), min_size=1, max_size=4))
def test_no_value_is_kept_changed_without_a_warning(cells) -> None:
    world = {name: frame.copy() for name, frame in _WORLD.items()}
    for table, column, row, value in cells:
        world[table].loc[row, column] = value
    result = validate(world)
    warned = result.problems[result.problems["severity"] == "warning"]
    for table, column, row, _ in {(t, c, r, None) for t, c, r, _ in cells}:
        if (row + 1) in set(result.rejects[table]["row"]):
            continue  # not kept
        raw = world[table].loc[row, column]
        rejected_before = int(np.sum(result.rejects[table]["row"].to_numpy() < row + 1))
        kept = result.valid[table][column].iloc[row - rejected_before]
        if _same(_as_read(raw, TABLES[table].column(column).kind), kept):
            continue
        here = warned[(warned["table"] == table) & (warned["row"] == row + 1) & (warned["column"] == column)]
        assert len(here) >= 1, (table, row, column, raw, kept)
        assert (here["value"] == raw).all() and here["kept"].notna().all() | pd.isna(kept)
