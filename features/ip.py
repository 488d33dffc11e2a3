"""IP features: valid stock by kind and class, filing momentum, grant ratio, age and maintenance, pledges,
citations, breadth, and a holistic IP evaluation score.

As known at the as-of date D (the engine's point-in-time view: rights filed before D, grants and status changes
dated on/after D not yet known, pledges dated on/after D not yet known). Definitions:

- **held at D** (in force, for patents): status `granted` at D, granted before D, and the term not over: `expires`
  after D, or, where `expires` is missing, the legal term from filing not over (invention 20 years, utility model
  10, design 15 if filed from 1 June 2021 else 10; shared/domain/identifiers.md). Other kinds with no `expires`
  count as held while granted.
- **patents**: invention, utility model, design. **Class I**: invention, IC layout, plant variety; **class II**:
  utility model, design, software copyright (tech-SME evaluation); trademarks are in neither.
- **technology filings**: every kind but trademarks, by filing date, in the 12 / 36 months before D.
- Citations and claims are the values in the data (a citation count is as of the data snapshot, which may be
  after D: a known point-in-time limit of the source).
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd

from techscore.catalogue import feature, feature_group, node
from techscore.exceptions import SpecError
from techscore.sources.schema import IP_KINDS, IP_STATUSES

from ._config import IP_EVALUATION, IpEvaluationSpec
from ._frame import (
    YEAR_DAYS,
    Rows,
    arrow,
    dates,
    days,
    days_source,
    flags,
    floats,
    months_before,
    per_firm,
    positions,
    ratio,
    series,
)

GROUP = feature_group("ip", name_zh="知识产权", name_en="Intellectual property", order=20)
"""The group this module's features belong to (the catalogue orders groups by `order`)."""

KIND = {k: i for i, k in enumerate(IP_KINDS)}
STATUS = {s: i for i, s in enumerate(IP_STATUSES)}
PATENTS = (KIND["invention"], KIND["utility_model"], KIND["design"])
CLASS_1 = (KIND["invention"], KIND["ic_layout"], KIND["plant_variety"])
CLASS_2 = (KIND["utility_model"], KIND["design"], KIND["software_copyright"])
TERM_YEARS = {"invention": 20, "utility_model": 10, "design": 15}
DESIGN_15_YEARS_FROM = pd.Timestamp("2021-06-01")
"""Designs filed before this date have a 10-year term (patent law amendment of 2021)."""


def add_years(dates: np.ndarray, years: int | np.ndarray) -> np.ndarray:
    """Same calendar day `years` later (29 February -> 28 February), datetime64[D]; NaT stays NaT.

    >>> add_years(np.array(["2020-02-29", "2021-06-01"], dtype="datetime64[D]"), np.array([1, 10])).tolist()
    [datetime.date(2021, 2, 28), datetime.date(2031, 6, 1)]
    """
    day = dates.astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    target = month + (12 * np.asarray(years)).astype("timedelta64[M]")
    last_day = (target + np.timedelta64(1, "M")).astype("datetime64[D]") - np.timedelta64(1, "D")
    return np.minimum(target.astype("datetime64[D]") + (day - month.astype("datetime64[D]")), last_day)


def _legal_expiry(filed: np.ndarray, kind: np.ndarray, as_of: pd.Timestamp) -> np.ndarray:
    """Days from D to the end of the legal term of each patent (NaN for other kinds); `filed` as datetime64."""
    term = np.zeros(len(kind), dtype=np.int64)
    for name, years in TERM_YEARS.items():
        term[kind == KIND[name]] = years
    term[(kind == KIND["design"]) & (filed < np.datetime64(DESIGN_15_YEARS_FROM))] = 10
    rows = np.flatnonzero((term > 0) & ~np.isnat(filed))
    out = np.full(len(kind), np.nan)
    if len(rows) == 0:
        return out
    # Filing days span a few thousand distinct dates: compute each anniversary once, then look it up.
    day = filed[rows].astype("datetime64[D]").astype(np.int64)
    first = day.min()
    grid = np.arange(first, day.max() + 1).astype("datetime64[D]")
    term = term[rows]
    for years in np.unique(term):
        mine = term == years
        ends = days(add_years(grid, years), as_of)
        out[rows[mine]] = ends[day[mine] - first]
    return out


