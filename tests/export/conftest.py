"""Small but realistic PD models and scorecards for the export tests, fitted on a synthetic SME book.

The book has skewed financial ratios with missing values, exact zeros (firms without R&D or patents), a flag and
two categorical features, so the models contain NaN- and zero-missing splits, categorical splits and features
that never miss (LightGBM missing type ``None``).
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from techscore.catalogue.meta import FeatureMeta
from techscore.model.calibrate import fit_calibrator
from techscore.model.pdmodel import PDModel

REGIONS = tuple(f"{c:02d}" for c in (11, 31, 32, 33, 44, 51, 61))
SECTIONS = ("C", "I", "M", "F", "L")


def _meta(fid: str, direction: int, kind: str = "numeric", categories: tuple[str, ...] = ()) -> FeatureMeta:
    return FeatureMeta(id=fid, group="test", name_zh=fid, name_en=fid.replace("_", " "), description=fid,
                       unit="", sources=(), direction=direction, kind=kind, categories=categories)


FEATURES = [
    _meta("rd_intensity", -1), _meta("sc_dso_days", 1), _meta("ip_invention_in_force", -1),
    _meta("fin_leverage", 1), _meta("age_years", -1), _meta("profile_high_tech", -1),
    _meta("profile_region", 0, "categorical", REGIONS), _meta("profile_industry_section", 0, "categorical", SECTIONS),
]


def sme_book(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """`n` firms' features and 12-month default flags."""
    rng = np.random.default_rng(seed)
    rd = np.where(rng.random(n) < 0.3, 0.0, rng.lognormal(-3.5, 1.0, n))
    rd[rng.random(n) < 0.1] = np.nan
    dso = rng.gamma(2.0, 40.0, n)
    dso[rng.random(n) < 0.05] = np.nan
    patents = np.where(rng.random(n) < 0.5, 0.0, rng.poisson(4, n).astype(float))
    leverage = rng.beta(2, 3, n) * 1.5
    age = rng.integers(1, 30, n).astype(float)  # never missing: LightGBM missing type None
    high_tech = (rng.random(n) < 0.4).astype(float)
    region = rng.choice(REGIONS, n, p=[0.1, 0.2, 0.2, 0.15, 0.2, 0.1, 0.05]).astype(object)
    region[rng.random(n) < 0.05] = None
    section = rng.choice(SECTIONS, n).astype(object)
    logit = (-3.2 - 8 * np.nan_to_num(rd, nan=0.02) + 0.01 * np.nan_to_num(dso, nan=150) - 0.1 * patents
             + 1.8 * leverage - 0.04 * age - 0.4 * high_tech + 0.5 * np.isin(region, ["51", "61"])
             + 0.4 * (section == "F") + 0.5 * np.isnan(dso))
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = pd.DataFrame({"rd_intensity": rd, "sc_dso_days": dso, "ip_invention_in_force": patents,
                      "fin_leverage": leverage, "age_years": age, "profile_high_tech": high_tech,
                      "profile_region": pd.Categorical(region, categories=REGIONS),
                      "profile_industry_section": pd.Categorical(section, categories=SECTIONS)})
    return X, y


def fit_pd_model(*, calibration: str = "platt", zero_as_missing: bool = False, rounds: int = 60,
                 seed: int = 7, rename: dict[str, str] | None = None) -> PDModel:
    """A calibrated LightGBM PD model on the book; `rename` maps feature ids to other (e.g. unsafe SQL) names."""
    import dataclasses

    rename = rename or {}
    X, y = sme_book(6000, seed)
    X = X.rename(columns=rename)
    features = [dataclasses.replace(f, id=rename.get(f.id, f.id)) for f in FEATURES]
    params = {"objective": "binary", "learning_rate": 0.08, "num_leaves": 15, "min_data_in_leaf": 30,
              "min_data_per_group": 20, "cat_smooth": 5, "max_cat_to_onehot": 2, "zero_as_missing": zero_as_missing,
              "seed": seed, "deterministic": True, "num_threads": 1, "verbose": -1}
    train, valid = slice(0, 4500), slice(4500, None)
    booster = lgb.train(params, lgb.Dataset(X.iloc[train], y[train]), num_boost_round=rounds)
    margin = booster.predict(X.iloc[valid], raw_score=True)
    return PDModel(booster=booster, features=features, calibrator=fit_calibrator(margin, y[valid], calibration))


def scoring_rows(n: int, seed: int, model: PDModel | None = None) -> pd.DataFrame:
    """Fresh rows plus hard cases: thresholds themselves and their neighbours, -0.0, tiny and huge values,
    unknown categories, all-missing rows."""
    X, _ = sme_book(n, seed)
    X["profile_region"] = X["profile_region"].astype(object)
    X["profile_industry_section"] = X["profile_industry_section"].astype(object)
    extra = []
    numeric = [f.id for f in FEATURES if f.kind == "numeric"]
    if model is not None:
        for tree in model.booster.dump_model()["tree_info"]:
            stack = [tree["tree_structure"]]
            while stack:
                node = stack.pop()
                if "leaf_value" in node:
                    continue
                stack += [node["left_child"], node["right_child"]]
                fid = FEATURES[node["split_feature"]].id
                if node["decision_type"] == "<=":
                    t = float(node["threshold"])
                    for v in (t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf)):
                        row = X.iloc[len(extra) % n].to_dict()
                        row[fid] = v
                        extra.append(row)
    for v in (0.0, -0.0, 1e-36, -1e-36, 1e-300, 1e300, -1e300, np.nan):
        row = X.iloc[len(extra) % n].to_dict()
        row.update({c: v for c in numeric})
        extra.append(row)
    extra.append({**X.iloc[0].to_dict(), "profile_region": "99", "profile_industry_section": None})
    extra.append({c: (np.nan if c in numeric else None) for c in X.columns})
    return pd.concat([X, pd.DataFrame(extra)], ignore_index=True)


@pytest.fixture(scope="session")
def platt_model() -> PDModel:
    return fit_pd_model()


@pytest.fixture(scope="session")
def isotonic_zero_model() -> PDModel:
    return fit_pd_model(calibration="isotonic", zero_as_missing=True, seed=11)


@pytest.fixture(scope="session")
def scorecard_model():
    from techscore.model.scorecard import fit_scorecard
    from techscore.specs import ScalingSpec

    X, y = sme_book(6000, 21)
    return fit_scorecard(X, y, FEATURES, ScalingSpec())


@pytest.fixture(scope="session")
def pmml_model():
    """A loader of PMML text into pypmml (a JVM evaluator); the models are closed at the end."""
    from pypmml import Model

    opened = []

    def load(text: str):
        opened.append(Model.fromString(text))
        return opened[-1]

    yield load
    for m in opened:
        m.close()
