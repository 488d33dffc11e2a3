"""MLflow: one run per training with params, metrics, dataset inputs, artifacts, both models, registry aliases."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from techscore.exceptions import ModelError
from techscore.model.pdmodel import PDModel
from techscore.model.registry import promote
from techscore.model.tracking import using_tracking_uri

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(tracking_uri):
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def test_run_params_metrics_inputs(trained, client):
    run = client.get_run(trained.run_id)
    assert run.info.status == "FINISHED"
    p, m = run.data.params, run.data.metrics
    assert p["model.learner.learning_rate"] == "0.1" and p["model.calibration.method"] == "platt"
    assert p["split.train_before"] == "2021-01-01" and p["model.seed"] == "7"
    for name in ("test_auc", "test_gini", "test_ks", "test_brier", "test_log_loss", "test_score_psi",
                 "valid_auc", "train_auc", "challenger_test_auc", "best_iteration", "oot_auc"):
        assert name in m, name
    assert m["test_gini"] == pytest.approx(2 * m["test_auc"] - 1)
    assert m["test_auc"] == pytest.approx(trained.metrics["test_auc"])
    assert any(k.startswith("test_auc.seg_industry.") for k in m) and any(k.startswith("test_auc.bank_id.") for k in m)
    assert run.data.tags["techscore.dataset_fingerprint"] == trained.dataset.fingerprint
    contexts = {i.tags[0].value: json.loads(i.dataset.profile)["num_rows"] for i in run.inputs.dataset_inputs}
    assert contexts == {"all": 4000, "train": len(trained.folds[0].train), "valid": len(trained.folds[0].valid),
                        "test": len(trained.folds[0].test)}


def test_run_artifacts(trained, client, tmp_path):
    names = set()

    def walk(path=None):
        for f in client.list_artifacts(trained.run_id, path):
            walk(f.path) if f.is_dir else names.add(f.path)

    walk()
    for expected in ("metrics.json", "segments.csv", "plots/roc.png", "plots/ks.png", "plots/calibration.png",
                     "plots/score_distribution.png", "plots/importance.png", "tables/importance.csv",
                     "tables/lift.csv", "tables/comparison.csv", "challenger/points.csv", "spec/experiment.toml",
                     "spec/model.toml", "predictions.parquet", "model/booster.txt", "model/pdmodel.json",
                     "extra/note.txt"):
        assert expected in names, expected
    assert [s for s, _ in trained.seen_by_callback] == ["start", "fold", "end"]
    assert {r for _, r in trained.seen_by_callback} == {trained.run_id}
    local = Path(client.download_artifacts(trained.run_id, "metrics.json", str(tmp_path)))
    doc = json.loads(local.read_text())
    assert doc["champion"]["test"]["auc"] == pytest.approx(trained.metrics["test_auc"])
    assert doc["challenger"]["test"]["auc"] == pytest.approx(trained.metrics["challenger_test_auc"])
    seg = pd.read_csv(client.download_artifacts(trained.run_id, "segments.csv", str(tmp_path)))
    assert {"seg_industry", "seg_region", "seg_lifecycle", "bank_id", "seg_first_loan"} <= set(seg["segment"])
    assert set(seg["model"]) == {"champion", "challenger"}
    points = pd.read_csv(client.download_artifacts(trained.run_id, "challenger/points.csv", str(tmp_path)))
    assert {"variable", "name", "bin", "woe", "points"} <= set(points.columns)


def test_models_logged_and_registered(trained, client, tracking_uri):
    assert trained.registered_model == "techscore_test_pd" and trained.model_version
    mv = client.get_model_version_by_alias("techscore_test_pd", "challenger")
    assert str(mv.version) == trained.model_version and mv.run_id == trained.run_id
    booster_uri = client.get_run(trained.run_id).data.tags["techscore.booster_uri"]
    import mlflow.lightgbm

    with using_tracking_uri(tracking_uri):
        booster = mlflow.lightgbm.load_model(booster_uri)
    assert booster.model_to_string() == trained.model.booster.model_to_string()


def test_pyfunc_returns_pd_score_grade(trained, tracking_uri, loan_dataset):
    import mlflow.pyfunc

    with using_tracking_uri(tracking_uri):
        model = mlflow.pyfunc.load_model(trained.model_uri)
    X = loan_dataset.X.iloc[:20].copy()
    X["profile_industry_section"] = X["profile_industry_section"].astype(str)
    out = model.predict(X)
    assert list(out.columns) == ["pd", "score", "grade"]
    expected = trained.model.predict_frame(loan_dataset.X.iloc[:20])
    assert np.allclose(out["pd"], expected["pd"]) and (out["grade"].astype(str) == expected["grade"].astype(str)).all()
    sig = model.metadata.signature
    assert [c.name for c in sig.outputs.inputs] == ["pd", "score", "grade"]
    assert "profile_industry_section" in sig.inputs.input_names()


def test_promote_moves_champion_and_from_mlflow(trained, workspace, loan_dataset, tracking_uri, client, tmp_path):
    from techscore.model.training import train

    name = trained.registered_model
    promote(name, trained.model_version, tracking_uri=tracking_uri)
    assert str(client.get_model_version_by_alias(name, "champion").version) == trained.model_version
    second = train(workspace / "experiments" / "synthetic.toml", dataset=loan_dataset, tracking_uri=tracking_uri,
                   out=tmp_path / "out2")
    assert int(second.model_version) > int(trained.model_version)
    assert str(client.get_model_version_by_alias(name, "challenger").version) == second.model_version
    assert str(client.get_model_version_by_alias(name, "champion").version) == trained.model_version
    promote(name, second.model_version, tracking_uri=tracking_uri)
    assert str(client.get_model_version_by_alias(name, "champion").version) == second.model_version
    assert "champion" not in client.get_model_version(name, trained.model_version).aliases
    # same spec and seed: the second run reproduces the first
    assert second.model.booster.model_to_string() == trained.model.booster.model_to_string()
    assert second.metrics == trained.metrics
    loaded = PDModel.from_mlflow(f"models:/{name}@champion", tracking_uri=tracking_uri)
    pd.testing.assert_frame_equal(loaded.predict_frame(loan_dataset.X), trained.model.predict_frame(loan_dataset.X))
    by_id = PDModel.from_mlflow(second.model_uri, tracking_uri=tracking_uri)  # models:/m-<id>
    assert by_id.feature_ids == trained.model.feature_ids
    for uri in (f"runs:/{second.run_id}/pd_model", f"runs:/{second.run_id}/model", f"models:/{name}/{trained.model_version}"):
        loaded = PDModel.from_mlflow(uri, tracking_uri=tracking_uri)
        assert loaded.booster.model_to_string() == trained.model.booster.model_to_string(), uri
    with pytest.raises(ModelError, match="has no version 99"):
        promote(name, 99, tracking_uri=tracking_uri)


def test_using_tracking_uri_leaves_no_default_store_behind(tmp_path, monkeypatch):
    """Loading a registered model goes through `using_tracking_uri`; afterwards the default store must still be the
    workspace's, not MLflow's own default (./mlflow.db) exported into the environment by the restore."""
    import mlflow

    from techscore.workspace import default_mlflow_uri

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
    store = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    with using_tracking_uri(store):
        assert mlflow.get_tracking_uri() == store
    assert "MLFLOW_TRACKING_URI" not in os.environ and "MLFLOW_REGISTRY_URI" not in os.environ
    assert default_mlflow_uri(tmp_path) == f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"

    explicit = f"sqlite:///{tmp_path / 'chosen.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", explicit)
    mlflow.set_tracking_uri(explicit)
    with using_tracking_uri(store):
        pass
    assert os.environ["MLFLOW_TRACKING_URI"] == explicit and mlflow.get_tracking_uri() == explicit
    mlflow.set_tracking_uri(None)
