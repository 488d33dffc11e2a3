"""The few-record path (values checked one by one) gives exactly what the Arrow table path gives.

Requests of up to `engine.FAST_RECORDS` records skip the Arrow table: `guard.check_values` evaluates the batch
row rules value by value. Over a thousand records, clean and broken in every way the checks know (NaN,
infinities, numbers beyond float range, missing keys, lists and objects, text that is or is not a number, booleans,
unknown and numeric categories, wrong check characters, codes that are missing, empty or numbers, rows without any
feature value, several problems at once), alone and in small groups mixing text and numbers in one column, both
paths give the same row checks (bits of the matrix, codes, texts), the same decisions and errors, and through the
service the same answers and audit rows.
"""

from __future__ import annotations

import json
import math
import sqlite3
import struct

import numpy as np
import pytest
from fastapi.testclient import TestClient

from techscore.scoring.guard import check_rows, check_values
from techscore.serve import OnlineScorer, ServiceConfig, create_app
from techscore.serve.records import record_columns, records_table
from tests.serve.conftest import as_records

NUMERIC = ["rd_intensity_3y", "ip_invention_in_force", "inno_points", "fin_leverage", "sc_customer_hhi",
           "fin_revenue_latest", "profile_age_years", "profile_high_tech"]
CATEGORY = "profile_industry_section"
BROKEN_VALUES = [math.nan, math.inf, -math.inf, 10**400, -(10**400), [1, 2], {"a": 1}, "0.5", " 1e3 ", "abc", "",
                 "true", "FALSE", "nan", "inf", "-Infinity", True, False, 0, -0.0, 5e-324, 1.7976931348623157e308,
                 "1" * 60, None]
BROKEN_CATEGORIES = ["Q", "", "m", 3, 2.5, True, None, [1], "M ", "C"]
BROKEN_CODES = [None, "", 91440300123456789, "short", "91110108M80794078Z", "91110108M8079407", True, "Ｍ" * 18]


def _variants(good: list[dict], seed: int) -> list[dict]:
    """Every broken value in every field, on real records; whole records without features; several faults."""
    rng = np.random.default_rng(seed)
    pick = lambda: dict(good[int(rng.integers(len(good)))])  # noqa: E731
    out = [dict(r) for r in good]
    for name in NUMERIC:
        for value in BROKEN_VALUES:
            out.append(pick() | {name: value})
    for value in BROKEN_CATEGORIES:
        out.append(pick() | {CATEGORY: value})
    for value in BROKEN_CODES:
        out.append(pick() | {"uscc": value})
    wrong = pick()
    wrong["uscc"] = wrong["uscc"][:17] + ("0" if wrong["uscc"][17] != "0" else "1")
    out.append(wrong)
    for name in ["uscc", *NUMERIC, CATEGORY]:
        record = pick()
        del record[name]
        out.append(record)
    out.append(pick() | dict.fromkeys([*NUMERIC, CATEGORY]))  # no feature values
    out.append(pick() | dict.fromkeys(NUMERIC) | {CATEGORY: "Q"})
    out.append(pick() | {"uscc": None, "fin_leverage": math.inf, CATEGORY: "Q", "inno_points": "x"})
    out.append(pick() | {"uscc": "bad", "fin_leverage": -math.inf, "profile_high_tech": "yes"})
    out.append(pick() | {"extra": [1, 2], "bank": "BANK_A"})  # keys that are not features are ignored
    return out


def _groups(records: list[dict], seed: int, size: int) -> list[list[dict]]:
    """Records in groups of 1 to `size` (a text value then types its whole column as text for every record)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(records))
    groups, i = [], 0
    while i < len(order):
        n = int(rng.integers(1, size + 1))
        groups.append([records[j] for j in order[i:i + n]])
        i += n
    return groups


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def _same_check(fast, batch) -> None:
    assert fast.ok.tolist() == batch.ok.tolist()
    assert fast.X.shape == batch.X.shape and fast.X.flags.c_contiguous
    assert fast.X.tobytes() == batch.X.tobytes()  # every bit, NaN and -0.0 included
    assert fast.codes.tolist() == batch.codes.tolist()
    assert fast.reasons.tolist() == batch.reasons.tolist()
    assert fast.problems == batch.problems


def _outcome(outcome) -> tuple:
    decisions = [(d.uscc, _bits(d.pd), _bits(d.score), d.grade,
                  [(r["code"], _bits(r["shap"]), r["text_zh"], r["text_en"]) for r in d.reasons])
                 for d in outcome.decisions]
    return decisions, [e.as_dict() for e in outcome.errors]


@pytest.fixture(scope="module")
def records(frame) -> list[dict]:
    return _variants(as_records(frame.head(800)), seed=11)


def test_the_rows_checked_value_by_value_equal_the_table_path(served, records):
    schema = OnlineScorer(served).chunk.schema
    codes_seen: set[str] = set()
    for group in [[r] for r in records] + _groups(records, seed=4, size=8):
        columns, errors = record_columns(group, schema)
        table, table_errors = records_table(group, schema)
        assert [e.as_dict() for e in errors] == [e.as_dict() for e in table_errors]
        if columns is None:
            codes_seen |= {e.code for e in errors}
            continue
        fast, batch = check_values(columns, schema), check_rows(table, schema)
        _same_check(fast, batch)
        codes_seen |= set(batch.codes.tolist())
    assert codes_seen >= {"missing_field", "wrong_type", "not_a_number", "missing_uscc", "invalid_uscc", "infinite",
                          "unknown_category", "no_features"}


def test_the_fast_path_scores_and_refuses_exactly_as_the_table_path(served, records):
    fast, batch = OnlineScorer(served, 5), OnlineScorer(served, 5, fast_records=0)
    scored = refused = 0
    for group in [[r] for r in records] + _groups(records, seed=7, size=8):
        for k in (None, 2):
            got, want = fast.score(group, k), batch.score(group, k)
            assert _outcome(got) == _outcome(want)
        scored += bool(want.decisions)
        refused += bool(want.errors)
    assert scored > 800 and refused > 150


def test_the_service_answers_and_records_the_same_on_both_paths(served, records, tmp_path):
    """Through the app: the same bodies (but the request id) and the same audit rows (but id and time)."""
    sample = records[:: max(1, len(records) // 150)] + records[-60:]
    answers, trails = [], []
    for fast_records, name in ((8, "fast"), (0, "table")):
        audit = tmp_path / f"{name}.sqlite"
        app = create_app(ServiceConfig(model=str(served.source), audit=audit), served=served)
        with TestClient(app) as client:
            app.state.service["scorer"].fast_records = fast_records
            bodies = []
            for record in sample:
                r = client.post("/v1/score", content=json.dumps({"records": [record]}),
                                headers={"content-type": "application/json"})
                body = r.json()
                body.pop("request_id")
                bodies.append((r.status_code, body))
            answers.append(bodies)
        with sqlite3.connect(audit) as db:
            trails.append(db.execute("SELECT item, caller, model_name, model_version, catalogue_version, uscc, "
                                     "features_sha256, pd, score, grade, reasons FROM decisions ORDER BY seq").fetchall())
    assert answers[0] == answers[1]
    assert trails[0] == trails[1]
    assert sum(status == 200 for status, _ in answers[0]) == len(trails[0]) > 100
    assert {status for status, _ in answers[0]} == {200, 422}
