"""Shared fixtures of the model tests: a synthetic loan dataset with planted directions, the real Polish data,
a temporary workspace with model and experiment specs, an MLflow SQLite store and one tracked training."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from techscore.catalogue.meta import FeatureMeta
from techscore.dataset.frame import LoanDataset

POLISH = Path(__file__).resolve().parents[3] / "shared" / "data" / "polish_bankruptcy" / "1year.arff"
INDUSTRIES = ("C", "I", "M", "F")
LIFECYCLE = ("seed", "start-up", "growth", "mature")


def _meta(fid: str, name: str, direction: int, kind: str = "numeric", group: str = "finance") -> FeatureMeta:
    return FeatureMeta(id=fid, group=group, name_zh=name, name_en=name, description=name, unit="ratio",
                       sources=("financials",), direction=direction, kind=kind)  # type: ignore[arg-type]


FEATURES = [
    _meta("rd_intensity", "R&D intensity", -1, group="rd"),
    _meta("fin_leverage", "Leverage [liabilities / assets]", 1),
    _meta("sc_late_rate_as_buyer", "Late-payment rate as buyer", 1, group="supply_chain"),
    _meta("profile_age_years", "Firm age (years)", -1, group="profile"),
    _meta("fin_tax_grade", "Tax grade (A=1 .. D=5)", 1),
    _meta("noise_a", "Registered capital (noise)", 0, group="profile"),
    _meta("profile_industry_section", "Industry section", 0, kind="categorical", group="profile"),
]
TRUE_EFFECTS = {"rd_intensity": -1, "fin_leverage": 1, "sc_late_rate_as_buyer": 1, "profile_age_years": -1,
                "fin_tax_grade": 1}


def make_loan_dataset(n: int = 4000, seed: int = 0) -> LoanDataset:
    """A LoanDataset like `build_dataset` returns: keys, label, segments, features with known risk directions."""
    rng = np.random.default_rng(seed)
    issued = pd.Timestamp("2019-01-01") + pd.to_timedelta(np.sort(rng.integers(0, 5 * 365, n)), unit="D")
    industry = rng.choice(INDUSTRIES, n)
    rd = rng.gamma(2.0, 0.03, n)
    lev = rng.beta(2, 3, n)
    late = rng.beta(1, 6, n)
    age = rng.gamma(3.0, 2.5, n)
    tax = rng.integers(1, 6, n).astype(float)
    noise = rng.lognormal(15, 1, n)
    z = (-3.6 - 30 * (rd - 0.06) + 5 * (lev - 0.4) + 8 * (late - 0.14) - 0.25 * (age - 7.5) + 0.6 * (tax - 3)
         + np.where(industry == "C", 0.4, 0.0))
    label = (rng.random(n) < 1 / (1 + np.exp(-z))).astype("int64")
    rd[rng.random(n) < 0.1] = np.nan
    frame = pd.DataFrame({
        "loan_id": pd.array([f"L{i:06d}" for i in range(n)], dtype="string"),
        "bank_id": pd.array(rng.choice(["B1", "B2", "B3"], n), dtype="string"),
        "uscc": pd.array([f"91110000MA{i:08d}" for i in range(n)], dtype="string"),
        "issued": issued,
        "label": label,
        "seg_industry": pd.array(industry, dtype="string"),
        "seg_region": pd.array(rng.choice(["11", "31", "44"], n), dtype="string"),
        "seg_lifecycle": pd.array(rng.choice(LIFECYCLE, n), dtype="string"),
        "seg_first_loan": rng.random(n) < 0.3,
        "rd_intensity": rd, "fin_leverage": lev, "sc_late_rate_as_buyer": late, "profile_age_years": age,
        "fin_tax_grade": tax, "noise_a": noise,
        "profile_industry_section": pd.Categorical(industry, categories=sorted(INDUSTRIES)),
    })
    fp = hashlib.sha256(f"synthetic-{n}-{seed}".encode()).hexdigest()
    return LoanDataset(frame=frame, features=list(FEATURES), fingerprint=fp, name="synthetic",
                       summary={"rows": n, "catalogue_version": "test-catalogue-1"})


MODEL_TOML = """
name = "test_lgbm"
seed = 7
monotone = true
[learner]
learning_rate = 0.1
num_leaves = 7
num_boost_round = 300
early_stopping_rounds = 30
refit = false
[calibration]
method = "platt"
"""

EXPERIMENT_TOML = """
name = "synthetic"
model = "models/test_lgbm.toml"
mlflow_experiment = "techscore-test-synthetic"
registered_model = "techscore_test_pd"
challenger = true
[data]
path = "world"
[split]
train_before = 2021-01-01
test_from = 2023-01-01
"""


def write_workspace(root: Path, model: str = MODEL_TOML, experiment: str = EXPERIMENT_TOML) -> Path:
    """A workspace folder with features/, models/test_lgbm.toml and experiments/synthetic.toml."""
    for d in ("features", "models", "experiments"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "models" / "test_lgbm.toml").write_text(textwrap.dedent(model), encoding="utf-8")
    (root / "experiments" / "synthetic.toml").write_text(textwrap.dedent(experiment), encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def loan_dataset() -> LoanDataset:
    return make_loan_dataset()


@pytest.fixture(scope="session")
def polish():
    from techscore.dataset.tabular import load_tabular

    if not POLISH.exists():
        pytest.skip("Polish bankruptcy data not available")
    return load_tabular(POLISH, target="bankruptcy")


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Path:
    return write_workspace(tmp_path_factory.mktemp("ws"))


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory) -> str:
    """One SQLite MLflow store for the session (creating a store runs migrations: slow, so done once)."""
    root = tmp_path_factory.mktemp("mlflow")
    return f"sqlite:///{root / 'mlflow.db'}"


@pytest.fixture(scope="session")
def trained(workspace, loan_dataset, tracking_uri, tmp_path_factory):
    """One tracked, registered training of the synthetic experiment."""
    from techscore.model.training import train

    seen = []

    def note(env):  # a user callback: sees the run id from the start, adds a file that gets logged at the end
        seen.append((env.stage, env.result.run_id))
        if env.stage == "end":
            (env.result.paths["out"] / "extra").mkdir()
            (env.result.paths["out"] / "extra" / "note.txt").write_text("added by a callback", encoding="utf-8")

    result = train(workspace / "experiments" / "synthetic.toml", dataset=loan_dataset, tracking_uri=tracking_uri,
                   out=tmp_path_factory.mktemp("out") / "synthetic", callbacks=[note])
    result.seen_by_callback = seen
    return result
