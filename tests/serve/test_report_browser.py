"""The firm report page served by a running service, opened in real headless Chromium: it renders the firm's
reasons in both languages, with no script or console error."""

from __future__ import annotations

import html
import re

import httpx
import pytest

from techscore.serve import ServiceConfig, create_app
from techscore.serve.background import running_service
from techscore.serve.snapshot_store import write_snapshot

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chromium")]


@pytest.fixture(scope="module")
def browser():
    from tests.reports._system import chromium_or_reason

    found, reason = chromium_or_reason()
    if found is None:
        pytest.skip(f"headless Chromium is not installed and could not be: {reason}")
    return found


def _open(url: str) -> tuple[str, list[str]]:
    """The DOM Chromium built from `url` and the console errors it logged."""
    from techscore.reports.chromium import _CONSOLE, PageCheck, run_chromium

    result = run_chromium(url, ["--dump-dom", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000",
                                "--window-size=1100,1400"], timeout=120)
    console = [f"{msg} ({src})" for msg, src in _CONSOLE.findall(result.stderr)]
    return result.stdout, PageCheck(loaded=True, console=console).console_errors


def test_report_page_in_chromium_shows_the_reasons_in_both_languages(browser, served, frame, tmp_path):
    write_snapshot(frame.head(50), tmp_path / "snapshots", as_of="2024-06-30")
    code = frame["uscc"].iloc[7]
    config = ServiceConfig(model=served.source, audit=tmp_path / "audit.sqlite", snapshots=tmp_path / "snapshots")
    with running_service(create_app(config, served=served)) as base:
        decision = httpx.post(f"{base}/v1/firms/score", json={"firms": [code]}, timeout=30).json()["results"][0]
        pages = {lang: _open(f"{base}/v1/firms/{code}/report?lang={lang}") for lang in ("zh", "en")}
    raising = [r for r in decision["reasons"] if r["shap"] > 0.005]
    assert raising, "the firm has reasons that raise its risk"
    for lang, (dom, errors) in pages.items():
        assert errors == [], errors
        assert re.search(rf'<html lang="{"zh-CN" if lang == "zh" else "en"}"', dom), dom[:300]
        text = html.unescape(dom)
        assert code in text
        for reason in raising:  # both languages are in the page; `lang` is the one shown first
            assert reason["text_zh"] in text and reason["text_en"] in text
        assert text.count("data:image/png;base64,") >= 2  # the SHAP waterfall, in each language
