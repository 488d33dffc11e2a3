"""`techscore score`: batch-score a feature table, or raw tables as of a date, with reason codes."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from techscore.cli._common import JsonFlag, TrackingUri, cli_errors, console
from techscore.cli.dataset import Workspace, read_firms


def register(app: typer.Typer) -> None:
    @app.command("score")
    def score(
        model: Annotated[str, typer.Option(
            "--model", help="MLflow model URI (models:/name@champion, runs:/<id>/<path>) or a local model folder.")],
        input: Annotated[Path, typer.Option(
            "--input", help="Feature table (.parquet, folder of parts, .csv) or a folder of raw tables (with --as-of).")],
        output: Annotated[Path, typer.Option("--output", help="Scores file (.parquet or .csv).")],
        rejects: Annotated[Path | None, typer.Option(
            "--rejects", help="Rejected rows with their reason (default: <output>.rejects.<ext> beside it).")] = None,
        reasons: Annotated[int, typer.Option("--reasons", min=0, help="Reason codes per firm (0: none).")] = 5,
        as_of: Annotated[str | None, typer.Option(
            "--as-of", help="With raw tables: the date features are computed as of.")] = None,
        firms: Annotated[Path | None, typer.Option(
            "--firms", help="With raw tables: firms to score (text, CSV or Parquet with uscc; default all).")] = None,
        chunk_rows: Annotated[int, typer.Option("--chunk-rows", min=1, help="Rows per chunk (bounds memory).")] = 50_000,
        keep: Annotated[list[str] | None, typer.Option(
            "--keep", help="Input column copied to the scores (repeatable).")] = None,
        skip_catalogue_check: Annotated[bool, typer.Option(
            "--skip-catalogue-check", help="Score a feature table computed with another catalogue version.")] = False,
        strict: Annotated[bool, typer.Option(
            "--strict", help="With raw tables: stop at the first validation error (exit 2) instead of leaving the "
                             "rejected rows out.")] = False,
        snapshot_date: Annotated[str | None, typer.Option(
            "--snapshot-date", help="With raw tables: the data's extraction date (default: snapshot_date in the "
                                    "folder's manifest.json or world.json, else today).")] = None,
        workspace: Workspace = None,
        tracking_uri: TrackingUri = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Score firms: PD, score, grade and top reason codes; every row is scored or rejected with its reason."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from techscore.exceptions import ScoringError
        from techscore.model.pdmodel import PDModel
        from techscore.scoring import open_input, score_file
        from techscore.scoring.raw import AS_OF_COLUMN, featurize_table, is_raw_folder

        with cli_errors(), tempfile.TemporaryDirectory(prefix="techscore-score-") as tmp:
            pd_model = PDModel.from_mlflow(model, tracking_uri=tracking_uri)
            table, kept, validation = input, list(keep or []), None
            if is_raw_folder(input):
                if not as_of:
                    raise ScoringError(f"{input}: raw tables need --as-of, the date the features are computed as of.")
                codes = read_firms(firms) if firms is not None else None
                with console.status("validating raw tables and computing features", spinner="dots"):
                    validation = featurize_table(input, as_of, pd_model, Path(tmp) / "features.parquet", firms=codes,
                                                 workspace=workspace, snapshot_date=snapshot_date, strict=strict)
                table = validation.path
                kept = [AS_OF_COLUMN, *[k for k in kept if k != AS_OF_COLUMN]]
            elif as_of or firms or strict or snapshot_date:
                raise ScoringError(f"{input}: --as-of, --firms, --strict and --snapshot-date apply to a folder of raw "
                                   "tables; a feature table is scored as it is.")
            total = open_input(table).rows
            columns = [TextColumn("[bold]scoring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                       TextColumn("{task.fields[rate]}")]
            with Progress(*columns, console=console, transient=True, disable=as_json) as bar:
                task = bar.add_task("score", total=total, rate="")

                def advance(done: int, _total: int, _what: str) -> None:
                    bar.update(task, completed=done)
                    elapsed = bar.tasks[task].elapsed or 1e-9
                    bar.update(task, rate=f"{bar.tasks[task].completed / elapsed:,.0f} rows/s")

                summary = score_file(pd_model, table, output, rejects=rejects, reasons=reasons, chunk_rows=chunk_rows,
                                     keep=tuple(kept), check_catalogue=not skip_catalogue_check, progress=advance)
                seconds = bar.tasks[task].elapsed or 0.0
            if as_json:
                extra = {"validation": validation.as_dict()} if validation is not None else {}
                typer.echo(json.dumps({**summary.as_dict(), "seconds": round(seconds, 3), **extra}))
                return
            if validation is not None:
                left = ", ".join(f"{name} {c['rejected']:,} of {c['input']:,}" for name, c in validation.tables.items()
                                 if c["rejected"])
                console.print(f"validation (snapshot {validation.snapshot_date}): {validation.errors:,} errors, "
                              f"{validation.warnings:,} warnings; rows left out: {left or 'none'}; "
                              f"firms rejected for their own row: {validation.firms_rejected:,}", soft_wrap=True)
            rate = f" in {seconds:,.1f} s ({summary.input / seconds:,.0f} rows/s)" if seconds > 0 else ""
            console.print(f"input {summary.input:,} = scored {summary.scored:,} + rejected {summary.rejected:,}{rate}")
            if summary.rejected_by:
                console.print("rejected: " + ", ".join(f"{k} {v:,}" for k, v in summary.rejected_by.items()))
            console.print(f"scores: {summary.output}\nrejects: {summary.rejects}", soft_wrap=True)
