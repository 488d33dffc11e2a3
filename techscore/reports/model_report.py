"""The model validation report: one self-contained HTML page a validator reads (Chinese and English).

Data summary, validation metrics and plots of the training run, champion vs challenger, global SHAP, the check
that each feature's SHAP dependence runs in its declared risk direction, segment performance, and the
experiment and data fingerprints. `render_model_report` turns `ModelReportInputs` into HTML; `model_report_inputs`
gathers them from a run's artifacts (`techscore.model.artifacts.RunArtifacts`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from techscore.bilingual import LANGS, check_lang
from techscore.explain import direction_check
from techscore.explain.reasons import References
from techscore.explain.shap_values import Explanation
from techscore.model.artifacts import REPORTS_ARTIFACT_PATH, RunArtifacts
from techscore.model.vocabulary import parse_metric
from techscore.reports._labels import COLUMNS, METRICS, PLOTS, SEGMENTS, SPLITS, label
from techscore.reports._render import data_uri, fmt_num, fmt_pct, render, write_page

MODEL_REPORT_FILE = "model_report.html"
COMPARED: tuple[str, ...] = ("auc", "gini", "ks", "brier", "log_loss", "lift_top_decile", "score_psi")
"""Metrics on which champion and challenger are compared."""
TOP_DEPENDENCE = 8
"""Dependence plots drawn for this many of the most important features."""


@dataclass
class ModelReportInputs:
    """Everything the model report shows; `model_report_inputs` fills it from a run (`RunArtifacts`)."""

    run_id: str
    explanation: Explanation
    """SHAP values of the model on the out-of-time test set."""
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    run_name: str = ""
    experiment: str = ""
    start_time: str = ""
    dataset_summary: dict = field(default_factory=dict)
    splits: pd.DataFrame | None = None
    """One row per split: split, rows, bad, rate, period."""
    champion_name: tuple[str, str] = ("LightGBM 模型（冠军）", "LightGBM model (champion)")
    challenger_name: tuple[str, str] = ("WOE 逻辑回归评分卡（挑战者）", "WOE logistic scorecard (challenger)")
    champion_metrics: dict[str, float] = field(default_factory=dict)
    challenger_metrics: dict[str, float] = field(default_factory=dict)
    challenger_plots: dict[str, bytes] = field(default_factory=dict)
    challenger_tables: list[tuple[str, str, pd.DataFrame]] = field(default_factory=list)
    segments: pd.DataFrame | None = None
    plots: dict[str, bytes] = field(default_factory=dict)
    tables: list[tuple[str, str, pd.DataFrame]] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    top_dependence: int = TOP_DEPENDENCE
    """Dependence plots drawn for this many of the most important features."""
    shap_images: dict[str, dict[str, bytes]] = field(default_factory=dict)
    """Already drawn SHAP plots ("importance", "beeswarm") by language; drawn here when absent."""
    clusters: pd.DataFrame | None = None
    """Importance by cluster of correlated features (`techscore.explain.clusters.cluster_importance`)."""
    leakage: pd.DataFrame | None = None
    """The leakage guard's findings before fitting (`techscore.model.leakage`): feature, name, check, value,
    detail, allowed; empty when it found nothing, None when the run predates the guard."""


def _finite(x: object) -> bool:
    try:
        return math.isfinite(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _metric_table(metrics: dict[str, float]) -> dict:
    """The champion's metrics as rows (metric) x columns (part of the rows), in the vocabulary's order; cv
    statistics and per-fold figures keep their own row."""
    cells: dict[str, dict[str, float]] = {}
    for key, value in metrics.items():
        parsed = parse_metric(key)
        if not _finite(value) or (parsed is not None and parsed.model == "challenger"):
            continue
        plain = parsed is not None and parsed.statistic is None and key in (parsed.metric.name,
                                                                            f"{parsed.part}_{parsed.metric.name}")
        name = parsed.metric.name if plain else key  # type: ignore[union-attr]
        cells.setdefault(name, {})[(parsed.part if plain else None) or "all"] = float(value)  # type: ignore[union-attr]
    split_order = [s for s in (*SPLITS, "all") if any(s in v for v in cells.values())]
    known = [m for m in METRICS if m in cells]
    names = known + sorted(m for m in cells if m not in METRICS)
    columns = [dict(key=s, zh=SPLITS[s][0], en=SPLITS[s][1]) if s in SPLITS else dict(key=s, zh="全部", en="all")
               for s in split_order]
    rows = []
    for m in names:
        zh, en = label(m, METRICS)
        rows.append(dict(zh=zh, en=en, cells=[_cell(cells[m].get(s, float("nan")), m) for s in split_order]))
    return dict(columns=columns, rows=rows)


def _plots(plots: dict[str, bytes]) -> list[dict]:
    out = []
    for name, png in plots.items():
        zh, en = label(Path(name).stem, PLOTS)
        uri = data_uri(png)
        out.append(dict(images=dict(zh=uri, en=uri), zh=zh, en=en))
    return out


def _tables(tables: list[tuple[str, str, pd.DataFrame]]) -> list[dict]:
    return [dict(zh=zh, en=en, html=_frame_html(df)) for zh, en, df in tables]


def _cell(v: object, column: str = "") -> str:
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(float(v)):
            return "–" if math.isnan(float(v)) else ("∞" if v > 0 else "−∞")
        if any(w in column for w in ("rate", "share", "pd", "missing", "capture")) and "psi" not in column:
            return fmt_pct(v, 2)
        return fmt_num(v, 4)
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return f"{int(v):,}"
    return "–" if v is None or v is pd.NA else str(v)


def _frame_html(df: pd.DataFrame, max_rows: int = 60) -> str:
    """A DataFrame as an HTML table with bilingual headers and formatted numbers."""
    import html

    num = [' class="num"' if pd.api.types.is_numeric_dtype(df[c]) and df[c].dtype != bool else "" for c in df.columns]
    heads = []
    for c, n in zip(df.columns, num, strict=True):
        zh, en = label(str(c), COLUMNS)
        heads.append(f'<th{n}><span class="zh">{html.escape(zh)}</span><span class="en">{html.escape(en)}</span></th>')
    body = []
    for row in df.head(max_rows).itertuples(index=False):
        tds = "".join(f"<td{n}>{html.escape(_cell(v, str(c)))}</td>"
                      for v, n, c in zip(row, num, df.columns, strict=True))
        body.append(f"<tr>{tds}</tr>")
    more = (f'<tr><td colspan="{len(df.columns)}" class="sub">… {len(df) - max_rows:,} '
            '<span class="zh">行未显示</span><span class="en">more rows not shown</span></td></tr>'
            if len(df) > max_rows else "")
    return f"<table><tr>{''.join(heads)}</tr>{''.join(body)}{more}</table>"


def _segments(seg: pd.DataFrame | None) -> list[dict]:
    """Segment tables, one per segment key (industry, region, ...): the champion's figures, with the
    challenger's AUC beside them when the run has both. Columns as training writes them (`segment`, `value`,
    `model`, the vocabulary's metrics)."""
    if seg is None or seg.empty:
        return []
    if "model" in seg.columns:
        champ = seg[seg["model"] == "champion"].drop(columns=["model"])
        chall = seg[seg["model"] == "challenger"]
        if len(chall):
            extra = chall.set_index(["segment", "value"])["auc"].rename("challenger_auc")
            champ = champ.join(extra, on=["segment", "value"])
        seg = champ
    keep = [c for c in seg.columns if c not in ("log_loss", "capture_top_decile")]
    seg = seg[keep]
    out = []
    for key, g in seg.groupby("segment", sort=False):
        g = g.drop(columns=["segment"])
        zh, en = label(str(key), SEGMENTS)
        cols = []
        for c in g.columns:
            czh, cen = label(str(c), {**COLUMNS, **METRICS})
            cols.append(dict(zh=czh, en=cen, num=bool(pd.api.types.is_numeric_dtype(g[c]) and g[c].dtype != bool)))
        rows = [[_cell(v, str(c)) for c, v in zip(g.columns, r, strict=True)] for r in g.itertuples(index=False)]
        out.append(dict(zh=zh, en=en, columns=cols, rows=rows))
    return out