@node
def ip_own(ip_rights: pd.DataFrame, firms: pd.Index, as_of: pd.Timestamp) -> Rows:
    """The firms' IP rights as known at D: `pos` (row of the firm in `firms`), `kind` and `status` (indexes into
    IP_KINDS and IP_STATUSES, -1 if unknown), `filed`, `granted`, `expires`, `status_date` (days from D, NaN when
    missing; `expires` filled with the legal term for patents), `pledged`, `citations`, `claims`, and `held`."""
    pos = positions(ip_rights["uscc"], firms)
    keep = pos >= 0
    kind = positions(arrow(ip_rights["kind"], keep), pd.Index(IP_KINDS))
    status = positions(arrow(ip_rights["status"], keep), pd.Index(IP_STATUSES))
    filed = days_source(ip_rights["filed"])[keep]
    expires = dates(ip_rights, "expires", as_of, keep)
    unknown = np.isnan(expires)
    if unknown.any():
        expires[unknown] = _legal_expiry(filed[unknown], kind[unknown], as_of)
    granted = dates(ip_rights, "granted", as_of, keep)
    held = (status == STATUS["granted"]) & ~np.isnan(granted) & ~(expires <= 0)
    return Rows(
        pos=pos[keep], kind=kind, status=status, filed=days(filed, as_of), granted=granted, expires=expires,
        status_date=dates(ip_rights, "status_date", as_of, keep), pledged=flags(ip_rights, "pledged", keep),
        citations=floats(ip_rights, "citations", keep), claims=floats(ip_rights, "claims", keep), held=held,
    )


@node
def ip_held_by_kind(ip_own: Rows, firms: pd.Index) -> np.ndarray:
    """Rights held at D per firm and kind: array (len(firms), len(IP_KINDS)) of counts."""
    rows = ip_own.where(ip_own["held"] & (ip_own["kind"] >= 0), "pos", "kind")
    cells = rows["pos"] * len(IP_KINDS) + rows["kind"]
    return per_firm(cells, len(firms) * len(IP_KINDS)).reshape(len(firms), len(IP_KINDS))


def _held(ip_held_by_kind: np.ndarray, firms: pd.Index, *kinds: int) -> pd.Series:
    return series(ip_held_by_kind[:, list(kinds)].sum(axis=1), firms)


@node
def ip_patents_in_force(ip_own: Rows) -> Rows:
    """The firms' patents in force at D: `pos`, `filed` (days from D), `citations`, `claims`."""
    return ip_own.where(ip_own["held"] & np.isin(ip_own["kind"], PATENTS), "pos", "filed", "citations", "claims")


def _mean_per_firm(pos: np.ndarray, values: np.ndarray, firms: pd.Index) -> pd.Series:
    ok = ~np.isnan(values)
    pos = pos[ok]
    return series(ratio(per_firm(pos, len(firms), values[ok]), per_firm(pos, len(firms))), firms)


@feature(group="ip", name_zh="有效发明专利数", name_en="Invention patents in force", unit="count", unit_zh="件",
         direction=-1, sources=("ip_rights",), description="Granted invention patents in force at the as-of date.")
def ip_invention_in_force(ip_held_by_kind: np.ndarray, firms: pd.Index) -> pd.Series:
    return _held(ip_held_by_kind, firms, KIND["invention"])


@feature(group="ip", name_zh="有效实用新型专利数", name_en="Utility models in force", unit="count", unit_zh="件",
         direction=-1, sources=("ip_rights",), description="Granted utility-model patents in force at the as-of date.")
def ip_utility_model_in_force(ip_held_by_kind: np.ndarray, firms: pd.Index) -> pd.Series:
    return _held(ip_held_by_kind, firms, KIND["utility_model"])


@feature(group="ip", name_zh="有效外观设计专利数", name_en="Design patents in force", unit="count", unit_zh="件",
         direction=-1, sources=("ip_rights",), description="Granted design patents in force at the as-of date.")
def ip_design_in_force(ip_held_by_kind: np.ndarray, firms: pd.Index) -> pd.Series:
    return _held(ip_held_by_kind, firms, KIND["design"])


@feature(group="ip", name_zh="软件著作权数", name_en="Software copyrights", unit="count", unit_zh="件",
         direction=-1, sources=("ip_rights",), description="Registered software copyrights held at the as-of date.")
def ip_software_copyright(ip_held_by_kind: np.ndarray, firms: pd.Index) -> pd.Series:
    return _held(ip_held_by_kind, firms, KIND["software_copyright"])


@feature(group="ip", name_zh="注册商标数", name_en="Trademarks", unit="count", unit_zh="件", direction=-1,
         sources=("ip_rights",), description="Registered trademarks held at the as-of date (not expired).")
