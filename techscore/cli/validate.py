"""`techscore validate DIR`: check raw tables against the data contract, report problems, split off bad rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from techscore.cli._common import JsonFlag, cli_errors, console, err_console


def register(app: typer.Typer) -> None:
    app.command("validate")(validate_command)


def validate_command(
    directory: Annotated[Path, typer.Argument(help="Data folder: <table>.parquet or <table>.csv per table.")],
    rejects: Annotated[
        Path | None,
        typer.Option("--rejects", help="Write valid tables (<table>.parquet) and rejected rows "
                                       "(<table>.rejects.parquet) to this folder."),
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="JSON report path (default DIR/validation_report.json).")
    ] = None,
    lenient_check_character: Annotated[
        bool,
        typer.Option("--lenient-check-character",
                     help="A firm code failing its check character is a warning, not an error (early pilot codes)."),
    ] = False,
    snapshot_date: Annotated[
        str | None,
        typer.Option("--snapshot-date", help="The data's extraction date; no event may be dated after it "
                                             "(default: snapshot_date in DIR/manifest.json or world.json, else today)."),
    ] = None,
    json_output: JsonFlag = False,
    max_show: Annotated[int, typer.Option("--max-show", min=0, help="Problems to show (and list in the report).")] = 20,
) -> None:
    """Validate raw tables: exit 0 when no errors, 1 when errors were found (also with --rejects), 2 on usage or
    file errors (a missing required table or column among them, after the report is written). Warnings never change
    the exit code."""
    with cli_errors(), _io_errors():
        from techscore.sources.rejects import report as report_dict
        from techscore.sources.rejects import write_rejects, write_report, write_valid
        from techscore.sources.validation import validate

        with err_console.status("validating") as status:
            result = validate(directory, lenient_check_character=lenient_check_character, snapshot_date=snapshot_date,
                              progress=lambda name: status.update(f"validating {name}"))
            report_path = write_report(result, report or directory / "validation_report.json",
                                       max_problems=max(max_show, 100))
            if rejects is not None:
                write_valid(result, rejects)
                write_rejects(result, rejects)
        if json_output:
            typer.echo(json.dumps(report_dict(result, max_problems=max_show), ensure_ascii=False, indent=2))
        else:
            _show(result, max_show)
            console.print(f"report: {report_path}" + (f"; valid and rejected rows: {rejects}" if rejects else ""))
        for message in result.file_errors["message"]:
            err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code=2 if len(result.file_errors) else 0 if result.ok else 1)


def _show(result, max_show: int) -> None:
    import pandas as pd
    from rich.table import Table

    def text(value) -> str:
        return "" if pd.isna(value) else str(value)

    summary = Table(title="validation", title_justify="left")
    for column in ("table", "input rows", "valid", "rejected", "errors", "warnings"):
        summary.add_column(column, justify="left" if column == "table" else "right")
    for name, row in result.counts.iterrows():
        style = "red" if row["errors"] else ("yellow" if row["warnings"] else None)
        cells = [f"{int(row[k]):,}" for k in ("input", "valid", "rejected", "errors", "warnings")]
        summary.add_row(name + ("" if text(row["file"]) else " (absent)"), *cells, style=style)
    console.print(summary)
    if len(result.problems) and max_show:
        shown = result.problems.head(max_show)
        problems = Table(title=f"first {len(shown):,} of {len(result.problems):,} problems", title_justify="left")
        problems.add_column("file", max_width=24, overflow="fold")
        problems.add_column("row", justify="right", no_wrap=True)
        problems.add_column("column", max_width=18, overflow="fold")
        problems.add_column("value", max_width=20, overflow="ellipsis", no_wrap=True)
        problems.add_column("message", ratio=1, overflow="fold")
        for p in shown.itertuples(index=False):
            cells = [Path(p.file).name, *(text(v) for v in (p.row, p.column, p.value, p.message))]
            problems.add_row(*cells, style="red" if p.severity == "error" else "yellow")
        console.print(problems)
    verdict = "[green]no errors[/]" if result.ok else f"[red]{result.n_errors:,} errors[/]"
    console.print(f"{verdict}, {result.n_warnings:,} warnings; snapshot date {result.snapshot_date.date()} "
                  f"({result.snapshot_source})", soft_wrap=True)


@contextmanager
def _io_errors() -> Iterator[None]:
    """Turn an unreadable or unwritable path (permission, a folder where a file should be) into exit code 2."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=2) from exc
