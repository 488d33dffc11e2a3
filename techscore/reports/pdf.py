"""Reports to PDF through headless Chromium's print engine (A4, the page's own print stylesheet)."""

from __future__ import annotations

from pathlib import Path

from techscore.bilingual import check_lang
from techscore.reports.chromium import print_pdf


def to_pdf(html: str | Path, pdf: str | Path | None = None, *, lang: str | None = None, timeout: float = 240.0) -> Path:
    """Print the HTML report `html` to `pdf` (default: beside it, `.pdf`), in `lang` when given (else the
    report's default language). Needs Chromium (`scripts/install-system-deps.sh`)."""
    html = Path(html)
    if lang is not None:
        check_lang(lang)
    target = Path(pdf) if pdf is not None else html.with_suffix(".pdf" if lang is None else f".{lang}.pdf")
    page = f"{html}?lang={lang}" if lang else html
    return print_pdf(page, target, timeout=timeout)
