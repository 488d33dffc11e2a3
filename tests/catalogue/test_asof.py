"""Point-in-time views: each table cut to what was known strictly before the as-of date."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from techscore.sources.asof import as_tables, known_as_of, last_known_year
from techscore.sources.schema import PointInTime
from tests.catalogue.leakage import MUTATIONS

D = pd.Timestamp("2022-03-01")
DATES = tuple(pd.Timestamp(x) for x in ("2020-01-01", "2021-06-01", "2022-03-01", "2023-06-15", "2024-11-30"))


def ts(x: str) -> pd.Timestamp:
    return pd.Timestamp(x)


@pytest.mark.parametrize(("as_of", "known", "year"), [
    ("2023-06-01", (5, 31), 2022), ("2023-05-31", (5, 31), 2021), ("2023-04-30", (4, 30), 2021),
    ("2023-05-01", (4, 30), 2022), ("2024-03-01", (2, 29), 2023), ("2024-02-29", (2, 29), 2022),
    ("2023-03-01", (2, 29), 2022),  # 29 February in a common year: the 28th
])
def test_last_known_year(as_of, known, year):
    assert last_known_year(ts(as_of), known) == year


def test_yearly_tables_follow_their_reporting_dates():
    fin = pd.DataFrame({"uscc": ["A"] * 3, "year": pd.array([2020, 2021, 2022], dtype="Int64")})
    tax = fin.assign(grade=["A", "B", "C"])
    v = known_as_of({"financials": fin, "tax": tax, "innovation_indicators": fin}, "2023-05-15")
    assert v["financials"]["year"].tolist() == [2020, 2021]  # FY2022 reported 31 May 2023
    assert v["innovation_indicators"]["year"].tolist() == [2020, 2021]
    assert v["tax"]["year"].tolist() == [2020, 2021, 2022]  # grades of 2022 published 30 April 2023
    late = known_as_of({"tax": tax}, "2023-05-15", PointInTime(tax_known=(6, 30)))
    assert late["tax"]["year"].tolist() == [2020, 2021]


def test_enterprises_drop_later_firms_and_certifications():
    ent = pd.DataFrame({"uscc": ["A", "B", "C"], "founded": [ts("2010-01-01"), ts("2022-02-28"), ts("2022-03-01")],
                        "high_tech": [ts("2022-03-01"), ts("2021-01-01"), pd.NaT]})
    v = known_as_of({"enterprises": ent}, D)["enterprises"]
    assert v["uscc"].tolist() == ["A", "B"]
    assert v["high_tech"].isna().tolist() == [True, False]
    assert ent["high_tech"].notna().sum() == 2  # the input is untouched


def test_ip_rights_status_as_known():
    ip = pd.DataFrame({
        "uscc": ["A"] * 7, "ip_id": list("1234567"),
        "filed": [ts("2019-01-01")] * 6 + [D],
        "granted": [ts("2021-01-01"), ts("2022-05-01"), ts("2021-01-01"), ts("2022-05-01"), pd.NaT, ts("2020-01-01"),
                    pd.NaT],
        "status": ["granted", "granted", "lapsed", "lapsed", "invalid", "transferred_out", "pending"],
        "status_date": [pd.NaT, pd.NaT, ts("2022-04-01"), pd.NaT, ts("2022-04-01"), ts("2021-01-01"), pd.NaT],
        "expires": [ts("2039-01-01")] * 7,
        "pledged": [True, False, True, False, False, False, False],
        "pledged_date": [ts("2022-06-01"), pd.NaT, ts("2021-06-01"), pd.NaT, pd.NaT, pd.NaT, pd.NaT],
    })
    v = known_as_of({"ip_rights": ip}, D)["ip_rights"]
    assert v["ip_id"].tolist() == list("123456")  # filed on D is not known before D
    assert v["status"].tolist() == ["granted", "pending", "granted", "pending", "pending", "transferred_out"]
    assert v["granted"].isna().tolist() == [False, True, False, True, True, False]
    assert v["status_date"].notna().tolist() == [False, False, False, False, False, True]
    assert v["pledged"].tolist() == [False, False, True, False, False, False]
    assert v["pledged_date"].notna().tolist() == [False, False, True, False, False, False]
    assert (v["expires"] == ts("2039-01-01")).all()


def test_ip_status_keeps_a_categorical_dtype():
    ip = pd.DataFrame({"uscc": ["A"], "ip_id": ["1"], "filed": [ts("2019-01-01")], "granted": [ts("2023-01-01")],
                       "status": pd.Categorical(["granted"]), "status_date": [pd.NaT]})
    status = known_as_of({"ip_rights": ip}, D)["ip_rights"]["status"]
    assert isinstance(status.dtype, pd.CategoricalDtype) and status.tolist() == ["pending"]


def test_trades_and_loans():
    sc = pd.DataFrame({"seller_uscc": ["A", "A", "B"], "buyer_uscc": ["B", "B", "A"],
                       "date": [ts("2021-01-01"), ts("2022-02-01"), D], "amount": [1.0, 2.0, 3.0],
                       "paid_date": [ts("2021-02-01"), D, ts("2022-04-01")]})
    loans = pd.DataFrame({"loan_id": ["1", "2", "3"], "uscc": ["A", "A", "B"],
                          "issued": [ts("2020-01-01"), ts("2021-06-01"), D],
                          "default_date": [ts("2021-01-01"), ts("2022-03-01"), pd.NaT]})
    v = known_as_of({"supply_chain": sc, "loans": loans}, D)
    assert v["supply_chain"]["amount"].tolist() == [1.0, 2.0]
    assert v["supply_chain"]["paid_date"].isna().tolist() == [False, True]
    assert v["loans"]["loan_id"].tolist() == ["1", "2"]
    assert v["loans"]["default_date"].isna().tolist() == [False, True]


def test_nothing_to_hide_returns_the_same_frame(world):
    v = known_as_of(world, "2030-01-01")
    assert v["supply_chain"] is world["supply_chain"]
    assert v["financials"] is world["financials"]


def test_missing_tables_are_empty_with_contract_columns_and_text_dates_are_parsed():
    t = as_tables({"loans": pd.DataFrame({"loan_id": ["1"], "uscc": ["A"], "issued": ["2021-01-05"],
                                          "default_date": [None]})})
    assert t["ip_rights"].empty and {"filed", "granted", "status"} <= set(t["ip_rights"].columns)
    assert pd.api.types.is_datetime64_any_dtype(t["loans"]["issued"])
    assert known_as_of(t, "2021-01-06")["loans"]["loan_id"].tolist() == ["1"]


def _same_views(a: dict, b: dict) -> None:
    for name in a:
        pd.testing.assert_frame_equal(a[name].reset_index(drop=True), b[name].reset_index(drop=True), obj=name)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=st.sampled_from(MUTATIONS), d=st.sampled_from(DATES), seed=st.integers(0, 2**32 - 1))
def test_records_known_only_on_or_after_d_never_change_the_views(world, mutation, d, seed):
    pit = PointInTime()
    changed = mutation(world, d, np.random.default_rng(seed), pit)
    if changed is None:
        return
    assert any(not changed[k].equals(world[k]) for k in world)  # the mutation did change the raw data
    _same_views(known_as_of(world, d, pit), known_as_of(changed, d, pit))


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns[:2]), kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("d", DATES)
def test_sorted_tables_give_the_same_views_as_prefixes(world, d):
    from techscore.sources.asof import sort_by_known

    shuffled = {k: v.sample(frac=1.0, random_state=3) for k, v in world.items()}
    ordered = sort_by_known(shuffled)
    assert ordered["tax"]["year"].is_monotonic_increasing
    a, b = known_as_of(shuffled, d), known_as_of(ordered, d)
    for name in a:
        pd.testing.assert_frame_equal(_canonical(a[name]), _canonical(b[name]), obj=name)
    cut = b["supply_chain"]
    assert np.shares_memory(cut["amount"].to_numpy(), ordered["supply_chain"]["amount"].to_numpy())  # a view


@pytest.mark.parametrize("dates", ["empty", "absent"])
def test_ip_changes_without_a_date_are_known_only_from_the_snapshot(dates):
    """A lapse, transfer or pledge whose date the data lack could have happened the day before the extraction:
    before the snapshot the right is as it was at grant; from the snapshot on the change is known."""
    ip = pd.DataFrame({
        "uscc": ["A"] * 5, "ip_id": list("12345"), "filed": [ts("2015-01-01")] * 5,
        "granted": [ts("2017-01-01"), ts("2017-01-01"), pd.NaT, pd.NaT, ts("2017-01-01")],
        "status": ["lapsed", "transferred_out", "invalid", "granted", "granted"],
        "status_date": [pd.NaT] * 5,
        "pledged": [False, False, False, False, True], "pledged_date": [pd.NaT] * 5,
    })
    if dates == "absent":
        ip = ip.drop(columns=["status_date", "pledged_date"])
    v = known_as_of({"ip_rights": ip}, D)["ip_rights"]
    assert v["status"].tolist() == ["granted", "granted", "pending", "pending", "granted"]
    assert v["granted"].notna().tolist() == [True, True, False, False, True]
    assert v["pledged"].tolist() == [False] * 5
    after = known_as_of({"ip_rights": ip}, D, PointInTime(snapshot="2022-02-28"))["ip_rights"]
    pd.testing.assert_frame_equal(after, ip)  # extracted before D: every change is known at D
    on_d = known_as_of({"ip_rights": ip}, D, PointInTime(snapshot=str(D.date())))["ip_rights"]
    assert on_d["status"].tolist() == v["status"].tolist()  # known from the snapshot on, not before
