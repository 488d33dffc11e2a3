"""The catalogue documents itself: `techscore features` and the bilingual pages."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from techscore.catalogue import load_catalogue
from techscore.catalogue.docs import catalogue_html, catalogue_markdown
from techscore.cli import app
from tests.catalogue.conftest import meta

runner = CliRunner()

CODE = f'''
@node
def fin_latest(financials):
    """Latest known fiscal year per firm."""
    return financials.sort_values("year").groupby("uscc").tail(1).set_index("uscc")

{meta(description_zh='"研发费用除以营业收入。"')}
def rd_intensity(fin_latest):
    return fin_latest["rd_expense"] / fin_latest["revenue"]

@feature(group="ip", name_zh="有效发明专利数", name_en="Invention patents in force", unit="count", direction=-1,
         sources=("ip_rights",), description="Granted invention patents <in force> at the as-of date.")
def ip_invention_in_force(ip_rights):
    return ip_rights.groupby("uscc").size().astype(float)

@feature(group="profile", name_zh="所属省份", name_en="Province", unit="category", direction=0,
         kind="categorical", sources=("enterprises",), description="Two-digit province code.")
def profile_region(enterprises):
    return enterprises.set_index("uscc")["region"].str[:2]
'''


@pytest.fixture
def root(workspace):
    return workspace({"mixed": CODE})


def test_markdown_holds_every_feature_in_both_languages(root):
    cat = load_catalogue(root)
    md = catalogue_markdown(cat)
    for m in cat.features:
        assert f"### `{m.id}` {m.name_zh} / {m.name_en}" in md
        assert m.description in md
    assert "研发费用除以营业收入。" in md
    assert "## 知识产权 / Intellectual property (`ip`)" in md
    assert "`fin_latest` (node: Latest known fiscal year per firm.)" in md
    assert "数值越高，风险越低 / higher value, lower risk" in md
    assert cat.version in md


def test_html_is_self_contained_grouped_and_escaped(root):
    cat = load_catalogue(root)
    page = catalogue_html(cat)
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<(script|link)\b|src=\"http", page)
    for m in cat.features:
        assert f'id="{m.id}"' in page and m.name_zh in page and m.name_en in page
    assert "&lt;in force&gt;" in page
    assert page.index('id="group-rd"') < page.index('id="group-ip"') < page.index('id="group-profile"')


def test_cli_lists_the_catalogue(root, monkeypatch):
    from techscore.cli._common import console

    monkeypatch.setattr(console, "_width", 200)  # a wide terminal, whatever runs the test
    result = runner.invoke(app, ["features", "--workspace", str(root)])
    assert result.exit_code == 0, result.output
    for text in ("rd_intensity", "有效发明专利数", "Province", "ip_rights", "3 features"):
        assert text in result.output


def test_cli_json_and_group_filter(root):
    result = runner.invoke(app, ["features", "--workspace", str(root), "--group", "ip,profile", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert [f["id"] for f in doc["features"]] == ["ip_invention_in_force", "profile_region"]
    assert doc["features"][0]["depends_on"] == ["ip_rights"]
    assert doc["version"] == load_catalogue(root).select(groups=["ip", "profile"]).version


def test_cli_doc_writes_both_pages(root, tmp_path):
    out = tmp_path / "doc"
    result = runner.invoke(app, ["features", "--workspace", str(root), "--doc", str(out)])
    assert result.exit_code == 0, result.output
    md = (out / "catalogue.md").read_text(encoding="utf-8")
    html = (out / "catalogue.html").read_text(encoding="utf-8")
    for fid in ("rd_intensity", "ip_invention_in_force", "profile_region"):
        assert fid in md and fid in html


def test_cli_errors_are_clean(root, workspace):
    result = runner.invoke(app, ["features", "--workspace", str(root), "--group", "esg"])
    assert result.exit_code == 2
    assert "unknown feature group esg" in result.output
    assert "Traceback" not in result.output
