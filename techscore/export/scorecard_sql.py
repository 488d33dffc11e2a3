"""The WOE scorecard as SQL: points per attribute, total points, PD and the top reason codes of each row.

Adds ``points``, ``pd`` and ``reason_1`` .. ``reason_k`` to each row of the feature table. Reason codes rank the
features by the points the row's bin costs against the feature's best bin (largest first, ties in feature order,
zero-cost features never listed), the same rule as the PMML export's ``pointsBelow``.
"""

from __future__ import annotations

from collections.abc import Sequence

from techscore.exceptions import ModelError
from techscore.export._sql import check_dialect, ident, input_column, num, sigmoid_sql, text
from techscore.export.card import CardTable, Characteristic
from techscore.export.pd_sql import table_ref

__all__ = ["card_sql"]


def card_sql(card: CardTable, *, table: str = "features", dialect: str = "duckdb", reasons: int = 3,
             keep: Sequence[str] | None = None) -> str:
    """SQL that scores every row of `table` with scorecard `card`, with `reasons` reason codes per row."""
    check_dialect(dialect)
    if reasons < 0:
        raise ModelError(f"reasons must be 0 or more; got {reasons}.")
    if not card.characteristics:
        raise ModelError("the scorecard has no characteristics to export.")
    inputs, per_feature, helpers = [], [], []
    for j, c in enumerate(card.characteristics):
        x = f"ts_x{j}"
        inputs.append(f"{input_column(f'ts_src.{ident(c.feature)}', c.kind, dialect)} AS {x}")
        per_feature.append(f"{_attribute_case(c, x, [num(p) for p in c.points], num(c.missing_points))} AS ts_p{j}")
        codes = [text(c.reason_code(i)) for i in range(len(c.points))]
        per_feature.append(f"{_attribute_case(c, x, codes, text(c.reason_code(None)))} AS ts_c{j}")
        helpers += [f"ts_x{j}", f"ts_p{j}", f"ts_c{j}", f"ts_k{j}", f"ts_r{j}"]
    n = len(card.characteristics)
    cost = [f"({num(c.best)} - ts_p{j})" for j, c in enumerate(card.characteristics)]
    total = " + ".join([num(card.initial_points), *(f"ts_p{j}" for j in range(n))])
    shifts = [f"CASE WHEN ts_x{j} IS NOT NULL AND ts_x{j} NOT IN ({', '.join(text(v) for v in c.categories)}) "
              f"THEN {num(c.unseen_pd_shift)} ELSE 0.0e0 END" for j, c in enumerate(card.characteristics)
              if c.kind == "categorical" and c.unseen_pd_shift]
    ranks = []
    for j in range(n):
        terms = [f"CASE WHEN ts_k{i} {'>=' if i < j else '>'} ts_k{j} THEN 1 ELSE 0 END" for i in range(n) if i != j]
        ranks.append(f"1 + {' + '.join(terms)} AS ts_r{j}" if terms else f"1 AS ts_r{j}")
    reason_cols = []
    for r in range(1, reasons + 1):
        whens = " ".join(f"WHEN ts_r{j} = {r} AND ts_k{j} > 0 THEN ts_c{j}" for j in range(n))
        reason_cols.append(f"CASE {whens} ELSE NULL END AS reason_{r}")
    outputs = ["points", "pd", *(f"reason_{r}" for r in range(1, reasons + 1))]
    if keep:
        passed = ", ".join([*(ident(k) for k in keep), *outputs])
    elif dialect == "duckdb":
        passed = f"* EXCLUDE ({', '.join(helpers)})"
    else:
        passed = "*"
    pd_points = " + ".join(["points", *shifts])
    z = f"(({num(card.offset)} - ({pd_points})) / {num(card.factor)})"
    return (
        f"-- techscore WOE scorecard: {n} characteristics, points, PD and {reasons} reason codes per row.\n"
        f"-- Input: table {table} with one column per feature id; missing values as NULL.\n"
        f"WITH ts_input AS (\n  SELECT ts_src.*,\n    " + ",\n    ".join(inputs) +
        f"\n  FROM {table_ref(table)} AS ts_src\n"
        f"), ts_attr AS (\n  SELECT ts_input.*,\n    " + ",\n    ".join(per_feature) + "\n  FROM ts_input\n"
        f"), ts_cost AS (\n  SELECT ts_attr.*, {total} AS points,\n    " +
        ",\n    ".join(f"{k} AS ts_k{j}" for j, k in enumerate(cost)) + "\n  FROM ts_attr\n"
        f"), ts_rank AS (\n  SELECT ts_cost.*, {sigmoid_sql(z)} AS pd,\n    " + ",\n    ".join(ranks) +
        "\n  FROM ts_cost\n"
        "), ts_reason AS (\n  SELECT ts_rank.*" + "".join(f",\n    {rc}" for rc in reason_cols) +
        f"\n  FROM ts_rank\n)\nSELECT {passed}\nFROM ts_reason\n"
    )


def _attribute_case(c: Characteristic, x: str, values: list[str], missing: str) -> str:
    """CASE over the bins of `c`, giving values[i] for bin i and `missing` for missing (or unseen) values."""
    if c.kind == "categorical":
        whens = [f"WHEN {x} IN ({', '.join(text(v) for v in g)}) THEN {values[i]}" for i, g in enumerate(c.groups)]
        return f"CASE {' '.join(whens)} ELSE {missing} END"
    whens = [f"WHEN {x} < {num(e)} THEN {values[i]}" for i, e in enumerate(c.edges)]
    return f"CASE WHEN {x} IS NULL THEN {missing} {' '.join(whens)} ELSE {values[-1]} END"
