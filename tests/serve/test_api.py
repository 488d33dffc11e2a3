"""The API's shape: a decision carries pd, score, grade, bilingual reasons and the model that made it."""

from __future__ import annotations

import numpy as np

from techscore.explain import explain
from techscore.explain.reasons import reason_codes
from tests.serve.conftest import as_records


def test_score_one_record(client, frame, served):
    record = as_records(frame.head(1))[0]
    r = client.post("/v1/score", json={"records": [record]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["request_id"] == r.headers["x-request-id"]
    assert body["model"] == {"name": served.name, "version": served.version}
    assert body["catalogue_version"] == "test-catalogue-v1"
    (result,) = body["results"]
    assert result["uscc"] == record["uscc"]
    assert 0 < result["pd"] < 1
    assert result["grade"] in served.model.master_scale.grades
    assert 1 <= len(result["reasons"]) <= 5
    shaps = [x["shap"] for x in result["reasons"]]
    assert shaps == sorted(shaps, reverse=True) and all(s > 0 for s in shaps)
    for reason in result["reasons"]:
        assert reason["code"] in served.model.feature_ids
        assert reason["text_zh"] and reason["text_en"] and reason["text_zh"] != reason["text_en"]


def test_reason_sentences_are_the_reports(client, frame, served):
    """The sentences equal those `reason_codes` writes for the firm report, for the same firms and references."""
    rows = frame.head(40).reset_index(drop=True)
    body = client.post("/v1/score", json={"records": as_records(rows), "reasons": 3}).json()
    X = served.model.prepare(rows[served.model.feature_ids])
    report = reason_codes(explain(served.model, X), served.references, groups=rows["profile_industry_section"],
                          k=3, k_lower=0)
    for i, result in enumerate(body["results"]):
        mine = report[report["row"] == i].sort_values("rank")
        assert [x["code"] for x in result["reasons"]] == mine["code"].tolist()
        assert [x["text_zh"] for x in result["reasons"]] == mine["text_zh"].tolist()
        assert [x["text_en"] for x in result["reasons"]] == mine["text_en"].tolist()
        assert np.allclose([x["shap"] for x in result["reasons"]], mine["shap"].to_numpy())


def test_many_records_and_fewer_reasons(client, frame):
    records = as_records(frame.head(25))
    body = client.post("/v1/score", json={"records": records, "reasons": 2}).json()
    assert [r["uscc"] for r in body["results"]] == [r["uscc"] for r in records]
    assert all(len(r["reasons"]) <= 2 for r in body["results"])


def test_model_health_ready_and_openapi(client, served):
    info = client.get("/v1/model").json()
    assert info["version"] == served.version and info["max_reasons"] == 5
    assert [f["id"] for f in info["features"]] == served.model.feature_ids
    section = next(f for f in info["features"] if f["id"] == "profile_industry_section")
    assert section["kind"] == "categorical" and set(section["categories"]) == {"C", "I", "M", "F", "L"}
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/score", "/v1/model", "/healthz", "/readyz", "/metrics"} <= set(paths)
    assert "requestBody" in paths["/v1/score"]["post"]


def test_metrics_count_requests_rejects_and_model(client, frame, served):
    client.post("/v1/score", json={"records": as_records(frame.head(2))})
    bad = as_records(frame.head(1))[0] | {"fin_leverage": "lots"}
    client.post("/v1/score", json={"records": [bad]})
    text = client.get("/metrics").text
    assert 'techscore_requests_total{method="POST",route="/v1/score",status="200"} 1.0' in text
    assert 'techscore_requests_total{method="POST",route="/v1/score",status="422"} 1.0' in text
    assert 'techscore_rejects_total{code="not_a_number"} 1.0' in text
    assert "techscore_decisions_total 2.0" in text
    assert 'techscore_request_seconds_bucket{le="0.01",route="/v1/score"}' in text
    assert f'techscore_model_info{{catalogue_version="test-catalogue-v1",name="{served.name}",version="{served.version}"}} 1.0' in text


def test_one_firm_reference_lookup_equals_the_reports(served):
    refs = served.references
    for feature in served.model.feature_ids:
        for group in ("C", "I", "M", "F", "L", "Q", "", None):
            ref, scope = refs.lookup(feature, None if group is None else np.array([group], dtype=object))
            one = refs.lookup_one(feature, group)
            assert (scope[0], np.isnan(ref[0])) == (one[1], np.isnan(one[0]))
            assert np.isnan(ref[0]) or ref[0] == one[0]
