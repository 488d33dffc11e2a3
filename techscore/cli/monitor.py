"""`techscore monitor`: score a portfolio month by month and write stability, drivers, migration and early
warnings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from techscore.cli._common import JsonFlag, TrackingUri, cli_errors, console
from techscore.cli.dataset import Workspace


def register(app: typer.Typer) -> None:
    @app.command("monitor")
    def monitor(
        spec: Annotated[Path, typer.Argument(help="Monitoring spec (TOML): model, data, firms, dates, thresholds.")],
        no_tracking: Annotated[bool, typer.Option("--no-tracking", help="Do not log MLflow runs.")] = False,
        no_report: Annotated[bool, typer.Option("--no-report", help="Do not write the monitoring report.")] = False,
        pdf: Annotated[bool, typer.Option("--pdf/--no-pdf",
                                          help="Also print the report to PDF (when Chromium is installed).")] = True,
        workspace: Workspace = None,
        tracking_uri: TrackingUri = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Score the portfolio at each as-of date and compare consecutive dates: PSI of the score and features,
        drivers of the mean log-odds change, grade migration, early-warning list; one MLflow run per date, and the
        bilingual monitoring report (HTML, and PDF through Chromium) in the output folder and in every run."""
        from techscore.monitor.run import run_monitor
        from techscore.monitor.spec import load_monitor_spec
        from techscore.reports.chromium import INSTALL_HINT, find_chromium
        from techscore.reports.monitor_report import build_monitor_report

        with cli_errors():
            parsed = load_monitor_spec(spec, workspace=workspace)
            with console.status("monitoring") as status:
                result = run_monitor(parsed, tracking=not no_tracking, tracking_uri=tracking_uri,
                                     on_date=lambda d: status.update(f"scoring the portfolio as of {d}"))
                report, no_pdf = {}, None
                if not no_report:
                    status.update("writing the monitoring report")
                    no_pdf = f"no PDF: Chromium is not installed ({INSTALL_HINT})" if pdf and not find_chromium() else None
                    report = build_monitor_report(result.out, pdf=pdf and no_pdf is None, log=not no_tracking,
                                                  tracking_uri=tracking_uri)
            stab = result.tables["stability"]
            score_psi = stab.loc[stab["item"] == "pd", ["as_of_after", "psi", "band"]]
            counts = result.tables["early_warnings"].groupby("as_of_after").size()
            summary = {"out": str(result.out), "runs": result.runs, "dates": parsed.dates,
                       "score_psi": {r.as_of_after: round(float(r.psi), 6) for r in score_psi.itertuples()},
                       "early_warnings": {str(k): int(v) for k, v in counts.items()},
                       "report": {k: str(v) for k, v in report.items()}}
            if as_json:
                console.print_json(json.dumps(summary))
                return
            for r in score_psi.itertuples():
                console.print(f"{r.as_of_after}: score PSI {r.psi:.4f} ({r.band}), "
                              f"{int(counts.get(r.as_of_after, 0)):,} early warnings")
            console.print(f"tables in {result.out}; {len(result.runs)} MLflow runs")
            for kind, path in report.items():
                console.print(f"report ({kind}): {path}")
            if no_pdf:
                console.print(no_pdf)
