"""Every route of the installed MLflow's server app is classified: a release that adds one turns this red (and the
server refuses to start until `techscore.joint.server_routes` says who may call it)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

_SCRIPT = r"""
import json, os, sys, tempfile
d = tempfile.mkdtemp()
open(f"{d}/auth.ini", "w").write(
    "[mlflow]\ndefault_permission = NO_PERMISSIONS\n"
    f"database_uri = sqlite:///{d}/auth.db\nadmin_username = ts-admin\n"
    "authorization_function = techscore.joint.server_app:authenticate_request\n"
    "grant_default_workspace_access = false\nauth_cache_ttl_seconds = 0\n")
os.environ.update({
    "MLFLOW_AUTH_CONFIG_PATH": f"{d}/auth.ini", "MLFLOW_FLASK_SERVER_SECRET_KEY": "k" * 32,
    "MLFLOW_AUTH_ADMIN_PASSWORD": "Tq8-vesper-Lantern-41", "_MLFLOW_SERVER_FILE_STORE": f"sqlite:///{d}/m.db",
    "_MLFLOW_SERVER_SERVE_ARTIFACTS": "true", "_MLFLOW_SERVER_ARTIFACT_DESTINATION": f"{d}/art",
    "_MLFLOW_SGI_NAME": "uvicorn", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
from mlflow.server import app as flask_app
from mlflow.server.auth import create_app
from techscore.joint.server_app import route_report
report = route_report(create_app(flask_app), flask_app)
print("REPORT" + json.dumps(report))
"""


def test_every_route_of_the_app_is_classified_and_the_table_has_no_stale_entry():
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=300)
    line = next((x for x in out.stdout.splitlines() if x.startswith("REPORT")), None)
    assert line is not None, out.stderr[-3000:]
    report = json.loads(line[len("REPORT"):])
    assert len(report["routes"]) > 250
    assert report["unclassified"] == []
    assert report["stale"] == []


def test_the_entry_point_names_the_techscore_app():
    from importlib.metadata import entry_points

    found = {e.name: e.value for e in entry_points(group="mlflow.app")}
    assert found.get("techscore") == "techscore.joint.server_app:create_app"
