"""The leakage guard on a realistic generated loan table (the columns a public loan-book export carries, leaky ones
included), on the real Polish data and in the training pipeline (run record, report table, strict stop)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from techscore.dataset.tabular import load_tabular
from techscore.exceptions import LeakageError
from techscore.model.leakage import check_findings, feature_auc, leakage_findings

LEAKY = {
    "mths_to_charge_off": "single_feature_auc",    # months from issue to charge-off, else months paid
    "recoveries": "outcome_only",                  # recovered after a charge-off, 0 otherwise
    "collection_recovery_fee": "outcome_only",
    "last_pymnt_d": "date_after_issue",            # last payment received: after the issue date by nature
    "member_id": "identifier",
    "debt_settlement_flag": "outcome_name",
    "五级分类": "outcome_value",                    # the loan's five-category classification today
}
LEGIT = ("loan_amnt", "term", "int_rate", "grade", "emp_length", "home_ownership", "annual_inc", "dti",
         "revol_util", "delinq_2yrs", "earliest_cr_line", "purpose")


def loan_table(n: int = 6000, seed: int = 3) -> pd.DataFrame:
    """A loan-book export like the public ones: application columns known at issue, and columns written after the
    outcome (payment history, recoveries, status), one row per loan, `bad` = charged off."""
    rng = np.random.default_rng(seed)
    issued = pd.Timestamp("2016-01-01") + pd.to_timedelta(rng.integers(0, 4 * 365, n), unit="D")
    grade_idx = rng.choice(7, n, p=[0.17, 0.29, 0.27, 0.15, 0.08, 0.03, 0.01])
    grade = np.array(list("ABCDEFG"))[grade_idx]
    term = rng.choice([36, 60], n, p=[0.75, 0.25])
    annual_inc = np.round(rng.lognormal(11.1, 0.5, n), -2)
    dti = np.clip(rng.gamma(4, 4.5, n), 0, 60)
    revol_util = np.clip(rng.normal(52, 24, n), 0, 150)
    delinq = rng.poisson(0.3, n)
    z = -3.4 + 0.45 * grade_idx + 0.5 * (term == 60) + 0.02 * (dti - 18) + 0.006 * (revol_util - 50) \
        - 0.3 * (np.log(annual_inc) - 11.1) + 0.1 * delinq
    bad = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    months_paid = np.where(bad == 1, np.clip(rng.gamma(2.5, 4.0, n), 1, term), 0)
    paid_off = np.where(rng.random(n) < 0.25, rng.integers(9, 60, n), term).clip(max=term)
    # the real column: months until the loan closed; charged-off loans close early, paid ones at term or prepaid
    mths_to_charge_off = np.where(bad == 1, np.round(months_paid), paid_off).astype(float)
    recoveries = np.where((bad == 1) & (rng.random(n) < 0.7), np.round(rng.gamma(2, 600, n), 2), 0.0)
    fee = np.round(recoveries * 0.18, 2)
    last = issued + pd.to_timedelta(np.round(np.where(bad == 1, months_paid, paid_off) * 30.4), unit="D")
    earliest = issued - pd.to_timedelta(rng.integers(3 * 365, 30 * 365, n), unit="D")
    return pd.DataFrame({
        "member_id": rng.permutation(np.arange(1_000_000, 1_000_000 + n)),
        "issue_d": issued.strftime("%Y-%m-%d"),
        "loan_amnt": np.round(rng.lognormal(9.4, 0.6, n), -2),
        "term": np.where(term == 36, " 36 months", " 60 months"),
        "int_rate": np.round(6 + 3.2 * grade_idx + rng.normal(0, 1.2, n), 2),
        "grade": grade,
        "emp_length": rng.choice(["< 1 year", "2 years", "5 years", "10+ years"], n),
        "home_ownership": rng.choice(["RENT", "MORTGAGE", "OWN"], n, p=[0.4, 0.5, 0.1]),
        "annual_inc": annual_inc, "dti": np.round(dti, 2), "revol_util": np.round(revol_util, 1),
        "delinq_2yrs": delinq.astype(float),
        "earliest_cr_line": earliest.strftime("%b-%Y"),
        "purpose": rng.choice(["debt_consolidation", "credit_card", "home_improvement", "other"], n),
        "mths_to_charge_off": mths_to_charge_off,
        "recoveries": recoveries, "collection_recovery_fee": fee,
        "last_pymnt_d": last.strftime("%b-%Y"),
        "debt_settlement_flag": np.where((bad == 1) & (rng.random(n) < 0.2), "Y", "N"),
        "五级分类": np.where(bad == 1, rng.choice(["次级", "可疑", "损失"], n), rng.choice(["正常", "关注"], n, p=[0.95, 0.05])),
        "bad": bad,
    })


@pytest.fixture(scope="module")
def loan_book(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("loan-book") / "loans.csv"
    loan_table().to_csv(path, index=False)
    return path


def _findings(path: Path, **kw) -> pd.DataFrame:
    ds = load_tabular(path, target="bad", date_column="issue_d")
    return leakage_findings(ds.X, ds.y, ds.features, issued=ds.frame["issue_d"], **kw)


def test_months_to_charge_off_alone_separates_like_on_the_real_table(loan_book):
    table = pd.read_csv(loan_book)
    auc = feature_auc(table["mths_to_charge_off"], table["bad"].to_numpy())
    assert 0.95 <= auc <= 0.995  # the real column gives 0.975: strong, not a perfect copy of the label
    assert feature_auc(table["int_rate"], table["bad"].to_numpy()) < 0.75


def test_guard_flags_each_leaky_column_and_no_application_column(loan_book):
    found = _findings(loan_book)
    checks = found.groupby("name")["check"].agg(set)
    for column, check in LEAKY.items():
        assert column in checks.index, (column, dict(checks))
        assert check in checks[column], (column, checks[column])
    assert not set(checks.index) & set(LEGIT), found[found["name"].isin(LEGIT)]
    # what a reviewer reads: the value behind each finding
    auc = found[(found["name"] == "mths_to_charge_off") & (found["check"] == "single_feature_auc")]["value"].item()
    assert 0.95 <= auc <= 0.995
    after = found[(found["name"] == "last_pymnt_d") & (found["check"] == "date_after_issue")]["value"].item()
    assert after > 0.9
    assert "debt settlement" in found.loc[found["name"] == "debt_settlement_flag", "detail"].item()


def test_threshold_and_allow_list(loan_book):
    strict_free = _findings(loan_book, auc_threshold=0.999, allow=["member_id", "recoveries"])
    assert "single_feature_auc" not in set(strict_free.loc[strict_free["name"] == "mths_to_charge_off", "check"])
    allowed = strict_free.groupby("name")["allowed"].all()
    assert allowed["member_id"] and allowed["recoveries"] and not allowed["last_pymnt_d"]


def test_strict_stops_naming_the_columns(loan_book):
    found = _findings(loan_book)
    check_findings(found, strict=False)  # listing only
    with pytest.raises(LeakageError, match=r"7 column\(s\).*'mths_to_charge_off' \([a-z_, ]*single_feature_auc") as err:
        check_findings(found, strict=True)
    assert "member_id" in str(err.value) and "五级分类" in str(err.value)
    check_findings(found.assign(allowed=True), strict=True)  # everything reviewed: training goes on


def test_legitimate_polish_ratios_are_not_flagged(polish):
    found = leakage_findings(polish.X, polish.y, polish.features)
    assert found.empty, found


def test_training_records_the_findings_and_strict_stops(loan_book, tmp_path, tracking_uri):
    from mlflow import MlflowClient

    from techscore.model import train
    from tests.model.conftest import MODEL_TOML, write_workspace

    experiment = f"""
