"""The MLflow model registry: register a run's pyfunc model, move aliases (`challenger`, `champion`), download.

Aliases replace MLflow's deprecated stages: a new training run registers a version with alias `challenger`;
`promote` gives a chosen version the alias `champion` (an alias points at one version, so promoting moves it).
"""

from __future__ import annotations

from pathlib import Path

from techscore.exceptions import ModelError

__all__ = ["CHALLENGER", "CHAMPION", "client", "download_model", "promote", "register"]

CHALLENGER = "challenger"
CHAMPION = "champion"


def client(tracking_uri: str | None = None):
    """An MlflowClient on `tracking_uri` (default: `techscore.workspace.default_mlflow_uri()`), registry included."""
    from mlflow import MlflowClient

    from techscore.workspace import default_mlflow_uri

    uri = tracking_uri or default_mlflow_uri()
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def register(model_uri: str, name: str, *, alias: str | None = CHALLENGER, run_id: str | None = None,
             tracking_uri: str | None = None, tags: dict[str, str] | None = None):
    """Register `model_uri` as a new version of `name` and point `alias` at it; returns the ModelVersion."""
    from mlflow.exceptions import MlflowException

    from techscore.model.tracking import using_tracking_uri

    c = client(tracking_uri)
    try:
        with using_tracking_uri(c.tracking_uri):  # the registry looks the logged model up through the fluent API
            try:
                c.get_registered_model(name)
            except MlflowException:
                c.create_registered_model(name, description="techscore PD model (pd, score, grade).")
            version = c.create_model_version(name, source=model_uri, run_id=run_id, tags=tags or {})
            if alias:
                c.set_registered_model_alias(name, alias, version.version)
    except MlflowException as exc:
        raise ModelError(f"could not register {model_uri} as '{name}': {exc.message}") from exc
    return version


def promote(name: str, version: int | str, *, alias: str = CHAMPION, tracking_uri: str | None = None):
    """Point `alias` (default `champion`) of registered model `name` at `version`; returns the ModelVersion."""
    from mlflow.exceptions import MlflowException

    c = client(tracking_uri)
    try:
        mv = c.get_model_version(name, str(version))
    except MlflowException as exc:
        raise ModelError(f"registered model '{name}' has no version {version}: {exc.message}") from exc
    c.set_registered_model_alias(name, alias, mv.version)
    return c.get_model_version(name, mv.version)


def download_model(uri: str, *, tracking_uri: str | None = None, dst: str | Path | None = None) -> Path:
    """Download the model behind `uri` (`models:/name@alias`, `models:/name/version`, `models:/<model id>`,
    `runs:/<run id>/<path>`) and return the local folder."""
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    c = client(tracking_uri)
    source = uri
    try:
        if uri.startswith("models:/") and not uri.startswith("models:/m-"):
            rest = uri[len("models:/"):]
            if "@" in rest:
                name, alias = rest.split("@", 1)
                mv = c.get_model_version_by_alias(name, alias)
            elif "/" in rest:
                name, version = rest.split("/", 1)
                mv = c.get_model_version(name, version)
            else:
                raise ModelError(f"model URI {uri!r} must name a version or alias: models:/NAME@ALIAS or models:/NAME/VERSION.")
            source = mv.source
        from techscore.model.tracking import using_tracking_uri

        with using_tracking_uri(c.tracking_uri):
            local = mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=None if dst is None else str(dst),
                                                        tracking_uri=c.tracking_uri, registry_uri=c.tracking_uri)
    except MlflowException as exc:
        raise ModelError(f"cannot load model {uri!r}: {exc.message}") from exc
    return Path(local)
