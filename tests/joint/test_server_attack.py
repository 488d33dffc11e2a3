"""The attack suite: a table of requests against a real tracking server on loopback x the callers who must not get
through (anonymous, a wrong password, another bank, the platform with EDIT), each with the status it must get.

The victim is bank_a: an experiment with a run (a metric, a parameter, a tag and an artifact, each carrying a
marker string), a logged model and a registered model ``bank_a.model`` with a version. bank_b is another bank;
the platform holds EDIT on bank_a's experiment (it reads and writes runs there, never deletes, renames or grants).

Rows are written by hand for every route a non-admin may call (``USER``, ``OWN_NAME``, ``PUBLIC`` in
`techscore.joint.server_routes`), each sent under its ``/api/`` and ``/ajax-api/`` paths, and made from the table
for every ``ADMIN`` route (under ``/api/``, and ``/ajax-api/`` too for the first route of each family): 1,664
(request, caller) pairs with MLflow 3.17. `test_every_open_route_has_an_attack_row` keeps the hand-written rows complete: opening a
route to non-admins without a row here turns the suite red, and the server itself refuses to start while MLflow
has a route the table does not classify (`tests/joint/test_server_routes.py`).
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import requests

from techscore.joint.server_app import DENIED, canonical_route
from techscore.joint.server_routes import ROUTES

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mlflow_server")]

MARK = "victim-marker-7f3a9c"
"""Stored in bank_a's run (param, tag, artifact): no answer to another caller may contain it."""
CALLERS = ("anonymous", "wrong_password", "bank_b", "platform")
_SQL = ("[SQL", "INSERT INTO", "SELECT ", "sqlite3", "IntegrityError", "UNIQUE constraint", "psycopg")

# expected status per caller, by kind of row
KINDS = {
    "public": (200, 200, 200, 200),  # no login needed, no tenant data
    "self": (401, 401, 200, 200),  # about the caller only, or filtered to what it may read
    "read": (401, 401, 403, 200),  # bank_a's data: the platform reads it (EDIT), bank_b does not
    "edit": (401, 401, 403, 200),  # writes a run-level change in bank_a's experiment: EDIT may
    "manage": (401, 401, 403, 403),  # deletes, restores, re-grants, registry of bank_a: only bank_a (MANAGE)
    "admin": (401, 401, 403, 403),  # the admin's only
}


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    kind: str
    params: dict = field(default_factory=dict)
    body: object = None
    data: bytes | None = None
    prefixes: tuple[str, ...] = ("/api/", "/ajax-api/")
    raw: bool = False  # sent byte for byte (no client-side normalisation of dot segments)

    def paths(self) -> list[str]:
        if not self.path.startswith("/api/"):
            return [self.path]
        return [p + self.path[len("/api/") :] for p in self.prefixes]


