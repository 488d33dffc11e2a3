"""No leakage: a record known only on or after D never changes any feature of the full catalogue as of D."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from techscore.catalogue import load_catalogue
from techscore.sources.schema import PointInTime
from tests.catalogue.leakage import MUTATIONS

ROOT = Path(__file__).resolve().parents[2]
DATES = tuple(pd.Timestamp(x) for x in ("2021-06-01", "2023-03-01", "2024-11-30"))
PIT = PointInTime()


@pytest.fixture(scope="module")
def catalogue():
    cat = load_catalogue(ROOT)
    assert len(cat) >= 60, f"the repository's catalogue has {len(cat)} features; FEATURES.md lists at least 60"
    return cat


@pytest.fixture(scope="module")
def baseline(catalogue, world):
    return {d: catalogue.compute(world, d, point_in_time=PIT) for d in DATES}


def test_full_catalogue_computes_every_feature(catalogue, baseline):
    for d, frame in baseline.items():
        assert list(frame.columns) == catalogue.ids
        assert len(frame) > 0, d
    assert not baseline[DATES[-1]].isna().all().any(), "a feature is missing for every firm of the world"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=st.sampled_from(MUTATIONS), d=st.sampled_from(DATES), seed=st.integers(0, 2**32 - 1))
def test_no_feature_sees_records_known_on_or_after_d(catalogue, world, baseline, mutation, d, seed):
    changed = mutation(world, d, np.random.default_rng(seed), PIT)
    if changed is None:
        return
    after = catalogue.compute(changed, d, point_in_time=PIT)
    pd.testing.assert_frame_equal(after, baseline[d], check_exact=True, obj=f"{mutation.__name__} as of {d.date()}")


def test_features_do_not_depend_on_row_order(catalogue, world, baseline):
    from techscore.sources.asof import sort_by_known

    d = DATES[1]
    shuffled = {k: v.sample(frac=1.0, random_state=5) for k, v in world.items()}
    for tables in (shuffled, sort_by_known(shuffled)):
        got = catalogue.compute(tables, d, firms=baseline[d].index, point_in_time=PIT)
        pd.testing.assert_frame_equal(got, baseline[d], check_exact=False, rtol=1e-9)
