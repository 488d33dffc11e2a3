"""The audit trail: every decision committed before its answer leaves; no record, no answer (503); Parquet export."""

from __future__ import annotations

import sqlite3
import struct

import pandas as pd
from typer.testing import CliRunner

from techscore.cli import app as cli
from techscore.serve.audit import features_hash
from tests.serve.conftest import as_records


def _rows(path) -> pd.DataFrame:
    with sqlite3.connect(path) as db:  # another connection: sees only what was committed
        return pd.read_sql("SELECT * FROM decisions ORDER BY seq", db)


def test_every_decision_is_committed_before_the_answer(client, frame, served, tmp_path):
    audit = tmp_path / "audit.sqlite"
    records = as_records(frame.head(7))
    answers = []
    for part, caller in ((records[:4], "bank-a"), (records[4:], "bank-b")):
        r = client.post("/v1/score", json={"records": part}, headers={"X-Caller": caller})
        assert r.status_code == 200
        answers.append(r.json())
        assert len(_rows(audit)) == sum(len(a["results"]) for a in answers)  # already on disk when answered
    rows = _rows(audit)
    features = served.model.feature_ids
    for i, (row, record) in enumerate(zip(rows.itertuples(), records, strict=True)):
        answer = answers[0 if i < 4 else 1]
        result = answer["results"][i if i < 4 else i - 4]
        assert row.request_id == answer["request_id"] and row.item == (i if i < 4 else i - 4)
        assert row.caller == ("bank-a" if i < 4 else "bank-b")
        assert (row.model_name, row.model_version) == (served.name, served.version)
        assert row.catalogue_version == "test-catalogue-v1"
        assert row.uscc == record["uscc"] and row.features_sha256 == features_hash(record, features)
        assert struct.pack("<d", row.pd) == struct.pack("<d", result["pd"]) and row.grade == result["grade"]
        assert row.reasons == str([x["code"] for x in result["reasons"]]).replace("'", '"')
        assert row.time.endswith("+00:00")


def test_wal_and_full_sync(client):
    db = client.app.state.service["audit"]._db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_rejected_requests_record_nothing(client, frame, tmp_path):
    bad = as_records(frame.head(2))
    bad[1]["profile_industry_section"] = "Z"
    assert client.post("/v1/score", json={"records": bad}).status_code == 422
    assert _rows(tmp_path / "audit.sqlite").empty


def test_no_record_no_answer(client, frame, tmp_path):
    """When the trail refuses the write (here a trigger aborts it, as a full disk would), the caller gets 503 and
    no decision; once it records again, so does the service."""
    audit = tmp_path / "audit.sqlite"
    record = as_records(frame.head(1))
    with sqlite3.connect(audit) as db:
        db.execute("CREATE TRIGGER refuse BEFORE INSERT ON decisions BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    r = client.post("/v1/score", json={"records": record})
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "audit_unavailable" and "disk full" in r.json()["error"]["message"]
    assert "results" not in r.json() and _rows(audit).empty
    with sqlite3.connect(audit) as db:
        db.execute("DROP TRIGGER refuse")
    assert client.post("/v1/score", json={"records": record}).status_code == 200
    assert len(_rows(audit)) == 1


def test_export_to_parquet_by_time(client, frame, tmp_path):
    audit, out = tmp_path / "audit.sqlite", tmp_path / "export" / "decisions.parquet"
    answer = client.post("/v1/score", json={"records": as_records(frame.head(5))}).json()
    runner = CliRunner()
    result = runner.invoke(cli, ["audit", "export", "--audit", str(audit), "--from", "2000-01-01", "--to",
                                 "2999-01-01T00:00+08:00", "--out", str(out)])
    assert result.exit_code == 0, result.output
    exported = pd.read_parquet(out)
    assert exported["request_id"].unique().tolist() == [answer["request_id"]]
    assert exported["uscc"].tolist() == [r["uscc"] for r in answer["results"]]
    assert exported["pd"].tolist() == [r["pd"] for r in answer["results"]]
    assert [list(x) for x in exported["reasons"]] == [[y["code"] for y in r["reasons"]] for r in answer["results"]]
    later = tmp_path / "later.parquet"
    assert runner.invoke(cli, ["audit", "export", "--audit", str(audit), "--from", "2999-01-01", "--out",
                               str(later)]).exit_code == 0
    assert len(pd.read_parquet(later)) == 0 and list(pd.read_parquet(later).columns) == list(exported.columns)
    bad = runner.invoke(cli, ["audit", "export", "--audit", str(audit), "--from", "yesterday", "--out", str(later)])
    assert bad.exit_code == 2 and "from must be an ISO 8601 date" in " ".join(bad.output.split())
    missing = runner.invoke(cli, ["audit", "export", "--audit", str(tmp_path / "none.sqlite"), "--out", str(later)])
    assert missing.exit_code == 2 and "no audit trail there" in " ".join(missing.output.split())
