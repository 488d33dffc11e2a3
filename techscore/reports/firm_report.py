"""The firm report: one A4 page per firm with its PD, score, grade, SHAP waterfall, reason codes, and its key
figures over time beside its industry peers, in Chinese and English.

`firm_report_inputs` scores and explains the firms with a model and the references learned at training; their
key figures over time come from `techscore.dataset.history.key_figure_history` (features of the run's workspace's
catalogue at yearly as-of dates, with the quartiles of the firms in the same industry section);
`render_firm_report` writes the HTML.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from techscore.bilingual import LANGS, format_pd, format_value
from techscore.catalogue.meta import FeatureMeta
from techscore.dataset.history import key_figure_history
from techscore.exceptions import ReportError
from techscore.explain.reasons import References, reason_codes
from techscore.explain.shap_values import Explanation, explain
from techscore.reports._render import data_uri, render, write_page
from techscore.sources.industry import SECTIONS

FIRM_REPORT_FILE = "firm_report.html"
MIN_REASON_SHAP = 0.005
"""Contributions (log-odds) at most this small are not shown as reasons on a firm's page."""


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
    reasons = reason_codes(expl, references, groups=groups, k=k, k_lower=k_lower, min_abs=MIN_REASON_SHAP)
    scores = predict_scores(model, expl.data, expl.margin)
    return FirmReportInputs(
        run_id=run_id, explanation=expl, firms=firms.reset_index(drop=True), scores=scores, reasons=reasons,
        history=history, history_features=list(history_features or []),
    )


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
    from techscore.model.calibrate import sigmoid

    expl = inputs.explanation
    base_pd = format_pd(float(sigmoid(expl.base)))
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


# --- from a training run ----------------------------------------------------------------------------------------
def _run_references(ctx, *, workspace=None, log: bool = True):
    """The reason-code references of the run: logged with it, else fitted on its training rows (and logged)."""
    import tempfile

    from techscore.explain.reasons import REFERENCES_FILE, fit_references
    from techscore.explain.summary import SUMMARY_FOLDER

    found = ctx.find(REFERENCES_FILE)
    if found is not None:
        return References.load(found), None
    ds, _spec = ctx.dataset(workspace=workspace)
    refs = fit_references(ds.frame.loc[ctx.rows("train", ds.frame)], ctx.model.features, fingerprint=ds.fingerprint)
    if log:
        folder = Path(tempfile.mkdtemp(prefix="techscore-refs-"))
        refs.save(folder / REFERENCES_FILE)
        ctx.log_artifacts(folder, SUMMARY_FOLDER)
    return refs, ds


