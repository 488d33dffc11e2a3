"""Session fixtures: a realistic small loan dataset, a monotone LightGBM model and its SHAP explanation."""

from __future__ import annotations

import pytest

from tests.explain._world import make_dataset, train_booster


@pytest.fixture(scope="session")
def world():
    return make_dataset(n=3000, seed=0)


@pytest.fixture(scope="session")
def booster(world):
    return train_booster(world, rounds=120, seed=0)


@pytest.fixture(scope="session")
def train_test(world):
    n = len(world.frame)
    cut = int(n * 0.7)  # out of time: the frame is sorted by issue date
    return world.frame.iloc[:cut], world.frame.iloc[cut:]


@pytest.fixture(scope="session")
def explanation(world, booster, train_test):
    from techscore.explain import explain

    return explain(booster, train_test[1], features=world.features, engine="lightgbm")


@pytest.fixture(scope="session")
def cjk_font():
    """A CJK-capable font for matplotlib (installed from the system packages when absent)."""
    from tests.reports._system import cjk_font_or_reason

    family, reason = cjk_font_or_reason()
    if family is None:
        print(f"no CJK font, skipping: {reason}")
        pytest.skip(f"no CJK font could be installed: {reason}")
    return family
