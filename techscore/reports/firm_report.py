"""The firm report: one A4 page per firm with its PD, score, grade, SHAP waterfall, reason codes, and its key
figures over time beside its industry peers, in Chinese and English.

`firm_report_inputs` scores and explains the firms with a model and the references learned at training;
`key_figure_history` computes the firms' key figures at yearly as-of dates from the raw tables, with the
quartiles of the firms in the same industry section; `render_firm_report` writes the HTML.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from techscore.catalogue.meta import FeatureMeta
from techscore.exceptions import ReportError
from techscore.explain._format import LANGS, format_pd, format_value
from techscore.explain.reasons import References, reason_codes
from techscore.explain.shap_values import Explanation, explain
from techscore.reports._render import data_uri, render, write_page
from techscore.sources.industry import SECTIONS

FIRM_REPORT_FILE = "firm_report.html"
KEY_FIGURES: tuple[str, ...] = ("rd_intensity", "ip_invention_in_force", "inno_points", "sc_sales_12m")
"""Features drawn over time on a firm's page (those the catalogue has): R&D intensity, invention patents in force,
innovation points, sales over the last 12 months."""
HISTORY_YEARS = 4
"""Yearly as-of dates shown, the last being the report's as-of date."""


@dataclass
class FirmReportInputs:
    """What the firm report shows, one row per firm in every table (same order)."""

    run_id: str
    explanation: Explanation
    firms: pd.DataFrame
    """Columns uscc, and optionally name, section, as_of."""
    scores: pd.DataFrame
    """Columns pd, score, grade."""
    reasons: pd.DataFrame
    """Long reason table (`techscore.explain.reason_codes`) of these rows."""
    history: pd.DataFrame | None = None
    """Long table: uscc, feature, as_of, value, peer_q25, peer_median, peer_q75 (`key_figure_history`)."""
    history_features: list[FeatureMeta] = field(default_factory=list)


def predict_scores(model: Any, X: pd.DataFrame, margin: np.ndarray) -> pd.DataFrame:
    """PD, score and grade of each row: the model's own `predict_frame` when it has one, else the logistic of
    the raw margin (score and grade then missing)."""
    if hasattr(model, "predict_frame"):
        out = model.predict_frame(X)
        out = out.reset_index(drop=True)
        cols = {c.lower(): c for c in out.columns}
        return pd.DataFrame({
            "pd": out[cols.get("pd", out.columns[0])].to_numpy(dtype=np.float64),
            "score": out[cols["score"]].to_numpy() if "score" in cols else np.nan,
            "grade": out[cols["grade"]].astype("string").to_numpy() if "grade" in cols else pd.NA,
        })
    return pd.DataFrame({"pd": 1.0 / (1.0 + np.exp(-margin)), "score": np.nan, "grade": pd.NA})


def firm_report_inputs(
    model: Any,
    X: pd.DataFrame,
    firms: pd.DataFrame,
    references: References | None,
    *,
    run_id: str = "",
    features: list[FeatureMeta] | None = None,
    history: pd.DataFrame | None = None,
    history_features: list[FeatureMeta] | None = None,
    groups: pd.Series | None = None,
    k: int = 5,
    k_lower: int = 3,
) -> FirmReportInputs:
    """Score, explain and give reason codes for the rows of `X` (one per firm, aligned with `firms`)."""
    if len(X) != len(firms):
        raise ReportError(f"X has {len(X)} rows but firms has {len(firms)}; they must describe the same firms in order.")
    expl = explain(model, X, features=features)
    if groups is None and "section" in firms.columns:
        groups = firms["section"].reset_index(drop=True)
    reasons = reason_codes(expl, references, groups=groups, k=k, k_lower=k_lower)
    scores = predict_scores(model, expl.data, expl.margin)
    return FirmReportInputs(
        run_id=run_id, explanation=expl, firms=firms.reset_index(drop=True), scores=scores, reasons=reasons,
        history=history, history_features=list(history_features or []),
    )


