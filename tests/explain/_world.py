"""A small, realistic loan dataset and LightGBM model for explain/report tests (until-or-besides the real world).

Risk is planted in a few catalogue features with their declared directions; other columns are noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from techscore.catalogue.meta import FeatureMeta
from techscore.dataset.frame import LABEL, LoanDataset

SECTIONS = ("C", "I", "M", "F")


def _meta(id_, group, zh, en, unit, direction, kind="numeric", unit_zh=""):
    return FeatureMeta(id=id_, group=group, name_zh=zh, name_en=en, description=en, unit=unit, sources=(),
                       direction=direction, kind=kind, unit_zh=unit_zh)


FEATURES: list[FeatureMeta] = [
    _meta("rd_intensity_3y", "rd", "近三年研发强度", "3-year R&D intensity", "ratio", -1),
    _meta("ip_invention_in_force", "ip", "有效发明专利", "Granted invention patents in force", "count", -1, unit_zh="件"),
    _meta("inno_points", "innovation", "创新积分", "Innovation points", "points", -1),
    _meta("fin_leverage", "finance", "资产负债率", "Leverage (liabilities / assets)", "ratio", 1),
    _meta("sc_customer_hhi", "supply_chain", "客户集中度", "Customer concentration (HHI)", "ratio", 1),
    _meta("fin_revenue_latest", "finance", "最近年度营业收入", "Latest revenue", "yuan", -1),
    _meta("profile_age_years", "profile", "成立年限", "Firm age", "years", -1),
    _meta("profile_high_tech", "profile", "高新技术企业", "High-tech enterprise", "flag", -1),
    _meta("profile_registered_capital", "profile", "注册资本", "Registered capital", "yuan", 0),
    _meta("profile_industry_section", "profile", "行业门类", "Industry section", "category", 0, kind="categorical"),
]


def make_dataset(n: int = 3000, seed: int = 0) -> LoanDataset:
    rng = np.random.default_rng(seed)
    section = rng.choice(SECTIONS, n, p=[0.45, 0.3, 0.15, 0.1])
    tech = np.isin(section, ["I", "M"]).astype(float)
    rd = np.clip(rng.gamma(2.0, 0.02 + 0.02 * tech), 0, 0.6)
    patents = rng.poisson(2 + 6 * tech + 40 * rd).astype(float)
    points = np.clip(rng.normal(55 + 10 * tech, 15), 0, 100)
    leverage = np.clip(rng.beta(4, 4, n) + 0.05, 0.02, 1.3)
    hhi = np.clip(rng.beta(2, 5, n), 0.01, 1)
    revenue = np.exp(rng.normal(16.5, 1.2, n))
    age = rng.gamma(3, 2.5, n)
    high_tech = (rng.random(n) < 0.3 + 0.4 * tech).astype(float)
    capital = np.exp(rng.normal(15, 1, n))
    rd[rng.random(n) < 0.08] = np.nan
    hhi[rng.random(n) < 0.05] = np.nan
    z = (-2.6 - 12 * np.nan_to_num(rd, nan=0.02) - 0.08 * patents - 0.02 * (points - 55) + 2.2 * (leverage - 0.55)
         + 1.5 * np.nan_to_num(hhi, nan=0.3) - 0.06 * age - 0.3 * high_tech)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    issued = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 5 * 365, n), unit="D")
    frame = pd.DataFrame({
        "loan_id": [f"L{i:06d}" for i in range(n)], "bank_id": rng.choice(["B1", "B2"], n),
        "uscc": [f"91110000MA{i:07d}X" for i in range(n)], "issued": issued,
        "seg_industry": pd.array(section, dtype="string"), LABEL: y,
        "rd_intensity_3y": rd, "ip_invention_in_force": patents, "inno_points": points, "fin_leverage": leverage,
        "sc_customer_hhi": hhi, "fin_revenue_latest": revenue, "profile_age_years": age,
        "profile_high_tech": high_tech, "profile_registered_capital": capital,
        "profile_industry_section": pd.Categorical(section, categories=list(SECTIONS)),
    })
    frame = frame.sort_values("issued", kind="stable").reset_index(drop=True)
    return LoanDataset(frame=frame, features=list(FEATURES), fingerprint=f"test-world-{n}-{seed}", name="world")


def train_booster(ds: LoanDataset, *, rounds: int = 120, seed: int = 0):
    import lightgbm as lgb

    X = ds.X
    mono = [f.direction for f in ds.features]
    params = dict(objective="binary", learning_rate=0.05, num_leaves=15, min_data_in_leaf=30, monotone_constraints=mono,
                  monotone_constraints_method="advanced", verbose=-1, seed=seed, num_threads=2, deterministic=True)
    return lgb.train(params, lgb.Dataset(X, ds.y), num_boost_round=rounds)
