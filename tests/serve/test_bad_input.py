"""Bad input never crashes the service: 4xx with field-level errors and the batch scorer's reject codes."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from techscore.cli import app as cli
from techscore.serve import ServiceConfig, create_app
from tests.scoring._world import inject_bad_rows
from tests.serve.conftest import as_records


@pytest.fixture
def good(frame) -> dict:
    return as_records(frame.head(1))[0]


def _post(client, records: list[dict]):
    """POST as Python's json writes it (NaN and Infinity included, as some clients send them)."""
    return client.post("/v1/score", content=json.dumps({"records": records}),
                       headers={"content-type": "application/json"})


def _errors(r) -> list[tuple[int, str, str]]:
    return [(e["record"], e["field"], e["code"]) for e in r.json()["error"]["errors"]]


def test_planted_bad_rows_get_the_batch_reject_codes(client, frame, model_dir, tmp_path):
    """Every kind of row batch scoring rejects, posted one by one: 422 and the same first code as batch."""
    dirty, planted = inject_bad_rows(frame.head(400).reset_index(drop=True), seed=2, per_kind=3)
    source, out = tmp_path / "dirty.parquet", tmp_path / "scores.parquet"
    dirty.to_parquet(source, index=False)
    result = CliRunner().invoke(cli, ["score", "--model", str(model_dir), "--input", str(source), "--output",
                                      str(out), "--json"])
    assert result.exit_code == 0, result.output
    rejects = pd.read_parquet(tmp_path / "scores.rejects.parquet")
    batch_code = dict(zip(rejects["row"] - 1, rejects["reject_code"], strict=True))
    assert set(batch_code) == set(planted)
    records = as_records(dirty)
    for position, code in planted.items():
        r = _post(client, [records[position]])
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "invalid_records"
        assert r.json()["error"]["errors"][0]["code"] == batch_code[position] == code
    seen = {e["code"] for p in planted for e in _post(client, [records[p]]).json()["error"]["errors"]}
    assert {"missing_uscc", "invalid_uscc", "unknown_category", "infinite", "no_features"} <= seen


def test_invalid_check_character_names_the_field(client, good):
    code = good["uscc"]
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    r = client.post("/v1/score", json={"records": [good, good | {"uscc": wrong}]})
    assert r.status_code == 422
    assert _errors(r) == [(1, "uscc", "invalid_uscc")]
    assert wrong in r.json()["error"]["errors"][0]["message"]


def test_missing_and_mistyped_fields(client, good):
    missing = {k: v for k, v in good.items() if k != "fin_leverage"}
    r = client.post("/v1/score", json={"records": [missing]})
    assert r.status_code == 422 and _errors(r) == [(0, "fin_leverage", "missing_field")]
    assert "fin_leverage: missing; expected a number or null" in r.json()["error"]["errors"][0]["message"]
    r = client.post("/v1/score", json={"records": [good | {"inno_points": [1, 2]}]})
    assert r.status_code == 422 and _errors(r) == [(0, "inno_points", "wrong_type")]
    r = client.post("/v1/score", json={"records": [good | {"fin_leverage": "lots"}]})
    assert r.status_code == 422 and _errors(r) == [(0, "fin_leverage", "not_a_number")]
    assert "'lots'" in r.json()["error"]["errors"][0]["message"]


def test_a_number_sent_as_text_is_read_as_batch_reads_csv(client, good):
    as_number = client.post("/v1/score", json={"records": [good | {"fin_leverage": 0.5}]}).json()["results"][0]
    as_text = client.post("/v1/score", json={"records": [good | {"fin_leverage": "0.5"}]}).json()["results"][0]
    assert as_text == as_number


def test_nan_and_infinity(client, good):
    r = _post(client, [good | {"fin_leverage": float("nan")}])
    assert r.status_code == 422 and _errors(r) == [(0, "fin_leverage", "not_a_number")]
    r = _post(client, [good | {"inno_points": float("-inf")}])
    assert r.status_code == 422 and _errors(r) == [(0, "inno_points", "infinite")]
    r = client.post("/v1/score", json={"records": [good | {"fin_revenue_latest": 10**400}]})
    assert r.status_code == 422 and _errors(r) == [(0, "fin_revenue_latest", "infinite")]


def test_unknown_category(client, good):
    r = client.post("/v1/score", json={"records": [good | {"profile_industry_section": "Z"}]})
    assert r.status_code == 422 and _errors(r) == [(0, "profile_industry_section", "unknown_category")]


def test_malformed_bodies(client, good):
    r = client.post("/v1/score", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
    assert client.post("/v1/score", json=[good]).status_code == 422
    assert client.post("/v1/score", json={"records": []}).json()["error"]["code"] == "missing_field"
    assert client.post("/v1/score", json={"records": [1]}).json()["error"]["errors"][0]["code"] == "wrong_type"
    assert client.post("/v1/score", json={"records": [good], "reasons": -1}).status_code == 422


def test_oversized_bodies_and_too_many_records(served, good, tmp_path):
    config = ServiceConfig(model=served.source, audit=tmp_path / "a.sqlite", max_body_bytes=4096, max_records=3)
    with TestClient(create_app(config, served=served)) as c:
        r = c.post("/v1/score", json={"records": [good] * 30})
        assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"

        def chunks():  # no Content-Length: the limit holds while streaming
            yield b'{"records": ['
            for _ in range(200):
                yield json.dumps(good).encode() + b","
            yield b"{}]}"

        r = c.post("/v1/score", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
        r = c.post("/v1/score", json={"records": [good] * 4})
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_many_records"
        assert c.post("/v1/score", json={"records": [good] * 3}).status_code == 200
        assert 'techscore_rejects_total{code="body_too_large"} 2.0' in c.get("/metrics").text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["uscc", "fin_leverage", "profile_industry_section", "profile_high_tech", "other"]),
       value=json_values)
def test_any_json_value_in_any_field_is_never_a_5xx(client, good, field, value):
    r = _post(client, [good | {field: value}])
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert all(e["field"] == field for e in r.json()["error"]["errors"])
