"""The point-in-time loan dataset: labels, exclusions, features as of the issue month, segments, fingerprint."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from techscore.dataset import LABEL, LoanDataset
from techscore.dataset.build import build_dataset, dataset_fingerprint, featurize, month_start
from techscore.sources.industry import section_of
from techscore.sources.load import load_sources


@pytest.fixture(scope="module")
def built(data_dir, catalogue, tmp_path_factory):
    out = tmp_path_factory.mktemp("ds")
    return build_dataset(data_dir, catalogue=catalogue, out=out)


def expected_labels(loans: pd.DataFrame, window: int, end: pd.Timestamp) -> pd.DataFrame:
    """Labels computed directly from the loans table, loan by loan."""
    rows = []
    for loan in loans.itertuples():
        stop = loan.issued + pd.DateOffset(months=window)
        if stop <= end:
            rows.append((loan.loan_id, int(pd.notna(loan.default_date) and loan.default_date < stop)))
    return pd.DataFrame(rows, columns=["loan_id", LABEL]).set_index("loan_id")


def test_labels_and_exclusions_match_the_loans_table(built, world):
    loans = world["loans"]
    end = max(loans["issued"].max(), loans["default_date"].max())
    want = expected_labels(loans, 12, end)
    got = built.frame.set_index("loan_id")[LABEL]
    assert len(built.frame) == len(want) == built.summary["rows"]
    assert got.sort_index().tolist() == want[LABEL].sort_index().tolist()
    assert built.summary["bad_rate"] == pytest.approx(want[LABEL].mean())
    assert 0 < want[LABEL].mean() < 0.5
    assert built.summary["excluded"]["window_incomplete"] == len(loans) - len(want) > 0
    assert built.summary["observation_end"] == str(end.date())
    by_year = want.join(loans.set_index("loan_id")["issued"].dt.year.rename("year")).groupby("year")[LABEL]
    for year, rate in by_year.mean().items():
        assert built.summary["bad_rate_by_year"][str(year)]["bad_rate"] == pytest.approx(rate)
    assert sum(v["loans"] for v in built.summary["bad_rate_by_bank"].values()) == len(want)


def test_observation_end_and_window_options(data_dir, catalogue, world):
    ds = build_dataset(data_dir, catalogue=catalogue, window_months=6, observation_end="2023-12-31")
    want = expected_labels(world["loans"], 6, pd.Timestamp("2023-12-31"))
    assert len(ds.frame) == len(want)
    assert ds.frame[LABEL].sum() == want[LABEL].sum()
    assert ds.summary["excluded"]["window_incomplete"] == len(world["loans"]) - len(want)


def test_columns_and_types(built, catalogue):
    f = built.frame
    assert list(f.columns[:9]) == ["loan_id", "bank_id", "uscc", "issued", LABEL, "seg_industry", "seg_region",
                                   "seg_lifecycle", "seg_first_loan"]
    assert list(f.columns[9:]) == catalogue.ids == built.feature_ids
    assert f[LABEL].dtype == "int64" and set(f[LABEL].unique()) <= {0, 1}
    assert isinstance(f["profile_lifecycle_stage"].dtype, pd.CategoricalDtype)
    assert list(f["profile_lifecycle_stage"].cat.categories) == ["seed", "start-up", "growth", "mature"]
    assert set(built.segments) == {"seg_industry", "seg_region", "seg_lifecycle", "bank_id", "seg_first_loan"}


def test_features_are_as_of_the_first_day_of_the_issue_month(built, catalogue, data_dir):
    sources = load_sources(data_dir)
    for row in built.frame.sample(8, random_state=1).itertuples():
        as_of = row.issued.to_period("M").to_timestamp()
        direct = catalogue.compute(sources, as_of, firms=[row.uscc])
        got = built.frame.loc[row.Index, catalogue.ids]
        for fid in ("rd_intensity", "fin_leverage", "profile_age_years", "profile_prior_loans"):
            assert got[fid] == pytest.approx(direct.iloc[0][fid], nan_ok=True), (row.loan_id, fid)


def test_prior_loans_never_see_the_loan_itself_or_later(built, world):
    loans = world["loans"].set_index("loan_id")
    for row in built.frame.itertuples():
        issued = loans.loc[row.loan_id, "issued"]
        start = issued.to_period("M").to_timestamp()
        earlier = ((loans["uscc"] == row.uscc) & (loans["issued"] < start)).sum()
        assert row.profile_prior_loans == earlier


def test_segments(built, world):
    ent = world["enterprises"].set_index("uscc")
    f = built.frame
    assert (f["seg_industry"] == section_of(ent["industry"]).reindex(f["uscc"]).to_numpy()).all()
    assert (f["seg_region"] == ent["region"].str[:2].reindex(f["uscc"]).to_numpy()).all()
    assert (f["seg_lifecycle"].astype("string") == f["profile_lifecycle_stage"].astype("string")).fillna(True).all()
    loans = world["loans"]
    first = loans.groupby("uscc")["issued"].min()
    assert (f["seg_first_loan"] == (f["issued"] <= first.reindex(f["uscc"]).to_numpy())).all()
    assert f["seg_first_loan"].any() and not f["seg_first_loan"].all()


def test_written_files_and_read_back(built):
    doc = json.loads((built.path / "dataset.json").read_text(encoding="utf-8"))
    assert doc["fingerprint"] == built.fingerprint and len(doc["fingerprint"]) == 64
    assert set(doc["missing_rate"]) == set(built.feature_ids)
    assert doc["missing_rate"]["profile_prior_loans"] == 0.0
    again = LoanDataset.read(built.path)
    pd.testing.assert_frame_equal(again.frame, built.frame)
    assert again.features == built.features


def test_cached_dataset_is_reused_and_rebuilt_on_change(data_dir, catalogue, tmp_path):
    calls = []
    out = tmp_path / "ds"
    first = build_dataset(data_dir, catalogue=catalogue, out=out, progress=lambda *a: calls.append(a))
    assert calls and calls[-1][0] == calls[-1][1]  # progress reached its total
    calls.clear()
    second = build_dataset(data_dir, catalogue=catalogue, out=out, progress=lambda *a: calls.append(a))
    assert calls == [] and second.fingerprint == first.fingerprint  # read from the cache
    pd.testing.assert_frame_equal(second.frame, first.frame)
    third = build_dataset(data_dir, catalogue=catalogue, out=out, window_months=6, progress=lambda *a: calls.append(a))
    assert calls and third.fingerprint != first.fingerprint


def test_fingerprint_follows_inputs_options_and_catalogue(built, data_dir, catalogue, world, tmp_path):
    def fp(folder=data_dir, cat=catalogue, **options):
        return dataset_fingerprint(folder, cat, **options)

    base = fp()
    assert base == built.fingerprint
    assert fp() == base
    copy = shutil.copytree(data_dir, tmp_path / "copy")
    assert fp(copy) == base  # content, not location
    assert len({base, fp(window_months=9), fp(groups=["rd"]), fp(observation_end="2024-06-30")}) == 4
    tax = world["tax"].copy()
    tax.loc[0, "grade"] = "D" if tax.loc[0, "grade"] != "D" else "A"
    tax.to_parquet(copy / "tax.parquet", index=False)
    assert fp(copy) != base
    assert fp(cat=catalogue.select(groups=["profile"])) != base


def test_groups_select_features_but_keep_the_lifecycle_segment(data_dir, catalogue):
    ds = build_dataset(data_dir, catalogue=catalogue, groups=["rd"])
    assert ds.feature_ids == ["rd_intensity"]
    assert "profile_lifecycle_stage" not in ds.frame.columns
    assert ds.frame["seg_lifecycle"].notna().any()


def test_featurize_matches_the_catalogue(data_dir, catalogue):
    firms = load_sources(data_dir)["enterprises"]["uscc"].tolist()[:5][::-1] + ["91110108MA9999999X"]
    got = featurize(data_dir, firms, "2024-07-01", catalogue=catalogue)
    assert list(got.index) == firms
    assert got.iloc[-1].drop("profile_prior_loans").isna().all()  # unknown firm
    want = catalogue.compute(load_sources(data_dir), "2024-07-01", firms=firms)
    pd.testing.assert_frame_equal(got, want)
    only_rd = featurize(data_dir, None, "2024-07-01", catalogue=catalogue, groups=["rd"])
    assert list(only_rd.columns) == ["rd_intensity"] and len(only_rd) > 30


def test_month_start():
    s = pd.Series(pd.to_datetime(["2024-03-01", "2024-03-31", "2024-12-15"]))
    assert month_start(s).dt.strftime("%Y-%m-%d").tolist() == ["2024-03-01", "2024-03-01", "2024-12-01"]
    assert np.all(month_start(s) <= s)


def test_featurize_keeps_the_order_of_ids(data_dir, catalogue):
    ids = ["profile_prior_loans", "rd_intensity"]
    got = featurize(data_dir, None, "2024-07-01", catalogue=catalogue, ids=ids)
    assert list(got.columns) == ids
    both = featurize(data_dir, None, "2024-07-01", catalogue=catalogue, ids=ids, groups=["finance"])
    assert list(both.columns) == [*ids, "fin_leverage"]


BANK_MODULE = '''
from techscore.catalogue import feature, feature_group

BANK = feature_group("bank", name_zh="银行自有", name_en="Bank-held", order=90)


@feature(group="bank", name_zh="本行既往贷款笔数", name_en="Prior loans at this bank", unit="count", direction=0,
         sources=("loans",), description="The lending bank's loans to the firm issued before the as-of date.")
def bank_prior_loans(loans, firms, bank):
    return loans[loans["bank_id"] == bank].groupby("uscc").size().reindex(firms, fill_value=0).astype(float)
'''


def test_bank_features_are_each_loans_banks_and_only_when_asked_for(data_dir, ws, world, tmp_path):
    from techscore.catalogue import load_catalogue

    root = tmp_path / "ws"
    shutil.copytree(ws / "features", root / "features")
    (root / "features" / "bank.py").write_text(BANK_MODULE, encoding="utf-8")
    catalogue = load_catalogue(root)
    platform = build_dataset(data_dir, catalogue=catalogue)
    assert "bank_prior_loans" not in platform.frame.columns and "bank_prior_loans" not in platform.feature_ids
    both = build_dataset(data_dir, catalogue=catalogue, groups=["profile", "bank"])
    assert both.feature_ids[-1] == "bank_prior_loans" and both.features[-1].group == "bank"
    loans = world["loans"]
    for row in both.frame.itertuples():  # the loan's own bank's loans to the firm before its issue month
        start = row.issued.to_period("M").to_timestamp()
        mine = loans[(loans["bank_id"] == row.bank_id) & (loans["uscc"] == row.uscc) & (loans["issued"] < start)]
        assert row.bank_prior_loans == len(mine), row.loan_id
    assert both.frame["bank_prior_loans"].sum() < both.frame["profile_prior_loans"].sum()  # other banks' stay out
    np.testing.assert_array_equal(both.frame["profile_prior_loans"], platform.frame["profile_prior_loans"])
