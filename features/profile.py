"""Profile features: age, size band, industry section, province, certifications held, lifecycle stage, registered
capital and borrowing history.

From the registry (`enterprises`: certification dates on/after the as-of date D are not yet known), the latest
known financial statement, and loans issued before D.

**Size band** (features/config/size_band.toml): the 2011 SME classification's thresholds on employees and revenue of
the latest known fiscal year, by industry section (industrial rule by default, software and IT services for section
I): large if both reach the large thresholds, else medium, else small, else micro; a missing figure leaves the test
on the other; no band without either.

**Lifecycle stage** (features/config/lifecycle.toml; seed, start-up, growth, mature as the policies name them): age
at D and the latest known revenue and revenue growth, first rule that holds: seed if under 2 years old with revenue
under 5 million yuan (or none known); start-up if under 5 years with revenue under 50 million (or none known);
growth if under 10 years or revenue growing 15% a year or more; mature otherwise.

Certifications count from the date the registry says the firm first held them (renewals are not recorded).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from techscore.catalogue import feature, feature_group
from techscore.sources.industry import SECTIONS, section_of
from techscore.sources.schema import CERTIFICATIONS

from ._config import LIFECYCLE, SIZE_BAND, LifecycleSpec, SizeBandSpec
from ._frame import (
    MONTH_DAYS,
    YEAR_DAYS,
    days,
    first_label,
    floats,
    latest_mask,
    nan_flag,
    per_firm,
    positions,
    series,
)

GROUP = feature_group("profile", name_zh="企业画像", name_en="Firm profile", order=50)
"""The group this module's features belong to (the catalogue orders groups by `order`)."""

SIZE_BANDS: tuple[str, ...] = ("micro", "small", "medium", "large")
LIFECYCLE_STAGES: tuple[str, ...] = ("seed", "start-up", "growth", "mature")
PROVINCES: tuple[str, ...] = (
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44",
    "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
)
"""Province-level codes of GB/T 2260 (first two digits of a region code)."""


def size_band(employees, revenue, section, spec: SizeBandSpec = SIZE_BAND) -> np.ndarray:
    """micro / small / medium / large for each firm (None without employees and revenue); rule in the docstring.

    >>> size_band([500, 500, 15], [50e6, 150e6, np.nan], ["C", "I", "C"]).tolist()
    ['medium', 'large', 'micro']
    """
    employees, revenue = np.asarray(employees, dtype=float), np.asarray(revenue, dtype=float)
    section = np.asarray(section, dtype=object)
    reached = {}
    for band in ("large", "medium", "small"):
        emp_min = np.full(len(employees), getattr(spec.default, band).employees)
        rev_min = np.full(len(employees), getattr(spec.default, band).revenue)
        for letter, rule in spec.sections.items():
            rows = section == letter
            emp_min[rows], rev_min[rows] = getattr(rule, band).employees, getattr(rule, band).revenue
        reached[band] = (np.isnan(employees) | (employees >= emp_min)) & (np.isnan(revenue) | (revenue >= rev_min))
    return first_label([reached["large"], reached["medium"], reached["small"]], ("large", "medium", "small", "micro"),
                       missing=np.isnan(employees) & np.isnan(revenue))


def lifecycle_stage(age, revenue, revenue_growth, spec: LifecycleSpec = LIFECYCLE) -> np.ndarray:
    """seed / start-up / growth / mature for each firm (None without an age); rule in the module docstring.

    >>> lifecycle_stage([1, 3, 3, 12, 12], [1e6, 1e6, 80e6, 80e6, 80e6], [0.5, 0, 0, 0.2, 0.05]).tolist()
    ['seed', 'start-up', 'growth', 'growth', 'mature']
    """
    age, revenue, growth = (np.asarray(x, dtype=float) for x in (age, revenue, revenue_growth))
    no_revenue = np.isnan(revenue)
    seed = (age < spec.seed.max_age) & (no_revenue | (revenue < spec.seed.max_revenue))
    startup = (age < spec.startup.max_age) & (no_revenue | (revenue < spec.startup.max_revenue))
    growing = (age < spec.growth.max_age) | (growth >= spec.growth.min_revenue_growth)
    return first_label([seed, startup, growing], ("seed", "start-up", "growth", "mature"), missing=np.isnan(age))


