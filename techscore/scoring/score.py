"""Batch scoring: stream a feature table through a PD model, with exact SHAP reason codes, losing no row.

Every input row ends in the scores file (PD, score, grade, top-k reason codes) or in the rejects file with its
reason; the counts always add up. Both files are written beside their final name and moved into place at the
end, so a killed run leaves no partial output and a re-run gives the same result.

One TreeSHAP pass per chunk gives both the SHAP values and the margin (the base value plus their sum), so reason
codes cost little more than the prediction itself. Text columns (grade, reason codes) are dictionary-encoded:
a chunk's reason codes are integer positions into the model's feature list, with no per-row Python.

>>> summary = score_file(PDModel.load("model"), "features.parquet", "scores.parquet")   # doctest: +SKIP
>>> summary.input == summary.scored + summary.rejected                                 # doctest: +SKIP
True
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from techscore.exceptions import ScoringError
from techscore.explain.reasons import top_k
from techscore.explain.treeshap import TreeShap
from techscore.model.pdmodel import PDModel
from techscore.progress import Progress
from techscore.scoring.guard import CATALOGUE_KEY, ID_COLUMN, InputSchema, RowCheck, check_columns, check_rows
from techscore.scoring.output import AtomicTableWriter
from techscore.scoring.stream import open_input

__all__ = ["DEFAULT_CHUNK_ROWS", "ChunkScorer", "ScoreSummary", "ScoredRows", "rejects_path_for", "score_file"]

DEFAULT_CHUNK_ROWS = 50_000
"""Rows per chunk: large enough to amortise per-chunk work, small enough to bound memory (see `score_file`)."""
ROW_COLUMN = "row"
REJECT_CODE_COLUMN = "reject_code"
REASON_COLUMN = "reject_reason"
VALIDATION_RULE_COLUMN = "validation_rule"
"""Optional input column (written by `techscore.scoring.raw`): the validation rule id that rejected the firm's own
raw row; a row carrying one is rejected with that id as its `reject_code`, whatever its features."""
VALIDATION_REASON_COLUMN = "validation_reason"


@dataclass(frozen=True)
class ScoreSummary:
    """Row accounting of one scoring run: `input == scored + rejected`, always.

    `rejected_by` counts the rejected rows by their first problem's code (`guard.REJECT_CODES`).
    """

    input: int
    scored: int
    rejected: int
    output: str
    rejects: str
    rejected_by: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ScoredRows:
    """`ChunkScorer.score_rows`: per row pd, score, grade; `reasons` (n, k) the features' positions in the
    model's feature list, strongest first (-1: an empty slot), and `shap` their SHAP values (NaN when empty)."""

    pd: np.ndarray
    score: np.ndarray
    grade: np.ndarray
    reasons: np.ndarray
    shap: np.ndarray


def reason_columns(k: int) -> list[str]:
    """Names of the reason columns: `reason_1`, `reason_1_shap`, ... `reason_k_shap`."""
    return [name for j in range(1, k + 1) for name in (f"reason_{j}", f"reason_{j}_shap")]


