"""`techscore score`: batch-score a feature table, or raw tables as of a date, with reason codes."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from techscore.cli._common import JsonFlag, TrackingUri, cli_errors, console


def register(app: typer.Typer) -> None:
    @app.command("score")
    def score(
        model: Annotated[str, typer.Option("--model", help="MLflow model URI (models:/name@champion, runs:/...) or a local model folder.")],
        input: Annotated[Path, typer.Option("--input", help="Feature table (.parquet/.csv) or a folder of raw tables (with --as-of).")],
        output: Annotated[Path, typer.Option("--output", help="Scores file (.parquet or .csv).")],
        rejects: Annotated[Path | None, typer.Option("--rejects", help="Rejected rows with reasons (default: beside the output).")] = None,
        reasons: Annotated[int, typer.Option("--reasons", min=0, help="Reason codes per firm.")] = 5,
        as_of: Annotated[str | None, typer.Option("--as-of", help="With raw tables: the date features are computed as of.")] = None,
        firms: Annotated[Path | None, typer.Option("--firms", help="With raw tables: file of uscc codes to score (default: all firms).")] = None,
        chunk_rows: Annotated[int, typer.Option("--chunk-rows", min=1, help="Rows per chunk (bounds memory).")] = 100_000,
        keep: Annotated[list[str] | None, typer.Option("--keep", help="Input column to copy to the output (repeatable).")] = None,
        tracking_uri: TrackingUri = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Score firms: PD, score, grade and top reason codes; every row is scored or rejected with its reason."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from techscore.model.pdmodel import PDModel
        from techscore.scoring import score_file
        from techscore.scoring.stream import count_rows

        with cli_errors(), tempfile.TemporaryDirectory() as tmp:
            pd_model = PDModel.from_mlflow(model, tracking_uri=tracking_uri)
            table = input
            if input.is_dir() and any((input / f"enterprises.{ext}").exists() for ext in ("parquet", "csv")):
                table = _featurize_raw(input, as_of, firms, pd_model, Path(tmp))
            total = count_rows(table)
            columns = [TextColumn("[bold]scoring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                       TextColumn("{task.fields[rate]}")]
            with Progress(*columns, console=console, transient=as_json, disable=as_json) as bar:
                task = bar.add_task("score", total=total, rate="")

                def advance(n: int) -> None:
                    bar.advance(task, n)
                    elapsed = bar.tasks[task].elapsed or 1e-9
                    bar.update(task, rate=f"{bar.tasks[task].completed / elapsed:,.0f} rows/s")

                summary = score_file(pd_model, table, output, rejects=rejects, reasons=reasons,
                                     chunk_rows=chunk_rows, keep=tuple(keep or ()), progress=advance)
            if as_json:
                console.print_json(json.dumps(summary.as_dict()))
            else:
                console.print(f"input {summary.input:,} = scored {summary.scored:,} + rejected {summary.rejected:,}")
                console.print(f"scores: {summary.output}\nrejects: {summary.rejects}")


def _featurize_raw(folder: Path, as_of: str | None, firms: Path | None, model, tmp: Path) -> Path:
    """Compute the model's features as of a date from raw tables, into a Parquet feature table."""
    import pandas as pd

    from techscore.dataset.build import featurize
    from techscore.exceptions import ScoringError

    if not as_of:
        raise ScoringError(f"{folder}: raw tables need --as-of, the date the features are computed as of.")
    codes = None
    if firms is not None:
        codes = [line.strip() for line in firms.read_text(encoding="utf-8").splitlines() if line.strip() and line.strip() != "uscc"]
    frame = featurize(folder, codes, pd.Timestamp(as_of), ids=model.feature_ids)
    frame = frame.reset_index()
    frame.insert(1, "as_of", pd.Timestamp(as_of).date().isoformat())
    path = tmp / "features.parquet"
    frame.to_parquet(path, index=False)
    return path