def _data_rows(inputs: ModelReportInputs) -> list[dict]:
    s = inputs.dataset_summary
    expl = inputs.explanation
    rows = []

    def add(zh: str, en: str, value: object, cls: str = "") -> None:
        if value is not None and value != "":
            rows.append(dict(zh=zh, en=en, value=value, cls=cls))

    add("样本行数", "rows", fmt_num(s.get("rows")) if s.get("rows") is not None else None)
    add("贷款总数（含观察期不完整）", "loans in source (incl. incomplete windows)",
        fmt_num(s.get("loans_total")) if s.get("loans_total") is not None else None)
    excluded = (s.get("excluded") or {}).get("window_incomplete")
    add("因表现期不完整而排除", "excluded: performance window incomplete", fmt_num(excluded) if excluded is not None else None)
    add("整体违约率", "overall default rate", fmt_pct(s["bad_rate"]) if _finite(s.get("bad_rate")) else None)
    add("表现期（月）", "performance window (months)", s.get("window_months"))
    add("观察截止日", "observation end", s.get("observation_end"))
    add("特征时点规则", "as-of rule", s.get("as_of_rule"))
    add("特征数", "features", len(expl.features))
    groups = s.get("groups")
    add("特征组", "feature groups", ", ".join(groups) if groups else None)
    return rows