class ChunkScorer:
    """Checks and scores chunks of a feature table: PD, score, grade and the top-k reason codes.

    Parameters
    ----------
    model : the PD model.
    reasons : how many reason codes per row: the features whose SHAP values (log-odds) raise the risk most,
        strongest first; fewer when fewer features raise it (the slots left are null). 0: none, and no SHAP.
    require_id : whether rows must carry a `uscc` (the Spark path may score frames of features only).

    Attributes
    ----------
    schema : what the model takes (`InputSchema`).
    explainer : the `TreeShap` engine of the model's booster.
    k : reason codes per row (`reasons`, at most the number of features).
    """

    def __init__(self, model: PDModel, reasons: int = 5, *, require_id: bool = True) -> None:
        if int(reasons) < 0:
            raise ValueError(f"reasons must be a non-negative integer; got {reasons!r}.")
        self.model = model
        self.schema = InputSchema.from_model(model)
        self.k = min(int(reasons), len(model.feature_ids))
        self.require_id = require_id
        self.explainer = TreeShap(model.booster)
        self._grades = pa.array(model.master_scale.grades, pa.string())
        self._features = pa.array(model.feature_ids, pa.string())

    # --- schemas ---------------------------------------------------------------------------------------------
    def result_schema(self) -> pa.Schema:
        """The columns `score_matrix` returns: pd, score, grade, then the reason columns."""
        text = pa.dictionary(pa.int32(), pa.string())
        fields = [pa.field("pd", pa.float64()), pa.field("score", pa.float64()),
                  pa.field("grade", text)]
        for j in range(1, self.k + 1):
            fields += [pa.field(f"reason_{j}", text), pa.field(f"reason_{j}_shap", pa.float64())]
        return pa.schema(fields)

    def output_schema(self, head: list[pa.Field]) -> pa.Schema:
        """The scores file's columns: `row`, then `head` (`uscc` and kept columns), then the result columns."""
        return pa.schema([pa.field(ROW_COLUMN, pa.int64()), *head, *self.result_schema()])

    @staticmethod
    def rejects_schema(columns: list[pa.Field]) -> pa.Schema:
        """The rejects file's columns: `row`, `reject_code`, `reject_reason`, then the input columns as read."""
        return pa.schema([pa.field(ROW_COLUMN, pa.int64()), pa.field(REJECT_CODE_COLUMN, pa.string()),
                          pa.field(REASON_COLUMN, pa.string()), *columns])

    # --- scoring ---------------------------------------------------------------------------------------------
    def check(self, table: pa.Table) -> RowCheck:
        """The row checks of `table` (see `guard.check_rows`)."""
        return check_rows(table, self.schema, require_id=self.require_id)

    def score_rows(self, X: np.ndarray) -> ScoredRows:
        """PD, score, grade and reason codes of checked rows (`RowCheck.X`), as arrays (what `score_matrix`
        writes; the online service reads them directly)."""
        if self.k:
            phi = self.explainer.shap_values(X)
            margin = self.explainer.expected_value + phi.sum(axis=1)
            idx, vals = top_k(phi, self.k)
        else:
            margin = self.explainer.raw_margin(X)
            idx, vals = np.full((len(X), 0), -1, dtype=np.int64), np.full((len(X), 0), np.nan)
        pd_ = self.model.calibrator.predict(margin)
        return ScoredRows(pd_, self.model.score(pd_), self.model.grade(pd_), idx, vals)

    def score_matrix(self, X: np.ndarray) -> pa.Table:
        """PD, score, grade and reason codes of checked rows (`RowCheck.X`), as an Arrow table."""
        rows = self.score_rows(X)
        grade = pa.array(rows.grade, pa.string())
        columns = [pa.array(rows.pd, pa.float64()), pa.array(rows.score, pa.float64()), self._coded(grade)]
        for j in range(self.k):
            empty = rows.reasons[:, j] < 0
            codes = pa.array(rows.reasons[:, j].astype(np.int32), pa.int32(), mask=empty)
            columns += [pa.DictionaryArray.from_arrays(codes, self._features),
                        pa.array(rows.shap[:, j], pa.float64(), mask=empty)]
        return pa.Table.from_arrays(columns, schema=self.result_schema())

    def _coded(self, grade: pa.Array) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pc.index_in(grade, value_set=self._grades).cast(pa.int32()),
                                              self._grades)

    def score_table(self, table: pa.Table, rows: np.ndarray, head: list[str]) -> tuple[pa.Table, pa.Table]:
        """Check and score one chunk: (scores of the rows that pass, the others with code and reason).

        `rows` are the chunk's input row numbers; `head` the input columns copied to the scores (uscc, kept).
        """
        check = self.check(table)
        ok, X, codes, reasons = check.ok, check.X, check.codes, check.reasons
        if VALIDATION_RULE_COLUMN in table.column_names:
            ok, X, codes, reasons = _validation_rejects(table, ok, X, codes, reasons)
        good = table if ok.all() else table.filter(pa.array(ok))
        scores = self.score_matrix(X)
        arrays = [pa.array(rows[ok], pa.int64()), *(good.column(c) for c in head), *scores.columns]
        scored = pa.Table.from_arrays(arrays, names=[ROW_COLUMN, *head, *scores.column_names])
        bad = table.filter(pa.array(~ok))
        rejected = pa.Table.from_arrays(
            [pa.array(rows[~ok], pa.int64()), pa.array(codes, pa.string()), pa.array(reasons, pa.string()),
             *bad.columns],
            names=[ROW_COLUMN, REJECT_CODE_COLUMN, REASON_COLUMN, *bad.column_names],
        )
        return scored, rejected

    def score_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score a pandas frame row for row (the pyfunc and Spark path): the result columns plus `reject_code`
        and `reject_reason`; a rejected row has null results and says why, so no row is dropped silently."""
        check_columns(list(map(str, frame.columns)), None, self.schema, "the frame to score",
                      require_id=self.require_id)
        used = [c for c in (ID_COLUMN, *self.schema.features) if c in frame.columns]
        check = self.check(pa.Table.from_pandas(frame[used], preserve_index=False))
        n = len(frame)
        scores = self.score_matrix(check.X)
        out = pd.DataFrame(index=frame.index)
        ok = check.ok
        for name in scores.column_names:
            col = scores.column(name)
            values = col.to_pandas()
            if pa.types.is_dictionary(col.type):
                values = values.astype(object).where(values.notna(), None)
                full = np.full(n, None, dtype=object)
            else:
                full = np.full(n, np.nan)
            full[ok] = values.to_numpy()
            out[name] = full
        for name, values in ((REJECT_CODE_COLUMN, check.codes), (REASON_COLUMN, check.reasons)):
            full = np.full(n, None, dtype=object)
            full[~ok] = values
            out[name] = full
        return out


def _validation_rejects(table: pa.Table, ok: np.ndarray, X: np.ndarray, codes: np.ndarray, reasons: np.ndarray):
    """Merge the rows the raw-table validation rejected (`VALIDATION_RULE_COLUMN` set) into the row check: they
    are rejected with the rule id as code and the validation's reason, before any problem of their features."""
    rule = table.column(VALIDATION_RULE_COLUMN)
    pre = rule.is_valid().to_numpy(zero_copy_only=False)
    if not pre.any():
        return ok, X, codes, reasons
    n = len(ok)
    all_codes, all_reasons = np.full(n, None, dtype=object), np.full(n, None, dtype=object)
    all_codes[~ok], all_reasons[~ok] = codes, reasons
    all_codes[pre] = np.asarray(rule.to_pylist(), dtype=object)[pre]
    if VALIDATION_REASON_COLUMN in table.column_names:
        all_reasons[pre] = np.asarray(table.column(VALIDATION_REASON_COLUMN).to_pylist(), dtype=object)[pre]
    X = X[~pre[ok]]
    ok = ok & ~pre
    return ok, X, all_codes[~ok], all_reasons[~ok]