def read_batch(path: str | Path) -> pd.DataFrame:
    """A batch file: CSV, Parquet or plain text (one USCC a line); it must hold a `uscc` column (or be text)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"batch file {path} does not exist.")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        frame = pd.read_parquet(path)
    elif suffix in (".csv", ".tsv"):
        frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype={"uscc": "string"})
    else:
        codes = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        frame = pd.DataFrame({"uscc": codes})
    if "uscc" not in frame.columns:
        raise ReportError(f"batch file {path} has no 'uscc' column; columns: {', '.join(map(str, frame.columns[:8]))}.")
    return frame


def _data_as_of(ds) -> pd.Timestamp:
    end = (ds.summary or {}).get("observation_end") if ds is not None else None
    return pd.Timestamp(end) if end else pd.Timestamp.today().normalize()


def build_firm_report(
    run: str | Path,
    *,
    usccs: Sequence[str] = (),
    batch: str | Path | None = None,
    out: str | Path | None = None,
    lang: str = "zh",
    as_of: Any = None,
    tracking_uri: str | None = None,
    workspace: str | Path | None = None,
    pdf: bool = False,
    log: bool = True,
    history: bool = True,
) -> dict[str, Path]:
    """Firm reports of `run` for the firms `usccs` or those of a `batch` file, one A4 page per firm.

    A batch holding the model's feature columns is scored as it is; otherwise each firm's features are computed
    from the run's raw tables as of `as_of` (default: the run's observation end), and its key figures over the
    years before are drawn beside its industry peers. The report (and PDF) is logged to the run under `reports/`.
    """
    from techscore.bilingual import check_lang
    from techscore.model.artifacts import REPORTS_ARTIFACT_PATH, RunArtifacts

    check_lang(lang)
    ctx = RunArtifacts.load(run, tracking_uri=tracking_uri)
    model = ctx.model
    table = read_batch(batch) if batch is not None else pd.DataFrame({"uscc": list(usccs)})
    table = table.assign(uscc=table["uscc"].astype("string").str.strip().str.upper())
    table = table[table["uscc"].fillna("") != ""].drop_duplicates("uscc").reset_index(drop=True)
    if table.empty:
        raise ReportError("no firm to report on: give --uscc CODE or a --batch file with a uscc column.")
    refs, ds = _run_references(ctx, workspace=workspace, log=log)
    scored_as_is = all(f in table.columns for f in model.feature_ids)
    spec = ctx.experiment_spec(workspace)
    from techscore.catalogue import load_catalogue

    catalogue = load_catalogue(spec.workspace if spec is not None else workspace)  # the run's workspace's
    sources = None
    if spec is not None and spec.data.path is not None and spec.resolve(spec.data.path).is_dir():
        from techscore.sources.load import load_sources

        sources = load_sources(spec.resolve(spec.data.path))
    if ds is None and as_of is None and spec is not None and spec.dataset_dir is not None:
        from techscore.dataset.frame import LoanDataset

        try:
            ds = LoanDataset.read(spec.dataset_dir)
        except (OSError, ValueError, KeyError):
            ds = None
    when = pd.Timestamp(as_of) if as_of is not None else _data_as_of(ds)
    firms = pd.DataFrame({"uscc": table["uscc"].to_numpy()})
    firms["as_of"] = pd.to_datetime(table["as_of"]).to_numpy() if "as_of" in table.columns else when
    firms["name"] = table["name"].to_numpy() if "name" in table.columns else ""
    section_col = next((c for c in ("section", "seg_industry", "profile_industry_section") if c in table.columns), None)
    firms["section"] = table[section_col].astype("string").to_numpy() if section_col else pd.NA
    if sources is not None:
        from techscore.sources.asof import as_tables
        from techscore.sources.industry import section_of

        ent = as_tables(sources, ["enterprises"])["enterprises"].drop_duplicates("uscc").set_index("uscc")
        unknown = [u for u in firms["uscc"] if u not in ent.index]
        if unknown and not scored_as_is:
            raise ReportError(f"{len(unknown)} firm{'s' if len(unknown) != 1 else ''} not in the run's data "
                              f"({spec.resolve(spec.data.path)}): {', '.join(unknown[:5])}{', ...' if len(unknown) > 5 else ''}.")
        known = firms["uscc"].isin(ent.index)
        names = ent["name"].astype("string").reindex(firms["uscc"]).to_numpy()
        firms["name"] = np.where((firms["name"] == "") & known, names, firms["name"])
        secs = section_of(ent["industry"].astype("string")).astype("string").reindex(firms["uscc"]).to_numpy()
        firms["section"] = pd.array(np.where(pd.isna(firms["section"]), secs, firms["section"]), dtype="string")
    if scored_as_is:
        X = table[model.feature_ids]
    elif sources is not None:
        from techscore.dataset.build import featurize

        parts = []
        for d, group in firms.groupby("as_of", sort=True):
            feats = featurize(sources, group["uscc"].tolist(), d, ids=model.feature_ids, catalogue=catalogue)
            parts.append(feats.reset_index(drop=True).set_axis(group.index))
        X = pd.concat(parts).sort_index()
    else:
        raise ReportError(f"run {ctx.run_id} has no raw tables to compute features from; give a --batch file "
                          "holding the model's feature columns.")
    hist, metas = (key_figure_history(sources, firms, catalogue) if history and sources is not None else (None, []))
    inputs = firm_report_inputs(model, X.reset_index(drop=True), firms, refs, run_id=ctx.run_id, history=hist,
                                history_features=metas, groups=firms["section"])
    folder = Path(out) if out is not None else Path("reports") / ctx.run_id
    stem = f"firm_{firms['uscc'].iloc[0]}" if len(firms) == 1 else f"firms_{Path(batch).stem if batch else len(firms)}"
    paths = {"html": write_firm_report(inputs, folder / f"{stem}.html", lang)}
    if pdf:
        from techscore.reports.pdf import to_pdf

        paths["pdf"] = to_pdf(paths["html"], folder / f"{stem}.pdf", lang=lang)
    if log:
        ctx.log_files(list(paths.values()), REPORTS_ARTIFACT_PATH)
    return paths
