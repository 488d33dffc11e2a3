"""A realistic feature table of tech SMEs (numeric, flags, a categorical, missing values) and a PD model on it.

Risk is planted in a few features with their declared directions; the rest are noise. Codes are valid unified
social credit codes; `inject_bad_rows` plants every kind of row the scorer must reject.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from techscore.catalogue.meta import FeatureMeta
from techscore.sources.uscc import complete

SECTIONS = ("C", "I", "M", "F", "L")


def _meta(id_, en, unit, direction, kind="numeric"):
    return FeatureMeta(id=id_, group="test", name_zh=en, name_en=en, description=en, unit=unit, sources=(),
                       direction=direction, kind=kind)


FEATURES: list[FeatureMeta] = [
    _meta("rd_intensity_3y", "3-year R&D intensity", "ratio", -1),
    _meta("ip_invention_in_force", "Granted invention patents in force", "count", -1),
    _meta("inno_points", "Innovation points", "points", -1),
    _meta("fin_leverage", "Leverage", "ratio", 1),
    _meta("sc_customer_hhi", "Customer concentration (HHI)", "ratio", 1),
    _meta("fin_revenue_latest", "Latest revenue", "yuan", -1),
    _meta("profile_age_years", "Firm age", "years", -1),
    _meta("profile_high_tech", "High-tech enterprise", "flag", -1),
    _meta("profile_industry_section", "Industry section", "category", 0, kind="categorical"),
]
IDS = [f.id for f in FEATURES]


def uscc_codes(n: int, seed: int = 0) -> np.ndarray:
    """`n` distinct valid codes (region 110108, registration numbers from the seed)."""
    rng = np.random.default_rng(seed)
    numbers = rng.choice(10**8, size=n, replace=False)
    bodies = np.char.add("91110108M", np.char.zfill(numbers.astype(str), 8))
    return complete(bodies)


def feature_table(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """(frame with `uscc` and the features, default labels)."""
    rng = np.random.default_rng(seed)
    section = rng.choice(SECTIONS, n, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    tech = np.isin(section, ["I", "M"]).astype(float)
    rd = np.clip(rng.gamma(2.0, 0.02 + 0.02 * tech), 0, 0.6)
    patents = rng.poisson(2 + 6 * tech + 40 * rd).astype(float)
    points = np.clip(rng.normal(55 + 10 * tech, 15), 0, 100)
    leverage = np.clip(rng.beta(4, 4, n) + 0.05, 0.02, 1.3)
    hhi = np.clip(rng.beta(2, 5, n), 0.01, 1)
    revenue = np.exp(rng.normal(16.5, 1.2, n))
    age = rng.gamma(3, 2.5, n)
    high_tech = (rng.random(n) < 0.3 + 0.4 * tech).astype(float)
    z = (-2.4 - 12 * rd - 0.08 * patents - 0.02 * (points - 55) + 2.2 * (leverage - 0.55) + 1.5 * hhi
         - 0.06 * age - 0.3 * high_tech + 0.4 * (section == "F"))
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    for values, rate in ((rd, 0.08), (hhi, 0.06), (points, 0.1), (revenue, 0.03)):
        values[rng.random(n) < rate] = np.nan
    frame = pd.DataFrame({
        "uscc": pd.array(uscc_codes(n, seed), dtype="string"),
        "rd_intensity_3y": rd, "ip_invention_in_force": patents, "inno_points": points, "fin_leverage": leverage,
        "sc_customer_hhi": hhi, "fin_revenue_latest": revenue, "profile_age_years": age,
        "profile_high_tech": high_tech,
        "profile_industry_section": pd.Categorical(section, categories=list(SECTIONS)),
    })
    section_missing = rng.random(n) < 0.02
    frame.loc[section_missing, "profile_industry_section"] = np.nan
    return frame, y


def train_model(n: int = 4000, seed: int = 0, rounds: int = 150, calibration: str = "platt"):
    """A calibrated, monotone PDModel trained with techscore's own fit."""
    from techscore.model.fit import fit_pd_model
    from techscore.specs import CalibrationSpec, LearnerSpec, ModelSpec

    frame, y = feature_table(n, seed)
    cut = int(0.75 * n)
    spec = ModelSpec(name="scoring-test", seed=seed, monotone=True, calibration=CalibrationSpec(method=calibration),
                     learner=LearnerSpec(num_leaves=15, learning_rate=0.08, num_boost_round=rounds,
                                         early_stopping_rounds=0, min_child_samples=20, refit=False,
                                         num_threads=2, extra={"deterministic": True}))
    model, _ = fit_pd_model(frame.iloc[:cut], y[:cut], frame.iloc[cut:], y[cut:], FEATURES, spec,
                            catalogue_version="test-catalogue-v1")
    return model


BAD_KINDS = ("missing_uscc", "invalid_uscc", "unknown_category", "infinite", "no_features")


def inject_bad_rows(frame: pd.DataFrame, seed: int = 1, per_kind: int = 7) -> tuple[pd.DataFrame, dict[int, str]]:
    """A copy of `frame` with `per_kind` rows of each rejected kind; returns it and {0-based position: code}."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    out["profile_industry_section"] = out["profile_industry_section"].astype("string")
    positions = rng.choice(len(out), size=per_kind * len(BAD_KINDS), replace=False)
    planted: dict[int, str] = {}
    for kind, rows in zip(BAD_KINDS, np.array_split(positions, len(BAD_KINDS)), strict=True):
        for r in rows:
            planted[int(r)] = kind
        if kind == "missing_uscc":
            out.loc[rows, "uscc"] = pd.NA
        elif kind == "invalid_uscc":
            out.loc[rows, "uscc"] = out.loc[rows, "uscc"].str.slice(0, 17) + "Z"  # Z is outside the alphabet
        elif kind == "unknown_category":
            out.loc[rows, "profile_industry_section"] = "Q"
        elif kind == "infinite":
            out.loc[rows, "fin_leverage"] = np.inf
        else:
            for c in IDS:
                out.loc[rows, c] = np.nan if c != "profile_industry_section" else pd.NA
    return out, planted


def raw_model_world(factory, *, n_firms: int = 60, as_of: str = "2022-06-30"):
    """Raw tables, a workspace with the small core catalogue, and a model trained on its features as of `as_of`:
    (data folder, workspace, model, saved model folder, features, catalogue). `factory`: pytest's tmp_path_factory."""
    import textwrap

    from techscore.catalogue import load_catalogue
    from techscore.dataset.build import featurize
    from techscore.model.fit import fit_pd_model
    from techscore.specs import LearnerSpec, ModelSpec
    from tests.catalogue.world import CORE_CATALOGUE, make_world, write_world

    data = write_world(make_world(n_firms=n_firms, seed=4), factory.mktemp("raw"))
    ws = factory.mktemp("ws")
    (ws / "features").mkdir()
    (ws / "features" / "mini.py").write_text(textwrap.dedent(CORE_CATALOGUE), encoding="utf-8")
    catalogue = load_catalogue(ws)
    X = featurize(data, None, pd.Timestamp(as_of), catalogue=catalogue)
    y = (np.random.default_rng(0).random(len(X)) < 0.3).astype(int)
    spec = ModelSpec(name="raw", learner=LearnerSpec(num_leaves=4, min_child_samples=3, num_boost_round=20,
                                                     early_stopping_rounds=0, refit=False, min_data_per_group=2))
    model, _ = fit_pd_model(X, y, None, None, catalogue.features, spec, catalogue_version=catalogue.version)
    folder = model.save(factory.mktemp("rawmodel") / "model")
    return data, ws, model, folder, X, catalogue
