"""Online scoring: JSON feature records through the batch scorer's own row checks and per-row scoring.

No second scoring path: records become the columns batch scoring reads (`records.record_columns`), are
checked by the batch scorer's row rules (`guard.check_values` value by value for a few records, else
`ChunkScorer.check` on the Arrow table: the same reject codes and texts) and scored by `ChunkScorer.score_rows`
(what `score_matrix` writes: the same pd, score, grade and reason codes, to the bit). Reason sentences are the
reports' (`explain.reasons.sentence`, against the references saved with the model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from techscore.explain.reasons import sentence
from techscore.scoring.guard import ID_COLUMN, RowCheck, check_values
from techscore.scoring.score import ChunkScorer
from techscore.serve.model import ServedModel
from techscore.serve.records import FieldError, record_columns, records_table

__all__ = ["FAST_RECORDS", "Decision", "OnlineScorer", "ScoreOutcome"]


@dataclass(frozen=True)
class Decision:
    """One firm's answer: pd, score, grade and its reasons (code, shap, text_zh, text_en), strongest first."""

    uscc: str
    pd: float
    score: float
    grade: str
    reasons: list[dict]

    def as_dict(self) -> dict:
        return {"uscc": self.uscc, "pd": self.pd, "score": self.score, "grade": self.grade, "reasons": self.reasons}


@dataclass
class ScoreOutcome:
    """Either every record's decision, or the field errors of the records that cannot be scored."""

    decisions: list[Decision] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)


FAST_RECORDS = 8
"""Requests of at most this many records are checked value by value (`guard.check_values`); larger ones build the
Arrow table batch scoring reads (`guard.check_rows`). Both evaluate the same rules to the same outcome; below a
few records the table costs more than the checks."""


class OnlineScorer:
    """Scores feature records with `served`'s model and `reasons` reason codes per firm (at most the features).

    `fast_records`: the most records checked value by value (see `FAST_RECORDS`; 0: always the Arrow table).
    """

    def __init__(self, served: ServedModel, reasons: int = 5, *, fast_records: int = FAST_RECORDS) -> None:
        self.served = served
        self.chunk = ChunkScorer(served.model, reasons)
        self.fast_records = int(fast_records)
        self.metas = {m.id: m for m in served.model.features}
        self.position = {f: j for j, f in enumerate(served.model.feature_ids)}
        self._codes = list(served.model.feature_ids)
        refs = served.references
        self._group_columns = (((refs.by,) if refs.by else ()) + tuple(refs.also_by)) if refs is not None else ()

    @property
    def max_reasons(self) -> int:
        return self.chunk.k

    def check(self, records: list[dict]) -> tuple[RowCheck | None, list[FieldError]]:
        """The row checks of `records` (None and the field errors when a record cannot be read as a row)."""
        schema = self.chunk.schema
        if len(records) <= self.fast_records:
            columns, errors = record_columns(records, schema)
            return (None, errors) if columns is None else (check_values(columns, schema), [])
        table, errors = records_table(records, schema)
        return (None, errors) if table is None else (self.chunk.check(table), [])

    def score(self, records: list[dict], reasons: int | None = None) -> ScoreOutcome:
        """Check and score `records` (dicts of `uscc` and the model's features); all or nothing: one bad record
        gives the errors of every bad record and no decision. `reasons`: how many to return (default all k)."""
        k = self.chunk.k if reasons is None else min(int(reasons), self.chunk.k)
        check, errors = self.check(records)
        if check is None:
            return ScoreOutcome(errors=errors)
        if not check.ok.all():
            bad = np.flatnonzero(~check.ok)
            errors = [FieldError(int(i), column or "", code, text)
                      for i, problems in zip(bad.tolist(), check.problems, strict=True)
                      for code, column, text in problems]
            return ScoreOutcome(errors=errors)
        rows = self.chunk.score_rows(check.X)
        pd_, score, grade = rows.pd.tolist(), rows.score.tolist(), rows.grade.tolist()
        positions, shaps = rows.reasons[:, :k].tolist(), rows.shap[:, :k].tolist()
        decisions = []
        for i, record in enumerate(records):
            reasons_i = [self._reason(self._codes[p], shap, record, check.X[i])
                         for p, shap in zip(positions[i], shaps[i], strict=True) if p >= 0]
            decisions.append(Decision(str(record[ID_COLUMN]), pd_[i], score[i], str(grade[i]), reasons_i))
        return ScoreOutcome(decisions=decisions)

    def _reason(self, code: str, shap: float, record: dict, x: np.ndarray) -> dict:
        """A reason with its sentences, as the firm report writes them (value against the learned reference)."""
        meta = self.metas[code]
        value = record.get(code)
        refs = self.served.references
        stat = refs.stats.get(code) if refs is not None else None
        reference, scope = math.nan, ""
        if refs is not None and stat is not None:
            group = None
            for col in self._group_columns:
                if col in record:
                    group = "" if record[col] is None else str(record[col])
                    break
            reference, scope = refs.lookup_one(code, group)
        if meta.kind != "categorical":
            value = float(x[self.position[code]])  # the number the model read
        by = refs.by if refs is not None else None
        return {"code": code, "shap": shap,
                "text_zh": sentence(meta, value, reference, scope, "zh", by=by, stat=stat),
                "text_en": sentence(meta, value, reference, scope, "en", by=by, stat=stat)}
