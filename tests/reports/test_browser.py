"""The browser tooling: the page check catches what it must, and the firm report prints one A4 page per firm
(the full reports are opened and printed in test_end_to_end)."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chromium")]


def _pages(pdf) -> int:
    counts = [int(n) for n in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", pdf.read_bytes())]
    counts += [int(n) for n in re.findall(rb"/Count\s+(\d+)[^>]*?/Type\s*/Pages\b", pdf.read_bytes())]
    return max(counts) if counts else 0


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


def test_firm_report_prints_one_a4_page_per_firm(chromium, rendered, tmp_path):
    from techscore.reports.pdf import to_pdf

    pdf = to_pdf(rendered["firm"], tmp_path / "firm-en.pdf", lang="en")
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 50_000
    assert _pages(pdf) == 3
    boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf.read_bytes())
    assert boxes and all(abs(float(w) - 595.3) < 1 and abs(float(h) - 841.9) < 1 for w, h in boxes)  # A4 in points