def ip_trademark(ip_held_by_kind: np.ndarray, firms: pd.Index) -> pd.Series:
    return _held(ip_held_by_kind, firms, KIND["trademark"])


def _filings(ip_own: Rows, firms: pd.Index, as_of: pd.Timestamp, months: int) -> pd.Series:
    recent = (ip_own["filed"] >= months_before(as_of, months)) & (ip_own["kind"] != KIND["trademark"])
    return series(per_firm(ip_own["pos"][recent], len(firms)), firms)


@feature(group="ip", name_zh="近一年知识产权申请数", name_en="IP filings, 12 months", unit="count", unit_zh="件",
         direction=-1, sources=("ip_rights",),
         description="Technology IP filings (every kind but trademarks) in the 12 months before the as-of date.")
def ip_filings_1y(ip_own: Rows, firms: pd.Index, as_of: pd.Timestamp) -> pd.Series:
    return _filings(ip_own, firms, as_of, 12)


@feature(group="ip", name_zh="近三年知识产权申请数", name_en="IP filings, 36 months", unit="count", unit_zh="件",
         direction=-1, sources=("ip_rights",),
         description="Technology IP filings (every kind but trademarks) in the 36 months before the as-of date.")
def ip_filings_3y(ip_own: Rows, firms: pd.Index, as_of: pd.Timestamp) -> pd.Series:
    return _filings(ip_own, firms, as_of, 36)


@feature(group="ip", name_zh="发明专利授权率", name_en="Invention grant ratio", unit="ratio", unit_zh="",
         direction=-1, sources=("ip_rights",),
         description="Invention filings granted before the as-of date / those decided by then (granted, or "
                     "lapsed/invalid without a grant: rejected or withdrawn); NaN when none is decided.")
def ip_invention_grant_ratio(ip_own: Rows, firms: pd.Index) -> pd.Series:
    inv = ip_own.where(ip_own["kind"] == KIND["invention"], "pos", "granted", "status")
    granted = ~np.isnan(inv["granted"])
    refused = ~granted & np.isin(inv["status"], (STATUS["lapsed"], STATUS["invalid"]))
    pos = inv["pos"]
    n_granted = per_firm(pos[granted], len(firms))
    return series(ratio(n_granted, n_granted + per_firm(pos[refused], len(firms))), firms)


@feature(group="ip", name_zh="有效专利平均年龄", name_en="Mean age of patents in force", unit="years",
         unit_zh="年", direction=0, sources=("ip_rights",),
         description="Mean years from filing to the as-of date of the patents in force (NaN without any).", drift="clock")
def ip_patent_age_mean(ip_patents_in_force: Rows, firms: pd.Index) -> pd.Series:
    return _mean_per_firm(ip_patents_in_force["pos"], -ip_patents_in_force["filed"] / YEAR_DAYS, firms)


@feature(group="ip", name_zh="专利提前失效比例", name_en="Lapsed patent share", unit="share", unit_zh="",
         direction=1, sources=("ip_rights",),
         description="Among patents granted before the as-of date, the share lapsed or invalidated before their "
                     "term ended (fees stopped, invalidation); patents that ran their full term are left out.")
def ip_lapsed_share(ip_own: Rows, firms: pd.Index) -> pd.Series:
    rows = ip_own.where(np.isin(ip_own["kind"], PATENTS) & ~np.isnan(ip_own["granted"]), "pos", "expires",
                        "status_date", "status")
    expires, status_date = rows["expires"], rows["status_date"]
    ended = np.isin(rows["status"], (STATUS["lapsed"], STATUS["invalid"]))
    early = ended & ~(status_date >= expires)  # an unknown end date counts as early
    full_term = ~early & (expires <= 0)
    pos = rows["pos"]
    return series(ratio(per_firm(pos[early], len(firms)), per_firm(pos[~full_term], len(firms))), firms)


@feature(group="ip", name_zh="知识产权质押比例", name_en="Pledged IP share", unit="share", unit_zh="", direction=1,
         sources=("ip_rights",),
         description="Share of the rights held at the as-of date that are pledged (pledges known by then).")
def ip_pledged_share(ip_own: Rows, firms: pd.Index) -> pd.Series:
    rows = ip_own.where(ip_own["held"], "pos", "pledged")
    pos = rows["pos"]
    return series(ratio(per_firm(pos[rows["pledged"]], len(firms)), per_firm(pos, len(firms))), firms)