name = "loan_book"
model = "models/test_lgbm.toml"
mlflow_experiment = "techscore-test-leakage"
registered_model = ""
challenger = false
[data]
tabular = "{loan_book.as_posix()}"
target = "bad"
date_column = "issue_d"
[split]
train_before = 2018-01-01
test_from = 2019-06-01
embargo_months = 6
date_column = "issue_d"
"""
    ws = write_workspace(tmp_path / "ws", MODEL_TOML, experiment)
    result = train(ws / "experiments" / "synthetic.toml", tracking_uri=tracking_uri, out=tmp_path / "out")
    table = result.tables["leakage"]
    assert set(LEAKY) <= set(table["name"])
    assert (tmp_path / "out" / "tables" / "leakage.csv").is_file()
    assert result.metrics["leakage_flagged_columns"] == len(LEAKY)
    client = MlflowClient(tracking_uri=tracking_uri)
    run = client.get_run(result.run_id)
    assert run.data.metrics["leakage_flagged_columns"] == len(LEAKY)
    assert "mths_to_charge_off (outcome_name+single_feature_auc)" in run.data.tags["techscore.leakage"]
    assert "tables/leakage.csv" in {a.path for a in client.list_artifacts(result.run_id, "tables")}

    strict = experiment + "[leakage]\nstrict = true\n"
    ws = write_workspace(tmp_path / "ws2", MODEL_TOML, strict)
    with pytest.raises(LeakageError, match="'mths_to_charge_off'.*'recoveries'|'recoveries'.*'mths_to_charge_off'"):
        train(ws / "experiments" / "synthetic.toml", tracking_uri=tracking_uri, out=tmp_path / "out2")
    failed = client.search_runs([run.info.experiment_id], order_by=["attributes.start_time DESC"], max_results=1)[0]
    assert failed.info.status == "FAILED" and "LeakageError" in failed.data.tags["techscore.error"]
    assert "tables/leakage.csv" in {a.path for a in client.list_artifacts(failed.info.run_id, "tables")}
