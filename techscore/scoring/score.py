"""Batch scoring: stream a feature table through a PD model, with exact SHAP reason codes, losing no row.

Every input row ends in the output (PD, score, grade, top-k reason codes) or in the rejects file with its
reason; the counts always add up. Both files are written beside their final name and moved into place at the
end, so a killed run leaves no partial output and a re-run gives the same result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from techscore.exceptions import ScoringError
from techscore.explain.reasons import top_k
from techscore.explain.treeshap import TreeShap
from techscore.model.pdmodel import PDModel
from techscore.scoring.guard import ID_COLUMN, InputSchema, check_columns, split_rows
from techscore.scoring.output import AtomicTableWriter
from techscore.scoring.stream import count_rows, input_columns, iter_chunks

Progress = Callable[[int], None]
"""Called with the number of input rows just processed."""


@dataclass(frozen=True)
class ScoreSummary:
    """Row accounting of one scoring run: `input == scored + rejected`, always."""

    input: int
    scored: int
    rejected: int
    output: str
    rejects: str | None

    def as_dict(self) -> dict:
        return asdict(self)


def input_schema(model: PDModel) -> InputSchema:
    """The columns, kinds and category levels the model was trained on."""
    return InputSchema(
        features=tuple(model.feature_ids),
        categorical={f.id: tuple(str(c) for c in f.categories) for f in model.features if f.kind == "categorical"},
        catalogue_version=model.catalogue_version,
    )


class ChunkScorer:
    """Scores prepared feature rows: one SHAP pass gives both the margin (hence PD) and the reason codes."""

    def __init__(self, model: PDModel, reasons: int = 5) -> None:
        self.model = model
        self.reasons = int(reasons)
        self.explainer = TreeShap(model.booster)

    def __call__(self, rows: pd.DataFrame) -> pd.DataFrame:
        X = self.model.prepare(rows)
        phi = self.explainer.shap_values(X)
        margin = self.explainer.expected_value + phi.sum(axis=1)
        pd_ = self.model.calibrator.predict(margin)
        out = pd.DataFrame({
            "pd": pd_,
            "score": self.model.score(pd_),
            "grade": pd.array(self.model.grade(pd_), dtype="string"),
        })
        if self.reasons:
            idx, vals = top_k(phi, self.reasons)
            names = np.asarray(self.model.feature_ids + [""], dtype=object)
            for j in range(idx.shape[1]):
                out[f"reason_{j + 1}"] = pd.array(np.where(idx[:, j] >= 0, names[idx[:, j]], None), dtype="string")
                out[f"reason_{j + 1}_shap"] = vals[:, j]
        return out


def score_file(
    model: PDModel,
    input_path: str | Path,
    output: str | Path,
    *,
    rejects: str | Path | None = None,
    reasons: int = 5,
    chunk_rows: int = 100_000,
    keep: tuple[str, ...] = (),
    progress: Progress | None = None,
) -> ScoreSummary:
    """Score a feature table (Parquet or CSV, one row per firm, a `uscc` column and the model's features).

    Parameters
    ----------
    model : the PD model.
    input_path, output : Parquet or CSV files; the output format follows its suffix.
    rejects : where rejected rows go with their reason (default: beside the output, `<name>.rejects.<ext>`).
    reasons : how many reason codes (features raising the risk most) per row; 0 for none.
    chunk_rows : rows per chunk; memory is bounded by the chunk, not the input.
    keep : extra input columns copied to the output (for example `as_of` or an application id).
    """
    source, target = Path(input_path), Path(output)
    rejects_path = Path(rejects) if rejects else target.with_name(f"{target.stem}.rejects{target.suffix}")
    if target.resolve() == source.resolve():
        raise ScoringError(f"{target}: the output must not overwrite the input.")
    schema = input_schema(model)
    columns = input_columns(source)
    check_columns(columns, _column_types(source), schema, str(source))
    missing_keep = [c for c in keep if c not in columns]
    if missing_keep:
        raise ScoringError(f"{source}: columns to keep are not in the input: {', '.join(missing_keep)}.")
    scorer = ChunkScorer(model, reasons)
    n_in = n_scored = n_rejected = 0
    with AtomicTableWriter(target) as out, AtomicTableWriter(rejects_path) as bad:
        for chunk in iter_chunks(source, chunk_rows):
            good, rejected = split_rows(chunk.frame, schema, chunk.first_row)
            if len(good):
                scored = scorer(good)
                head = good[["row", ID_COLUMN]].reset_index(drop=True)
                kept = chunk.frame.iloc[good["row"].to_numpy() - chunk.first_row][list(keep)]
                out.write(pd.concat([head, kept.reset_index(drop=True), scored], axis=1))
            if len(rejected):
                bad.write(rejected.astype({c: "string" for c in rejected.columns if c not in ("row",)}))
            n_in += len(chunk.frame)
            n_scored += len(good)
            n_rejected += len(rejected)
            if progress:
                progress(len(chunk.frame))
        if n_in != n_scored + n_rejected:  # the guard's invariant; never silently lose a row
            raise ScoringError(f"row accounting failed: {n_in} in, {n_scored} scored, {n_rejected} rejected.")
        out.commit(empty_frame=_empty_output(keep, reasons))
        bad.commit(empty_frame=pd.DataFrame({"row": pd.Series(dtype="int64"), "reason": pd.Series(dtype="string")}))
    return ScoreSummary(n_in, n_scored, n_rejected, str(target), str(rejects_path))


def _empty_output(keep: tuple[str, ...], reasons: int) -> pd.DataFrame:
    cols = {"row": "int64", ID_COLUMN: "string", **{k: "string" for k in keep}, "pd": "float64", "score": "float64",
            "grade": "string"}
    for j in range(reasons):
        cols[f"reason_{j + 1}"] = "string"
        cols[f"reason_{j + 1}_shap"] = "float64"
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in cols.items()})


def _column_types(path: Path) -> dict[str, str] | None:
    """Arrow types of a Parquet input's columns (CSV has none until parsed: rows are checked one by one)."""
    if count_rows(path) is None:
        return None
    import pyarrow.parquet as pq

    first = sorted(path.glob("*.parquet"))[0] if path.is_dir() else path
    schema = pq.ParquetFile(first).schema_arrow
    return {field.name: str(field.type) for field in schema}
