"""`techscore synth`: write a synthetic tech-SME world (seven raw tables, ground truth, description)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from techscore.cli._common import JsonFlag, OutDir, Seed, cli_errors, console


def register(app: typer.Typer) -> None:
    app.command(name="synth")(synth)


def synth(
    firms: Annotated[int, typer.Option("--firms", min=10, help="Number of firms.")] = 10_000,
    seed: Seed = 0,
    out: OutDir = Path("synth-world"),
    dirty: Annotated[bool, typer.Option("--dirty", help="Inject documented bad rows (dirty_manifest.json).")] = False,
    start_year: Annotated[int, typer.Option("--start-year", help="First year of records.")] = 2016,
    end_year: Annotated[int, typer.Option("--end-year", help="Last year of records (snapshot 31 Dec).")] = 2025,
    applications: Annotated[bool, typer.Option(
        "--applications", help="Drawn loans become applications; the banks' approval rule keeps the approved ones "
                               "as loans (applications.parquet; rejected outcomes only in application_truth.parquet)."
    )] = False,
    soft_info: Annotated[float, typer.Option(
        "--soft-info", min=0, help="With --applications: weight of the loan officer's view of unobserved risk in the "
                                   "decision (0: approval on observed data only).")] = 0.0,
    as_json: JsonFlag = False,
) -> None:
    """Generate a synthetic world of tech SMEs with planted risk drivers (same seed, same bytes)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from techscore.synth import generate
    from techscore.synth.applications import ApprovalRule

    rule = ApprovalRule(soft_info=soft_info) if applications else False
    with cli_errors():
        if as_json:
            summary = generate(firms, seed, out, dirty=dirty, start_year=start_year, end_year=end_year,
                               applications=rule)
        else:
            columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                       TimeElapsedColumn())
            with Progress(*columns, console=console, transient=True) as bar:
                task = bar.add_task("firms", total=1000)
                summary = generate(
                    firms, seed, out, dirty=dirty, start_year=start_year, end_year=end_year, applications=rule,
                    progress=lambda done, total, step: bar.update(task, description=step, completed=done),
                )
    if as_json:
        console.print_json(json.dumps({
            "out": str(summary.out), "seed": seed, "firms": firms, "rows": summary.rows,
            "default_rate_12m": summary.default_rate_12m, "dirty": len(summary.dirty),
        }))
        return
    table = Table(title=f"synthetic world: {firms:,} firms, seed {seed} -> {summary.out}")
    table.add_column("table")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, n in summary.rows.items():
        table.add_row(name, summary.files[name], f"{n:,}")
    table.add_row("[bold]total", "", f"[bold]{summary.total_rows:,}")
    console.print(table)
    console.print(
        f"12-month default rate of loans: [bold]{summary.default_rate_12m:.2%}[/] "
        f"over {summary.loans_with_window:,} loans with a complete window; "
        f"{summary.firms_defaulted:,} firms defaulted."
    )
    if applications:
        console.print(f"applications and their decisions: {summary.out / 'applications.parquet'}; every "
                      f"applicant's true outcome: {summary.out / 'application_truth.parquet'}")
    if dirty:
        console.print(f"injected {len(summary.dirty)} bad rows: {summary.out / 'dirty_manifest.json'}")