def _year_rows(summary: dict) -> list[dict]:
    by_year = summary.get("bad_rate_by_year") or {}
    return [dict(key=k, **v) for k, v in sorted(by_year.items())]


def _missing_rows(summary: dict, expl: Explanation, top: int = 8) -> list[dict]:
    rates = summary.get("missing_rate") or {}
    metas = expl.meta
    items = sorted(((k, v) for k, v in rates.items() if _finite(v) and v > 0 and k in metas), key=lambda kv: -kv[1])[:top]
    return [dict(id=k, name_zh=metas[k].name_zh, name_en=metas[k].name_en, rate=v) for k, v in items]


def _challenger(inputs: ModelReportInputs) -> dict:
    champ, chall = inputs.champion_metrics, inputs.challenger_metrics
    names = [m for m in COMPARED if m in champ and m in chall]
    rows = []
    for m in names:
        if not (_finite(champ[m]) and _finite(chall[m])):
            continue
        zh, en = label(m, METRICS)
        rows.append(dict(zh=zh, en=en, champion=champ[m], challenger=chall[m], diff=champ[m] - chall[m]))
    better = ""
    auc = next((r for r in rows if r["en"] == "AUC"), None)
    note_zh = note_en = ""
    if auc is not None:
        better = "champion" if auc["diff"] > 0 else "challenger"
        note_zh = (f"在跨时间测试集上，冠军模型 AUC 比挑战者{'高' if auc['diff'] > 0 else '低'} {abs(auc['diff']):.4f}。"
                   f"{'冠军模型保持领先。' if better == 'champion' else '挑战者更优：冠军模型需要复核。'}")
        note_en = (f"On the out-of-time test set the champion's AUC is {abs(auc['diff']):.4f} "
                   f"{'above' if auc['diff'] > 0 else 'below'} the challenger's. "
                   f"{'The champion keeps its place.' if better == 'champion' else 'The challenger is better: review the champion.'}")
    return dict(
        rows=rows, note_zh=note_zh, note_en=note_en,
        champion_zh=inputs.champion_name[0], champion_en=inputs.champion_name[1],
        challenger_zh=inputs.challenger_name[0], challenger_en=inputs.challenger_name[1],
        plots=_plots(inputs.challenger_plots), tables=_tables(inputs.challenger_tables),
    )


def _fingerprints(inputs: ModelReportInputs) -> list[dict]:
    labels = {
        "run_id": ("MLflow 运行 ID", "MLflow run id"),
        "experiment_id": ("MLflow 实验 ID", "MLflow experiment id"),
        "dataset": ("数据集指纹", "dataset fingerprint"),
        "dataset_fingerprint": ("数据集指纹", "dataset fingerprint"),
        "catalogue_version": ("特征目录版本", "feature catalogue version"),
        "model_hash": ("模型哈希", "model hash"),
        "model_spec": ("模型规格", "model spec"),
        "experiment_spec": ("实验规格", "experiment spec"),
        "git_commit": ("代码提交", "git commit"),
        "techscore_version": ("techscore 版本", "techscore version"),
        "data_dir": ("原始数据目录", "raw data folder"),
        "seed": ("随机种子", "seed"),
        "shap_engine": ("SHAP 引擎", "SHAP engine"),
    }
    rows = [dict(zh="MLflow 运行 ID", en="MLflow run id", value=inputs.run_id)]
    for k, v in inputs.fingerprints.items():
        if k == "run_id" or v in (None, ""):
            continue
        zh, en = labels.get(k, (k.replace("_", " "), k.replace("_", " ")))
        rows.append(dict(zh=zh, en=en, value=str(v)))
    return rows