def rejects_path_for(output: Path) -> Path:
    """Default rejects file: beside the scores, `<name>.rejects.<ext>`."""
    return output.with_name(f"{output.stem}.rejects{output.suffix}")


def score_file(
    model: PDModel,
    input_path: str | Path,
    output: str | Path,
    *,
    rejects: str | Path | None = None,
    reasons: int = 5,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    keep: tuple[str, ...] | list[str] = (),
    check_catalogue: bool = True,
    progress: Progress | None = None,
) -> ScoreSummary:
    """Score a feature table (Parquet file or folder of parts, or CSV; one row per firm, a `uscc` column and the
    model's features) into a scores file and a rejects file.

    Parameters
    ----------
    model : the PD model.
    input_path : the feature table.
    output : the scores file; Parquet or CSV by its suffix. Columns: `row` (input row number, 1-based), `uscc`,
        the `keep` columns, `pd`, `score`, `grade`, `reason_1` (a feature id), `reason_1_shap` (its SHAP value in
        log-odds), ... `reason_k_shap`.
    rejects : the rejects file (default `<output stem>.rejects.<ext>`): `row`, `reject_code`, `reject_reason` and the
        input columns read.
    reasons : reason codes per row (0: none).
    chunk_rows : rows per chunk. Memory is bounded by the chunk, not the input: about
        `chunk_rows * (input row bytes + 24 * n_features + 64 * reasons)` plus the model's SHAP tables.
    keep : extra input columns copied to the scores (for example `as_of` or an application id).
    check_catalogue : refuse a feature table whose recorded catalogue version differs from the model's.
    progress : ``progress(rows read, rows in the input or 0 when unknown, "rows")`` after each chunk.

    Raises
    ------
    SchemaError : the table lacks model columns, has mistyped ones, or was computed with another catalogue.
    ScoringError : unreadable input, bad paths, or (never expected) row accounting that does not add up.
    """
    source = open_input(input_path)
    target = Path(output)
    rejects_path = Path(rejects) if rejects else rejects_path_for(target)
    for path in (target, rejects_path):
        if path.resolve() == source.path.resolve() or source.path.resolve() in path.resolve().parents:
            raise ScoringError(f"{path}: the output must not overwrite the input {source.path}.")
    if target.resolve() == rejects_path.resolve():
        raise ScoringError(f"{target}: the scores and the rejects must go to different files.")
    scorer = ChunkScorer(model, reasons)
    check_columns(source.columns, source.types, scorer.schema, str(source.path),
                  catalogue_version=source.metadata.get(CATALOGUE_KEY) if check_catalogue else None)
    keep = list(dict.fromkeys(keep))
    missing_keep = [c for c in keep if c not in source.columns]
    if missing_keep:
        raise ScoringError(f"{source.path}: columns to keep are not in the input: {', '.join(missing_keep[:5])}.")
    head = [ID_COLUMN, *[c for c in keep if c != ID_COLUMN]]
    read = list(dict.fromkeys([*head, *scorer.schema.features]))
    read += [c for c in (VALIDATION_RULE_COLUMN, VALIDATION_REASON_COLUMN) if c in source.columns and c not in read]
    types = source.types or {c: pa.string() for c in read}
    fields = [pa.field(c, types[c]) for c in read]
    n_in = n_scored = n_rejected = 0
    by_code: Counter[str] = Counter()
    with AtomicTableWriter(rejects_path, scorer.rejects_schema(fields)) as bad, \
            AtomicTableWriter(target, scorer.output_schema(fields[: len(head)])) as out:
        for chunk in source.chunks(chunk_rows, read):
            scored, rejected = scorer.score_table(chunk.table, chunk.rows, head)
            out.write(scored)
            bad.write(rejected)
            if chunk.malformed:
                bad.write(_malformed_table(chunk.malformed, bad.schema))
            n_in += chunk.n_input
            n_scored += scored.num_rows
            n_rejected += rejected.num_rows + len(chunk.malformed)
            by_code.update(rejected.column(REJECT_CODE_COLUMN).to_pylist())
            by_code["malformed_row"] += len(chunk.malformed)
            if progress:
                progress(n_in, source.rows or 0, "rows")
        expected = source.rows if source.rows is not None else n_in
        if n_in != n_scored + n_rejected or n_in != expected:  # never silently lose a row
            raise ScoringError(f"{source.path}: row accounting failed: {expected} rows in the input, {n_in} read, "
                               f"{n_scored} scored, {n_rejected} rejected.")
        bad.commit()
        out.commit()
    return ScoreSummary(n_in, n_scored, n_rejected, str(target), str(rejects_path),
                        {k: v for k, v in sorted(by_code.items()) if v})


def _malformed_table(malformed: list[tuple[int, str]], schema: pa.Schema) -> pa.Table:
    n = len(malformed)
    arrays = [pa.array([r for r, _ in malformed], pa.int64()), pa.array(["malformed_row"] * n, pa.string()),
              pa.array([reason for _, reason in malformed], pa.string())]
    arrays += [pa.nulls(n, f.type) for f in list(schema)[3:]]
    return pa.Table.from_arrays(arrays, schema=schema)