@feature(group="ip", name_zh="专利平均被引次数", name_en="Citations per patent", unit="count", unit_zh="次",
         direction=-1, sources=("ip_rights",),
         description="Mean forward citations of the patents in force (those with a citation count).")
def ip_citations_per_patent(ip_patents_in_force: Rows, firms: pd.Index) -> pd.Series:
    return _mean_per_firm(ip_patents_in_force["pos"], ip_patents_in_force["citations"], firms)


@feature(group="ip", name_zh="知识产权类型数", name_en="IP kind breadth", unit="count", unit_zh="类",
         direction=-1, sources=("ip_rights",),
         description="Number of IP kinds (invention, utility model, design, trademark, software copyright, IC "
                     "layout, plant variety) of which the firm holds at least one at the as-of date.")
def ip_kind_breadth(ip_held_by_kind: np.ndarray, firms: pd.Index) -> pd.Series:
    return series((ip_held_by_kind > 0).sum(axis=1).astype(np.float64), firms)


@feature(group="ip", name_zh="有效Ⅰ类知识产权数", name_en="Class I IP in force", unit="count", unit_zh="件",
         direction=-1, sources=("ip_rights",),
         description="Class I rights held at the as-of date: invention patents, IC layouts, plant varieties.")
def ip_class1_in_force(ip_held_by_kind: np.ndarray, firms: pd.Index) -> pd.Series:
    return _held(ip_held_by_kind, firms, *CLASS_1)


@feature(group="ip", name_zh="有效Ⅱ类知识产权数", name_en="Class II IP in force", unit="count", unit_zh="件",
         direction=-1, sources=("ip_rights",),
         description="Class II rights held at the as-of date: utility models, designs, software copyrights.")
def ip_class2_in_force(ip_held_by_kind: np.ndarray, firms: pd.Index) -> pd.Series:
    return _held(ip_held_by_kind, firms, *CLASS_2)


def ip_evaluation_from_parts(parts: pd.DataFrame, spec: IpEvaluationSpec = IP_EVALUATION) -> pd.Series:
    """The 0-100 IP evaluation score from a frame with one column per input feature (`spec.inputs`).

    Each part scores its weight x the weighted mean of its items; an item is min(value / cap, 1), inverted where
    the spec says, and 0 where missing (features/config/ip_evaluation.toml).
    """
    score = np.zeros(len(parts))
    for part in spec.parts.values():
        total = sum(i.weight for i in part.items)
        for item in part.items:
            x = np.clip(parts[item.feature].to_numpy(dtype=np.float64) / item.cap, 0.0, 1.0)
            x = 1.0 - x if item.invert else x
            score += part.weight * item.weight / total * np.nan_to_num(x, nan=0.0)
    return pd.Series(score, index=parts.index)


@feature(group="ip", name_zh="知识产权综合评价分", name_en="IP evaluation score", unit="score", unit_zh="分",
         direction=-1, sources=("ip_rights",),
         description="Holistic IP evaluation, 0-100 (知识产权整体评价): quantity 40 (class I / II in force), quality "
                     "25 (citations, invention grant ratio), maintenance 20 (no early lapse, age in force), activity "
                     "15 (filings in 3 years); each item capped; weights in features/config/ip_evaluation.toml.")
def ip_evaluation_score(ip_class1_in_force: pd.Series, ip_class2_in_force: pd.Series,
                        ip_citations_per_patent: pd.Series, ip_invention_grant_ratio: pd.Series,
                        ip_lapsed_share: pd.Series, ip_patent_age_mean: pd.Series,
                        ip_filings_3y: pd.Series) -> pd.Series:
    return ip_evaluation_from_parts(pd.DataFrame(dict(locals())), IP_EVALUATION)


@feature(group="ip", name_zh="专利平均权利要求数", name_en="Claims per patent", unit="count", unit_zh="项",
         direction=-1, sources=("ip_rights",),
         description="Mean number of claims of the patents in force that have claims (inventions and utility "
                     "models; a design patent has none).")
def ip_claims_per_patent(ip_patents_in_force: Rows, firms: pd.Index) -> pd.Series:
    return _mean_per_firm(ip_patents_in_force["pos"], ip_patents_in_force["claims"], firms)


_unknown = set(IP_EVALUATION.inputs) - set(inspect.signature(ip_evaluation_score).parameters)
if _unknown:  # the configuration may reweigh, cap or drop these inputs; a new one needs a parameter above
    raise SpecError(f"features/config/ip_evaluation.toml names items ip_evaluation_score does not take: "
                    f"{', '.join(sorted(_unknown))}; items must be among its parameters.")
