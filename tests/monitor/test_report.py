"""The monitoring report: `techscore monitor` writes it (HTML and PDF) from the run's tables, logs it to every run,
shows a section per table present and none for a table absent, and opens cleanly in real Chromium with the
early-warning page listing firms and their reasons in both languages."""

from __future__ import annotations

import html
import json
import re

import mlflow
import pandas as pd
import pytest
from typer.testing import CliRunner

from techscore.cli import app
from tests.monitor._world import monitored_world
from tests.reports._system import chromium_or_reason

DATES = ["2022-04-01", "2022-05-01", "2022-06-01"]
pytestmark = pytest.mark.xdist_group("monitor_report")


@pytest.fixture(scope="module")
def monitored(tmp_path_factory):
    """A small raw world watched over three dates by the CLI (tracking on, PDF off: the PDF is its own test)."""
    _, ws, _, spec = monitored_world(tmp_path_factory, "report_monitor", DATES, 'experiment = "monitor_report_test"',
                                     "[thresholds]", "pd_factor = 1.2", "grade_drop = 1")
    result = CliRunner().invoke(app, ["monitor", str(spec), "--workspace", str(ws), "--json", "--no-pdf"])
    assert result.exit_code == 0, result.output + str(result.exception)
    return ws / "report_monitor-out", json.loads(result.stdout)


def _section(page: str, anchor: str) -> str:
    start = page.index(f'id="{anchor}"')
    return page[start:page.index("</div>\n", page.index("</table>", start))]


def test_monitor_writes_the_report_and_logs_it_to_every_run(monitored) -> None:
    out, summary = monitored
    page = (out / "monitor_report.html").read_text(encoding="utf-8")
    assert summary["report"] == {"html": str(out / "monitor_report.html")}
    for anchor in ("portfolio", "stability", "drivers", "migration", "early-warnings"):
        assert f'id="{anchor}"' in page
    for name in ("performance", "backtest"):  # a section (and its link) exactly when the table has rows
        rows = len(pd.read_parquet(out / f"{name}.parquet"))
        assert (f'id="{name}"' in page) == (f'href="#{name}"' in page) == (rows > 0), (name, rows)
    assert "src=\"http" not in page and "href=\"http" not in page  # self-contained
    # one chart per language for each pair's drivers; month labels of every later date
    assert page.count('class="zh" src="data:image/png') >= len(DATES) - 1
    assert all(f"{d[:7]} → " in page or f"→ {d[:7]}" in page for d in DATES[1:])
    runs = mlflow.search_runs(experiment_names=["monitor_report_test"], output_format="list")
    assert len(runs) == len(DATES)
    client = mlflow.MlflowClient()
    for run in runs:
        assert "report/monitor_report.html" in {a.path for a in client.list_artifacts(run.info.run_id, "report")}


def test_the_early_warning_page_lists_firms_with_reasons_in_both_languages(monitored) -> None:
    out, _ = monitored
    ew = pd.read_parquet(out / "early_warnings.parquet")
    assert len(ew), "the thresholds are set so that some firms are listed"
    page = (out / "monitor_report.html").read_text(encoding="utf-8")
    section = page[page.index('id="early-warnings"'):]
    latest = ew.loc[ew["as_of_after"] == DATES[-1]].sort_values("pd_after", ascending=False).head(25)
    for row in latest.itertuples():
        assert f'data-uscc="{row.uscc}"' in section
        if isinstance(row.reason_1, str):
            assert html.escape(row.reason_1_zh) in section and html.escape(row.reason_1_en) in section
    assert re.search(r'<span class="zh">[^<]*[\u4e00-\u9fff][^<]*</span><span class="en">[A-Za-z]', section)