def yearly_dates(as_of: Any, years: int = HISTORY_YEARS) -> list[pd.Timestamp]:
    """`years` as-of dates a year apart, ending at `as_of`."""
    d = pd.Timestamp(as_of).normalize()
    return [d - pd.DateOffset(years=years - 1 - i) for i in range(years)]


def key_figure_history(
    sources: Any,
    firms: pd.DataFrame,
    *,
    ids: Sequence[str] = KEY_FIGURES,
    years: int = HISTORY_YEARS,
    catalogue: Any = None,
) -> tuple[pd.DataFrame, list[FeatureMeta]]:
    """Each firm's key figures at yearly as-of dates, with its industry peers' quartiles at the same dates.

    Parameters
    ----------
    sources : raw tables (`techscore.dataset.build.load_sources`) — the features are computed point-in-time.
    firms : columns uscc and as_of (the last date of each firm's series) and section (its industry section).
    ids : features to show; those the catalogue lacks are left out.

    Returns
    -------
    (history, metas): history has columns uscc, feature, as_of, value, peer_q25, peer_median, peer_q75, peer_n.
    Peers are all firms of the same section known at that date (the platform cohort, not the scored batch).
    """
    from techscore.catalogue import load_catalogue
    from techscore.dataset.build import featurize
    from techscore.sources.asof import as_tables
    from techscore.sources.industry import section_of

    cat = catalogue or load_catalogue()
    ids = [i for i in ids if i in cat]
    metas = [cat[i] for i in ids]
    cols = ["uscc", "feature", "as_of", "value", "peer_q25", "peer_median", "peer_q75", "peer_n"]
    if not ids or firms.empty:
        return pd.DataFrame(columns=cols), metas
    enterprises = as_tables(sources)["enterprises"].drop_duplicates("uscc").set_index("uscc")
    section = section_of(enterprises["industry"].astype("string")).astype("string")
    wanted = firms.assign(as_of=pd.to_datetime(firms["as_of"]).dt.normalize())
    dates = sorted({d for a in wanted["as_of"].unique() for d in yearly_dates(a, years)})
    parts = []
    for d in dates:
        frame = featurize(sources, None, d, ids=ids, catalogue=cat)
        sec = section.reindex(frame.index)
        q = frame.groupby(sec.to_numpy(), dropna=True).quantile([0.25, 0.5, 0.75])
        n = frame.groupby(sec.to_numpy(), dropna=True).count()
        mine = wanted[wanted["as_of"].map(lambda a, d=d: d in yearly_dates(a, years))]
        for row in mine.itertuples(index=False):
            s = getattr(row, "section", None) or (section.get(row.uscc) if row.uscc in section.index else None)
            for fid in ids:
                value = frame.at[row.uscc, fid] if row.uscc in frame.index else np.nan
                qs = [q.at[(s, p), fid] if s is not None and (s, p) in q.index else np.nan for p in (0.25, 0.5, 0.75)]
                parts.append((row.uscc, fid, d, _float(value), *map(_float, qs),
                              int(n.at[s, fid]) if s is not None and s in n.index else 0))
    return pd.DataFrame(parts, columns=cols), metas


def _float(v: object) -> float:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    return f if math.isfinite(f) else float("nan")


def _reason_items(reasons: pd.DataFrame, effect: str) -> list[dict]:
    sub = reasons[reasons["effect"] == effect].sort_values("rank")
    return [dict(code=r.code, zh=r.text_zh, en=r.text_en, shap=r.shap) for r in sub.itertuples(index=False)]


