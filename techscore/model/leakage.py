"""The leakage guard: before a model is fitted, flag columns that could not have been known when the loan was
issued, or that identify the row rather than describe it.

A column that alone separates defaults from the rest almost perfectly is far more often a consequence of the
outcome (months to charge-off, recovered amount, a status of "Charged Off") than a discovery. The guard runs on
the rows the model learns from and flags:

- `single_feature_auc`: the column alone ranks defaults above the rest (or below) with an AUC of at least the
  threshold (default 0.95); missing values are placed where they separate best, so a column filled only after a
  default is caught too. Categorical columns are ranked by their categories' default rates.
- `identifier`: text or integer columns whose values are (nearly) all distinct: loan numbers, codes, row ids.
- `outcome_only`: a numeric column that is zero or missing on (nearly) every non-default and set on a
  material share of the defaults: amounts that only exist after a default (recoveries, collection fees).
- `outcome_name` / `outcome_value`: the column's name, or its values, are words of the outcome (charge-off,
  recovery, collection, write-off, loan status, default; 核销, 逾期, 违约, 坏账, 催收, 代偿 ...).
- `date_after_issue`: a column holding dates later than the row's issue date (or, without issue dates, any
  column holding dates, which cannot be checked).

Name and value words are checked on columns whose provenance the toolkit does not know (tabular data); the
feature catalogue's features are computed as of the issue date by the point-in-time builder (and tested for it),
and some legitimately speak of lateness or defaults of others (客户逾期付款率, 违约交易对手占比). The statistical
checks run on every column.

>>> findings = leakage_findings(dataset.X, dataset.y, dataset.features)     # doctest: +SKIP
>>> findings[["name", "check", "value"]]                                    # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from techscore.catalogue.meta import FeatureMeta
from techscore.dataset.tabular import TABULAR_GROUP
from techscore.exceptions import LeakageError

if TYPE_CHECKING:
    from techscore.model.events import TrainResult
    from techscore.specs import ExperimentSpec

__all__ = ["CHECKS", "FINDING_COLUMNS", "check_findings", "feature_auc", "guard_training", "leakage_findings",
           "leakage_record"]

CHECKS: dict[str, tuple[str, str]] = {
    "single_feature_auc": ("单一特征即可区分违约", "separates the classes alone"),
    "identifier": ("标识符或近乎唯一", "identifier or near-unique"),
    "outcome_only": ("仅在违约后才有取值", "set only after a default"),
    "outcome_name": ("名称指向结果", "name points at the outcome"),
    "outcome_value": ("取值指向结果", "values point at the outcome"),
    "date_after_issue": ("日期晚于发放日", "dates after issue"),
}
"""Each check the guard runs, with its Chinese and English label (reports show them)."""
FINDING_COLUMNS: tuple[str, ...] = ("feature", "name", "check", "value", "detail", "allowed")

OUTCOME_WORDS = re.compile(
    r"charge[\s_\-]?off|charged[\s_\-]?off|recover(y|ies|ed)|collection[\s_\-]?(fee|fees|amount|cost|costs|recover)"
    r"|write[\s_\-]?off|written[\s_\-]?off|loan[\s_\-]?status|debt[\s_\-]?settlement|hardship|last[\s_\-]?(pymnt|payment)"
    r"|total[\s_\-]?(rec|received)|out[\s_\-]?prncp|\bdefault(s|\b)|\bdpd\b|days[\s_\-]?past[\s_\-]?due"
    r"|核销|逾期|违约|坏账|催收|代偿|追偿|呆账|不良|清收|结清",
    re.IGNORECASE,
)
"""Words of a loan's own outcome, in column names (identifier-style separators count as spaces)."""
STATUS_WORDS = re.compile(
    r"charged[\s_\-]?off|charge[\s_\-]?off|\bdefault(ed)?\b|written[\s_\-]?off|write[\s_\-]?off|fully[\s_\-]?paid"
    r"|in[\s_\-]grace[\s_\-]period|\blate\s*\(|collections?\b|recovered|核销|逾期|违约|坏账|代偿|结清|不良|呆账|关注|次级|可疑",
    re.IGNORECASE,
)
"""Loan status words, in a column's values."""
DATE_TEXT = re.compile(r"^\s*(\d{4}[-/.]\d{1,2}([-/.]\d{1,2})?|[A-Za-z]{3}-\d{4}|\d{4}年\d{1,2}月(\d{1,2}日)?)")
MIN_ROWS = 20
"""Columns with fewer non-missing rows are not judged by the statistical checks."""
OUTCOME_ONLY_GOOD_SHARE = 0.001
OUTCOME_ONLY_BAD_SHARE = 0.05