def test_a_section_appears_for_each_table_present_and_reads_it(monitored, tmp_path) -> None:
    from techscore.reports.monitor_report import render_monitor_report

    src, _ = monitored
    out = tmp_path / "out"
    out.mkdir()
    for f in src.iterdir():
        if f.suffix in (".parquet", ".json"):
            (out / f.name).write_bytes(f.read_bytes())
    ew = pd.read_parquet(out / "early_warnings.parquet")
    firm = ew.loc[ew["as_of_after"] == DATES[-1]].sort_values("pd_after", ascending=False)["uscc"].iloc[0]
    pd.DataFrame({"uscc": [firm], "as_of_before": [DATES[-2]], "as_of_after": [DATES[-1]], "code": ["TAX_GRADE_DOWN"],
                  "severity": ["high"], "detail_zh": ["纳税信用等级降至 D"], "detail_en": ["tax grade down to D"],
                  "event_date": [pd.Timestamp("2022-05-20")]}).to_parquet(out / "events.parquet")
    pd.DataFrame({"as_of": DATES, "expected_auc": [0.71, 0.70, 0.69], "realized_auc": [0.72, 0.70, None],
                  "expected_default_rate": [0.03, 0.031, 0.035], "realized_default_rate": [0.029, 0.033, None]}
                 ).to_parquet(out / "performance.parquet")
    pd.DataFrame({"level": ["grade", "grade", "vintage"], "key": ["BB", "CCC", "2022-04"], "firms": [40, 12, 80],
                  "defaults": [1, 4, 3], "mean_pd": [0.01, 0.08, 0.03], "traffic_light": ["green", "red", "yellow"]}
                 ).to_parquet(out / "backtest.parquet")
    page = render_monitor_report(out, lang="en")
    perf, bt = _section(page, "performance"), _section(page, "backtest")
    assert perf.count("<figure") == 2  # AUC and default rate, each estimate against realized
    assert '<span class="badge fail"><span class="zh">红</span><span class="en">red</span></span>' in bt
    assert '<span class="badge pass">' in bt and '<span class="badge weak">' in bt
    row = page[page.index(f'data-uscc="{firm}"'):]
    row = row[:row.index("</tr>")]
    assert "TAX_GRADE_DOWN" in row and "纳税信用等级降至 D" in row and "tax grade down to D" in row


@pytest.mark.slow
@pytest.mark.xdist_group("chromium")
def test_the_report_opens_in_chromium_without_errors_and_prints(monitored, tmp_path) -> None:
    found, reason = chromium_or_reason()
    if found is None:
        pytest.skip(f"headless Chromium is not available: {reason}")
    from techscore.reports.chromium import check_page, run_chromium
    from techscore.reports.pdf import to_pdf

    out, _ = monitored
    report = out / "monitor_report.html"
    for lang in ("zh", "en"):
        page = check_page(f"{report}?lang={lang}")
        assert page.ok, (page.errors, page.console_errors, page.broken_images)
        assert page.lang == ("zh-CN" if lang == "zh" else "en") and page.images >= 4
        assert page.overflow_px == 0, page.overflowing
    dom = run_chromium(report, ["--dump-dom", "--virtual-time-budget=5000"]).stdout
    ew = pd.read_parquet(out / "early_warnings.parquet")
    first = ew.loc[ew["as_of_after"] == DATES[-1]].sort_values("pd_after", ascending=False).iloc[0]
    assert f'data-uscc="{first.uscc}"' in dom
    pdf = to_pdf(report, tmp_path / "monitor.pdf", lang="en")
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000


def test_clock_features_stay_out_of_the_stability_chart_and_list() -> None:
    """A clock feature's PSI (statement age moves a month every month) is not a population shift: the report's
    chart, list of shifted features and count leave it out, while a real shift of the same size is shown."""
    from techscore.reports.monitor_report import _stability

    pairs = ["2025-02-01", "2025-03-01"]
    rows = []
    for p in pairs:
        rows += [dict(item="pd", kind="score", as_of_after=p, psi=0.02, band="stable", missing_before=0.0,
                      missing_after=0.0),
                 dict(item="fin_statement_age_months", kind="feature", as_of_after=p, psi=14.2, band="clock",
                      missing_before=0.0, missing_after=0.0),
                 dict(item="sc_sales_change_3m", kind="feature", as_of_after=p, psi=0.4, band="significant",
                      missing_before=0.0, missing_after=0.0)]
    out = _stability(pd.DataFrame(rows), pairs, lambda fid, lang: fid)
    assert [r["id"] for r in out["rows"]] == ["pd", "sc_sales_change_3m"]
    assert [entry["en"] for entry in out["legend"]] == ["score (PD)", "sc_sales_change_3m"]
    assert out["shifted"] == {p: 1 for p in pairs}
