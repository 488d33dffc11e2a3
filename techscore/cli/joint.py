"""`techscore joint EXPERIMENT`: run a joint-modelling experiment (own vs pooled models, platform vs platform plus
bank features, on each bank's own test loans) and log the parent and per-bank child runs."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer

from techscore.cli._common import JsonFlag, cli_errors, console


def register(app: typer.Typer) -> None:
    app.command(name="joint")(joint)


def _fmt(v: object, digits: int = 3) -> str:
    if isinstance(v, float):
        return "-" if v != v else f"{v:.{digits}f}"
    return "-" if v is None else str(v)


def joint(
    experiment: Annotated[Path, typer.Argument(help="Joint experiment spec (TOML), e.g. experiments/joint_demo.toml.")],
    tracking_uri: Annotated[
        str | None,
        typer.Option("--tracking-uri", help="MLflow URI (default: the credentials file's, else $MLFLOW_TRACKING_URI, "
                                            "else the workspace's local store)."),
    ] = None,
    credentials: Annotated[
        Path | None,
        typer.Option("--credentials", help="Credentials JSON written by `techscore server provision` (server only)."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for tables, chart and child artifacts.")] = None,
    no_tracking: Annotated[bool, typer.Option("--no-tracking", help="Compute and write files; log no runs.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Compare each bank's own model with the pooled model (and with its own features) on its test loans."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from techscore.joint.experiment import run_joint
    from techscore.joint.spec import load_joint

    with cli_errors():
        spec = load_joint(experiment)
        folder = spec.resolve(spec.data.path)  # type: ignore[arg-type]
        if spec.synth is not None and not folder.exists():
            from techscore.synth import generate

            note = f"generating a synthetic world of {spec.synth.firms:,} firms into {folder}"
            with contextlib.nullcontext() if as_json else console.status(note):
                generate(spec.synth.firms, spec.synth.seed, folder)
        experiment = spec  # type: ignore[assignment]
        kwargs = dict(tracking_uri=tracking_uri, credentials=credentials, out=out, tracking=not no_tracking)
        if as_json:
            result = run_joint(experiment, **kwargs)
        else:
            columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                       TimeElapsedColumn())
            with Progress(*columns, console=console, transient=True) as bar:
                task = bar.add_task("joint experiment", total=None)
                result = run_joint(experiment, progress=lambda done, total, what: bar.update(
                    task, completed=done, total=total, description=what), **kwargs)
    if as_json:
        console.print_json(json.dumps({
            "parent_run_id": result.parent_run_id, "parent_experiment": result.parent_experiment,
            "tracking_uri": result.tracking_uri, "out": str(result.paths.get("out")),
            "children": [c.__dict__ for c in result.children],
            "differences": json.loads(result.differences.to_json(orient="records")),
            "table": json.loads(result.table.to_json(orient="records")),
        }))
        return
    level = f"{result.spec.bootstrap.level:.0%}"
    t = Table(title=f"joint experiment {result.spec.name}: each bank's own test loans")
    for c in ("bank", "variant", "train loans", "test (bad)", "AUC", f"{level} interval", "KS", "O/E",
              "approve", "bad rate"):
        t.add_column(c, justify="left" if c in ("bank", "variant") else "right")
    for r in result.table.to_dict("records"):
        if r["auc"] != r["auc"]:
            t.add_row(r["bank"], r["variant"], f"{r['bank_train_loans']:,}", f"{r['test_loans']:,} ({r['test_defaults']})",
                      "-", "-", "-", "-", "-", f"[dim]{r['note']}[/]")
            continue
        t.add_row(r["bank"], r["variant"], f"{r['bank_train_loans']:,}", f"{r['test_loans']:,} ({r['test_defaults']})",
                  _fmt(r["auc"]), f"{_fmt(r['auc_lo'])}-{_fmt(r['auc_hi'])}", _fmt(r["ks"]),
                  _fmt(r["calibration_oe"], 2), f"{r['approval_rate']:.1%}", _fmt(r["approved_bad_rate"]))
    console.print(t)
    d = Table(title=f"AUC differences (paired bootstrap, {level})")
    for c in ("bank", "comparison", "train loans", "AUC variant", "AUC baseline", "difference", "interval", "p"):
        d.add_column(c, justify="left" if c in ("bank", "comparison") else "right")
    for r in result.differences.to_dict("records"):
        if r["auc_diff"] != r["auc_diff"]:
            d.add_row(r["bank"], r["comparison"], f"{r['bank_train_loans']:,}", "-", "-", "-", "-",
                      f"[dim]{r['note']}[/]")
            continue
        d.add_row(r["bank"], r["comparison"], f"{r['bank_train_loans']:,}", _fmt(r["auc_variant"]),
                  _fmt(r["auc_baseline"]), f"{r['auc_diff']:+.3f}", f"{r['diff_lo']:+.3f} .. {r['diff_hi']:+.3f}",
                  _fmt(r["p_value"], 3))
    console.print(d)
    console.print(f"files in {result.paths['out']}")
    if result.parent_run_id:
        console.print(f"parent run [bold]{result.parent_run_id}[/] in {result.parent_experiment} ({result.parent_url})")
        for c in result.children:
            console.print(f"  {c.bank}/{c.variant}: run {c.run_id} in {c.experiment} as {c.user}")
