"""Reason codes: for each firm, the factors that raise its risk most (and those that lower it), as sentences.

Each reason carries a stable code (the feature id) for systems that read it, and one sentence in Chinese and one
in English built from the catalogue's names and units and the firm's value against a reference learned at
training — by default the median of the firm's industry section in the training data:

    有效发明专利 2 件，低于同行业中位数 7 件
    Granted invention patents in force: 2, below the industry median of 7

References are fitted once (`fit_references`) and saved beside the model; they are never computed from the
batch being scored, so a firm's sentence does not depend on who else is in the batch.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from techscore.bilingual import feature_name, format_value, is_tax_grade
from techscore.catalogue.meta import FeatureMeta
from techscore.exceptions import SchemaError
from techscore.explain.shap_values import Explanation

REFERENCES_FILE = "references.json"
"""File name of the references saved beside a model."""
EFFECTS: tuple[str, ...] = ("raises", "lowers")
"""A reason raises the firm's risk (positive SHAP value) or lowers it (negative)."""

_SCOPE_WORDS: dict[str, tuple[str, str]] = {
    "seg_industry": ("同行业", "industry"),
    "profile_industry_section": ("同行业", "industry"),
    "seg_region": ("同地区", "regional"),
    "profile_region": ("同地区", "regional"),
    "seg_lifecycle": ("同阶段", "lifecycle-stage"),
    "profile_lifecycle_stage": ("同阶段", "lifecycle-stage"),
}
_ALL_WORDS = ("全样本", "overall")


