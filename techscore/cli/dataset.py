"""`techscore dataset` builds the point-in-time loan dataset; `techscore featurize` computes features for scoring."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from techscore.cli._common import JsonFlag, cli_errors, console
from techscore.cli.features import split_groups

DataDir = Annotated[Path | None, typer.Option("--data", help="Folder of raw tables.")]
GroupsOpt = Annotated[
    list[str] | None, typer.Option("--groups", "-g", help="Feature groups to include (comma-separated or repeated).")
]
Workspace = Annotated[
    Path | None, typer.Option("--workspace", help="Workspace holding features/ (default: found upwards).")
]


def read_firms(path: Path) -> list[str]:
    """Firm codes from a file: Parquet or CSV with a `uscc` column, else plain text with one code per line."""
    import pandas as pd

    from techscore.exceptions import SchemaError

    if path.suffix.lower() in (".parquet", ".csv"):
        frame = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path, dtype=str)
        if "uscc" not in frame.columns:
            raise SchemaError(f"{path} has no uscc column; columns are {', '.join(map(str, frame.columns[:5]))}.")
        return frame["uscc"].dropna().astype(str).str.strip().tolist()
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def register(app: typer.Typer) -> None:
    @app.command("dataset")
    def dataset(
        spec: Annotated[Path | None, typer.Argument(help="Experiment spec (TOML) naming data, window and groups.")] = None,
        data: DataDir = None,
        out: Annotated[Path | None, typer.Option("--out", help="Output folder (dataset.parquet, dataset.json).")] = None,
        window: Annotated[int | None, typer.Option("--window", help="Performance window in months [12].")] = None,
        groups: GroupsOpt = None,
        observation_end: Annotated[
            str | None, typer.Option("--observation-end", help="Last date outcomes are observed (default: data).")
        ] = None,
        force: Annotated[bool, typer.Option("--force", help="Rebuild even if a matching dataset exists.")] = False,
        workspace: Workspace = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Build the loan dataset: one row per loan, features as of its issue month, default-within-window label."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with cli_errors():
            request = _request(spec, workspace, data=data, out=out, window=window, groups=split_groups(groups),
                               observation_end=observation_end)
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                          console=console, transient=True, disable=as_json) as bar:
                task = bar.add_task("features by issue month", total=None)

                def progress(done: int, total: int, what: str) -> None:
                    bar.update(task, completed=done, total=total, description=what)

                ds = request.build(progress=progress, force=force)
            s = ds.summary
            if as_json:
                typer.echo(json.dumps({"path": str(ds.path), "fingerprint": ds.fingerprint, **{
                    k: s.get(k) for k in ("rows", "loans_total", "excluded", "bad_rate", "observation_end")
                }}, default=str))
                return
            rate = "n/a" if s.get("bad_rate") is None else f"{s['bad_rate']:.2%}"
            console.print(
                f"dataset [bold]{ds.path}[/]: {s['rows']:,} loans x {len(ds.features)} features, bad rate {rate}; "
                f"excluded {s['excluded']['window_incomplete']:,} loans whose {s['window_months']}-month window "
                f"ends after {s['observation_end']}; fingerprint {ds.fingerprint[:12]}",
                soft_wrap=True,
            )

    @app.command("featurize")
    def featurize_cmd(
        data: DataDir = None,
        as_of: Annotated[str, typer.Option("--as-of", help="As-of date: features use what was known before it.")] = "",
        firms: Annotated[
            Path | None, typer.Option("--firms", help="Firms to compute (text, CSV or Parquet with uscc); default all.")
        ] = None,
        out: Annotated[Path | None, typer.Option("--out", help="Output file (.parquet or .csv).")] = None,
        groups: GroupsOpt = None,
        workspace: Workspace = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Compute features for a list of firms as of one date (the input of `techscore score`)."""
        import pandas as pd

        from techscore.catalogue import load_catalogue
        from techscore.dataset.build import featurize
        from techscore.exceptions import SpecError

        with cli_errors():
            if data is None or not as_of or out is None:
                raise SpecError("featurize needs --data DIR, --as-of DATE and --out PATH.")
            try:
                date = pd.Timestamp(as_of)
            except ValueError as exc:
                raise SpecError(f"--as-of must be a date like 2024-06-30; got {as_of!r}.") from exc
            codes = read_firms(firms) if firms is not None else None
            frame = featurize(data, codes, date, groups=split_groups(groups), catalogue=load_catalogue(workspace))
            out.parent.mkdir(parents=True, exist_ok=True)
            if out.suffix.lower() == ".csv":
                frame.to_csv(out)
            else:
                frame.to_parquet(out)
            if as_json:
                typer.echo(json.dumps({"path": str(out), "firms": len(frame), "features": frame.shape[1]}))
            else:
                console.print(f"wrote {len(frame):,} firms x {frame.shape[1]} features as of {date.date()} to {out}",
                              soft_wrap=True)


def _request(spec: Path | None, workspace: Path | None, *, data: Path | None, out: Path | None,
             window: int | None, groups: list[str] | None, observation_end: str | None):
    """The experiment's dataset request (`techscore.dataset.dataset_request`) with the command line's overrides,
    or one made from the options alone."""
    import dataclasses

    from techscore.dataset.experiment import DatasetRequest, dataset_request
    from techscore.exceptions import SpecError
    from techscore.specs import load_experiment
    from techscore.workspace import workspace as find_workspace

    if spec is not None:
        base = dataset_request(load_experiment(spec, workspace=workspace, check_model=False))
        given = {"data": data, "out": out, "window_months": window, "groups": tuple(groups) if groups else None,
                 "observation_end": observation_end}
        return dataclasses.replace(base, **{k: v for k, v in given.items() if v is not None})
    if data is None or out is None:
        raise SpecError("give an experiment spec, or both --data DIR and --out DIR.")
    return DatasetRequest(data=data, out=out, workspace=find_workspace(workspace),
                          groups=tuple(groups) if groups else None, window_months=window or 12,
                          observation_end=observation_end)
