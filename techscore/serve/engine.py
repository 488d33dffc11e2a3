"""Online scoring: JSON feature records through the batch scorer's own row checks and per-row scoring.

No second scoring path: records become the Arrow table batch scoring reads (`records.records_table`), are
checked by `ChunkScorer.check` (the same reject codes) and scored by `ChunkScorer.score_matrix` (the same pd,
score, grade and reason codes, to the bit). Reason sentences are the reports' (`explain.reasons.sentence`,
against the references saved with the model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from techscore.explain.reasons import sentence
from techscore.scoring.guard import ID_COLUMN
from techscore.scoring.score import ChunkScorer
from techscore.serve.model import ServedModel
from techscore.serve.records import FieldError, records_table

__all__ = ["Decision", "OnlineScorer", "ScoreOutcome"]


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


class OnlineScorer:
    """Scores feature records with `served`'s model and `reasons` reason codes per firm (at most the features)."""

    def __init__(self, served: ServedModel, reasons: int = 5) -> None:
        self.served = served
        self.chunk = ChunkScorer(served.model, reasons)
        self.metas = {m.id: m for m in served.model.features}
        self.position = {f: j for j, f in enumerate(served.model.feature_ids)}

    @property
    def max_reasons(self) -> int:
        return self.chunk.k

    def score(self, records: list[dict], reasons: int | None = None) -> ScoreOutcome:
        """Check and score `records` (dicts of `uscc` and the model's features); all or nothing: one bad record
        gives the errors of every bad record and no decision. `reasons`: how many to return (default all k)."""
        k = self.chunk.k if reasons is None else min(int(reasons), self.chunk.k)
        table, errors = records_table(records, self.chunk.schema)
        if errors:
            return ScoreOutcome(errors=errors)
        check = self.chunk.check(table)
        if not check.ok.all():
            bad = np.flatnonzero(~check.ok)
            errors = [FieldError(int(i), column or "", code, text)
                      for i, problems in zip(bad.tolist(), check.problems, strict=True)
                      for code, column, text in problems]
            return ScoreOutcome(errors=errors)
        result = self.chunk.score_matrix(check.X)
        pd_ = result.column("pd").to_pylist()
        score = result.column("score").to_pylist()
        grade = result.column("grade").to_pylist()
        slots = [(result.column(f"reason_{j}").to_pylist(), result.column(f"reason_{j}_shap").to_pylist())
                 for j in range(1, k + 1)]
        decisions = []
        for i, record in enumerate(records):
            reasons_i = [self._reason(code[i], shap[i], record, check.X[i]) for code, shap in slots
                         if code[i] is not None]
            decisions.append(Decision(str(record[ID_COLUMN]), pd_[i], score[i], grade[i], reasons_i))
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
            for col in ((refs.by,) if refs.by else ()) + tuple(refs.also_by):
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