def _rows(v: dict) -> list[Row]:
    """The hand-written rows; `v` holds the victim's ids."""
    ea, run, lm = v["experiment_id"], v["run_id"], v["logged_model_id"]
    art = f"{ea}/{run}/artifacts"
    now = 1_700_000_000_000
    return [
        # public
        Row("GET", "/health", "public"),
        Row("GET", "/api/3.0/mlflow/server-info", "public"),
        Row("GET", "/static-files/favicon.ico", "public"),
        # the UI and the caller's own account
        Row("GET", "/", "self"),
        Row("GET", "/version", "self"),
        Row("GET", "/api/2.0/mlflow/users/current", "self"),
        Row("GET", "/api/3.0/mlflow/users/current/permissions", "self"),
        # experiments
        Row("GET", "/api/2.0/mlflow/experiments/get", "read", params={"experiment_id": ea}),
        Row("GET", "/api/2.0/mlflow/experiments/get-by-name", "read", params={"experiment_name": "joint/bank_a"}),
        Row("GET", "/api/2.0/mlflow/experiments/search", "self", params={"max_results": 100}),
        Row("POST", "/api/2.0/mlflow/experiments/search", "self", body={"max_results": 100}),
        Row("POST", "/api/2.0/mlflow/experiments/set-experiment-tag", "edit",
            body={"experiment_id": ea, "key": "note", "value": "probe"}),
        Row("POST", "/api/2.0/mlflow/experiments/delete-experiment-tag", "edit",
            body={"experiment_id": ea, "key": "note"}),
        Row("POST", "/api/2.0/mlflow/experiments/set-experiment-tag", "admin",
            body={"experiment_id": ea, "key": "techscore.provisioned_by", "value": "forged"}),
        # runs
        Row("GET", "/api/2.0/mlflow/runs/get", "read", params={"run_id": run}),
        Row("POST", "/api/2.0/mlflow/runs/search", "self", body={"experiment_ids": [ea]}),
        Row("POST", "/api/2.0/mlflow/runs/create", "edit", body={"experiment_id": ea, "start_time": now}),
        Row("POST", "/api/2.0/mlflow/runs/update", "edit", body={"run_id": run, "status": "FINISHED"}),
        Row("POST", "/api/2.0/mlflow/runs/log-metric", "edit",
            body={"run_id": run, "key": "probe", "value": 1.0, "timestamp": now, "step": 0}),
        Row("POST", "/api/2.0/mlflow/runs/log-parameter", "edit", body={"run_id": run, "key": "probe_p", "value": "1"}),
        Row("POST", "/api/2.0/mlflow/runs/log-batch", "edit",
            body={"run_id": run, "metrics": [{"key": "probe_b", "value": 1.0, "timestamp": now, "step": 0}]}),
        Row("POST", "/api/2.0/mlflow/runs/set-tag", "edit", body={"run_id": run, "key": "probe_t", "value": "1"}),
        Row("POST", "/api/2.0/mlflow/runs/delete-tag", "edit", body={"run_id": run, "key": "probe_t"}),
        Row("POST", "/api/2.0/mlflow/runs/log-model", "edit",
            body={"run_id": run, "model_json": json.dumps({"artifact_path": "m", "flavors": {}, "run_id": run,
                                                           "utc_time_created": "2024-01-01 00:00:00.000000"})}),
        Row("POST", "/api/2.0/mlflow/runs/log-inputs", "edit", body={"run_id": run, "datasets": []}),
        Row("POST", "/api/2.0/mlflow/runs/outputs", "edit", body={"run_id": run, "models": []}),
        Row("POST", "/api/2.0/mlflow/runs/delete", "manage", body={"run_id": run}),
        Row("POST", "/api/2.0/mlflow/runs/restore", "manage", body={"run_id": run}),
        # metrics
        Row("GET", "/api/2.0/mlflow/metrics/get-history", "read", params={"run_id": run, "metric_key": "auc"}),
        Row("GET", "/api/2.0/mlflow/metrics/get-history-bulk", "read", params={"run_id": run, "metric_key": "auc"},
            prefixes=("/ajax-api/",)),
        Row("GET", "/api/2.0/mlflow/metrics/get-history-bulk-interval", "read",
            params={"run_ids": run, "metric_key": "auc", "max_results": 10}),
        # artifacts: by run, and through the artifact proxy
        Row("GET", "/api/2.0/mlflow/artifacts/list", "read", params={"run_id": run}),
        Row("GET", "/get-artifact", "read", params={"path": "secret.txt", "run_uuid": run}),
        Row("GET", "/api/2.0/mlflow-artifacts/artifacts", "read", params={"path": art}),
        Row("GET", f"/api/2.0/mlflow-artifacts/artifacts/{art}/secret.txt", "read"),
        Row("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{art}/probe.txt", "edit", data=b"probe"),
        Row("DELETE", f"/api/2.0/mlflow-artifacts/artifacts/{art}/probe.txt", "manage"),
        Row("GET", "/api/2.0/mlflow-artifacts/artifacts", "manage", params={"path": ""}),  # the store's root
        # out of one's own experiment folder into bank_a's, literally and percent-encoded (sent unnormalised)
        *(Row("GET", f"/api/2.0/mlflow-artifacts/artifacts/{own}/{dots}/{ea}/{run}/artifacts/secret.txt", "manage",
              raw=True) for own in (v["bank_b_experiment_id"], v["platform_experiment_id"]) for dots in ("..", "%2e%2e")),
        Row("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{v['bank_b_experiment_id']}/../{ea}/{run}/artifacts/x.pkl",
            "manage", data=b"planted", raw=True),
        # logged models
        Row("GET", f"/api/2.0/mlflow/logged-models/{lm}", "read"),
        Row("POST", "/api/2.0/mlflow/logged-models/search", "self", body={"experiment_ids": [ea]}),
        Row("POST", "/api/2.0/mlflow/logged-models", "edit", body={"experiment_id": ea, "name": "probe"}),
        Row("PATCH", f"/api/2.0/mlflow/logged-models/{lm}/tags", "edit", body={"tags": [{"key": "k", "value": "v"}]}),
        Row("DELETE", f"/api/2.0/mlflow/logged-models/{lm}/tags/k", "manage"),  # MLflow: deleting needs MANAGE
        Row("POST", f"/api/2.0/mlflow/logged-models/{lm}/params", "edit",
            body={"model_id": lm, "params": [{"key": "probe", "value": "1"}]}, prefixes=("/api/",)),  # logged once
        Row("PATCH", f"/api/2.0/mlflow/logged-models/{lm}", "edit", body={"model_id": lm, "status": "LOGGED_MODEL_READY"}),
        Row("GET", f"/api/2.0/mlflow/logged-models/{lm}/artifacts/directories", "read", params={"artifact_directory_path": ""}),
        Row("GET", f"/api/2.0/mlflow/logged-models/{lm}/artifacts/files", "read",
            params={"artifact_file_path": "secret.txt"}, prefixes=("/ajax-api/",)),
        Row("DELETE", f"/api/2.0/mlflow/logged-models/{lm}", "manage"),
        # the model registry: bank_a's model is bank_a's alone; names outside one's namespace are refused
        Row("POST", "/api/2.0/mlflow/registered-models/create", "manage", body={"name": "bank_a.squatted"}),
        Row("POST", "/api/2.0/mlflow/registered-models/rename", "manage",
            body={"name": "bank_a.model", "new_name": "bank_b.stolen"}),
        Row("GET", "/api/2.0/mlflow/registered-models/get", "manage", params={"name": "bank_a.model"}),
        Row("GET", "/api/2.0/mlflow/registered-models/search", "self", params={"max_results": 100}),
        Row("GET", "/api/2.0/mlflow/registered-models/get-latest-versions", "manage", params={"name": "bank_a.model"}),
        Row("POST", "/api/2.0/mlflow/registered-models/get-latest-versions", "manage", body={"name": "bank_a.model"}),
        Row("PATCH", "/api/2.0/mlflow/registered-models/update", "manage",
            body={"name": "bank_a.model", "description": "probe"}),
        Row("POST", "/api/2.0/mlflow/registered-models/set-tag", "manage",
            body={"name": "bank_a.model", "key": "k", "value": "v"}),
        Row("DELETE", "/api/2.0/mlflow/registered-models/delete-tag", "manage", body={"name": "bank_a.model", "key": "k"}),
        Row("POST", "/api/2.0/mlflow/registered-models/alias", "manage",
            body={"name": "bank_a.model", "alias": "champion", "version": "1"}),
        Row("GET", "/api/2.0/mlflow/registered-models/alias", "manage", params={"name": "bank_a.model", "alias": "a"}),
        Row("DELETE", "/api/2.0/mlflow/registered-models/alias", "manage", body={"name": "bank_a.model", "alias": "a"}),
        Row("DELETE", "/api/2.0/mlflow/registered-models/delete", "manage", body={"name": "bank_a.model"}),
        Row("POST", "/api/2.0/mlflow/model-versions/create", "manage",
            body={"name": "bank_a.model", "source": f"runs:/{run}/model", "run_id": run}),
        Row("GET", "/api/2.0/mlflow/model-versions/get", "manage", params={"name": "bank_a.model", "version": "1"}),
        Row("GET", "/api/2.0/mlflow/model-versions/search", "self", params={"filter": "name='bank_a.model'"}),
        Row("GET", "/api/2.0/mlflow/model-versions/get-download-uri", "manage",
            params={"name": "bank_a.model", "version": "1"}),
        Row("PATCH", "/api/2.0/mlflow/model-versions/update", "manage",
            body={"name": "bank_a.model", "version": "1", "description": "probe"}),
        Row("POST", "/api/2.0/mlflow/model-versions/set-tag", "manage",
            body={"name": "bank_a.model", "version": "1", "key": "k", "value": "v"}),
        Row("DELETE", "/api/2.0/mlflow/model-versions/delete-tag", "manage",
            body={"name": "bank_a.model", "version": "1", "key": "k"}),
        Row("POST", "/api/2.0/mlflow/model-versions/transition-stage", "manage",
            body={"name": "bank_a.model", "version": "1", "stage": "Archived", "archive_existing_versions": False}),
        Row("DELETE", "/api/2.0/mlflow/model-versions/delete", "manage", body={"name": "bank_a.model", "version": "1"}),
        Row("GET", "/model-versions/get-artifact", "manage",
            params={"name": "bank_a.model", "version": "1", "path": "secret.txt"}),
        # users: one's own account only
        Row("GET", "/api/2.0/mlflow/users/get", "manage", params={"username": "bank_a"}),
        Row("PATCH", "/api/2.0/mlflow/users/update-password", "manage",
            body={"username": "bank_a", "password": "Hijacked-" + secrets.token_urlsafe(12)}),
        # GraphQL answers 200 with nothing in it for what the caller may not read
        *(Row("POST", "/graphql", "self", body={"query": "query { " + q.replace("@R", run).replace("@E", ea) + " }"})
          for q in (
            'mlflowGetRun(input: {runId: "@R"}) { run { info { runId runName } data { params { key value } } } }',
            'mlflowSearchRuns(input: {experimentIds: ["@E"]}) { runs { info { runName } data { tags { key value } } } }',
            'mlflowGetExperiment(input: {experimentId: "@E"}) { experiment { name tags { key value } } }',
            'mlflowListArtifacts(input: {runId: "@R"}) { files { path } }',
            'mlflowSearchModelVersions(input: {filter: "name=\'bank_a.model\'"}) { modelVersions { name source } }',
        )),
    ]  # fmt: skip