def _known(ent_firms: pd.DataFrame) -> np.ndarray:
    return ent_firms["uscc"].notna().to_numpy()


def _certified(ent_firms: pd.DataFrame, certification: str) -> pd.Series:
    held = ent_firms[certification].notna().to_numpy() if certification in ent_firms else np.zeros(
        len(ent_firms), dtype=bool)
    return series(nan_flag(held, _known(ent_firms)), ent_firms.index)


@feature(group="profile", name_zh="成立年限", name_en="Firm age", unit="years", unit_zh="年", direction=-1,
         sources=("enterprises",), description="Years from the founding date to the as-of date.", drift="clock")
def profile_age_years(ent_firms: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    return series(-days(ent_firms["founded"], as_of) / YEAR_DAYS, ent_firms.index)


@feature(group="profile", name_zh="企业规模", name_en="Size band", unit="category", unit_zh="", direction=0,
         kind="categorical", categories=SIZE_BANDS, sources=("financials", "enterprises"),
         description="micro / small / medium / large by employees and revenue of the latest known fiscal year, "
                     "after the 2011 SME classification (industry-specific thresholds, features/config/size_band.toml).")
def profile_size_band(fin_latest: pd.DataFrame, profile_industry_section: pd.Series) -> pd.Series:
    band = size_band(fin_latest["employees"], fin_latest["revenue"], profile_industry_section.to_numpy(dtype=object),
                     SIZE_BAND)
    return series(band, fin_latest.index)


@feature(group="profile", name_zh="行业门类", name_en="Industry section", unit="category", unit_zh="", direction=0,
         kind="categorical", categories=tuple(SECTIONS), sources=("enterprises",),
         description="GB/T 4754-2017 section letter (A-T) of the registered industry code.")
def profile_industry_section(ent_firms: pd.DataFrame) -> pd.Series:
    codes, uniques = pd.factorize(ent_firms["industry"])  # a few hundred codes: parse each once
    sections = section_of(pd.Series(uniques, dtype="string")).to_numpy(dtype=object, na_value=None)
    return series(np.append(sections, None)[codes], ent_firms.index)  # code -1 (missing) -> None


@feature(group="profile", name_zh="所在省份", name_en="Province", unit="category", unit_zh="", direction=0,
         kind="categorical", categories=PROVINCES, sources=("enterprises",),
         description="Province: the first two digits of the 6-digit administrative division code (GB/T 2260).")
def profile_region(ent_firms: pd.DataFrame) -> pd.Series:
    code = ent_firms["region"].astype("string").str.strip().str[:2]
    return series(code.where(code.isin(PROVINCES)).to_numpy(dtype=object, na_value=None), ent_firms.index)


@feature(group="profile", name_zh="资质认定数", name_en="Certifications held", unit="count", unit_zh="项",
         direction=-1, sources=("enterprises",),
         description="Certifications held at the as-of date among high-tech, tech-SME, innovative SME, specialised "
                     "SME, little giant, gazelle and unicorn.")
def profile_cert_count(ent_firms: pd.DataFrame) -> pd.Series:
    held = sum(ent_firms[c].notna().to_numpy(dtype=np.float64) for c in CERTIFICATIONS if c in ent_firms)
    return series(np.where(_known(ent_firms), held, np.nan), ent_firms.index)


@feature(group="profile", name_zh="高新技术企业", name_en="High-tech enterprise", unit="flag", unit_zh="",
         direction=-1, sources=("enterprises",), description="1 if certified a high-tech enterprise (高新技术企业) before "
                                                            "the as-of date.")
def profile_high_tech(ent_firms: pd.DataFrame) -> pd.Series:
    return _certified(ent_firms, "high_tech")


@feature(group="profile", name_zh="科技型中小企业", name_en="Tech SME", unit="flag", unit_zh="", direction=-1,
         sources=("enterprises",), description="1 if registered a tech SME (科技型中小企业) before the as-of date.")
def profile_tech_sme(ent_firms: pd.DataFrame) -> pd.Series:
    return _certified(ent_firms, "tech_sme")


@feature(group="profile", name_zh="专精特新中小企业", name_en="Specialised SME", unit="flag", unit_zh="",
         direction=-1, sources=("enterprises",),
         description="1 if recognised a specialised and sophisticated SME (专精特新) before the as-of date.")
def profile_specialized_sme(ent_firms: pd.DataFrame) -> pd.Series:
    return _certified(ent_firms, "specialized_sme")


@feature(group="profile", name_zh="专精特新小巨人", name_en="Little giant", unit="flag", unit_zh="", direction=-1,
         sources=("enterprises",), description="1 if recognised a 'little giant' (专精特新\"小巨人\") before the as-of date.")
def profile_little_giant(ent_firms: pd.DataFrame) -> pd.Series:
    return _certified(ent_firms, "little_giant")


@feature(group="profile", name_zh="瞪羚企业", name_en="Gazelle", unit="flag", unit_zh="", direction=-1,
         sources=("enterprises",), description="1 if recognised a gazelle firm (瞪羚企业) before the as-of date.")
def profile_gazelle(ent_firms: pd.DataFrame) -> pd.Series:
    return _certified(ent_firms, "gazelle")


@feature(group="profile", name_zh="生命周期阶段", name_en="Lifecycle stage", unit="category", unit_zh="",
         direction=0, kind="categorical", categories=LIFECYCLE_STAGES, sources=("enterprises", "financials"),
         description="seed / start-up / growth / mature from age, latest revenue and revenue growth (rule in "
                     "features/config/lifecycle.toml).")
def profile_lifecycle_stage(profile_age_years: pd.Series, fin_latest: pd.DataFrame,
                            fin_revenue_growth: pd.Series) -> pd.Series:
    stage = lifecycle_stage(profile_age_years, fin_latest["revenue"], fin_revenue_growth, LIFECYCLE)
    return series(stage, fin_latest.index)


@feature(group="profile", name_zh="注册资本", name_en="Registered capital", unit="yuan", unit_zh="元", direction=-1,
         sources=("enterprises",), description="Registered capital, yuan.")
def profile_registered_capital(ent_firms: pd.DataFrame) -> pd.Series:
    return series(floats(ent_firms, "registered_capital"), ent_firms.index)


@feature(group="profile", name_zh="历史贷款笔数", name_en="Prior loans", unit="count", unit_zh="笔", direction=0,
         sources=("loans",), description="Loans issued to the firm before the as-of date, any bank (0 if none).")
def profile_prior_loans(loans: pd.DataFrame, firms: pd.Index) -> pd.Series:
    pos = positions(loans["uscc"], firms)
    return series(per_firm(pos[pos >= 0], len(firms)), firms)


@feature(group="profile", name_zh="距上笔贷款月数", name_en="Months since last loan", unit="months",
         unit_zh="个月", direction=0, sources=("loans",),
         description="Months from the latest loan issued before the as-of date to that date (NaN if none).", drift="clock")
def profile_months_since_last_loan(loans: pd.DataFrame, firms: pd.Index, as_of: pd.Timestamp) -> pd.Series:
    pos = positions(loans["uscc"], firms)
    issued = days(loans["issued"], as_of)
    last = latest_mask(pos, issued, len(firms))
    out = np.full(len(firms), np.nan)
    out[pos[last]] = -issued[last] / MONTH_DAYS
    return series(out, firms)


@feature(group="profile", name_zh="首贷企业", name_en="First-time borrower", unit="flag", unit_zh="", direction=0,
         sources=("loans",), description="1 if the firm had no loan issued before the as-of date (首贷), else 0.")
def profile_first_loan(profile_prior_loans: pd.Series) -> pd.Series:
    return series((profile_prior_loans.to_numpy() == 0).astype(np.float64), profile_prior_loans.index)
