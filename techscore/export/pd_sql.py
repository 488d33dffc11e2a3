"""The LightGBM PD model as one SQL query: trees, calibration, PD, score and grade.

The query reads a feature table (one row per firm, columns named by feature id) and adds ``raw_margin`` (the
booster's log-odds), ``pd``, ``score`` and ``grade``, computed exactly as `PDModel.predict_frame` does: trees summed
in order, Platt or isotonic calibration (numpy's `interp` formula), the score clipped, scaled and rounded half to
even like `numpy.round`, the grade from the master scale.

>>> sql = pd_model_sql(PDModel.from_mlflow("models:/techscore_demo_pd@champion"))   # doctest: +SKIP
>>> duckdb.sql(sql.replace("FROM features", "FROM 'features.parquet'"))            # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from techscore.exceptions import ModelError
from techscore.export._sql import check_dialect, ident, input_column, num, sigmoid_sql, text
from techscore.export._trees import tree_cases
from techscore.model.calibrate import EPS, Calibrator
from techscore.model.pdmodel import PDModel
from techscore.model.scale import PD_FLOOR
from techscore.specs import MasterScaleSpec, ScalingSpec

__all__ = ["OUTPUT_COLUMNS", "pd_model_sql", "table_ref"]

OUTPUT_COLUMNS = ("raw_margin", "pd", "score", "grade")


def table_ref(table: str) -> str:
    """A table name, possibly `schema.table`, with each part quoted as needed."""
    return ".".join(ident(part) for part in table.split("."))


def pd_model_sql(model: PDModel, *, table: str = "features", dialect: str = "duckdb",
                 keep: Sequence[str] | None = None, source: str = "PD model") -> str:
    """SQL that scores every row of `table` with `model`.

    `keep`: input columns to pass through (default: all of them). `dialect="duckdb"` also treats NaN as missing.
    """
    check_dialect(dialect)
    inputs, columns, categories = [], [], {}
    for i, f in enumerate(model.features):
        alias = f"ts_x{i}"
        if f.kind == "categorical":
            categories[i] = [str(c) for c in f.categories]
        inputs.append(f"{input_column(f'ts_src.{ident(f.id)}', f.kind, dialect)} AS {alias}")
        columns.append(alias)
    _check_categories(model, categories, source)
    trees = tree_cases(model.booster, columns, categories, source=source)
    margin = "\n    + ".join(f"({t})" for t in trees) if trees else "0.0e0"
    aliases = ", ".join(columns)
    if keep:
        passed = ", ".join(ident(k) for k in keep)
    else:
        passed = f"* EXCLUDE ({aliases})" if dialect == "duckdb" else "*"
    return (
        f"-- techscore PD model: {len(trees)} LightGBM trees, {model.calibrator.method} calibration, "
        f"score and master-scale grade.\n"
        f"-- Input: table {table} with one column per feature id; missing values as NULL.\n"
        f"WITH ts_input AS (\n  SELECT ts_src.*,\n    " + ",\n    ".join(inputs) +
        f"\n  FROM {table_ref(table)} AS ts_src\n"
        f"), ts_margin AS (\n  SELECT ts_input.*, (\n    {margin}\n  ) AS raw_margin\n  FROM ts_input\n"
        f"), ts_pd AS (\n  SELECT ts_margin.*, {calibration_sql(model.calibrator, 'raw_margin')} AS pd\n"
        f"  FROM ts_margin\n"
        f"), ts_score AS (\n  SELECT ts_pd.*, {score_sql('pd', model.scaling)} AS score,\n"
        f"    {grade_sql('pd', model.master_scale)} AS grade\n  FROM ts_pd\n"
        f")\nSELECT {passed}" + (", raw_margin, pd, score, grade" if keep else "") + "\nFROM ts_score\n"
    )


def _check_categories(model: PDModel, categories: dict[int, list[str]], source: str) -> None:
    stored = model.booster.dump_model().get("pandas_categorical") or []
    if stored and len(stored) == len(categories):
        for (i, cats), booster_cats in zip(sorted(categories.items()), stored, strict=True):
            if [str(c) for c in booster_cats] != cats:
                raise ModelError(f"{source}: feature '{model.feature_ids[i]}' has categories {cats[:5]} in the "
                                 f"model file but {list(booster_cats)[:5]} in the booster.")


def calibration_sql(calibrator: Calibrator, margin: str) -> str:
    """PD from the raw margin, as `Calibrator.predict`."""
    method, params = calibrator.method, calibrator.params
    if method == "none":
        return sigmoid_sql(margin)
    if method == "platt":
        z = f"({num(params['a'], where='Platt slope')} * {margin} + {num(params['b'], where='Platt intercept')})"
        return sigmoid_sql(z)
    if method == "isotonic":
        return _isotonic_sql(np.asarray(params["x"], dtype=np.float64), np.asarray(params["y"], dtype=np.float64),
                             margin)
    raise ModelError(f"calibration method {method!r} cannot be exported to SQL.")


def _isotonic_sql(x: np.ndarray, y: np.ndarray, m: str) -> str:
    """`clip(numpy.interp(m, x, y), EPS, 1 - EPS)`: constant outside [x0, xn], `slope * (m - x_j) + y_j` inside."""
    if len(x) == 0 or len(x) != len(y) or np.any(np.diff(x) < 0):
        raise ModelError(f"isotonic calibrator: expected increasing thresholds x with one y each; got {len(x)} x "
                         f"and {len(y)} y.")
    parts = [f"WHEN {m} < {num(x[0])} THEN {num(y[0])}"]
    for j in range(len(x) - 1):
        if x[j + 1] == x[j]:
            continue
        slope = (y[j + 1] - y[j]) / (x[j + 1] - x[j])
        parts.append(f"WHEN {m} < {num(x[j + 1])} THEN {num(slope)} * ({m} - {num(x[j])}) + {num(y[j])}")
    parts.append(f"ELSE {num(y[-1])}")
    interp = "CASE " + "\n      ".join(parts) + " END"
    return f"LEAST(GREATEST({interp}, {num(EPS)}), {num(1 - EPS)})"


def score_sql(p: str, scaling: ScalingSpec) -> str:
    """`pd_to_score`: PD clipped to [1e-6, 1 - 1e-6], points to double the odds, rounded half to even."""
    clipped = f"LEAST(GREATEST({p}, {num(PD_FLOOR)}), {num(1 - PD_FLOOR)})"
    factor = float(scaling.pdo / np.log(2.0))
    raw = (f"({num(scaling.base_score)} + {num(factor)} * (LN((1.0e0 - {clipped}) / {clipped}) - "
           f"{num(float(np.log(scaling.base_odds)))}))")
    return round_half_even(raw, scaling.decimals)


def round_half_even(expr: str, decimals: int) -> str:
    """`numpy.round(expr, decimals)`: ``rint(expr * 10**d) / 10**d`` with ties to even."""
    scale = num(float(10.0 ** decimals))
    s = f"({expr} * {scale})" if decimals else expr
    f = f"FLOOR({s})"
    rint = (f"CASE WHEN {s} - {f} > 0.5e0 THEN {f} + 1.0e0 WHEN {s} - {f} < 0.5e0 THEN {f} "
            f"WHEN MOD({f}, 2.0e0) = 0.0e0 THEN {f} ELSE {f} + 1.0e0 END")
    return f"({rint}) / {scale}" if decimals else f"({rint})"


def grade_sql(p: str, master: MasterScaleSpec) -> str:
    """`pd_to_grade`: the first grade whose upper PD bound the PD does not exceed."""
    if not math.isclose(master.pd_upper[-1], 1.0):
        raise ModelError(f"master scale: the last pd_upper must be 1; got {master.pd_upper[-1]}.")
    whens = " ".join(f"WHEN {p} <= {num(u)} THEN {text(g)}"
                     for g, u in zip(master.grades[:-1], master.pd_upper[:-1], strict=True))
    return f"CASE WHEN {p} IS NULL THEN NULL {whens} ELSE {text(master.grades[-1])} END"
