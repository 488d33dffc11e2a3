"""Firms scored by code: features from the snapshot store, the same bytes as batch, every answer naming its snapshot,
and a new snapshot swapped in while the service answers."""

from __future__ import annotations

import json
import sqlite3
import threading

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from techscore.cli import app as cli
from techscore.serve import ServiceConfig, create_app
from techscore.serve.audit import features_hash
from techscore.serve.snapshot_store import SnapshotError, write_snapshot
from tests.serve.conftest import as_records
from tests.serve.test_parity import _assert_same, _batch

AS_OF = "2024-06-30"


def _snapshot_cli(frame: pd.DataFrame, store, path, *extra: str) -> dict:
    frame.to_parquet(path)
    result = CliRunner().invoke(cli, ["serve", "snapshot", "--features", str(path), "--store", str(store), "--json",
                                      *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture
def featurized(frame) -> pd.DataFrame:
    """A featurized table as `techscore featurize` writes it: firms as the `uscc` index, features as columns."""
    return frame.head(300).set_index("uscc")


@pytest.fixture
def store(featurized, tmp_path):
    folder = tmp_path / "snapshots"
    info = _snapshot_cli(featurized, folder, tmp_path / "features.parquet", "--as-of", AS_OF)
    assert info["firms"] == info["rows"] == 300 and info["as_of"] == [AS_OF]
    return folder, info["snapshot_id"]


@pytest.fixture
def firms_client(served, store, tmp_path):
    config = ServiceConfig(model=served.source, audit=tmp_path / "audit.sqlite", snapshots=store[0])
    with TestClient(create_app(config, served=served)) as c:
        yield c


def test_firms_by_code_match_batch_bit_for_bit(firms_client, featurized, model_dir, tmp_path):
    batch = _batch(featurized.reset_index(), model_dir, tmp_path)
    codes = featurized.index.tolist()
    r = firms_client.post("/v1/firms/score", json={"firms": codes})
    assert r.status_code == 200, r.text
    _assert_same(r.json()["results"], batch)
    one = [firms_client.post("/v1/firms/score", json={"firms": [c]}).json()["results"][0] for c in codes[:20]]
    _assert_same(one, batch.head(20))


def test_same_answer_as_score_with_the_snapshot_named_and_audited(firms_client, featurized, store, served, tmp_path):
    snapshot_id = store[1]
    code = featurized.index[3]
    record = as_records(featurized.reset_index().iloc[[3]])[0]
    by_code = firms_client.post("/v1/firms/score", json={"firms": [code], "reasons": 3}).json()
    by_record = firms_client.post("/v1/score", json={"records": [record], "reasons": 3}).json()
    assert by_code["snapshot_id"] == snapshot_id and by_code["model"] == by_record["model"]
    (got,), (want,) = by_code["results"], by_record["results"]
    assert got.pop("as_of") == AS_OF
    assert got == want
    with sqlite3.connect(tmp_path / "audit.sqlite") as db:
        rows = db.execute("SELECT uscc, snapshot_id, features_sha256 FROM decisions ORDER BY seq").fetchall()
    expected_hash = features_hash(record, served.model.feature_ids)
    assert rows == [(code, snapshot_id, expected_hash), (code, None, expected_hash)]


def test_unknown_invalid_and_undated_firms_are_refused(firms_client, featurized, frame):
    known, stranger = featurized.index[0], frame["uscc"].iloc[2000]
    r = firms_client.post("/v1/firms/score", json={"firms": [known, stranger]})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "unknown_firm" and stranger in r.json()["error"]["message"]
    assert r.json()["error"]["errors"][0]["record"] == 1
    bad = known[:-1] + ("0" if known[-1] != "0" else "1")  # a wrong check character
    r = firms_client.post("/v1/firms/score", json={"firms": [known, bad]})
    assert r.status_code == 422
    assert [(e["record"], e["field"], e["code"]) for e in r.json()["error"]["errors"]] == [(1, "uscc", "invalid_uscc")]
    r = firms_client.post("/v1/firms/score", json={"firms": [known], "as_of": "2023-12-31"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "as_of_unavailable"
    assert AS_OF in r.json()["error"]["message"] and "2023-12-31" in r.json()["error"]["message"]
    for body, code in (({"firms": []}, "missing_field"), ({"firms": [7]}, "wrong_type"),
                       ({"firms": [known], "as_of": "June"}, "wrong_type")):
        r = firms_client.post("/v1/firms/score", json=body)
        assert (r.status_code, r.json()["error"]["code"]) == (422, code), r.text


def test_as_of_picks_the_row_and_defaults_to_the_latest(served, frame, tmp_path):
    early = frame.head(5).assign(as_of="2023-06-30")
    late = frame.head(5).assign(as_of=AS_OF, fin_leverage=frame["fin_leverage"].head(5) + 0.5)
    info = write_snapshot(pd.concat([early, late]), tmp_path / "snapshots")
    assert info.as_of == ("2023-06-30", AS_OF) and info.firms == 5 and info.rows == 10
    config = ServiceConfig(model=served.source, audit=tmp_path / "audit.sqlite", snapshots=tmp_path / "snapshots")
    code = frame["uscc"].iloc[0]
    with TestClient(create_app(config, served=served)) as c:
        latest = c.post("/v1/firms/score", json={"firms": [code]}).json()["results"][0]
        older = c.post("/v1/firms/score", json={"firms": [code], "as_of": "2023-06-30"}).json()["results"][0]
        want = c.post("/v1/score", json={"records": as_records(early.head(1).drop(columns="as_of"))}).json()
    assert (latest["as_of"], older["as_of"]) == (AS_OF, "2023-06-30")
    assert older["pd"] == want["results"][0]["pd"] and latest["pd"] != older["pd"]


def test_a_new_snapshot_is_swapped_in_while_serving(served, featurized, store, tmp_path):
    """Requests in flight while a new snapshot becomes current all succeed, each from one whole snapshot."""
    folder, first = store
    codes = featurized.index[:10].tolist()
    config = ServiceConfig(model=served.source, audit=tmp_path / "audit.sqlite", snapshots=folder)
    riskier = featurized.assign(fin_leverage=featurized["fin_leverage"] + 0.4)
    with TestClient(create_app(config, served=served)) as c:
        before = c.post("/v1/firms/score", json={"firms": codes}).json()
        answers, stop = [], threading.Event()

        def ask() -> None:
            while not stop.is_set():
                answers.append(c.post("/v1/firms/score", json={"firms": codes}))

        worker = threading.Thread(target=ask)
        worker.start()
        second = _snapshot_cli(riskier, folder, tmp_path / "riskier.parquet", "--as-of", AS_OF)["snapshot_id"]
        after = c.post("/v1/firms/score", json={"firms": codes}).json()
        stop.set()
        worker.join()
    assert second != first and before["snapshot_id"] == first and after["snapshot_id"] == second
    pds = {first: [x["pd"] for x in before["results"]], second: [x["pd"] for x in after["results"]]}
    assert pds[first] != pds[second]
    assert answers and all(a.status_code == 200 for a in answers)
    for a in answers:  # never a mix of the two snapshots within one answer
        body = a.json()
        assert [x["pd"] for x in body["results"]] == pds[body["snapshot_id"]]


def test_without_a_snapshot_firms_get_503_naming_the_fix(served, featurized, tmp_path):
    for snapshots in (None, tmp_path / "empty"):
        config = ServiceConfig(model=served.source, audit=tmp_path / "audit.sqlite", snapshots=snapshots)
        with TestClient(create_app(config, served=served)) as c:
            r = c.post("/v1/firms/score", json={"firms": [featurized.index[0]]})
        assert r.status_code == 503 and r.json()["error"]["code"] == "no_snapshot"
        assert "techscore serve" in r.json()["error"]["message"]


def test_snapshot_writer_refuses_what_it_cannot_key(frame, tmp_path):
    with pytest.raises(SnapshotError, match="no 'as_of' column"):
        write_snapshot(frame.head(3), tmp_path / "s")
    with pytest.raises(SnapshotError, match=f"firm {frame['uscc'].iloc[0]} appears twice as of {AS_OF}"):
        write_snapshot(pd.concat([frame.head(2), frame.head(1)]), tmp_path / "s", as_of=AS_OF)
    with pytest.raises(SnapshotError, match="needs a 'uscc' column"):
        write_snapshot(frame.head(3).drop(columns="uscc"), tmp_path / "s", as_of=AS_OF)
    same = [write_snapshot(frame.head(3), tmp_path / "s", as_of=AS_OF).snapshot_id for _ in range(2)]
    assert same[0] == same[1] and same[0].startswith("20240630-")


def test_report_page_of_a_firm(firms_client, featurized):
    code = featurized.index[5]
    reasons = firms_client.post("/v1/firms/score", json={"firms": [code]}).json()["results"][0]["reasons"]
    for lang in ("zh", "en"):
        r = firms_client.get(f"/v1/firms/{code}/report", params={"lang": lang})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert f'class="lang-{lang}"' in r.text and code in r.text
        assert reasons[0]["text_zh"] in r.text and reasons[0]["text_en"] in r.text
    assert firms_client.get(f"/v1/firms/{code}/report", params={"lang": "fr"}).status_code == 422
    r = firms_client.get(f"/v1/firms/{code[:-1]}Z/report")
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_uscc"


def test_an_audit_trail_from_before_snapshots_gains_the_column(tmp_path):
    """A trail written by the service before firms were scored by code opens, keeps its rows and records snapshots."""
    from techscore.serve.audit import AuditLog, AuditRecord, export_audit

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript("""CREATE TABLE decisions (seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL,
            item INTEGER NOT NULL, time TEXT NOT NULL, caller TEXT NOT NULL, model_name TEXT NOT NULL,
            model_version TEXT NOT NULL, catalogue_version TEXT, uscc TEXT NOT NULL, features_sha256 TEXT NOT NULL,
            pd REAL NOT NULL, score REAL NOT NULL, grade TEXT NOT NULL, reasons TEXT NOT NULL,
            UNIQUE (request_id, item));
            INSERT INTO decisions VALUES (1, 'r0', 0, '2026-12-01T00:00:00.000000+00:00', 'bank-a', 'm', '1', NULL,
            '91110108M80794078T', 'ab', 0.1, 600.0, 'BB', '["fin_leverage"]');""")
    log = AuditLog(path)
    log.append([AuditRecord("r1", 0, "2026-12-01T00:00:01.000000+00:00", "bank-a", "m", "1", None,
                            "91110108M80794078T", "cd", 0.2, 590.0, "B", ("rd_intensity_3y",), "20240630-abc")])
    log.close()
    assert export_audit(path, tmp_path / "out.parquet") == 2
    exported = pd.read_parquet(tmp_path / "out.parquet")["snapshot_id"]
    assert exported.isna().tolist() == [True, False] and exported.iloc[1] == "20240630-abc"


def test_firm_routes_ask_for_a_key_of_the_right_bank(served, featurized, store, tmp_path):
    keys = tmp_path / "keys.sqlite"
    added = CliRunner().invoke(cli, ["serve", "keys", "add", "--bank", "BANK_A", "--keys", str(keys), "--json"])
    assert added.exit_code == 0, added.output
    token = json.loads(added.output)["token"]
    config = ServiceConfig(model=served.source, audit=tmp_path / "audit.sqlite", keys=keys, snapshots=store[0])
    code = featurized.index[0]
    with TestClient(create_app(config, served=served)) as c:
        assert c.post("/v1/firms/score", json={"firms": [code]}).status_code == 401
        assert c.get(f"/v1/firms/{code}/report").json()["error"]["code"] == "missing_key"
        auth = {"Authorization": f"Bearer {token}"}
        r = c.post("/v1/firms/score", json={"firms": [code], "bank": "BANK_B"}, headers=auth)
        assert (r.status_code, r.json()["error"]["code"]) == (403, "wrong_bank")
        r = c.post("/v1/firms/score", json={"firms": [code], "bank": "BANK_A"}, headers=auth)
        assert r.status_code == 200 and r.json()["snapshot_id"] == store[1]
    with sqlite3.connect(tmp_path / "audit.sqlite") as db:
        assert db.execute("SELECT caller, snapshot_id FROM decisions").fetchall() == [
            (f"BANK_A/{json.loads(added.output)['key_id']}", store[1])]
