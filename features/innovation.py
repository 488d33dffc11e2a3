"""Innovation features: innovation points (创新积分制) with cohort rank and list tier, and the tech-SME evaluation
(科技型中小企业评价) score, pass and direct qualification; plus indicator values a lender reads directly.

**Innovation points** (shared/domain/innovation_points.md; specification in features/config/innovation_points.toml):
a firm's points come from its latest indicator year Y known before the as-of date D. The cohort is every firm on
the platform that reported year Y (all of `innovation_indicators`, not only the firms being scored: the peer rank is
part of the indicator's definition) in the same stage. Stage for year Y, first rule that holds: start-up if founded
under 3 years before Y (Y minus the year founded) or revenue of fiscal year Y under 5 million yuan; stable if that
revenue is 100 million or more or the firm was founded 10 or more years before Y; growth otherwise. Each indicator
becomes its percentile in the cohort, (rank - 1) / (n - 1) with ties sharing the mean rank, a missing value 0 and
below every reported one, a cohort of one 1; points = sum of stage weight x percentile (0-100). The points' own
percentile in the cohort is the rank; tiers: 3 top 5% (rank >= 0.95), 2 top 5-10%, 1 top 10-20%, 0 otherwise.

**Tech-SME evaluation** (shared/domain/tech_sme_evaluation.md; tables in features/config/tech_sme.toml): from the
latest known fiscal year: S&T staff share (20 points), the better of R&D / revenue and R&D / total costs (50), and
IP held at D by class (30: any class I right, else class II by count). Eligible: employees <= 500, revenue and total
assets <= 200 million yuan (a figure the data lack does not disqualify; conditions 1, 3 and 4 of the rules are not in
the data and are taken as met). Pass: eligible and score >= 60 and staff score > 0, or direct qualification. Direct
qualification (eligible firms) uses proxies: a high-tech certificate held at D (the registry dates when it was first
held; renewals are not recorded, so it counts from then on), indicator rd_platform_level >= 2 (provincial), indicator
standards_led >= 1, or indicator awards >= 1 standing in for a national S&T award (it counts awards of any level:
the proxy over-qualifies).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from techscore.catalogue import feature, feature_group, node
from techscore.exceptions import ValidationError
from techscore.sources.schema import INNOVATION_INDICATORS

from ._config import INNOVATION, STAGES, TECH_SME, InnovationSpec, StageRule, TechSmeSpec, band_points
from ._frame import floats, latest_mask, positions, ratio, scatter, series, through

GROUP = feature_group("innovation", name_zh="创新积分", name_en="Innovation points", order=30)
"""The group this module's features belong to (the catalogue orders groups by `order`)."""

# -- innovation points: pure scoring --------------------------------------------------------------------------


def _mean_ranks(x: np.ndarray) -> np.ndarray:
    """0-based ascending ranks of x, ties sharing their mean rank."""
    order = np.argsort(x)
    ordered = x[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(x)]
    ranks = np.empty(len(x))
    ranks[order] = np.repeat((starts + ends - 1) / 2.0, ends - starts)
    return ranks


