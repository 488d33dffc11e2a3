"""The `techscore` command line: a thin shell, each command parsing arguments and calling one library function."""

from __future__ import annotations

import importlib
import os

import typer

app = typer.Typer(
    name="techscore",
    help="Credit-risk scoring for technology SMEs: synth, validate, features, dataset, train, tune, report, score, export, serve, joint, policy, monitor.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Each module registers its own commands with `register(app)`; heavy libraries are imported inside commands so
# that `techscore --help` stays fast.
COMMAND_MODULES: tuple[str, ...] = (
    "demo", "synth", "validate", "features", "dataset", "train", "report", "score", "export", "joint", "match",
    "server", "serve", "policy", "monitor",
)

for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"techscore.cli.{_name}")
    except ModuleNotFoundError as exc:  # a command still being built; remove once all exist
        if exc.name != f"techscore.cli.{_name}":
            raise
        continue
    _module.register(app)


def main() -> None:
    """Console-script entry point. The CLI owns the terminal: MLflow's INFO lines and artifact-download bars are
    off unless the user's environment asks for them (MLFLOW_LOGGING_LEVEL, MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR)."""
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    app()
