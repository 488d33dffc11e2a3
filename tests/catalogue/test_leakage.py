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
from tests.catalogue.leakage import MUTATIONS, OPTIONAL_COLUMNS, blank, mutate_without

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


CHANGE_DATES = frozenset({"ip_rights.status_date", "ip_rights.pledged_date"})
VARIANTS = {
    "every column": st.just(frozenset()),
    "no optional column": st.just(frozenset(OPTIONAL_COLUMNS)),
    "no change dates": st.just(CHANGE_DATES),
    "some optional columns": st.frozensets(st.sampled_from(OPTIONAL_COLUMNS), min_size=1),
}
"""Which optional columns the data lack."""


@pytest.mark.parametrize("variant", list(VARIANTS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), mutation=st.sampled_from(MUTATIONS), d=st.sampled_from(DATES), seed=st.integers(0, 2**32 - 1))
def test_no_feature_sees_records_known_on_or_after_d(catalogue, world, baseline, variant, data, mutation, d, seed):
    """With and without every optional column: data lacking a change's date (a lapse without status_date, a pledge
    without pledged_date) must not let the change reach a feature before it could have been known."""
    absent = data.draw(VARIANTS[variant], label="absent")
    tables = blank(world, absent)
    changed = mutate_without(mutation, tables, absent, d, np.random.default_rng(seed), PIT)
    if changed is None:
        return
    before = baseline[d] if not absent else catalogue.compute(tables, d, point_in_time=PIT)
    after = catalogue.compute(changed, d, point_in_time=PIT)
    pd.testing.assert_frame_equal(after, before, check_exact=True,
                                  obj=f"{mutation.__name__} as of {d.date()} without {sorted(absent)}")


@pytest.mark.parametrize("column", ["ip_rights.status_date", "ip_rights.pledged_date", "ip_rights.granted"])
def test_undated_ip_changes_reach_no_feature_before_the_snapshot(catalogue, world, column):
    """Every lapse, transfer, pledge (or grant) of the world made undated: the features as of a date before the
    snapshot are those of a world where it never happened; from the snapshot on they are known."""
    d = DATES[1]
    tables = blank(world, [column])
    ip = tables["ip_rights"]
    if column == "ip_rights.pledged_date":
        never = ip.assign(pledged=ip["pledged"].mask(ip["pledged"].notna(), False))
    elif column == "ip_rights.status_date":
        granted = ip["granted"].notna()
        never = ip.assign(status=ip["status"].mask(~ip["status"].isin(["pending", "granted"]),
                                                    granted.map({True: "granted", False: "pending"})))
    else:
        never = ip.assign(status=ip["status"].mask(ip["status"] == "granted", "pending"))  # granted, undated
    got = catalogue.compute(tables, d, point_in_time=PIT)
    want = catalogue.compute({**tables, "ip_rights": never}, d, point_in_time=PIT)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    late = PointInTime(snapshot=str((d - pd.Timedelta(days=1)).date()))  # extracted before d: known at d
    if column != "ip_rights.granted":
        assert not catalogue.compute(tables, d, point_in_time=late).equals(got)


def test_features_do_not_depend_on_row_order(catalogue, world, baseline):
    from techscore.sources.asof import sort_by_known

    d = DATES[1]
    shuffled = {k: v.sample(frac=1.0, random_state=5) for k, v in world.items()}
    for tables in (shuffled, sort_by_known(shuffled)):
        got = catalogue.compute(tables, d, firms=baseline[d].index, point_in_time=PIT)
        pd.testing.assert_frame_equal(got, baseline[d], check_exact=False, rtol=1e-9)