def _cards(inputs: ModelReportInputs) -> list[dict]:
    champ = inputs.champion_metrics
    cards = []
    for key, zh, en in (("auc", "测试集 AUC", "test AUC"), ("gini", "测试集基尼系数", "test Gini"),
                        ("ks", "测试集 KS", "test KS"), ("brier", "测试集 Brier", "test Brier")):
        if _finite(champ.get(key)):
            cards.append(dict(zh=zh, en=en, value=fmt_num(champ[key], 3)))
    s = inputs.dataset_summary
    if s.get("rows") is not None:
        cards.append(dict(zh="样本行数", en="rows", value=fmt_num(s["rows"])))
    if _finite(s.get("bad_rate")):
        cards.append(dict(zh="违约率", en="default rate", value=fmt_pct(s["bad_rate"])))
    return cards


def _cluster_rows(clusters: pd.DataFrame | None, metas: dict, top: int = 15) -> list[dict]:
    """The most important clusters that hold more than one feature, members by display name."""
    if clusters is None or clusters.empty:
        return []
    rows = []
    for r in clusters[clusters["n_members"] > 1].head(top).to_dict("records"):
        members = [metas[m] for m in str(r["members"]).split() if m in metas]
        rows.append(dict(r, members_zh="、".join(m.name_zh for m in members),
                         members_en="; ".join(m.name_en for m in members)))
    return rows


def _split_rows(splits: pd.DataFrame | None) -> tuple[list[dict], dict | None]:
    """The split table's rows (train, validation, embargo gap, test with their periods) and the gap's note."""
    if splits is None:
        return [], None
    rows, gap = [], None
    for r in splits.to_dict("records"):
        zh, en = label(str(r["split"]), SPLITS)
        period = r.get("period", "")
        period = "" if not isinstance(period, str) else period
        rows.append(dict(zh=zh, en=en, rows=r.get("rows"), bad=r.get("bad"), rate=r.get("rate"), period=period))
        if r["split"] == "embargo":
            rows_, bad = fmt_num(r.get("rows")), fmt_num(r.get("bad"))
            gap = dict(zh=f"隔离期 {period}：其表现期延伸进测试期的 {rows_} 笔贷款（{bad} 笔违约）不参与训练和验证，"
                          "因此同一企业的违约不会同时标注训练样本和测试样本。",
                       en=f"Embargo gap {period}: {rows_} loans ({bad} defaults) whose outcome window runs into the "
                          "test period are left out of training and validation, so one firm's default cannot label "
                          "both a training and a test loan.")
    return rows, gap


def _leakage(findings: pd.DataFrame | None) -> dict | None:
    """The leakage guard's findings as report rows, with labelled checks; None when the run has no guard table."""
    from techscore.model.leakage import CHECKS

    if findings is None:
        return None
    rows = []
    for r in findings.to_dict("records"):
        zh, en = CHECKS.get(str(r["check"]), (str(r["check"]), str(r["check"])))
        value = r.get("value")
        rows.append(dict(name=r.get("name", r.get("feature")), feature=r.get("feature"), check_zh=zh, check_en=en,
                         value=fmt_num(value, 3) if _finite(value) else "–", detail=r.get("detail", ""),
                         allowed=bool(r.get("allowed", False))))
    open_ = sorted({str(r["name"]) for r in rows if not r["allowed"]})
    return dict(rows=rows, open=open_)


