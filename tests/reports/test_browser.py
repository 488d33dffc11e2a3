"""Reports in a real browser: headless Chromium opens them with no console error and no missing image, the
language switch works, nothing overflows, and they print to PDF (one A4 page per firm)."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chromium")]


def _pages(pdf) -> int:
    counts = [int(n) for n in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", pdf.read_bytes())]
    counts += [int(n) for n in re.findall(rb"/Count\s+(\d+)[^>]*?/Type\s*/Pages\b", pdf.read_bytes())]
    return max(counts) if counts else 0


@pytest.mark.parametrize("which", ["model", "firm"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_reports_open_cleanly_in_chromium(chromium, rendered, which, lang):
    from techscore.reports.chromium import check_page

    page = check_page(f"{rendered[which]}?lang={lang}", width=800)
    assert page.loaded, page.errors
    assert page.errors == [] and page.console_errors == [], (page.errors, page.console)
    assert page.images > 0 and page.broken_images == []
    assert page.overflow_px <= 0 and page.overflowing == []
    assert page.lang == ("zh-CN" if lang == "zh" else "en")
    assert page.title.startswith("模型验证报告" if (which, lang) == ("model", "zh") else "")


def test_page_check_catches_errors_and_missing_images(chromium, tmp_path):
    from techscore.reports.chromium import check_page

    bad = tmp_path / "bad.html"
    bad.write_text('<html><head><title>x</title></head><body><img src="nope.png">'
                   '<div style="width:3000px">wide</div><script>undefinedCall();</script></body></html>')
    page = check_page(bad, width=800)
    assert page.loaded
    assert any("undefinedCall" in e for e in page.errors)
    assert page.broken_images == ["nope.png"]
    assert page.overflow_px > 0
    assert not page.ok


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_reports_print_to_pdf(chromium, rendered, tmp_path, lang):
    from techscore.reports.pdf import to_pdf

    firm_pdf = to_pdf(rendered["firm"], tmp_path / f"firm-{lang}.pdf", lang=lang)
    model_pdf = to_pdf(rendered["model"], tmp_path / f"model-{lang}.pdf", lang=lang)
    for pdf in (firm_pdf, model_pdf):
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 50_000
    assert _pages(firm_pdf) == 3  # one A4 page per firm
    assert 2 <= _pages(model_pdf) <= 12