def _admin_rows() -> list[Row]:
    """One request for every route only the admin may call, its path parameters filled with a placeholder: under
    its ``/api/`` path, and under ``/ajax-api/`` too for the first route of each family."""
    rows, families = [], set()
    for (method, path), cls in sorted(ROUTES.items()):
        if cls == "ADMIN":
            family = "/".join(path.split("/")[:5])
            prefixes = ("/api/",) if family in families else ("/api/", "/ajax-api/")
            families.add(family)
            rows.append(Row(method, path.replace("*", "x1"), "admin", body={} if method != "GET" else None,
                            prefixes=prefixes))
    return rows


@pytest.fixture(scope="module")
def victim(mlflow_server, tmp_path_factory):
    """bank_a's run, logged model and registered model (made as bank_a), and a session per caller."""
    url, creds = mlflow_server["url"], mlflow_server["creds"]
    a = requests.Session()
    a.auth = ("bank_a", creds["bank_a"].password)

    def call(method, path, **kw):
        resp = a.request(method, url + path, timeout=30, **kw)
        assert resp.status_code == 200, (path, resp.status_code, resp.text)
        return resp.json() if resp.content else {}

    ea = creds["bank_a"].experiment_id
    run = call("POST", "/api/2.0/mlflow/runs/create", json={"experiment_id": ea})["run"]["info"]["run_id"]
    call("POST", "/api/2.0/mlflow/runs/log-batch", json={
        "run_id": run, "metrics": [{"key": "auc", "value": 0.81, "timestamp": 1, "step": 0}],
        "params": [{"key": "secret", "value": MARK}],
        "tags": [{"key": "secret", "value": MARK}, {"key": "mlflow.runName", "value": MARK}]})  # fmt: skip
    call("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{ea}/{run}/artifacts/secret.txt", data=MARK.encode())
    lm = call("POST", "/api/2.0/mlflow/logged-models", json={"experiment_id": ea, "name": MARK})["model"]["info"]
    call("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{ea}/models/{lm['model_id']}/artifacts/secret.txt",
         data=MARK.encode())
    call("POST", "/api/2.0/mlflow/registered-models/create", json={"name": "bank_a.model", "description": MARK})
    call("POST", "/api/2.0/mlflow/model-versions/create",
         json={"name": "bank_a.model", "source": f"mlflow-artifacts:/{ea}/{run}/artifacts", "run_id": run})
    sessions = {}
    for caller in CALLERS:
        s = requests.Session()
        if caller == "wrong_password":
            s.auth = ("bank_a", "Wrong-" + secrets.token_urlsafe(16))
        elif caller != "anonymous":
            s.auth = (caller, creds[caller].password)
        sessions[caller] = s
    return {"url": url, "experiment_id": ea, "run_id": run, "logged_model_id": lm["model_id"], "sessions": sessions,
            "bank_b_experiment_id": creds["bank_b"].experiment_id,
            "platform_experiment_id": creds["platform"].experiment_id}