@dataclass
class References:
    """What a firm's value is compared with in its reason sentences, learned from training data.

    Numeric features: the median; flags (unit "flag"): the share of firms with the flag set; categorical
    features: none. Per group of `by` (the industry section by default) where the group has at least
    `min_count` non-missing values of the feature, else the overall figure.
    """

    by: str | None
    min_count: int
    overall: dict[str, float]
    groups: dict[str, dict[str, float]]
    stats: dict[str, str]
    counts: dict[str, int] = field(default_factory=dict)
    also_by: tuple[str, ...] = ("profile_industry_section",)
    fingerprint: str = ""

    def lookup(self, feature_id: str, groups: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Reference values and scopes ("group" or "all") of `feature_id` for rows in `groups`."""
        n = 1 if groups is None else len(groups)
        overall = self.overall.get(feature_id, np.nan)
        ref = np.full(n, overall, dtype=np.float64)
        scope = np.full(n, "all", dtype=object)
        if groups is not None and self.groups:
            table = {g: v[feature_id] for g, v in self.groups.items() if feature_id in v}
            if table:
                keys = pd.Series(groups, dtype="object").astype("string").fillna("")
                mapped = keys.map(table).to_numpy(dtype=np.float64, na_value=np.nan)
                hit = ~np.isnan(mapped)
                ref[hit] = mapped[hit]
                scope[hit] = "group"
        return ref, scope

    def lookup_one(self, feature_id: str, group: str | None) -> tuple[float, str]:
        """`lookup` for one firm without pandas (the online path): (reference, "group" or "all")."""
        if group is not None and self.groups:
            value = self.groups.get(group, {}).get(feature_id)
            if value is not None and not math.isnan(value):
                return float(value), "group"
        return float(self.overall.get(feature_id, math.nan)), "all"

    def groups_of(self, frame: pd.DataFrame) -> pd.Series | None:
        """The group key of each row of `frame` (column `by`, else the first of `also_by` present), if any."""
        for col in ((self.by,) if self.by else ()) + tuple(self.also_by):
            if col in frame.columns:
                return frame[col]
        return None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["also_by"] = list(self.also_by)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> References:
        d = dict(d)
        d["also_by"] = tuple(d.get("also_by", ()))
        return cls(**d)

    def save(self, path: str | Path) -> Path:
        """Write the references as JSON (a folder gets `references.json` inside it)."""
        path = Path(path)
        if path.is_dir():
            path = path / REFERENCES_FILE
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1, allow_nan=True), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> References:
        """Read references written by `save` (a folder: its `references.json`)."""
        path = Path(path)
        if path.is_dir():
            path = path / REFERENCES_FILE
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


def _stat_of(meta: FeatureMeta) -> str | None:
    if meta.kind == "categorical" or meta.unit == "category":
        return None
    return "share" if meta.unit == "flag" else "median"


def fit_references(
    frame: pd.DataFrame,
    features: list[FeatureMeta],
    by: str | None = "seg_industry",
    *,
    min_count: int = 30,
    fingerprint: str = "",
) -> References:
    """Learn the reference of every feature from training data: overall and per group of `by`.

    Parameters
    ----------
    frame : the training rows (a `LoanDataset.frame` or any frame holding the feature columns and `by`).
    features : metadata of the features to learn references for.
    by : the grouping column (the industry section by default); None or absent: overall only.
    min_count : a group's figure is kept only when the group has this many non-missing values.

    Examples
    --------
    >>> refs = fit_references(train.frame, train.features)   # doctest: +SKIP
    >>> refs.save(model_dir)                                  # doctest: +SKIP
    """
    if min_count < 1:
        raise ValueError(f"min_count must be a positive integer; got {min_count}.")
    missing = [f.id for f in features if f.id not in frame.columns]
    if missing:
        raise SchemaError(
            f"training frame is missing {len(missing)} feature column{'s' if len(missing) != 1 else ''}: "
            f"{', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''}."
        )
    stats = {f.id: s for f in features if (s := _stat_of(f)) is not None}
    ids = list(stats)
    numeric = frame[ids].apply(pd.to_numeric, errors="coerce").astype("float64") if ids else pd.DataFrame()
    flags = [i for i in ids if stats[i] == "share"]
    meds = [i for i in ids if stats[i] == "median"]

    def summarise(part: pd.DataFrame) -> pd.Series:
        out = pd.concat([part[meds].median(), (part[flags] >= 0.5).where(part[flags].notna()).mean()])
        return out.reindex(ids)

    overall = {k: _clean(v) for k, v in summarise(numeric).items()}
    groups: dict[str, dict[str, float]] = {}
    counts: dict[str, int] = {}
    use_by = by if by is not None and by in frame.columns else None
    if use_by is not None and ids:
        key = frame[use_by].astype("string")
        grouped = numeric.groupby(key.to_numpy(), sort=True, dropna=True)
        med = grouped[meds].median() if meds else pd.DataFrame(index=grouped.size().index)
        share = (
            ((numeric[flags] >= 0.5).where(numeric[flags].notna())).groupby(key.to_numpy(), sort=True).mean()
            if flags else pd.DataFrame(index=med.index)
        )
        nonmissing = grouped.count()
        table = pd.concat([med, share], axis=1).reindex(columns=ids)
        table = table.where(nonmissing.reindex(index=table.index, columns=ids) >= min_count)
        sizes = grouped.size()
        for g, row in table.iterrows():
            kept = {k: _clean(v) for k, v in row.items() if not pd.isna(v)}
            if kept:
                groups[str(g)] = kept
            counts[str(g)] = int(sizes.get(g, 0))
    return References(
        by=use_by, min_count=min_count, overall=overall, groups=groups, stats=stats, counts=counts,
        fingerprint=fingerprint,
    )


def _clean(v: object) -> float:
    f = float(v)  # type: ignore[arg-type]
    return f if math.isfinite(f) else float("nan")


def top_k(values: np.ndarray, k: int, *, largest: bool = True, min_abs: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Column positions of each row's k largest positive (or most negative) values, strongest first.

    Vectorised with `argpartition` (O(n p)); slots with no positive (negative) value beyond `min_abs` left are
    -1 / NaN.

    >>> idx, v = top_k(np.array([[0.3, -0.1, 0.5], [-0.2, -0.4, 0.0]]), 2)
    >>> idx.tolist(), v[0].tolist()
    ([[2, 0], [-1, -1]], [0.5, 0.3])
    """
    values = np.asarray(values, dtype=np.float64)
    n, p = values.shape
    k = max(0, min(int(k), p))
    if k == 0 or n == 0:
        return np.full((n, k), -1, dtype=np.int64), np.full((n, k), np.nan)
    key = -values if largest else values  # smallest key first
    part = np.argpartition(key, k - 1, axis=1)[:, :k] if k < p else np.tile(np.arange(p), (n, 1))
    order = np.argsort(np.take_along_axis(key, part, axis=1), axis=1, kind="stable")
    idx = np.take_along_axis(part, order, axis=1).astype(np.int64)
    vals = np.take_along_axis(values, idx, axis=1)
    keep = vals > min_abs if largest else vals < -min_abs
    return np.where(keep, idx, -1), np.where(keep, vals, np.nan)


def _scope_words(by: str | None) -> tuple[str, str]:
    return _SCOPE_WORDS.get(by or "", ("同组", "peer-group"))


def sentence(
    meta: FeatureMeta, value: object, reference: float, scope: str, lang: str, *, by: str | None = None,
    stat: str | None = "median",
) -> str:
    """One reason sentence: the firm's value of `meta` against its reference, in `lang` ("zh" or "en").

    >>> m = FeatureMeta("ip_invention_in_force", "ip", "有效发明专利", "Granted invention patents in force", "",
    ...                 "count", (), -1, unit_zh="件")
    >>> sentence(m, 2.0, 7.0, "group", "zh", by="seg_industry")
    '有效发明专利 2 件，低于同行业中位数 7 件'
    >>> sentence(m, 2.0, 7.0, "group", "en", by="seg_industry")
    'Granted invention patents in force: 2, below the industry median of 7'
    """
    name = feature_name(meta, lang)  # type: ignore[arg-type]
    text = format_value(value, meta, lang)  # type: ignore[arg-type]
    missing = text in ("无数据", "not available")
    zh_scope, en_scope = _scope_words(by) if scope == "group" else _ALL_WORDS
    if lang == "zh":
        head = f"{name}：{text}" if (missing or meta.unit == "flag" or meta.kind == "categorical") else f"{name} {text}"
    else:
        head = f"{name}: {text}"
    if missing or stat is None or reference is None or not math.isfinite(reference):
        return head
    if stat == "share":
        pct = f"{100 * reference:.0f}%"
        if lang == "zh":
            return f"{head}（{zh_scope}{pct}为是）"
        peers = "industry peers" if en_scope == "industry" else ("all firms" if en_scope == "overall" else f"{en_scope} peers")
        return f"{head} ({pct} of {peers}: yes)"
    ref_text = format_value(reference, meta, lang)  # type: ignore[arg-type]
    x = float(value)  # type: ignore[arg-type]
    if ref_text == text or x == reference:
        if lang == "zh":
            return f"{head}，与{zh_scope}中位数持平"
        return f"{head}, equal to the {en_scope} median"
    above = x > reference
    if is_tax_grade(meta):  # 1 = A is the best grade: a larger value is a worse grade
        if lang == "zh":
            return f"{head}，{'差于' if above else '优于'}{zh_scope}中位数 {ref_text}"
        return f"{head}, {'worse' if above else 'better'} than the {en_scope} median of {ref_text}"
    if meta.unit == "rank":
        if lang == "zh":
            return f"{head}，{'高于' if above else '低于'}{zh_scope}中位数（{ref_text}）"
        return f"{head}, {'above' if above else 'below'} the {en_scope} median ({ref_text})"
    if lang == "zh":
        return f"{head}，{'高于' if above else '低于'}{zh_scope}中位数 {ref_text}"
    return f"{head}, {'above' if above else 'below'} the {en_scope} median of {ref_text}"


REASON_COLUMNS: tuple[str, ...] = (
    "row", "key", "effect", "rank", "code", "shap", "value", "reference", "scope", "text_zh", "text_en",
)
"""Columns of the long reason-code table (one row per firm and reason)."""


def reason_codes(
    explanation: Explanation,
    references: References | None = None,
    *,
    groups: pd.Series | np.ndarray | None = None,
    k: int = 3,
    k_lower: int = 2,
    min_abs: float = 0.0,
) -> pd.DataFrame:
    """The top-k factors that raise each firm's risk most and the top `k_lower` that lower it, with sentences.

    Parameters
    ----------
    explanation : SHAP values of the batch (`explain(model, X)`).
    references : learned at training (`fit_references`); None: sentences state the value only.
    groups : the group key (industry section) of each row, aligned to the batch; by default read from the
        batch's own columns when they hold `references.by`.
    k, k_lower : how many raising and lowering reasons per firm (fewer when fewer factors push that way).
    min_abs : contributions no larger than this (log-odds) are not reasons.

    Returns
    -------
    DataFrame with `REASON_COLUMNS`: `row` (position in the batch), `key` (its index label), `effect`
    ("raises"/"lowers"), `rank` (1 = strongest), `code` (the feature id: a stable code), `shap` (log-odds),
    `value` (numeric value, NaN for categories and missing), `reference`, `scope` ("group"/"all"/""),
    `text_zh`, `text_en`.
    """
    values = explanation.values
    metas = explanation.features
    if groups is None and references is not None:
        groups = references.groups_of(explanation.data)
    group_arr = None if groups is None else np.asarray(pd.Series(groups).astype("string").fillna("").to_numpy(dtype=object))
    if group_arr is not None and len(group_arr) != len(values):
        raise SchemaError(f"groups has {len(group_arr)} rows; the explanation has {len(values)}.")
    parts = []
    for order, (effect, kk, largest) in enumerate((("raises", k, True), ("lowers", k_lower, False))):
        idx, vals = top_k(values, kk, largest=largest, min_abs=min_abs)
        rows, ranks = np.nonzero(idx >= 0)
        parts.append(pd.DataFrame({
            "row": rows.astype(np.int64), "order": order, "effect": effect, "rank": (ranks + 1).astype(np.int64),
            "col": idx[rows, ranks], "shap": vals[rows, ranks],
        }))
    long = pd.concat(parts, ignore_index=True)
    long = long.sort_values(["row", "order", "rank"], kind="stable").reset_index(drop=True)
    n = len(long)
    value = np.full(n, np.nan)
    reference = np.full(n, np.nan)
    scope = np.full(n, "", dtype=object)
    text_zh = np.empty(n, dtype=object)
    text_en = np.empty(n, dtype=object)
    data = explanation.data
    for col, pos in long.groupby("col").indices.items():
        meta = metas[col]
        rows = long["row"].to_numpy()[pos]
        raw = data.iloc[rows, col]
        stat = references.stats.get(meta.id) if references is not None else None
        numeric = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan) if meta.kind != "categorical" else np.full(len(rows), np.nan)
        value[pos] = numeric
        if references is not None and stat is not None:
            ref, sc = references.lookup(meta.id, None if group_arr is None else group_arr[rows])
            ref = np.broadcast_to(ref, len(rows))
            sc = np.broadcast_to(sc, len(rows))
        else:
            ref, sc = np.full(len(rows), np.nan), np.full(len(rows), "", dtype=object)
        reference[pos] = ref
        scope[pos] = sc
        by = references.by if references is not None else None
        raw_list = raw.tolist() if meta.kind == "categorical" else numeric.tolist()
        text_zh[pos] = [sentence(meta, v, r, s, "zh", by=by, stat=stat) for v, r, s in zip(raw_list, ref, sc, strict=True)]
        text_en[pos] = [sentence(meta, v, r, s, "en", by=by, stat=stat) for v, r, s in zip(raw_list, ref, sc, strict=True)]
    ids = np.array(explanation.feature_ids, dtype=object)
    out = pd.DataFrame({
        "row": long["row"].to_numpy(),
        "key": data.index.to_numpy()[long["row"].to_numpy()] if n else np.array([], dtype=object),
        "effect": long["effect"].to_numpy(),
        "rank": long["rank"].to_numpy(),
        "code": ids[long["col"].to_numpy()] if n else np.array([], dtype=object),
        "shap": long["shap"].to_numpy(),
        "value": value, "reference": reference, "scope": scope, "text_zh": text_zh, "text_en": text_en,
    })
    for c in ("effect", "code", "scope", "text_zh", "text_en"):
        out[c] = out[c].astype("string")
    return out


def reasons_wide(reasons: pd.DataFrame, n_rows: int, *, k: int = 3, effect: str = "raises") -> pd.DataFrame:
    """The long table as one row per firm (`n_rows` rows by position): `reason_1_code`, `reason_1_zh`,
    `reason_1_en`, ... for `effect` ("raises" by default); missing slots are <NA>."""
    if effect not in EFFECTS:
        raise ValueError(f"effect must be one of {', '.join(EFFECTS)}; got {effect!r}.")
    sub = reasons[(reasons["effect"] == effect) & (reasons["rank"] <= k)]
    out = pd.DataFrame(index=pd.RangeIndex(n_rows))
    for r in range(1, k + 1):
        s = sub[sub["rank"] == r].set_index("row")
        for src, dst in (("code", "code"), ("text_zh", "zh"), ("text_en", "en")):
            out[f"reason_{r}_{dst}"] = s[src].reindex(out.index).astype("string")
    return out
