"""Serving a registered model: the alias is resolved to its version, which every answer names."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from techscore.model.registry import client, promote, register
from techscore.serve import ServiceConfig, create_app, load_served_model
from tests.serve.conftest import as_records


@pytest.mark.slow
def test_alias_resolves_to_the_version_served(model_dir, frame, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    c = client(uri)
    experiment = c.create_experiment("serve-test", artifact_location=str(tmp_path / "artifacts"))
    versions = []
    for _ in range(2):
        run = c.create_run(experiment)
        c.log_artifacts(run.info.run_id, str(model_dir), "model")
        c.set_terminated(run.info.run_id)
        versions.append(register(f"runs:/{run.info.run_id}/model", "serve_test_pd", alias="champion",
                                 run_id=run.info.run_id, tracking_uri=uri).version)
    promote("serve_test_pd", versions[0], tracking_uri=uri)
    served = load_served_model("models:/serve_test_pd@champion", tracking_uri=uri)
    assert (served.name, served.version) == ("serve_test_pd", str(versions[0]))
    assert served.references is not None  # references.json travels with the model
    config = ServiceConfig(model="models:/serve_test_pd@champion", audit=tmp_path / "a.sqlite", tracking_uri=uri)
    with TestClient(create_app(config)) as service:  # loads at start-up from the registry
        answer = service.post("/v1/score", json={"records": as_records(frame.head(1))}).json()
        assert answer["model"] == {"name": "serve_test_pd", "version": str(versions[0])}
    promote("serve_test_pd", versions[1], tracking_uri=uri)
    assert load_served_model("models:/serve_test_pd@champion", tracking_uri=uri).version == str(versions[1])