def _send(victim, caller: str, row: Row, path: str):
    """(status, text) of one request; a ``raw`` row goes through http.client, which sends the path as written."""
    session = victim["sessions"][caller]
    if not row.raw:
        resp = session.request(row.method, victim["url"] + path, params=row.params or None, json=row.body,
                               data=row.data, timeout=60, allow_redirects=False)
        return resp.status_code, resp.text
    url = urlsplit(victim["url"])
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    headers = {}
    if session.auth:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(session.auth).encode()).decode()
    try:
        conn.request(row.method, path, body=row.data, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", errors="replace")
    finally:
        conn.close()


def _check(victim, rows: list[Row], *, ordered: bool = True) -> int:
    """Send every row as every caller; assert statuses, the one denial body and no leak. Pairs checked.

    `ordered`: rows go in order, all under their ``/api/`` path before their ``/ajax-api/`` one (a tag set is
    deleted next), the callers of one request at once; else every request at once (rows without side effects).
    """
    wrong, pairs = [], 0
    jobs = [(row, path) for i in range(2) for row in rows for path in row.paths()[i : i + 1]]
    with ThreadPoolExecutor(4 if ordered else 8) as pool:
        if ordered:
            answered = [(row, path, list(pool.map(lambda c, r=row, p=path: _send(victim, c, r, p), CALLERS)))
                        for row, path in jobs]
        else:
            futures = [(row, path, [pool.submit(_send, victim, c, row, path) for c in CALLERS]) for row, path in jobs]
            answered = [(row, path, [f.result() for f in fs]) for row, path, fs in futures]
        for row, path, answers in answered:
            for caller, expected, (status, text) in zip(CALLERS, KINDS[row.kind], answers, strict=True):
                pairs += 1
                if status != expected:
                    wrong.append(f"{row.method} {path} as {caller}: {status} (expected {expected}) {text[:160]!r}")
                elif expected == 403 and json.loads(text) != DENIED and "named" not in text:
                    wrong.append(f"{row.method} {path} as {caller}: a 403 unlike the others: {text[:160]!r}")
                if (caller != "platform" and MARK in text) or any(s in text for s in _SQL):
                    wrong.append(f"{row.method} {path} as {caller}: the answer leaks: {text[:200]!r}")
    assert not wrong, f"{len(wrong)} of {pairs} (request, caller) pairs wrong:\n" + "\n".join(wrong)
    return pairs


def test_every_open_route_has_an_attack_row(victim):
    sent = [canonical_route(r.method, p) for r in _rows(victim) for p in r.paths()]
    open_routes = {k for k, cls in ROUTES.items() if cls != "ADMIN"}

    def covered(route: tuple[str, str]) -> bool:
        pattern = re.compile(re.escape(route[1]).replace(r"\*", ".+"))
        return any(m == route[0] and pattern.fullmatch(p) for m, p in sent)

    assert sorted(r for r in open_routes if not covered(r)) == []


def test_requests_to_routes_open_to_users(victim):
    pairs = _check(victim, _rows(victim))
    victim.setdefault("pairs", {})["open"] = pairs


def test_requests_to_admin_routes(victim):
    rows = _admin_rows()
    assert len(rows) > 200
    pairs = _check(victim, rows, ordered=False)
    victim.setdefault("pairs", {})["admin"] = pairs


def test_the_victims_data_is_intact_and_the_owner_still_reads_it(victim, mlflow_server):
    a = victim["sessions"]["bank_b"].__class__()
    a.auth = ("bank_a", mlflow_server["creds"]["bank_a"].password)
    url, run = victim["url"], victim["run_id"]
    got = a.get(f"{url}/api/2.0/mlflow/runs/get", params={"run_id": run}, timeout=30).json()["run"]
    assert got["info"]["lifecycle_stage"] == "active"
    assert {p["key"]: p["value"] for p in got["data"]["params"]}["secret"] == MARK
    art = a.get(f"{url}/get-artifact", params={"path": "secret.txt", "run_uuid": run}, timeout=30)
    assert art.status_code == 200 and art.text == MARK
    model = a.get(f"{url}/api/2.0/mlflow/registered-models/get", params={"name": "bank_a.model"}, timeout=30)
    assert model.status_code == 200
    assert a.get(f"{url}/api/2.0/mlflow/users/current", timeout=30).json()["user"]["username"] == "bank_a"


def test_missing_and_foreign_give_the_same_answer(victim):
    """bank_b cannot tell bank_a's experiment, run or model from one that does not exist."""
    b, url = victim["sessions"]["bank_b"], victim["url"]
    pairs = [
        ("/api/2.0/mlflow/experiments/get", {"experiment_id": victim["experiment_id"]}, {"experiment_id": "987654"}),
        ("/api/2.0/mlflow/experiments/get-by-name", {"experiment_name": "joint/bank_a"},
         {"experiment_name": "joint/no_such_bank"}),
        ("/api/2.0/mlflow/runs/get", {"run_id": victim["run_id"]}, {"run_id": "0" * 32}),
        ("/api/2.0/mlflow/registered-models/get", {"name": "bank_a.model"}, {"name": "bank_z.model"}),
        ("/api/2.0/mlflow/users/get", {"username": "bank_a"}, {"username": "no_such_user"}),
        ("/get-artifact", {"path": "secret.txt", "run_uuid": victim["run_id"]}, {"path": "x", "run_uuid": "0" * 32}),
    ]  # fmt: skip
    for path, foreign, missing in pairs:
        one, other = (b.get(url + path, params=p, timeout=30) for p in (foreign, missing))
        assert (one.status_code, one.text) == (other.status_code, other.text) == (403, json.dumps(DENIED)), path


def test_no_error_body_carries_sql(victim, mlflow_server):
    url = victim["url"]
    admin = requests.Session()
    admin.auth = mlflow_server["admin"]
    dup = admin.post(f"{url}/api/2.0/mlflow/users/create",
                     json={"username": "bank_a", "password": "Another-" + secrets.token_urlsafe(16)}, timeout=30)
    assert dup.status_code == 400 and "already exists" in dup.text
    again = admin.post(f"{url}/api/2.0/mlflow/experiments/create", json={"name": "joint/bank_a"}, timeout=30)
    assert again.status_code == 400
    a = requests.Session()
    a.auth = ("bank_a", mlflow_server["creds"]["bank_a"].password)
    clash = a.post(f"{url}/api/2.0/mlflow/runs/log-batch", timeout=30, json={
        "run_id": victim["run_id"], "params": [{"key": "secret", "value": "another value"}]})  # fmt: skip
    assert clash.status_code == 400
    for resp in (dup, again, clash):
        assert not any(s.lower() in resp.text.lower() for s in (*_SQL, "constraint", "[parameters")), resp.text


def test_weak_passwords_are_refused_by_the_server(victim, mlflow_server):
    url = victim["url"]
    admin = requests.Session()
    admin.auth = mlflow_server["admin"]
    for weak in ("a-long-secret", "password1234", "aaaaaaaaaaaaaaaa"):
        resp = admin.post(f"{url}/api/2.0/mlflow/users/create", json={"username": "bank_weak", "password": weak},
                          timeout=30)
        assert resp.status_code == 400 and "password" in resp.json()["message"], resp.text
    p = requests.Session()
    p.auth = ("platform", mlflow_server["creds"]["platform"].password)
    resp = p.patch(f"{url}/api/2.0/mlflow/users/update-password", timeout=30, json={
        "username": "platform", "password": "password1234", "current_password": p.auth[1]})  # fmt: skip
    assert resp.status_code == 400