def render_model_report(inputs: ModelReportInputs, lang: str = "zh") -> str:
    """The model report as one self-contained HTML page (both languages inside; `lang` shown first)."""
    from techscore.explain import plots
    from techscore.model.calibrate import sigmoid

    expl = inputs.explanation
    imp = expl.importance()
    metas = expl.meta
    tolerance = 0.05
    directions = direction_check(expl, tolerance=tolerance)
    counts = directions["status"].value_counts()
    top = [f for f in imp["feature"].head(inputs.top_dependence) if np.abs(expl.values[:, expl.feature_ids.index(f)]).sum() > 0]

    def both(fn, *args, **kw) -> dict:
        return {lg: data_uri(fn(expl, *args, lang=lg, **kw)) for lg in LANGS}

    given = inputs.shap_images
    shap_plots = {
        "importance": ({lg: data_uri(given["importance"][lg]) for lg in LANGS} if "importance" in given
                       else both(plots.importance_bar, top=20)),
        "beeswarm": ({lg: data_uri(given["beeswarm"][lg]) for lg in LANGS} if "beeswarm" in given
                     else both(plots.beeswarm, top=15)),
    }
    dependence = [dict(images=both(plots.dependence, f), name_zh=metas[f].name_zh, name_en=metas[f].name_en) for f in top]
    used = imp[imp["mean_abs_shap"] > 0]
    importance = [dict(r, group=metas[r["feature"]].group, declared=metas[r["feature"]].direction)
                  for r in used.head(30).to_dict("records")]
    unused = sorted(imp.loc[imp["mean_abs_shap"] <= 0, "feature"])
    clusters = _cluster_rows(inputs.clusters, metas)
    order = {"fail": 0, "weak": 1, "pass": 2, "n/a": 3}
    dir_rows = sorted((r for r in directions.to_dict("records") if r["status"] != "unused"),
                      key=lambda r: (order.get(r["status"], 9), r["feature"]))
    warnings = [dict(zh=zh, en=en) for zh, en in inputs.warnings]
    n_fail = int(counts.get("fail", 0))
    if n_fail:
        names = ", ".join(directions.loc[directions["status"] == "fail", "feature"].head(5))
        warnings.append(dict(zh=f"{n_fail} 个特征的 SHAP 依赖与声明的风险方向相反：{names}。",
                             en=f"{n_fail} feature(s) run against their declared risk direction: {names}."))
    splits, gap = _split_rows(inputs.splits)
    leakage = _leakage(inputs.leakage)
    if leakage and leakage["open"]:
        names = ", ".join(leakage["open"][:5]) + (" …" if len(leakage["open"]) > 5 else "")
        warnings.append(dict(zh=f"泄漏检查标记了 {len(leakage['open'])} 个特征，使用前须复核：{names}。",
                             en=f"The leakage guard flagged {len(leakage['open'])} column(s); review them before "
                                f"use: {names}."))
    return render(
        "model_report.html", lang=lang, title_zh="模型验证报告", title_en="Model validation report",
        run=dict(run_id=inputs.run_id, run_name=inputs.run_name, experiment=inputs.experiment, start_time=inputs.start_time),
        generated=datetime.now().strftime("%Y-%m-%d %H:%M"), cards=_cards(inputs), warnings=warnings,
        data_rows=_data_rows(inputs), split_rows=splits, gap=gap, leakage=leakage, year_rows=_year_rows(inputs.dataset_summary),
        missing_rows=_missing_rows(inputs.dataset_summary, expl),
        metric_table=_metric_table(inputs.metrics), tables=_tables(inputs.tables), plots=_plots(inputs.plots),
        challenger=_challenger(inputs), shap_rows=f"{len(expl.values):,}", shap_base=expl.base,
        shap_base_pd=fmt_pct(float(sigmoid(expl.base))), shap_plots=shap_plots, importance=importance,
        directions=dir_rows, tolerance=tolerance, unused=unused, clusters=clusters,
        direction_counts={"pass": int(counts.get("pass", 0)), "fail": n_fail, "weak": int(counts.get("weak", 0)),
                          "other": int(counts.get("n/a", 0) + counts.get("unused", 0))},
        dependence=dependence, segments=_segments(inputs.segments), fingerprints=_fingerprints(inputs),
        params=sorted((str(k), str(v)) for k, v in inputs.params.items()), zip=zip,
    )


def write_model_report(inputs: ModelReportInputs, out_dir: str | Path, lang: str = "zh") -> Path:
    """Render the model report into `out_dir/model_report.html`."""
    return write_page(render_model_report(inputs, lang), Path(out_dir) / MODEL_REPORT_FILE)


# --- from a training run ----------------------------------------------------------------------------------------
_TABLES: tuple[tuple[str, str, str], ...] = (
    ("calibration_by_grade", "测试集按等级的校准", "Calibration by grade (test)"),
    ("lift", "测试集提升度（十分位）", "Lift by decile (test)"),
    ("feature_psi", "特征稳定性 PSI（训练集 vs 测试集，前 15）", "Feature stability PSI (train vs test, top 15)"),
    ("master_scale", "主标尺：等级、违约概率区间与评分", "Master scale: grades, PD bands and scores"),
)


