"""Scoring firms by code: the codes checked as batch scoring checks them, their features read from the snapshot.

`firms_query` reads `{"firms": [...], "as_of": ...}` (a code that is not a GB 32100-2015 code is refused with
batch scoring's own reject code, `invalid_uscc`); `firm_records` turns the codes into the feature records
`POST /v1/score` takes, from one snapshot: the firm's latest row, or its row as of the date asked for. A firm the
snapshot does not hold is a 404 naming it; a firm it holds only at other dates is a 409 naming them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from techscore.scoring.guard import ID_COLUMN
from techscore.serve.problems import RequestProblem
from techscore.serve.records import FieldError
from techscore.serve.snapshot_store import FeatureSnapshot
from techscore.sources.uscc import valid_mask

__all__ = ["FirmsQuery", "check_as_of", "check_codes", "firm_records", "firms_query"]


@dataclass(frozen=True)
class FirmsQuery:
    """Firm codes in request order and the as-of date asked for (ISO; None: each firm's latest)."""

    codes: list[str]
    as_of: str | None = None


def check_codes(codes: list[str]) -> None:
    """Refuse (422) codes batch scoring would reject: `missing_uscc` for empty ones, `invalid_uscc` for the rest
    that fail GB 32100-2015 (18 characters of its alphabet, a verifying check character)."""
    valid = valid_mask(pd.Series(codes, dtype="string"))
    errors = []
    for i, (code, ok) in enumerate(zip(codes, valid.tolist(), strict=True)):
        if not code:
            errors.append(FieldError(i, ID_COLUMN, "missing_uscc", f"firm {i}: missing {ID_COLUMN}."))
        elif not ok:
            errors.append(FieldError(i, ID_COLUMN, "invalid_uscc",
                                     f"firm {i}: invalid uscc (GB 32100-2015): {code[:40]!r}."))
    if errors:
        raise RequestProblem(422, errors[0].code, f"{len(errors)} of {len(codes)} firm codes "
                                                  f"{'is' if len(errors) == 1 else 'are'} not a valid unified social "
                                                  "credit code; nothing was scored.", errors)


def check_as_of(value: object) -> str | None:
    """An as-of date as ISO `YYYY-MM-DD` (None when not given); 422 `wrong_type` for anything else."""
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise TypeError
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError) as exc:
        raise RequestProblem(422, "wrong_type", f"as_of: expected a date like 2024-06-30; got {value!r}.",
                             [FieldError(-1, "as_of", "wrong_type", "expected a date YYYY-MM-DD")]) from exc


def firms_query(doc: dict, max_records: int) -> FirmsQuery:
    """The firm codes and as-of date of a request body (already JSON), or a `RequestProblem` naming the field."""
    firms = doc.get("firms")
    if not isinstance(firms, list) or not firms:
        got = "nothing" if firms is None else (type(firms).__name__ if not isinstance(firms, list) else "[]")
        raise RequestProblem(422, "missing_field", f"firms: expected a non-empty list of firm codes; got {got}.",
                             [FieldError(-1, "firms", "missing_field", "expected a non-empty list of codes")])
    if len(firms) > max_records:
        raise RequestProblem(413, "too_many_records", f"firms: at most {max_records} per request; got {len(firms)}.")
    bad = [FieldError(i, ID_COLUMN, "wrong_type", f"firm {i}: expected a code as text; got {type(c).__name__}.")
           for i, c in enumerate(firms) if not isinstance(c, str)]
    if bad:
        raise RequestProblem(422, "wrong_type", "every firm must be a code (text).", bad)
    check_codes(firms)
    return FirmsQuery(list(firms), check_as_of(doc.get("as_of")))


def firm_records(query: FirmsQuery, snapshot: FeatureSnapshot) -> tuple[list[dict], list[str]]:
    """The feature records (with `uscc`) of the firms asked for and the as-of date of each, from `snapshot`."""
    records, dates, unknown, elsewhere = [], [], [], []
    for i, code in enumerate(query.codes):
        rows = snapshot.lookup(code)
        if not rows:
            unknown.append(FieldError(i, ID_COLUMN, "unknown_firm",
                                      f"firm {code} is not in feature snapshot {snapshot.snapshot_id}."))
            continue
        when = query.as_of or max(rows)
        if when not in rows:
            elsewhere.append(FieldError(i, "as_of", "as_of_unavailable",
                                        f"firm {code} has features as of {', '.join(sorted(rows))} in snapshot "
                                        f"{snapshot.snapshot_id}; none as of {when}."))
            continue
        records.append({**rows[when], ID_COLUMN: code})
        dates.append(when)
    if unknown:
        codes = ", ".join(query.codes[e.record] for e in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        raise RequestProblem(404, "unknown_firm", f"{len(unknown)} firm{'s' if len(unknown) > 1 else ''} not in "
                                                  f"feature snapshot {snapshot.snapshot_id}: {codes}.", unknown)
    if elsewhere:
        raise RequestProblem(409, "as_of_unavailable",
                             f"{len(elsewhere)} firm{'s have' if len(elsewhere) > 1 else ' has'} no features as of "
                             f"{query.as_of} in snapshot {snapshot.snapshot_id}: {elsewhere[0].message}", elsewhere)
    return records, dates
