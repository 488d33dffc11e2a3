"""Applications, the approval rule and the rejected applicants' outcomes in the synthetic world."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from techscore.synth import generate
from techscore.synth.applications import (
    APPLICATION_TRUTH_FILE,
    APPLICATIONS_FILE,
    TRUE_BAD,
    ApprovalRule,
    approval_score,
)
from techscore.synth.truth import LOAN_TRUTH_FILE, TRUE_PD

N_FIRMS, SEED = 3_000, 11
pytestmark = pytest.mark.xdist_group("synth_applications")


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("applications")
    generate(N_FIRMS, SEED, root / "plain")
    generate(N_FIRMS, SEED, root / "mar", applications=True)
    generate(N_FIRMS, SEED, root / "mnar", applications=ApprovalRule(soft_info=1.0))
    return {k: root / k for k in ("plain", "mar", "mnar")}


def _applications(world: Path) -> pd.DataFrame:
    a = pd.read_parquet(world / APPLICATIONS_FILE)
    return a.merge(pd.read_parquet(world / APPLICATION_TRUTH_FILE), on="application_id", validate="one_to_one")


def test_the_world_without_applications_is_unchanged_and_its_loans_are_the_applications(worlds):
    assert not (worlds["plain"] / APPLICATIONS_FILE).exists()
    plain = pd.read_parquet(worlds["plain"] / "loans.parquet")
    apps = pd.read_parquet(worlds["mar"] / APPLICATIONS_FILE)
    cols = ["bank_id", "uscc", "amount", "term_months", "product"]
    pd.testing.assert_frame_equal(apps[cols], plain[cols])  # every drawn loan is an application
    assert (apps["applied"] == plain["issued"]).all()
    for other in ("enterprises", "financials", "tax"):  # the rest of the world is the same
        pd.testing.assert_frame_equal(pd.read_parquet(worlds["mar"] / f"{other}.parquet"),
                                      pd.read_parquet(worlds["plain"] / f"{other}.parquet"))


def test_only_approved_applications_become_loans(worlds):
    apps = _applications(worlds["mar"])
    loans = pd.read_parquet(worlds["mar"] / "loans.parquet")
    ok = apps[apps["approved"]]
    assert len(loans) == len(ok) and apps.loc[~apps["approved"], "loan_id"].isna().all()
    merged = ok.merge(loans, on="loan_id", validate="one_to_one")
    assert (merged["uscc_x"] == merged["uscc_y"]).all() and (merged["applied"] == merged["issued"]).all()
    assert 0.6 < apps["approved"].mean() < 0.8  # approval_rate 0.7 with 5% overrides


def test_approval_follows_the_declared_rule_with_overrides(worlds):
    apps = _applications(worlds["mar"])
    truth = json.loads((worlds["mar"] / "ground_truth.json").read_text())["applications"]
    above = apps["approval_score"] >= truth["cutoff"]
    flipped = (above != apps["approved"]).mean()
    assert truth["rule"]["override_rate"] == 0.05 and 0.03 < flipped < 0.07
    assert truth["applications"] == len(apps) and truth["approved"] == int(apps["approved"].sum())


def test_rejected_applicants_are_riskier_and_only_the_truth_holds_their_outcomes(worlds):
    apps = _applications(worlds["mar"])
    loans = pd.read_parquet(worlds["mar"] / "loans.parquet")
    rejected, approved = apps[~apps["approved"]], apps[apps["approved"]]
    assert rejected[TRUE_PD].mean() > 1.5 * approved[TRUE_PD].mean()
    assert rejected[TRUE_BAD].mean() > approved[TRUE_BAD].mean()
    # for approved loans the truth agrees with the bank's table: the same true PD, the same outcome
    lt = pd.read_parquet(worlds["mar"] / LOAN_TRUTH_FILE)
    m = approved.merge(lt, on="loan_id", suffixes=("", "_loan")).merge(loans, on="loan_id")
    np.testing.assert_allclose(m[TRUE_PD], m[f"{TRUE_PD}_loan"], equal_nan=True)
    window = m[TRUE_BAD].notna()
    issued, dflt = pd.to_datetime(m["issued"]), pd.to_datetime(m["default_date"])
    label = (dflt < issued + pd.DateOffset(months=12)).fillna(False)
    assert window.sum() > 1000 and (label[window] == m.loc[window, TRUE_BAD].astype(bool)).all()


def test_soft_information_makes_approval_depend_on_unobserved_risk(worlds):
    disagree, ratio = {}, {}
    for k in ("mar", "mnar"):
        a = _applications(worlds[k])
        above = a["approval_score"] >= a["approval_score"].quantile(0.3)  # the points alone would approve
        disagree[k] = (above != a["approved"]).mean()
        by = a[above].groupby("approved")[TRUE_PD].mean()
        ratio[k] = by[False] / by[True]
    # the officer's judgement overrides the points far more often than the random overrides do, and turns away
    # applicants the points would take that are truly riskier: risk the tables do not show
    assert disagree["mnar"] > 3 * disagree["mar"]
    assert ratio["mnar"] > 1.5 and ratio["mnar"] > ratio["mar"]
    assert json.loads((worlds["mnar"] / "ground_truth.json").read_text())["applications"]["missing"].startswith("not")


def _day(text: str) -> int:
    return int(np.datetime64(text, "D").astype(np.int64))


def test_approval_score_uses_only_facts_known_before_the_application_month():
    fin = pd.DataFrame({"uscc": ["F1"] * 2, "year": [2019, 2020], "total_assets": [100.0, 100.0],
                        "total_liabilities": [20.0, 80.0]})
    tax = pd.DataFrame({"uscc": ["F1", "F1"], "year": [2019, 2020], "grade": ["A", "D"]})
    rule = ApprovalRule(age_weight=1.0, leverage_weight=2.0)
    founded = _day("2011-06-01")
    # 15 June 2021: as of 1 June, the 2020 statements (known 31 May) and the 2020 grade (30 April) are known
    # 20 May 2021: as of 1 May, the 2020 grade is known, the 2020 statements are not
    # 20 April 2021: as of 1 April, neither
    applied = np.array([_day("2021-06-15"), _day("2021-05-20"), _day("2021-04-20")])
    score = approval_score(np.array(["F1"] * 3), applied, np.full(3, founded), fin, tax, rule)
    age = (np.array([_day("2021-06-01"), _day("2021-05-01"), _day("2021-04-01")]) - founded) / 365.25
    expected = np.log1p(age) - 2.0 * np.array([0.8, 0.2, 0.2]) - np.array([2.5, 2.5, 0.0])
    np.testing.assert_allclose(score, expected)


def test_approval_rule_checks_its_parameters():
    with pytest.raises(ValueError, match=r"approval_rate must be in \(0, 1\]; got 1.5"):
        ApprovalRule(approval_rate=1.5)


def test_synth_command_writes_applications_with_the_soft_information_asked_for(tmp_path):
    from typer.testing import CliRunner

    from techscore.cli import app

    out = tmp_path / "w"
    result = CliRunner().invoke(app, ["synth", "--firms", "400", "--seed", "3", "--out", str(out), "--applications",
                                      "--soft-info", "0.5", "--json"])
    assert result.exit_code == 0, result.output
    truth = json.loads((out / "ground_truth.json").read_text())["applications"]
    assert truth["rule"]["soft_info"] == 0.5 and truth["approved"] == json.loads(result.output)["rows"]["loans"]
    assert (out / APPLICATIONS_FILE).is_file() and (out / APPLICATION_TRUTH_FILE).is_file()