def _trends(history: pd.DataFrame | None, metas: list[FeatureMeta], uscc: str) -> tuple[list[dict], list[str]]:
    from techscore.reports.charts import axis_scale, trend_chart

    if history is None or history.empty:
        return [], []
    mine = history[history["uscc"] == uscc]
    if mine.empty:
        return [], []
    dates = sorted(mine["as_of"].unique())
    labels = [pd.Timestamp(d).strftime("%Y-%m-%d") for d in dates]
    out = []
    for meta in metas:
        h = mine[mine["feature"] == meta.id].set_index("as_of").reindex(dates).reset_index()
        if h.empty or (h["value"].isna().all() and h["peer_median"].isna().all()):
            continue
        _, unit_zh, unit_en = axis_scale(meta)
        cells = [dict(zh=format_value(v, meta, "zh"), en=format_value(v, meta, "en"),
                      peer_zh=format_value(m, meta, "zh"), peer_en=format_value(m, meta, "en"))
                 for v, m in zip(h["value"], h["peer_median"], strict=True)]
        out.append(dict(name_zh=meta.name_zh, name_en=meta.name_en, unit_zh=unit_zh, unit_en=unit_en,
                        image=data_uri(trend_chart(h, meta)), cells=cells))
    return out, labels


def _firm_pages(inputs: FirmReportInputs) -> list[dict]:
    from techscore.explain import plots
    from techscore.explain.plots import _sigmoid

    expl = inputs.explanation
    base_pd = format_pd(_sigmoid(expl.base))
    pages = []
    for i in range(len(expl.values)):
        firm = inputs.firms.iloc[i]
        score = inputs.scores.iloc[i]
        section = str(firm.get("section") or "") if "section" in inputs.firms.columns else ""
        section = "" if section in ("<NA>", "nan", "None") else section
        sec = SECTIONS.get(section)
        rows = inputs.reasons[inputs.reasons["row"] == i]
        pd_value = float(score["pd"])
        waterfall = {lg: data_uri(plots.waterfall(expl, i, lg, calibrated_pd=pd_value)) for lg in LANGS}
        trends, dates = _trends(inputs.history, inputs.history_features, str(firm["uscc"]))
        as_of = firm.get("as_of") if "as_of" in inputs.firms.columns else None
        pages.append(dict(
            uscc=str(firm["uscc"]), name=str(firm.get("name") or "") if "name" in inputs.firms.columns else "",
            section=section, section_zh=sec[2] if sec else "", section_en=sec[3] if sec else "",
            as_of=pd.Timestamp(as_of).strftime("%Y-%m-%d") if as_of is not None and not pd.isna(as_of) else "–",
            pd=format_pd(pd_value),
            score="–" if pd.isna(score["score"]) else f"{float(score['score']):.0f}",
            grade="–" if pd.isna(score["grade"]) else str(score["grade"]),
            base_pd=base_pd, raises=_reason_items(rows, "raises"), lowers=_reason_items(rows, "lowers"),
            waterfall=waterfall, trends=trends, trend_dates=dates,
        ))
    return pages


def render_firm_report(inputs: FirmReportInputs, lang: str = "zh") -> str:
    """The firm report as one self-contained HTML page, one printed A4 page per firm."""
    if len(inputs.explanation.values) == 0:
        raise ReportError("no firm to report on: the batch is empty.")
    pages = _firm_pages(inputs)
    one = pages[0]
    title_zh = f"企业信用风险报告 · {one['name'] or one['uscc']}" if len(pages) == 1 else f"企业信用风险报告 · {len(pages)} 家企业"
    title_en = f"Firm credit-risk report · {one['name'] or one['uscc']}" if len(pages) == 1 else f"Firm credit-risk reports · {len(pages)} firms"
    return render("firm_report.html", lang=lang, title_zh=title_zh, title_en=title_en, firms=pages,
                  run_id=inputs.run_id)


def write_firm_report(inputs: FirmReportInputs, path: str | Path, lang: str = "zh") -> Path:
    """Render the firm report to `path` (a folder gets `firm_report.html`)."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        path = path / FIRM_REPORT_FILE
    return write_page(render_firm_report(inputs, lang), path)


def firms_of(values: Iterable[str]) -> list[str]:
    """USCCs from user input: stripped, upper-case, unique in order."""
    return list(dict.fromkeys(v.strip().upper() for v in values if v and v.strip()))
