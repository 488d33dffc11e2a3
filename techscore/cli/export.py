"""`techscore export`: write a shipped model as SQL or PMML so a warehouse scores without Python."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from techscore.cli._common import JsonFlag, TrackingUri, cli_errors, console


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export(
        model: Annotated[str, typer.Option(
            "--model", help="PD model: MLflow URI (models:/name@champion) or model folder; scorecard: its JSON file.")],
        fmt: Annotated[str, typer.Option("--format", help="sql or pmml (pmml: the WOE scorecard).")],
        out: Annotated[Path, typer.Option("--out", help="File to write.")],
        dialect: Annotated[str, typer.Option("--dialect", help="SQL dialect: duckdb or ansi.")] = "duckdb",
        reasons: Annotated[int | None, typer.Option(
            "--reasons", min=0, help="Reason codes per row (scorecard only; default 3).")] = None,
        table: Annotated[str, typer.Option("--table", help="Feature table the SQL reads.")] = "features",
        keep: Annotated[list[str] | None, typer.Option(
            "--keep", help="Input column passed through to the output (repeatable; default all).")] = None,
        tracking_uri: TrackingUri = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Export a model: the LightGBM PD model to SQL, the WOE scorecard to SQL or PMML."""
        from techscore.export import export_model

        with cli_errors():
            path = export_model(model, fmt, out, dialect=dialect, reasons=reasons, table=table, keep=keep,
                                tracking_uri=tracking_uri)
        summary = {"model": model, "format": fmt, "dialect": dialect if fmt == "sql" else None, "out": str(path),
                   "bytes": path.stat().st_size}
        if as_json:
            console.print_json(json.dumps(summary))
        else:
            console.print(f"wrote {path} ({summary['bytes']:,} bytes)")
