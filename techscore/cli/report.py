"""`techscore report model RUN` and `techscore report firm RUN`: the validator's and the reviewer's reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from techscore.cli._common import JsonFlag, TrackingUri, cli_errors, console

Run = Annotated[str, typer.Argument(help="MLflow run id of a training run (or its local outputs folder).")]
Out = Annotated[Path | None, typer.Option("--out", help="Output folder (default: reports/<run id>/).")]
Lang = Annotated[str, typer.Option("--lang", help="Language shown first: zh or en (both are in the page).")]
Pdf = Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also print to PDF with headless Chromium.")]
Log = Annotated[bool, typer.Option("--log/--no-log", help="Log the report to the run as artifacts.")]
Workspace = Annotated[Path | None, typer.Option("--workspace", help="Workspace the run's data paths are relative to.")]


def _quiet_mlflow() -> None:
    """MLflow's download progress bars would interleave with ours."""
    import os

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def _check_lang(lang: str) -> str:
    if lang not in ("zh", "en"):
        raise typer.BadParameter(f"--lang must be zh or en; got {lang!r}.")
    return lang


def _print(paths: dict[str, Path], as_json: bool, what: str) -> None:
    if as_json:
        console.print_json(json.dumps({k: str(v) for k, v in paths.items()}))
        return
    for kind, path in paths.items():
        console.print(f"{what} ({kind}): {path}")


def register(app: typer.Typer) -> None:
    report = typer.Typer(help="Reports of a training run: model validation (model) and per-firm (firm).",
                         no_args_is_help=True)

    @report.command("model")
    def model(
        run: Run, out: Out = None, lang: Lang = "zh", pdf: Pdf = False, log: Log = True,
        workspace: Workspace = None, tracking_uri: TrackingUri = None, as_json: JsonFlag = False,
    ) -> None:
        """Model validation report: data, metrics, champion vs challenger, global SHAP, direction checks,
        segments, fingerprints. One self-contained bilingual HTML file (and PDF)."""
        _check_lang(lang)
        _quiet_mlflow()
        from techscore.reports.model_report import build_model_report

        with cli_errors(), console.status("building the model report (SHAP on the test set, plots)...",
                                          spinner="dots") if not as_json else _null():
            paths = build_model_report(run, out=out, lang=lang, tracking_uri=tracking_uri, workspace=workspace,
                                       pdf=pdf, log=log)
        _print(paths, as_json, "model report")

    @report.command("firm")
    def firm(
        run: Run,
        uscc: Annotated[list[str] | None, typer.Option("--uscc", help="Firm's unified social credit code (repeatable).")] = None,
        batch: Annotated[Path | None, typer.Option("--batch", help="File of firms: CSV/Parquet with a uscc column (optionally the model's features, as_of, name), or text, one code a line.")] = None,
        as_of: Annotated[str | None, typer.Option("--as-of", help="Date the features are computed as of (default: the run's observation end).")] = None,
        out: Out = None, lang: Lang = "zh", pdf: Pdf = False, log: Log = True,
        workspace: Workspace = None, tracking_uri: TrackingUri = None, as_json: JsonFlag = False,
    ) -> None:
        """Firm report: one A4 page per firm with PD, score, grade, SHAP waterfall, reason codes and key figures
        over time beside industry peers."""
        _check_lang(lang)
        if not uscc and batch is None:
            raise typer.BadParameter("give --uscc CODE (repeatable) or --batch FILE.")
        _quiet_mlflow()
        from techscore.reports.firm_report import build_firm_report

        with cli_errors(), console.status("building the firm report...", spinner="dots") if not as_json else _null():
            paths = build_firm_report(run, usccs=uscc or (), batch=batch, out=out, lang=lang, as_of=as_of,
                                      tracking_uri=tracking_uri, workspace=workspace, pdf=pdf, log=log)
        _print(paths, as_json, "firm report")

    app.add_typer(report, name="report")


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
