"""Splits: out of time by date, stratified folds, with clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from techscore.exceptions import ModelError
from techscore.model.split import cv_folds, full_fold, make_folds, out_of_time
from techscore.specs import SplitSpec


def test_out_of_time_partitions_by_date(loan_dataset):
    frame, y = loan_dataset.frame, loan_dataset.y.to_numpy()
    fold = out_of_time(frame["issued"], y, "2022-01-01", "2023-01-01")
    issued = frame["issued"].to_numpy()
    assert (issued[fold.train] < np.datetime64("2022-01-01")).all()
    assert ((issued[fold.valid] >= np.datetime64("2022-01-01")) & (issued[fold.valid] < np.datetime64("2023-01-01"))).all()
    assert (issued[fold.test] >= np.datetime64("2023-01-01")).all()
    assert len(fold.train) + len(fold.valid) + len(fold.test) == len(frame)
    assert fold.period["test"].startswith("2023-")


def test_out_of_time_empty_part_is_an_error(loan_dataset):
    frame, y = loan_dataset.frame, loan_dataset.y.to_numpy()
    with pytest.raises(ModelError, match="the test part is empty"):
        out_of_time(frame["issued"], y, "2022-01-01", "2030-01-01")


@pytest.mark.parametrize("inner", [0, 3])
def test_cv_folds_stratified_and_disjoint(inner):
    y = np.r_[np.ones(50), np.zeros(450)].astype(int)
    folds = cv_folds(y, 5, seed=0, valid_fraction=0.2, inner_folds=inner)
    tests = np.concatenate([f.test for f in folds])
    assert sorted(tests.tolist()) == list(range(500))
    for f in folds:
        assert y[f.test].sum() == 10
        assert not set(f.test) & set(f.train) and not set(f.valid) & set(f.train)
        assert (len(f.valid) == 0) == bool(inner) and f.inner_folds == inner
    assert [f.test.tolist() for f in folds] == [f.test.tolist() for f in cv_folds(y, 5, seed=0)]


def test_cv_needs_enough_defaults():
    with pytest.raises(ModelError, match="cv = 5 needs at least 5 defaults"):
        cv_folds(np.r_[np.ones(3), np.zeros(100)].astype(int), 5)


def test_make_folds_and_full_fold(loan_dataset):
    y = loan_dataset.y.to_numpy()
    spec = SplitSpec(train_before="2022-01-01", test_from="2023-01-01")
    assert [f.name for f in make_folds(loan_dataset.frame, y, spec)] == ["oot"]
    with pytest.raises(ModelError, match="no date column 'when'"):
        make_folds(loan_dataset.frame, y, SplitSpec(train_before="2022-01-01", test_from="2023-01-01", date_column="when"))
    full = full_fold(y, valid_fraction=0.25)
    assert len(full.test) == 0 and len(full.train) + len(full.valid) == len(y)
    assert y[full.valid].mean() == pytest.approx(y.mean(), abs=0.01)
    assert pd.Index(full.train).is_monotonic_increasing


def test_repeated_cv_adds_partitions_and_keeps_the_first():
    y = (np.random.default_rng(4).random(900) < 0.1).astype(int)
    once = cv_folds(y, 5, seed=3, inner_folds=5)
    thrice = cv_folds(y, 5, seed=3, inner_folds=5, repeats=3)
    assert [f.name for f in thrice] == [*(f"fold{i}" for i in range(1, 6)), *(f"r2fold{i}" for i in range(1, 6)),
                                        *(f"r3fold{i}" for i in range(1, 6))]
    assert [f.repeat for f in thrice] == [1] * 5 + [2] * 5 + [3] * 5
    for a, b in zip(once, thrice[:5], strict=True):  # the first partition is the one without repeats
        assert np.array_equal(a.test, b.test) and np.array_equal(a.train, b.train)
    for r in (1, 2, 3):  # each partition tests every row exactly once
        tests = np.concatenate([f.test for f in thrice if f.repeat == r])
        assert np.array_equal(np.sort(tests), np.arange(len(y)))
    assert not np.array_equal(thrice[0].test, thrice[5].test)  # another shuffle
    spec = SplitSpec(cv=5, repeats=3, seed=3)
    assert [f.name for f in make_folds(pd.DataFrame(index=range(len(y))), y, spec)] == [f.name for f in thrice]
    with pytest.raises(ValueError, match="repeats applies to cv"):
        SplitSpec(train_before="2022-01-01", test_from="2023-01-01", repeats=2)


# --- embargo: no training outcome runs into the test period ---------------------------------------------------
def test_embargo_leaves_out_loans_whose_outcome_window_runs_into_the_test_period(loan_dataset):
    frame, y = loan_dataset.frame, loan_dataset.y.to_numpy()
    issued = frame["issued"].to_numpy()
    fold = out_of_time(frame["issued"], y, "2021-01-01", "2023-01-01", embargo_months=12)
    fitting = np.concatenate([fold.train, fold.valid])
    # every training and validation loan's 12-month outcome window closes before the test period opens
    outcome_end = (frame["issued"].iloc[fitting] + pd.DateOffset(months=12)).to_numpy()
    assert (outcome_end <= np.datetime64("2023-01-01")).all()
    gap = (issued >= np.datetime64("2022-01-01")) & (issued < np.datetime64("2023-01-01"))
    assert gap.sum() > 500 and np.array_equal(fold.embargo, np.flatnonzero(gap))  # left out, and kept for counting
    assert len(fold.train) + len(fold.valid) + len(fold.embargo) + len(fold.test) == len(frame)
    assert fold.period["embargo"] == "2022-01-01 .. 2022-12-31 (12 months)"
    assert fold.period["valid"].startswith("2021-") and fold.period["valid"].split(" .. ")[1].startswith("2021-")
    sizes = fold.sizes(y)
    assert sizes["embargo"]["rows"] == gap.sum() and sizes["embargo"]["bad"] == int(y[gap].sum())


def test_embargo_that_swallows_validation_is_a_clear_error(loan_dataset):
    frame, y = loan_dataset.frame, loan_dataset.y.to_numpy()
    with pytest.raises(ModelError, match="embargo 12 months from 2022-01-01.*leaves no validation rows"):
        out_of_time(frame["issued"], y, "2022-01-01", "2023-01-01", embargo_months=12)


def test_experiment_embargo_defaults_to_the_label_window(tmp_path, loan_dataset):
    from techscore.exceptions import SpecError
    from techscore.specs import load_experiment

    oot = "train_before = 2021-01-01\ntest_from = 2023-01-01"

    def experiment(extra_data: str = "", extra_split: str = "", split: str = oot) -> Path:
        path = tmp_path / "experiments" / "e.toml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f'name = "e"\n[data]\npath = "world"\n{extra_data}\n[split]\n{split}\n{extra_split}\n',
                        encoding="utf-8")
        return path

    spec = load_experiment(experiment("window_months = 6"), workspace=tmp_path, check_model=False)
    assert spec.split.embargo_months == 6
    fold = make_folds(loan_dataset.frame, loan_dataset.y.to_numpy(), spec.split)[0]
    issued = loan_dataset.frame["issued"].iloc[np.concatenate([fold.train, fold.valid])]
    assert issued.max() < pd.Timestamp("2022-07-01") and len(fold.embargo) > 0
    spec = load_experiment(experiment(extra_split="embargo_months = 0"), workspace=tmp_path, check_model=False)
    assert spec.split.embargo_months == 0
    assert len(make_folds(loan_dataset.frame, loan_dataset.y.to_numpy(), spec.split)[0].embargo) == 0
    with pytest.raises(SpecError, match="embargo_months applies to out-of-time splits only"):
        load_experiment(experiment(split="cv = 5", extra_split="embargo_months = 3"), workspace=tmp_path,
                        check_model=False)
