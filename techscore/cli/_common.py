"""Options and error handling shared by every command."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from techscore.exceptions import TechscoreError

console = Console()
err_console = Console(stderr=True)

Seed = Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same result.")]
OutDir = Annotated[Path, typer.Option("--out", help="Output folder.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON summary.")]
TrackingUri = Annotated[
    str | None,
    typer.Option("--tracking-uri", envvar="MLFLOW_TRACKING_URI", help="MLflow tracking URI (default: local store)."),
]


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn techscore's own errors (and missing files) into a clear message and exit code 2, not a traceback."""
    try:
        yield
    except (TechscoreError, FileNotFoundError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=2) from exc


def command(app: typer.Typer, name: str | None = None, **kwargs) -> Callable[[Callable], Callable]:
    """Register `fn` as a command of `app` (thin alias kept so every module registers the same way)."""
    return app.command(name=name, **kwargs)
