"""`techscore features`: list the feature catalogue, or write its bilingual documentation page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from techscore.cli._common import JsonFlag, cli_errors, console

Groups = Annotated[
    list[str] | None,
    typer.Option("--group", "-g", help="Only this group (repeat, or comma-separate: --group rd,ip)."),
]


def split_groups(groups: list[str] | None) -> list[str] | None:
    """`--group rd --group ip,finance` -> ['rd', 'ip', 'finance']; None when not given."""
    if not groups:
        return None
    return [g.strip() for item in groups for g in item.split(",") if g.strip()]


def register(app: typer.Typer) -> None:
    @app.command("features")
    def features(
        group: Groups = None,
        as_json: JsonFlag = False,
        doc: Annotated[
            Path | None, typer.Option("--doc", help="Write catalogue.md and catalogue.html into this folder.")
        ] = None,
        workspace: Annotated[
            Path | None, typer.Option("--workspace", help="Workspace holding features/ (default: found upwards).")
        ] = None,
    ) -> None:
        """List the feature catalogue: id, group, names, unit, risk direction, source tables."""
        import dataclasses

        from techscore.catalogue import load_catalogue

        with cli_errors():
            cat = load_catalogue(workspace).select(groups=split_groups(group))
            if doc is not None:
                from techscore.catalogue.docs import write_catalogue_docs

                paths = write_catalogue_docs(cat, doc)
                if as_json:
                    typer.echo(json.dumps({"written": [str(p) for p in paths], "features": len(cat)}))
                else:
                    console.print(f"wrote {len(cat)} features to " + ", ".join(str(p) for p in paths), soft_wrap=True)
                return
            if as_json:
                typer.echo(json.dumps({
                    "version": cat.version,
                    "features": [
                        {**dataclasses.asdict(m), "depends_on": list(cat.dependencies(m.id))} for m in cat.features
                    ],
                }, ensure_ascii=False, indent=2))
                return
            _print_table(cat)


def _print_table(cat) -> None:
    from rich.table import Table

    table = Table(title=f"techscore feature catalogue · {len(cat)} features · version {cat.version}")
    table.add_column("id", no_wrap=True, style="bold")
    for column in ("group", "中文名", "English name", "unit", "direction", "sources"):
        table.add_column(column, overflow="fold")
    style = {1: "red", -1: "green", 0: "dim"}
    for m in cat.features:
        d = f"{m.direction:+d}" if m.direction else "0"
        table.add_row(m.id, m.group, m.name_zh, m.name_en, m.unit, f"[{style[m.direction]}]{d}[/]", ", ".join(m.sources))
    console.print(table)