def _run_tables(ctx) -> list[tuple[str, str, pd.DataFrame]]:
    out = []
    for name, zh, en in _TABLES:
        t = ctx.table(name)
        if t is None or t.empty:
            continue
        if name == "calibration_by_grade" and "rows" in t:
            t = t[t["rows"] > 0]
        if name == "feature_psi":
            t = t.head(15)
        if name == "lift":
            t = t[[c for c in t.columns if c not in ("min_pd", "max_pd", "cum_rows_share")]]
        out.append((zh, en, t))
    return out


def _points_summary(points: pd.DataFrame | None) -> pd.DataFrame | None:
    """The scorecard's points table summarised per variable: bins, IV, coefficient, lowest and highest points."""
    if points is None or points.empty or "variable" not in points:
        return points
    g = points.groupby("variable", sort=False)
    out = pd.DataFrame({"name": g["name"].first() if "name" in points else g.size().index,
                        "bins": g.size()})
    for col, how in (("iv", "sum"), ("coefficient", "first")):
        if col in points:
            out[col] = g[col].agg(how)
    if "points" in points:
        out["points_min"], out["points_max"] = g["points"].min(), g["points"].max()
    out = out.reset_index()
    return out.sort_values("iv", ascending=False, kind="stable") if "iv" in out else out


@dataclass
class RunExplanation:
    """The SHAP side of a run as the model report shows it."""

    explanation: Explanation
    """SHAP values on the run's test rows."""
    references: References | None
    """Reason-code references: the run's, else fitted on its training rows."""
    dataset_summary: dict = field(default_factory=dict)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    images: dict[str, dict[str, bytes]] = field(default_factory=dict)
    """Drawn SHAP plots ("importance", "beeswarm") by language."""
    clusters: pd.DataFrame | None = None


def explain_run(run: RunArtifacts, *, workspace=None, log: bool = True) -> RunExplanation:
    """SHAP values on the run's test rows, with references (from the run, else fitted on its training rows) and
    the dataset summary; the summaries are logged to the run when it lacks them. Rows come from the run's split
    membership; when its data cannot be loaded, the SHAP values logged with the run are used."""
    from techscore.explain.reasons import REFERENCES_FILE
    from techscore.explain.shap_values import load_explanation
    from techscore.explain.summary import SUMMARY_FOLDER, summarize

    warnings: list[tuple[str, str]] = []
    try:
        ds, _spec = run.dataset(workspace=workspace)
    except Exception as exc:  # noqa: BLE001 - fall back to the SHAP values logged with the run
        logged = run.find("shap_values.parquet")
        if logged is None:
            raise
        expl = load_explanation(logged, features=run.model.features)
        refs_path = run.find(REFERENCES_FILE)
        warnings.append((f"未能载入运行的数据集（{exc}）；使用运行中记录的 SHAP 值。",
                         f"The run's dataset could not be loaded ({exc}); SHAP values logged with the run are shown."))
        images = {k: {lg: p.read_bytes() for lg in LANGS if (p := run.find(f"shap_{k}_{lg}.png")) is not None}
                  for k in ("importance", "beeswarm")}
        images = {k: v for k, v in images.items() if len(v) == len(LANGS)}
        clusters_path = run.find("shap_importance_clusters.csv")
        clusters = pd.read_csv(clusters_path) if clusters_path is not None else None
        return RunExplanation(expl, References.load(refs_path) if refs_path else None, {}, warnings, images, clusters)
    if ds.fingerprint != run.report.get("dataset_fingerprint", ds.fingerprint):
        warnings.append(("数据集指纹与训练时不同：数据已变化，报告中的 SHAP 值基于当前数据。",
                         "The dataset fingerprint differs from the one the run trained on: the data changed since, "
                         "and SHAP values are computed on the data as it is now."))
    train_rows, test_rows = run.rows("train", ds.frame), run.rows("test", ds.frame)
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="techscore-explain-")) / SUMMARY_FOLDER
    summary = summarize(run.model, ds, train_rows, test_rows, folder, plots=True)
    refs_path = run.find(REFERENCES_FILE)
    refs = References.load(refs_path) if refs_path is not None else summary.references
    if log and run.find("shap_importance.csv") is None:
        run.log_artifacts(folder, SUMMARY_FOLDER)
    images = {k: {lg: (folder / f"shap_{k}_{lg}.png").read_bytes() for lg in LANGS} for k in ("importance", "beeswarm")}
    return RunExplanation(summary.explanation, refs, {**ds.summary, "rows": len(ds.frame)}, warnings, images,
                          summary.clusters)