def _cohort_order(cohort: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A row order that makes each cohort a contiguous slice, and the slices of cohorts of two or more rows."""
    codes = pd.factorize(np.asarray(cohort))[0]
    order = np.argsort(codes, kind="stable")
    bounds = np.r_[0, np.flatnonzero(np.diff(codes[order])) + 1, len(codes)]
    return order, [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b - a > 1]


def _percentiles(column: np.ndarray, order: np.ndarray, cohorts: list[tuple[int, int]]) -> np.ndarray:
    """`percentile_ranks` of one column, with the cohorts as given by `_cohort_order`."""
    ordered = column[order]
    missing = np.isnan(ordered)
    key = np.where(missing, -np.inf, ordered)
    pct = np.ones(len(key))
    for a, b in cohorts:
        pct[a:b] = _mean_ranks(key[a:b]) / (b - a - 1.0)
    pct[missing] = 0.0
    out = np.empty(len(key))
    out[order] = pct
    return out


def percentile_ranks(values: np.ndarray, cohort: np.ndarray) -> np.ndarray:
    """Percentile of each value among the rows of its cohort, column by column (innovation_points.md).

    (rank - 1) / (n - 1) with ranks 1..n ascending over the cohort's n rows, ties sharing the mean rank and missing
    values ranked below every reported one; a missing value scores 0; a cohort of one scores 1 for a reported value.

    >>> percentile_ranks(np.array([[3.0], [1.0], [np.nan], [1.0]]), np.zeros(4)).ravel().tolist()
    [1.0, 0.5, 0.0, 0.5]
    """
    values = np.asarray(values, dtype=np.float64)
    order, cohorts = _cohort_order(cohort)
    if values.ndim == 1:
        return _percentiles(values, order, cohorts)
    return np.column_stack([_percentiles(values[:, j], order, cohorts) for j in range(values.shape[1])])


STAGE_CODE = {s: i for i, s in enumerate(STAGES)}


def stage_codes(age: np.ndarray, revenue: np.ndarray, rule: StageRule = INNOVATION.stage_rule) -> np.ndarray:
    """Index into STAGES of each firm's stage: start-up, then stable, else growth (NaN inputs fail their tests)."""
    age, revenue = np.asarray(age, dtype=float), np.asarray(revenue, dtype=float)
    startup = (age < rule.startup_max_age) | (revenue < rule.startup_max_revenue)
    stable = (revenue >= rule.stable_min_revenue) | (age >= rule.stable_min_age)
    return np.select([startup, stable], [STAGE_CODE["start-up"], STAGE_CODE["stable"]], STAGE_CODE["growth"])


def innovation_stage(age: np.ndarray, revenue: np.ndarray, rule: StageRule = INNOVATION.stage_rule) -> np.ndarray:
    """Stage for the weights: start-up, stable or growth (first rule that holds; NaN inputs fail their tests).

    >>> innovation_stage(np.array([1, 12, 5]), np.array([50e6, 20e6, 20e6])).tolist()
    ['start-up', 'stable', 'growth']
    """
    return np.array(STAGES, dtype=object)[stage_codes(age, revenue, rule)]


def _score(columns: list[np.ndarray], year: np.ndarray, stage: np.ndarray, spec: InnovationSpec) -> np.ndarray:
    """Columns points, rank, tier for rows with the indicator `columns` (spec order), `year` and `stage` codes."""
    order, cohorts = _cohort_order(np.asarray(year, dtype=np.float64) * len(STAGES) + stage)
    weights = np.vstack([spec.weights(s) for s in STAGES])  # stage x indicator
    points = np.zeros(len(stage))
    for j, column in enumerate(columns):
        points += weights[:, j][stage] * _percentiles(column, order, cohorts)
    rank = _percentiles(points, order, cohorts)
    tier = band_points(rank, tuple(sorted(((lo, t) for t, lo in spec.tiers.min_rank.items()), reverse=True)))
    return np.column_stack([points, rank, tier])


def innovation_points_from_indicators(frame: pd.DataFrame, spec: InnovationSpec = INNOVATION) -> pd.DataFrame:
    """Points, cohort rank and list tier of every row of `frame`.

    Parameters
    ----------
    frame
        One row per firm and year: `year`, `stage` (start-up, growth, stable) and the indicator columns of `spec`
        (an absent column counts as missing for every firm). Each (year, stage) is one cohort: pass the whole
        platform's rows of a year, not a sample.
    spec
        The indicator specification (default features/config/innovation_points.toml).

    Returns
    -------
    DataFrame on `frame.index` with `points` (0-100), `rank` (percentile of the points in the cohort, 0-1) and
    `tier` (3 top 5%, 2 5-10%, 1 10-20%, 0 otherwise).
    """
    stage = positions(frame["stage"], pd.Index(STAGES))
    if (stage < 0).any():
        bad = frame["stage"][stage < 0].unique()[:5].tolist()
        raise ValidationError(f"stage must be one of {', '.join(STAGES)}; got {bad}.")
    scored = _score([floats(frame, i) for i in spec.indicator_ids], floats(frame, "year"), stage, spec)
    return pd.DataFrame(scored, index=frame.index, columns=["points", "rank", "tier"])


# -- tech-SME evaluation: pure scoring ------------------------------------------------------------------------


def tech_sme_score_table(
    employees, rd_staff, revenue, rd_expense, total_costs, class1, class2, spec: TechSmeSpec = TECH_SME
) -> pd.DataFrame:
    """The 100-point tech-SME evaluation of each firm: `staff` (20), `rd` (50, the better of R&D / revenue and R&D /
    total costs), `achievements` (30) and `score`. Inputs are arrays or Series of equal length (missing -> 0 points).

    >>> tech_sme_score_table([120], [30], [100e6], [4.5e6], [25e6], [0], [3]).loc[0].tolist()
    [16.0, 30.0, 18.0, 64.0]
    """
    index = next((x.index for x in (employees, revenue, class1) if isinstance(x, pd.Series)), None)
    arr = [np.asarray(x, dtype=np.float64) for x in (employees, rd_staff, revenue, rd_expense, total_costs, class1,
                                                     class2)]
    employees, rd_staff, revenue, rd_expense, total_costs, class1, class2 = arr
    staff = band_points(ratio(rd_staff, employees), spec.staff.bands)
    rd = np.maximum(band_points(ratio(rd_expense, revenue), spec.rd.revenue_bands),
                    band_points(ratio(rd_expense, total_costs), spec.rd.cost_bands))
    achievements = np.maximum(band_points(class1, spec.achievements.class1_bands),
                              band_points(class2, spec.achievements.class2_bands))
    return pd.DataFrame({"staff": staff, "rd": rd, "achievements": achievements,
                         "score": staff + rd + achievements}, index=index)


def tech_sme_eligible(employees, revenue, total_assets, spec: TechSmeSpec = TECH_SME) -> np.ndarray:
    """Size condition of the tech-SME rules (a missing figure does not disqualify)."""
    e = spec.eligibility
    return ~((np.asarray(employees, dtype=float) > e.max_employees) | (np.asarray(revenue, dtype=float) > e.max_revenue)
             | (np.asarray(total_assets, dtype=float) > e.max_total_assets))


def tech_sme_direct(eligible, high_tech_certificate, rd_platform_level, standards_led, awards,
                    spec: TechSmeSpec = TECH_SME) -> np.ndarray:
    """Direct qualification: eligible and any of the (proxy) conditions in the module docstring."""
    d = spec.direct
    any_of = ((np.asarray(high_tech_certificate, dtype=bool) & d.high_tech_certificate)
              | (np.asarray(rd_platform_level, dtype=float) >= d.min_rd_platform_level)
              | (np.asarray(standards_led, dtype=float) >= d.min_standards_led)
              | (np.asarray(awards, dtype=float) >= d.min_awards))
    return np.asarray(eligible, dtype=bool) & any_of


def tech_sme_passes(table: pd.DataFrame, eligible, direct, spec: TechSmeSpec = TECH_SME) -> np.ndarray:
    """Pass: eligible and score >= the pass mark and a staff score above 0, or direct qualification."""
    scored = (table["score"].to_numpy() >= spec.pass_.min_score) & (table["staff"].to_numpy() > 0)
    return (np.asarray(eligible, dtype=bool) & scored) | np.asarray(direct, dtype=bool)


# -- nodes ----------------------------------------------------------------------------------------------------


@node
def ind_ent_pos(innovation_indicators: pd.DataFrame, enterprises: pd.DataFrame) -> np.ndarray:
    """Row in `enterprises` of each indicator row (-1: firm not registered before D)."""
    return positions(innovation_indicators["uscc"], pd.Index(enterprises["uscc"]))


@node
def inno_latest(innovation_indicators: pd.DataFrame, ind_ent_pos: np.ndarray, ent_firm_pos: np.ndarray,
                firms: pd.Index) -> pd.DataFrame:
    """Each firm's latest known indicator row (`year` and the indicator columns), aligned to `firms`."""
    pos = through(ent_firm_pos, ind_ent_pos)
    latest = latest_mask(pos, floats(innovation_indicators, "year"), len(firms))
    columns = ["year", *INNOVATION_INDICATORS]
    return pd.DataFrame({c: scatter(pos[latest], floats(innovation_indicators, c, latest), len(firms))
                         for c in columns}, index=firms)


@node
def inno_scored(innovation_indicators: pd.DataFrame, ind_ent_pos: np.ndarray, enterprises: pd.DataFrame,
                financials: pd.DataFrame, fin_ent_pos: np.ndarray, inno_latest: pd.DataFrame,
                firm_ent_pos: np.ndarray, firms: pd.Index) -> pd.DataFrame:
    """`points`, `rank`, `tier` and `stage` of each firm's latest indicator year, ranked in the platform cohort
    (every registered firm reporting that year, in the same stage)."""
    firm_year = inno_latest["year"].to_numpy()
    known = (firm_ent_pos >= 0) & ~np.isnan(firm_year)
    out = pd.DataFrame(np.nan, index=firms, columns=["points", "rank", "tier"]).assign(stage=None)
    if not known.any():
        return out
    first, last = int(firm_year[known].min()), int(firm_year[known].max())
    ind_year = floats(innovation_indicators, "year")
    rows = np.flatnonzero(np.isin(ind_year, np.unique(firm_year[known])) & (ind_ent_pos >= 0))
    ent, year = ind_ent_pos[rows], ind_year[rows].astype(np.int64)
    # Firm-by-year tables over the registry (a few years wide) join without hashing: row of each (firm, year), and
    # the revenue of that fiscal year for the stage.
    row_of = np.full((len(enterprises), last - first + 1), -1)
    row_of[ent, year - first] = np.arange(len(rows))
    fin_year = floats(financials, "year")
    fin = np.flatnonzero((fin_ent_pos >= 0) & (fin_year >= first) & (fin_year <= last))
    revenue_of = np.full(row_of.shape, np.nan)
    revenue_of[fin_ent_pos[fin], fin_year[fin].astype(np.int64) - first] = floats(financials, "revenue", fin)
    founded = enterprises["founded"].dt.year.to_numpy(dtype=np.float64, na_value=np.nan)
    stage = stage_codes(year - founded[ent], revenue_of[ent, year - first], INNOVATION.stage_rule)
    columns = [floats(innovation_indicators, c, rows) for c in INNOVATION.indicator_ids]
    scored = _score(columns, year, stage, INNOVATION)
    mine = np.flatnonzero(known)
    at = row_of[firm_ent_pos[mine], firm_year[mine].astype(np.int64) - first]
    out.iloc[mine, :3] = scored[at]
    out.iloc[mine, 3] = np.array(STAGES, dtype=object)[stage[at]]
    return out


@node
def tech_sme_table(fin_latest: pd.DataFrame, ip_class1_in_force: pd.Series, ip_class2_in_force: pd.Series
                   ) -> pd.DataFrame:
    """Tech-SME point table of each firm from its latest known statement (score NaN without one)."""
    f = fin_latest
    table = tech_sme_score_table(f["employees"], f["rd_staff"], f["revenue"], f["rd_expense"], f["total_costs"],
                                 ip_class1_in_force, ip_class2_in_force, TECH_SME)
    return table.assign(score=table["score"].where(f["year"].notna()))


@node
def tech_sme_size_ok(fin_latest: pd.DataFrame) -> np.ndarray:
    """Tech-SME eligibility (size) from the latest known statement."""
    return tech_sme_eligible(fin_latest["employees"], fin_latest["revenue"], fin_latest["total_assets"], TECH_SME)


# -- features -------------------------------------------------------------------------------------------------


@feature(group="innovation", name_zh="创新积分", name_en="Innovation points", unit="points", unit_zh="分",
         direction=-1, sources=("innovation_indicators", "enterprises", "financials"),
         description="Innovation points 0-100 of the latest known indicator year: stage-weighted sum of each "
                     "indicator's percentile in the platform cohort of that year and stage (创新积分制, "
                     "features/config/innovation_points.toml).")
def inno_points(inno_scored: pd.DataFrame) -> pd.Series:
    return inno_scored["points"].astype(np.float64)


@feature(group="innovation", name_zh="创新积分分位", name_en="Innovation points rank", unit="rank", unit_zh="",
         direction=-1, sources=("innovation_indicators", "enterprises", "financials"),
         description="Percentile rank 0-1 of the innovation points within the cohort (year and stage).")
def inno_points_rank(inno_scored: pd.DataFrame) -> pd.Series:
    return inno_scored["rank"].astype(np.float64)


@feature(group="innovation", name_zh="创新积分榜单档次", name_en="Innovation points tier", unit="level",
         unit_zh="档", direction=-1, sources=("innovation_indicators", "enterprises", "financials"),
         description="List tier by the points' cohort rank: 3 top 5%, 2 top 5-10%, 1 top 10-20%, 0 otherwise.")
def inno_points_tier(inno_scored: pd.DataFrame) -> pd.Series:
    return inno_scored["tier"].astype(np.float64)


@feature(group="innovation", name_zh="创新积分阶段", name_en="Innovation points stage", unit="category",
         unit_zh="", direction=0, kind="categorical", categories=STAGES,
         sources=("innovation_indicators", "enterprises", "financials"),
         description="Stage whose weights and cohort the points use (start-up, growth, stable), latest indicator "
                     "year.")
def inno_stage(inno_scored: pd.DataFrame) -> pd.Series:
    return inno_scored["stage"]


@feature(group="innovation", name_zh="科技型中小企业评价得分", name_en="Tech-SME evaluation score", unit="score",
         unit_zh="分", direction=-1, sources=("financials", "ip_rights"),
         description="Tech-SME evaluation points 0-100: S&T staff share 20, R&D input 50 (better of two ratios), "
                     "IP held by class 30; latest known statement and IP held at the as-of date (NaN without a "
                     "statement).")
def inno_tech_sme_score(tech_sme_table: pd.DataFrame) -> pd.Series:
    return tech_sme_table["score"]


@feature(group="innovation", name_zh="科技型中小企业直接认定", name_en="Tech-SME direct qualification",
         unit="flag", unit_zh="", direction=-1,
         sources=("financials", "enterprises", "innovation_indicators"),
         description="1 if an eligible firm qualifies without scoring: high-tech certificate held, provincial or "
                     "higher R&D platform, led a standard, or an S&T award (proxy for a national award).")
def inno_tech_sme_direct(tech_sme_size_ok: np.ndarray, ent_firms: pd.DataFrame, inno_latest: pd.DataFrame
                         ) -> pd.Series:
    certified = ent_firms["high_tech"].notna().to_numpy() if "high_tech" in ent_firms else np.zeros(
        len(ent_firms), dtype=bool)
    direct = tech_sme_direct(tech_sme_size_ok, certified, inno_latest["rd_platform_level"],
                             inno_latest["standards_led"], inno_latest["awards"], TECH_SME)
    return series(direct.astype(np.float64), inno_latest.index)


@feature(group="innovation", name_zh="通过科技型中小企业评价", name_en="Passes tech-SME evaluation", unit="flag",
         unit_zh="", direction=-1, sources=("financials", "ip_rights", "enterprises", "innovation_indicators"),
         description="1 if eligible (employees <= 500, revenue and assets <= 200M yuan) with score >= 60 and a "
                     "staff score above 0, or directly qualified; else 0.")
def inno_tech_sme_pass(tech_sme_table: pd.DataFrame, tech_sme_size_ok: np.ndarray,
                       inno_tech_sme_direct: pd.Series) -> pd.Series:
    passes = tech_sme_passes(tech_sme_table, tech_sme_size_ok, inno_tech_sme_direct.to_numpy() > 0, TECH_SME)
    return series(passes.astype(np.float64), tech_sme_table.index)


def _indicator(inno_latest: pd.DataFrame, column: str) -> pd.Series:
    return inno_latest[column]


@feature(group="innovation", name_zh="技术合同成交额", name_en="Technology-contract turnover", unit="yuan",
         unit_zh="元", direction=-1, sources=("innovation_indicators",),
         description="Technology-contract turnover of the latest known indicator year.")
def inno_tech_contract_value(inno_latest: pd.DataFrame) -> pd.Series:
    return _indicator(inno_latest, "tech_contract_value")


@feature(group="innovation", name_zh="获得风险投资金额", name_en="Venture capital raised", unit="yuan", unit_zh="元",
         direction=-1, sources=("innovation_indicators",),
         description="Venture capital raised in the latest known indicator year.")
def inno_venture_capital(inno_latest: pd.DataFrame) -> pd.Series:
    return _indicator(inno_latest, "venture_capital")


@feature(group="innovation", name_zh="研发平台级别", name_en="R&D platform level", unit="level", unit_zh="级",
         direction=-1, sources=("innovation_indicators",),
         description="Highest R&D platform: 0 none, 1 city, 2 provincial, 3 national; latest known indicator year.")
def inno_rd_platform_level(inno_latest: pd.DataFrame) -> pd.Series:
    return _indicator(inno_latest, "rd_platform_level")


@feature(group="innovation", name_zh="吸纳应届毕业生人数", name_en="Fresh graduates hired", unit="count",
         unit_zh="人", direction=-1, sources=("innovation_indicators",),
         description="Fresh university graduates hired in the latest known indicator year.")
def inno_graduates_hired(inno_latest: pd.DataFrame) -> pd.Series:
    return _indicator(inno_latest, "graduates_hired")


@feature(group="innovation", name_zh="科技奖励数", name_en="S&T awards", unit="count", unit_zh="项", direction=-1,
         sources=("innovation_indicators",),
         description="Science and technology awards in the last 5 years, latest known indicator year.")
def inno_awards(inno_latest: pd.DataFrame) -> pd.Series:
    return _indicator(inno_latest, "awards")


@feature(group="innovation", name_zh="主导制定标准数", name_en="Standards led", unit="count", unit_zh="项",
         direction=-1, sources=("innovation_indicators",),
         description="Standards whose drafting the firm led in the last 5 years, latest known indicator year.")
def inno_standards_led(inno_latest: pd.DataFrame) -> pd.Series:
    return _indicator(inno_latest, "standards_led")