def _auc(score: np.ndarray, y: np.ndarray) -> float:
    """AUC of `score` for `y` (ties count half), by the Mann-Whitney rank sum."""
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = pd.Series(score).rank(method="average").to_numpy()
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def feature_auc(values: pd.Series, y: np.ndarray) -> float:
    """How well one column alone separates the classes: the AUC in its better direction (so 0.5 .. 1), with
    missing values placed below or above every value, whichever separates better; a categorical column is ranked
    by its categories' default rates (missing is a category of its own)."""
    y = np.asarray(y).astype(np.int64)
    if isinstance(values.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(values):
        codes = values.astype("string").fillna("\x00missing")
        rates = pd.Series(y, index=codes.index).groupby(codes.to_numpy()).mean()
        score = codes.map(rates).to_numpy(dtype=np.float64)
        auc = _auc(score, y)
        return max(auc, 1 - auc)
    x = values.to_numpy(dtype=np.float64)
    missing = ~np.isfinite(x)
    if missing.all():
        return 0.5
    if not missing.any():
        auc = _auc(x, y)
        return max(auc, 1 - auc)
    lo, hi = np.nanmin(np.where(missing, np.nan, x)), np.nanmax(np.where(missing, np.nan, x))
    best = 0.5
    for fill in (lo - 1.0, hi + 1.0):
        auc = _auc(np.where(missing, fill, x), y)
        best = max(best, auc, 1 - auc)
    return best


def _is_date_text(values: pd.Series) -> pd.Series | None:
    """The column as dates when (nearly) all its distinct non-missing text values look like dates."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.to_datetime(values)
    if pd.api.types.is_numeric_dtype(values) and not isinstance(values.dtype, pd.CategoricalDtype):
        return None
    text = values.astype("string")
    distinct = text.dropna().unique()
    if len(distinct) == 0 or np.mean([bool(DATE_TEXT.match(str(v))) for v in distinct[:2000]]) < 0.95:
        return None
    parsed = {v: pd.to_datetime(str(v).replace("年", "-").replace("月", "-").replace("日", "").rstrip("-"),
                                errors="coerce", format="mixed") for v in distinct}
    return pd.to_datetime(text.map(parsed))


def _checked_by_name(meta: FeatureMeta) -> bool:
    """Name and value words are read on columns of unknown provenance (tabular data), not on catalogue features."""
    return meta.group == TABULAR_GROUP


def leakage_findings(
    X: pd.DataFrame,
    y: np.ndarray | pd.Series,
    features: Sequence[FeatureMeta],
    *,
    issued: pd.Series | np.ndarray | None = None,
    auc_threshold: float = 0.95,
    unique_share: float = 0.95,
    allow: Iterable[str] = (),
) -> pd.DataFrame:
    """The guard's findings on the rows a model is about to learn from, one row per column and check.

    Parameters
    ----------
    X : feature columns (named by feature id), the training rows.
    y : 0/1 labels of the rows.
    features : metadata of the columns of `X` (display names, group: tabular columns get the name checks).
    issued : issue date of each row; dates in a column later than it are flagged.
    auc_threshold : single-feature AUC (better direction) at or above which a column is flagged.
    unique_share : distinct share of non-missing values at or above which a text or integer column is flagged.
    allow : feature ids or display names reviewed and accepted; their findings are kept with `allowed` True.

    Returns a DataFrame with columns `FINDING_COLUMNS` (`value`: the AUC, distinct share, share of defaults set
    or of rows dated after issue; `detail`: what was seen), sorted by column then check.
    """
    y = np.asarray(y).astype(np.int64)
    if len(y) != len(X):
        raise ValueError(f"leakage guard: {len(X)} rows of features but {len(y)} labels.")
    allowed = set(allow)
    issue_dates = pd.to_datetime(pd.Series(np.asarray(issued))).to_numpy() if issued is not None else None
    rows: list[dict] = []

    def add(meta: FeatureMeta, check: str, value: float, detail: str) -> None:
        rows.append(dict(feature=meta.id, name=meta.name_en, check=check, value=float(value), detail=detail,
                         allowed=meta.id in allowed or meta.name_en in allowed or meta.name_zh in allowed))

    for meta in features:
        col = X[meta.id]
        present = col.notna().to_numpy()
        n = int(present.sum())
        numeric = pd.api.types.is_numeric_dtype(col) and not isinstance(col.dtype, pd.CategoricalDtype)
        if n >= MIN_ROWS and len(np.unique(y)) == 2:
            auc = feature_auc(col, y)
            if auc >= auc_threshold:
                add(meta, "single_feature_auc", auc, f"AUC {auc:.3f} alone (threshold {auc_threshold:.2f})")
        if n >= MIN_ROWS:
            values = col[present]
            integer = numeric and bool(np.all(np.mod(values.to_numpy(dtype=np.float64), 1) == 0))
            share = values.nunique() / n
            if (not numeric or integer) and share >= unique_share:
                add(meta, "identifier", share, f"{values.nunique():,} distinct values in {n:,} rows")
        if numeric and n and y.sum() >= MIN_ROWS:
            x = col.to_numpy(dtype=np.float64)
            set_ = np.isfinite(x) & (x != 0)
            good, bad = float(set_[y == 0].mean()), float(set_[y == 1].mean())
            if good <= OUTCOME_ONLY_GOOD_SHARE and bad >= OUTCOME_ONLY_BAD_SHARE:
                add(meta, "outcome_only", bad, f"set on {bad:.1%} of defaults and {good:.2%} of non-defaults")
        if _checked_by_name(meta):
            text = " ".join({meta.id, meta.name_en, meta.name_zh}).replace("_", " ")
            hit = OUTCOME_WORDS.search(text)
            if hit:
                add(meta, "outcome_name", 1.0, f"name contains '{hit.group(0)}'")
            if not numeric:
                distinct = col.astype("string").dropna().unique()
                words = [str(v) for v in distinct if STATUS_WORDS.search(str(v))]
                if words:
                    share = float(col.astype("string").isin(words).mean())
                    add(meta, "outcome_value", share, f"values {', '.join(sorted(words)[:5])} ({share:.1%} of rows)")
        dates = _is_date_text(col)
        if dates is not None:
            d = dates.to_numpy()
            if issue_dates is None:
                add(meta, "date_after_issue", float("nan"), "holds dates; no issue date to check them against")
            else:
                after = ~pd.isna(d) & (d > issue_dates)
                if after.any():
                    add(meta, "date_after_issue", float(after.mean()),
                        f"{int(after.sum()):,} rows ({after.mean():.1%}) dated after the loan's issue date")
    table = pd.DataFrame(rows, columns=list(FINDING_COLUMNS))
    return table.sort_values(["feature", "check"], kind="stable").reset_index(drop=True)


def check_findings(findings: pd.DataFrame, *, strict: bool, where: str = "training data") -> None:
    """With `strict`, stop on any finding not allowed: a `LeakageError` naming each column and why."""
    if not strict:
        return
    open_ = findings[~findings["allowed"].astype(bool)]
    if open_.empty:
        return
    by_column = open_.groupby("name", sort=False)["check"].agg(lambda c: ", ".join(dict.fromkeys(c)))
    shown = "; ".join(f"'{name}' ({checks})" for name, checks in by_column.head(10).items())
    more = f" and {len(by_column) - 10} more" if len(by_column) > 10 else ""
    raise LeakageError(f"leakage guard (strict): {len(by_column)} column(s) of the {where} look like leakage: "
                       f"{shown}{more}. Drop them, or list reviewed ones in [leakage] allow.", findings=open_)


def guard_training(result: TrainResult, spec: ExperimentSpec) -> pd.DataFrame:
    """Run the guard on the rows a training run's models learn from (training and validation rows of every
    fold in `result.folds`) as the experiment's `[leakage]` table says, record the findings on the run
    (table `leakage`, metrics, tag `techscore.leakage`) and, in strict mode, stop with a `LeakageError`."""
    dataset, folds = result.dataset, result.folds
    rows = np.unique(np.concatenate([np.concatenate([f.train, f.valid]) for f in folds]))
    frame = dataset.frame
    date_column = next((c for c in (spec.data.date_column, spec.split.date_column) if c and c in frame.columns), None)
    issued = frame[date_column].to_numpy()[rows] if date_column is not None else None
    findings = leakage_findings(dataset.X.iloc[rows], dataset.y.to_numpy()[rows], dataset.features, issued=issued,
                                auc_threshold=spec.leakage.auc_threshold, unique_share=spec.leakage.unique_share,
                                allow=spec.leakage.allow)
    result.tables["leakage"] = findings
    metrics, tags = leakage_record(findings)
    result.metrics.update(metrics)
    result.tags.update(tags)
    check_findings(findings, strict=spec.leakage.strict, where=f"{len(rows):,} training rows")
    return findings


def leakage_record(findings: pd.DataFrame) -> tuple[dict[str, float], dict[str, str]]:
    """What a run records of the findings: metrics (columns flagged, open and allowed) and tags (the flagged
    columns with their checks)."""
    flagged = findings.groupby("name", sort=False)["check"].agg(lambda c: "+".join(dict.fromkeys(c)))
    allowed = findings.loc[findings["allowed"].astype(bool), "name"].nunique()
    metrics = {"leakage_flagged_columns": float(len(flagged)), "leakage_allowed_columns": float(allowed)}
    tags = {"techscore.leakage": "; ".join(f"{n} ({c})" for n, c in flagged.items())[:4900] or "none"}
    return metrics, tags
