"""The monitoring report: one self-contained bilingual page across the dates of a `techscore monitor` run.

It reads the run's output folder by table name (`monitor.json`, `scores`, `stability`, `drivers`, `migration`,
`early_warnings`, and when present `events`, `performance`, `backtest`); a section whose table is absent is left
out. Sections: the portfolio over time (firms, mean PD, grade mix), stability (score PSI and the features' CSI
over time against the 0.1 / 0.25 bands), drivers of change per date pair (overall and by segment), grade
migration matrices, the early-warning list (firms with their reasons in both languages and their event codes),
performance estimated before outcomes against the realized figures, and the backtest's traffic lights.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from techscore.bilingual import check_lang
from techscore.reports._labels import COLUMNS, label
from techscore.reports._render import data_uri, fmt_pct, render, write_page
from techscore.reports.model_report import _cell
from techscore.reports.monitor_charts import (
    LINE_COLOURS,
    drivers_chart,
    grade_mix_chart,
    line_chart,
    pair_chart,
)
from techscore.reports.monitor_charts import psi_chart as _psi_chart

__all__ = ["EW_FIRMS", "REPORT_FILE", "build_monitor_report", "monitor_report_context", "render_monitor_report"]

REPORT_FILE = "monitor_report.html"
EW_FIRMS = 25
"""Firms listed per date pair on the early-warning page (highest later PD first); the full list is the
`early_warnings` table."""
TOP_CSI = 5
TOP_DRIVERS = 8
REPORTS_ARTIFACT_PATH = "report"

MONITOR_COLUMNS: dict[str, tuple[str, str]] = {
    **COLUMNS, "as_of": ("观察日", "as of"), "as_of_before": ("前一观察日", "earlier date"),
    "as_of_after": ("观察日", "later date"), "vintage": ("发放批次", "vintage"), "firms": ("企业数", "firms"),
    "defaults": ("违约数", "defaults"), "realized_rate": ("实际违约率", "realized default rate"),
    "default_rate": ("违约率", "default rate"), "binomial_p": ("二项检验 p 值", "binomial p-value"),
    "jeffreys_p": ("Jeffreys 检验 p 值", "Jeffreys p-value"), "jeffreys_lower": ("Jeffreys 下限", "Jeffreys lower"),
    "jeffreys_upper": ("Jeffreys 上限", "Jeffreys upper"), "traffic_light": ("信号灯", "traffic light"),
    "light": ("信号灯", "traffic light"), "expected_auc": ("预估 AUC", "estimated AUC"),
    "realized_auc": ("实际 AUC", "realized AUC"), "expected_default_rate": ("预估违约率", "estimated default rate"),
    "realized_default_rate": ("实际违约率", "realized default rate"), "level": ("层级", "level"),
    "calibrated_on": ("校准参照日", "calibrated on"), "expected_auc_se": ("预估 AUC 标准误", "estimated AUC s.e."),
    "auc_difference": ("AUC 差（实际−预估）", "AUC difference (realized − estimated)"),
    "default_rate_difference": ("违约率差（实际−预估）", "default-rate difference (realized − estimated)"),
    "auc_z": ("AUC 差 / 标准误", "AUC difference / s.e."), "window_end": ("表现期末", "window end"),
    "exposed": ("有贷款企业数", "firms with a loan"), "outcomes": ("结果", "outcomes"),
    "key": ("分组", "group"),
}
"""Column headers of the monitoring tables (the model report's, plus the monitoring words)."""

TRIGGERS: dict[str, tuple[str, str]] = {
    "PD_RISE": ("违约概率倍增", "PD rose past the factor"),
    "GRADE_DROP": ("评级下调", "grade dropped"),
    "WATCH_GRADE": ("进入关注级", "into the watch grade"),
}
LIGHTS = {"green": "pass", "yellow": "weak", "amber": "weak", "red": "fail"}
"""Traffic-light values and the badge colour each takes."""
LIGHT_WORDS = {"green": ("绿", "green"), "yellow": ("黄", "yellow"), "amber": ("黄", "amber"), "red": ("红", "red")}
GRADE_RAMP = ("#1b5e20", "#2e7d32", "#43a047", "#7cb342", "#c0ca33", "#fdd835", "#ffb300", "#fb8c00", "#e53935",
              "#b71c1c", "#6d1b1b", "#3e0d0d")


def _read(out: Path, name: str) -> pd.DataFrame | None:
    path = out / f"{name}.parquet"
    return pd.read_parquet(path) if path.exists() else None


def _month(d: object) -> str:
    return pd.Timestamp(str(d)).strftime("%Y-%m")


def _portfolio(out: Path, dates: list[str], grades: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Firms and mean PD per date, and grade shares per date, reading the per-firm scores in batches."""
    import pyarrow.parquet as pq

    n = pd.Series(0.0, index=dates)
    total = pd.Series(0.0, index=dates)
    counts = pd.DataFrame(0.0, index=dates, columns=grades)
    for batch in pq.ParquetFile(out / "scores.parquet").iter_batches(columns=["as_of", "pd", "grade"],
                                                                      batch_size=500_000):
        b = batch.to_pandas()
        g = b.groupby("as_of")["pd"]
        n = n.add(g.size(), fill_value=0)
        total = total.add(g.sum(), fill_value=0)
        counts = counts.add(pd.crosstab(b["as_of"], b["grade"]), fill_value=0)
    summary = pd.DataFrame({"firms": n, "mean_pd": total / n.replace(0, np.nan)}).reindex(dates)
    shares = counts.reindex(index=dates, columns=grades, fill_value=0)
    return summary, shares.div(shares.sum(axis=1).replace(0, np.nan), axis=0).fillna(0)


def _names(manifest: dict):
    features = manifest.get("features", {})

    def name(fid: str, lang: str) -> str:
        meta = features.get(fid)
        if fid == "(base value)":
            return "基准值（模型变化）" if lang == "zh" else "base value (model change)"
        return meta.get(f"name_{lang}") or fid if meta else fid
    return name


def _stability(stab: pd.DataFrame, pairs: list[str], name) -> dict:
    wide = stab.pivot_table(index="item", columns="as_of_after", values="psi", aggfunc="first").reindex(columns=pairs)
    score = wide.loc["pd"].to_numpy(dtype=float) if "pd" in wide.index else np.full(len(pairs), np.nan)
    # clock features (an age, months since a statement) move by construction with the date: their PSI is in the
    # tables, banded `clock`, but they are not population shifts and would crowd the chart and the list
    clock = set(stab.loc[stab["band"] == "clock", "item"]) if "band" in stab else set()
    feats = wide.drop(index=["pd", *clock], errors="ignore")
    top = feats.max(axis=1).sort_values(ascending=False).head(TOP_CSI).index.tolist()
    img = data_uri(_psi_chart(pairs, [score, *(feats.loc[f].to_numpy(dtype=float) for f in top)]))
    legend = [dict(zh="评分（PD）", en="score (PD)", colour=LINE_COLOURS[0])]
    legend += [dict(zh=name(f, "zh"), en=name(f, "en"), colour=LINE_COLOURS[(i + 1) % len(LINE_COLOURS)])
               for i, f in enumerate(top)]
    shifted = feats.loc[feats.max(axis=1) >= 0.1].max(axis=1).sort_values(ascending=False).head(15).index.tolist()
    rows = []
    for item in ["pd", *shifted]:
        if item not in wide.index:
            continue
        cells = [dict(value=_cell(v, "psi"), band=_band(v)) for v in wide.loc[item].to_numpy(dtype=float)]
        zh, en = ("评分（PD）", "score (PD)") if item == "pd" else (name(item, "zh"), name(item, "en"))
        rows.append(dict(zh=zh, en=en, id=item, cells=cells))
    missing = stab.loc[stab["kind"] == "feature"].assign(
        rise=lambda d: d["missing_after"] - d["missing_before"]).sort_values("rise", ascending=False)
    missing = [dict(zh=name(r.item, "zh"), en=name(r.item, "en"), after=r.as_of_after, before=fmt_pct(r.missing_before),
                    now=fmt_pct(r.missing_after)) for r in missing.head(5).itertuples() if r.rise > 0.01]
    n_shift = {p: int(((stab["as_of_after"] == p) & (stab["kind"] == "feature") & (stab["psi"] >= 0.1)
                       & ~stab["item"].isin(clock)).sum())
               for p in pairs}
    return dict(image=img, legend=legend, rows=rows, pairs=[_month(p) for p in pairs], missing=missing,
                shifted=n_shift)


def _band(v: float) -> str:
    if not math.isfinite(v):
        return ""
    return "stable" if v < 0.1 else "moderate" if v < 0.25 else "significant"


def _drivers(drv: pd.DataFrame, name, segment: str | None) -> list[dict]:
    out = []
    for (before, after), part in drv.groupby(["as_of_before", "as_of_after"], sort=True):
        whole = part.loc[part["segment"] == "(all)"]
        change = float(whole["mean_logodds_after"].iloc[0] - whole["mean_logodds_before"].iloc[0])
        top = whole.loc[(whole["contribution"] != 0) | (whole["feature"] != "(base value)")].head(TOP_DRIVERS)
        ids, contrib = top["feature"].tolist(), top["contribution"].to_numpy(dtype=float)
        images = {lang: data_uri(drivers_chart([name(f, lang) for f in ids], contrib)) for lang in ("zh", "en")}
        segments = []
        for seg, rows in part.loc[part["segment"] != "(all)"].groupby("segment", sort=True):
            first = rows.iloc[0]
            lead = rows.loc[rows["feature"] != "(base value)"].iloc[0]
            segments.append(dict(value=seg, firms=int(first["firms_after"]),
                                 change=float(first["mean_logodds_after"] - first["mean_logodds_before"]),
                                 zh=name(lead["feature"], "zh"), en=name(lead["feature"], "en"),
                                 contribution=float(lead["contribution"])))
        segments.sort(key=lambda s: -abs(s["change"]) if math.isfinite(s["change"]) else 0)
        out.append(dict(before=_month(before), after=_month(after), change=change, images=images,
                        rest=float(change - contrib.sum()), segments=segments[:12], segment=segment))
    return out


def _migration(mig: pd.DataFrame, grades: list[str]) -> list[dict]:
    out = []
    for (before, after), part in mig.groupby(["as_of_before", "as_of_after"], sort=True):
        m = part.pivot_table(index="from", columns="to", values="firms", aggfunc="sum", fill_value=0)
        rows = [g for g in [*grades, "(new)"] if g in m.index]
        cols = [g for g in [*grades, "(gone)"] if g in m.columns]
        m = m.reindex(index=rows, columns=cols, fill_value=0)
        total = m.sum(axis=1).replace(0, np.nan)
        rank = {g: i for i, g in enumerate(grades)}
        body = []
        for r in rows:
            cells = []
            for c in cols:
                v = int(m.at[r, c])
                share = v / total[r] if math.isfinite(total[r]) else 0.0
                kind = ("same" if r == c else "down" if r in rank and c in rank and rank[c] > rank[r]
                        else "up" if r in rank and c in rank else "")
                cells.append(dict(value=f"{v:,}", alpha=round(min(1.0, share) * 0.85, 3), kind=kind))
            body.append(dict(grade=r, cells=cells, total=f"{int(m.loc[r].sum()):,}"))
        down = int(sum(m.at[r, c] for r in rows for c in cols if r in rank and c in rank and rank[c] > rank[r]))
        up = int(sum(m.at[r, c] for r in rows for c in cols if r in rank and c in rank and rank[c] < rank[r]))
        out.append(dict(before=_month(before), after=_month(after), cols=cols, rows=body, down=down, up=up))
    return out


def _events_by_firm(events: pd.DataFrame | None) -> dict[tuple[str, str], list[dict]]:
    if events is None or not len(events):
        return {}
    found: dict[tuple[str, str], list[dict]] = {}
    for r in events.itertuples(index=False):
        row = r._asdict()
        found.setdefault((str(row["uscc"]), str(row["as_of_after"])), []).append(dict(
            code=str(row.get("code", "")), severity=str(row.get("severity", "") or ""),
            zh=str(row.get("detail_zh", "") or ""), en=str(row.get("detail_en", "") or ""),
            date=str(row.get("event_date", "") or "")[:10]))
    return found


def _early_warnings(ew: pd.DataFrame, events: pd.DataFrame | None, pairs: list[tuple[str, str]]) -> list[dict]:
    by_firm = _events_by_firm(events)
    k = sum(1 for c in ew.columns if c.startswith("reason_") and c.endswith("_zh"))
    out = []
    for before, after in pairs:
        part = ew.loc[ew["as_of_after"] == after]
        codes = part["codes"].astype(str).str.split(";").explode()
        counts = [dict(code=c, zh=TRIGGERS.get(c, (c, c))[0], en=TRIGGERS.get(c, (c, c))[1], n=int(n))
                  for c, n in codes.value_counts().items() if c]
        firms = []
        for r in part.sort_values("pd_after", ascending=False, kind="stable").head(EW_FIRMS).itertuples(index=False):
            row = r._asdict()
            reasons = [dict(code=row[f"reason_{j}"], zh=row[f"reason_{j}_zh"], en=row[f"reason_{j}_en"],
                            shap=row[f"reason_{j}_shap_change"])
                       for j in range(1, k + 1) if isinstance(row[f"reason_{j}"], str)]
            firms.append(dict(uscc=row["uscc"], pd_before=fmt_pct(row["pd_before"]), pd_after=fmt_pct(row["pd_after"]),
                              grade_before=row["grade_before"], grade_after=row["grade_after"],
                              codes=str(row["codes"]).split(";"), reasons=reasons,
                              events=by_firm.get((str(row["uscc"]), str(after)), [])))
        n_events = sum(len(v) for (u, a), v in by_firm.items() if a == str(after))
        out.append(dict(before=_month(before), after=_month(after), total=len(part), counts=counts, firms=firms,
                        events=n_events))
    return out


def _table_html(df: pd.DataFrame, max_rows: int = 80) -> str:
    """A monitoring table with bilingual headers; a traffic-light column shows as coloured badges."""
    import html

    num = [pd.api.types.is_numeric_dtype(df[c]) and df[c].dtype != bool for c in df.columns]
    heads = []
    for c, n in zip(df.columns, num, strict=True):
        zh, en = label(str(c), MONITOR_COLUMNS)
        heads.append(f'<th{" class=num" if n else ""}><span class="zh">{html.escape(zh)}</span>'
                     f'<span class="en">{html.escape(en)}</span></th>')
    body = []
    for row in df.head(max_rows).itertuples(index=False):
        tds = []
        for v, n, c in zip(row, num, df.columns, strict=True):
            if isinstance(v, str) and v.lower() in LIGHTS:
                zh, en = LIGHT_WORDS[v.lower()]
                tds.append(f'<td><span class="badge {LIGHTS[v.lower()]}"><span class="zh">{zh}</span>'
                           f'<span class="en">{en}</span></span></td>')
            else:
                tds.append(f'<td{" class=num" if n else ""}>{html.escape(_cell(v, str(c)))}</td>')
        body.append(f"<tr>{''.join(tds)}</tr>")
    more = (f'<tr><td colspan="{len(df.columns)}" class="sub">… {len(df) - max_rows:,} '
            '<span class="zh">行未显示</span><span class="en">more rows not shown</span></td></tr>'
            if len(df) > max_rows else "")
    return f"<div class=\"scroll\"><table><tr>{''.join(heads)}</tr>{''.join(body)}{more}</table></div>"


def _performance(perf: pd.DataFrame) -> dict:
    """Every metric the table has as `expected_<m>` and `realized_<m>`, charted over its dates (with a band of two
    standard errors around the estimate where the table has `expected_<m>_se`)."""
    date_col = next((c for c in ("as_of", "as_of_after", "date") if c in perf.columns), None)
    charts = []
    if date_col is not None:
        frame = perf.sort_values(date_col)
        dates = frame[date_col].astype(str).tolist()
        for col in frame.columns:
            if not col.startswith("expected_") or f"realized_{col[9:]}" not in frame.columns:
                continue
            metric = col[9:]
            zh, en = label(metric, MONITOR_COLUMNS)
            e = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
            r = pd.to_numeric(frame[f"realized_{metric}"], errors="coerce").to_numpy(dtype=float)
            se = frame.get(f"expected_{metric}_se")
            band = None if se is None else 2 * pd.to_numeric(se, errors="coerce").to_numpy(dtype=float)
            charts.append(dict(zh=zh, en=en, image=data_uri(pair_chart(dates, e, r, percent="rate" in metric,
                                                                       band=band))))
    return dict(charts=charts, table=_table_html(perf))


def _backtest(bt: pd.DataFrame) -> dict:
    light = next((c for c in ("traffic_light", "light") if c in bt.columns), None)
    counts = {}
    if light is not None:
        counts = {str(k).lower(): int(v) for k, v in bt[light].astype(str).str.lower().value_counts().items()}
    return dict(lights=[dict(key=k, cls=LIGHTS.get(k, "na"), zh=LIGHT_WORDS.get(k, (k, k))[0],
                             en=LIGHT_WORDS.get(k, (k, k))[1], n=n) for k, n in counts.items()],
                table=_table_html(bt, max_rows=120))


def monitor_report_context(out: str | Path) -> dict:
    """Everything the template shows, read from the output folder `out` of `techscore monitor`."""
    out = Path(out)
    manifest = json.loads((out / "monitor.json").read_text(encoding="utf-8"))
    dates, grades = list(manifest["dates"]), list(manifest["grades"])
    name = _names(manifest)
    ctx: dict = dict(manifest=manifest, dates=[_month(d) for d in dates],
                     generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    summary, shares = _portfolio(out, dates, grades)
    ramp = [GRADE_RAMP[min(i, len(GRADE_RAMP) - 1)] for i in range(len(grades))]
    ctx["portfolio"] = dict(
        rows=[dict(date=_month(d), firms=int(r.firms), mean_pd=fmt_pct(r.mean_pd)) for d, r in summary.iterrows()],
        mean_pd=data_uri(line_chart(dates, summary["mean_pd"].to_numpy(dtype=float))),
        mix=data_uri(grade_mix_chart(dates, shares, ramp)), grades=[dict(grade=g, colour=c) for g, c in
                                                                     zip(grades, ramp, strict=True)])
    pairs = list(zip(dates, dates[1:], strict=False))
    stab, drv, mig, ew = (_read(out, n) for n in ("stability", "drivers", "migration", "early_warnings"))
    ctx["stability"] = _stability(stab, dates[1:], name) if stab is not None and len(stab) else None
    ctx["drivers"] = _drivers(drv, name, manifest.get("segment")) if drv is not None and len(drv) else None
    ctx["migration"] = _migration(mig, grades) if mig is not None and len(mig) else None
    ctx["early_warnings"] = _early_warnings(ew, _read(out, "events"), pairs) if ew is not None else None
    perf, bt = _read(out, "performance"), _read(out, "backtest")
    ctx["performance"] = _performance(perf) if perf is not None and len(perf) else None
    ctx["backtest"] = _backtest(bt) if bt is not None and len(bt) else None
    last = ctx["early_warnings"][-1]["total"] if ctx["early_warnings"] else 0
    psi_last = (stab.loc[(stab["item"] == "pd") & (stab["as_of_after"] == dates[-1]), "psi"]
                if stab is not None else pd.Series(dtype=float))
    ctx["cards"] = [
        dict(zh="观察日", en="dates", value=f"{len(dates)}"),
        dict(zh="最新企业数", en="firms, latest", value=f"{int(summary['firms'].iloc[-1]):,}"),
        dict(zh="最新平均违约概率", en="mean PD, latest", value=fmt_pct(summary["mean_pd"].iloc[-1])),
        dict(zh="最新评分 PSI", en="score PSI, latest", value=_cell(float(psi_last.iloc[0]), "psi")
             if len(psi_last) else "–"),
        dict(zh="最新预警企业", en="early warnings, latest", value=f"{last:,}"),
    ]
    return ctx


def render_monitor_report(out: str | Path, lang: str = "zh") -> str:
    """The report of the monitoring output folder `out` as one HTML page (`lang` shown first)."""
    check_lang(lang)
    ctx = monitor_report_context(out)
    name = ctx["manifest"]["name"]
    return render("monitor_report.html", lang=lang, title_zh=f"风险监测报告 · {name}",
                  title_en=f"Monitoring report · {name}", triggers=TRIGGERS, **ctx)


def build_monitor_report(out: str | Path, *, lang: str = "zh", pdf: bool = False, log: bool = True,
                         tracking_uri: str | None = None) -> dict[str, Path]:
    """Write `monitor_report.html` into the monitoring output folder `out`, optionally print it to PDF, and (with
    `log`) add both to every MLflow run the monitoring logged (`monitor.json` names them and their tracking URI).

    Returns the paths written: `html`, and `pdf` when asked."""
    out = Path(out)
    paths = {"html": write_page(render_monitor_report(out, lang), out / REPORT_FILE)}
    if pdf:
        from techscore.reports.pdf import to_pdf

        paths["pdf"] = to_pdf(paths["html"], out / "monitor_report.pdf", lang=lang)
    manifest = json.loads((out / "monitor.json").read_text(encoding="utf-8"))
    uri = tracking_uri or manifest.get("tracking_uri")
    if log and manifest.get("runs") and uri:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=uri)
        for rid in manifest["runs"]:
            for path in paths.values():
                client.log_artifact(rid, str(path), artifact_path=REPORTS_ARTIFACT_PATH)
    return paths
