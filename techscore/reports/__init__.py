"""Reports a reviewer reads: the model validation report and per-firm credit-risk reports, in Chinese and English.

`build_model_report(run)` and `build_firm_report(run, usccs=...)` read a training run (MLflow run id or local
outputs folder) and write one self-contained HTML page each (images inline, a language switch, A4 print CSS),
optionally printed to PDF with headless Chromium (`techscore.reports.pdf.to_pdf`), and log them to the run.
`build_monitor_report(out)` does the same for the output folder of `techscore monitor` (the runs of its dates).
Names are imported lazily so that importing `techscore.reports` stays light.
"""

from __future__ import annotations

from techscore.lazy import lazy_exports

_LAZY = {
    "build_model_report": "techscore.reports.model_report",
    "render_model_report": "techscore.reports.model_report",
    "ModelReportInputs": "techscore.reports.model_report",
    "build_firm_report": "techscore.reports.firm_report",
    "render_firm_report": "techscore.reports.firm_report",
    "firm_report_inputs": "techscore.reports.firm_report",
    "FirmReportInputs": "techscore.reports.firm_report",
    "key_figure_history": "techscore.dataset.history",
    "explain_run": "techscore.reports.model_report",
    "build_monitor_report": "techscore.reports.monitor_report",
    "render_monitor_report": "techscore.reports.monitor_report",
    "to_pdf": "techscore.reports.pdf",
    "check_page": "techscore.reports.chromium",
    "find_chromium": "techscore.reports.chromium",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