def model_report_inputs(ctx: RunArtifacts, *, workspace=None, log: bool = True) -> ModelReportInputs:
    """Gather the model report's inputs from a run (`techscore.model.artifacts.RunArtifacts.load`)."""
    import hashlib

    from techscore import __version__

    shap = explain_run(ctx, workspace=workspace, log=log)
    expl, summary, warnings, images, clusters = (shap.explanation, shap.dataset_summary, shap.warnings, shap.images,
                                                 shap.clusters)
    report = ctx.report
    metrics = {k: v for k, v in (ctx.metrics or report.get("metrics", {})).items()
               if "." not in k and not k.startswith("valid_curve") and not k.startswith("oot_")}
    splits = ctx.table("splits")
    if splits is not None and not splits.empty:
        splits = splits.rename(columns={"bad_rate": "rate"})
        if "fold" in splits and splits["fold"].nunique() > 1:
            splits = splits.groupby("split", sort=False).agg(rows=("rows", "sum"), bad=("bad", "sum")).reset_index()
            splits["rate"] = splits["bad"] / splits["rows"]
    points = _points_summary(ctx.table("points"))
    model = ctx.model
    booster_hash = hashlib.sha256(model.booster.model_to_string().encode()).hexdigest()
    fingerprints = {
        "experiment_id": ctx.experiment_id, "experiment_spec": report.get("experiment", ""),
        "model_spec": report.get("model_spec", ""),
        "dataset_fingerprint": report.get("dataset_fingerprint") or ctx.tags.get("techscore.dataset_fingerprint", ""),
        "catalogue_version": getattr(model, "catalogue_version", None) or ctx.tags.get("techscore.catalogue_version", ""),
        "model_hash": f"sha256:{booster_hash}", "data_dir": ctx.params.get("data.path", ""),
        "seed": ctx.params.get("model.seed", ""), "git_commit": ctx.tags.get("mlflow.source.git.commit", ""),
        "techscore_version": __version__, "shap_engine": expl.engine,
    }
    return ModelReportInputs(
        run_id=ctx.run_id, explanation=expl, metrics=metrics, params=ctx.params, run_name=ctx.run_name,
        experiment=ctx.experiment or report.get("experiment", ""), start_time=ctx.start_time,
        dataset_summary=summary, splits=splits,
        champion_metrics=dict((report.get("champion") or {}).get("test") or {}),
        challenger_metrics=dict((report.get("challenger") or {}).get("test") or {}),
        challenger_plots=ctx.pngs("challenger"),
        challenger_tables=[("评分卡变量：分箱数、信息值与分值范围", "Scorecard variables: bins, information value and "
                            "points range", points)] if points is not None else [],
        segments=ctx.table("segments"), plots=ctx.pngs("plots"), tables=_run_tables(ctx),
        fingerprints=fingerprints, warnings=warnings, shap_images=images, clusters=clusters,
        leakage=ctx.table("leakage"),
    )


def build_model_report(
    run: str | Path,
    *,
    out: str | Path | None = None,
    lang: str = "zh",
    tracking_uri: str | None = None,
    workspace: str | Path | None = None,
    pdf: bool = False,
    log: bool = True,
) -> dict[str, Path]:
    """Write the model report of `run` (an MLflow run id or a local outputs folder) into `out` (default
    `reports/<run id>/`), optionally print it to PDF, and log both (and the SHAP summaries) to the run.

    Returns the paths written: `html`, and `pdf` when asked.
    """
    check_lang(lang)
    ctx = RunArtifacts.load(run, tracking_uri=tracking_uri)
    inputs = model_report_inputs(ctx, workspace=workspace, log=log)
    folder = Path(out) if out is not None else Path("reports") / ctx.run_id
    paths = {"html": write_model_report(inputs, folder, lang)}
    if pdf:
        from techscore.reports.pdf import to_pdf

        paths["pdf"] = to_pdf(paths["html"], folder / "model_report.pdf", lang=lang)
    if log:
        ctx.log_files(list(paths.values()), REPORTS_ARTIFACT_PATH)
    return paths

