"""Innovation points (innovation_points.md) and the tech-SME evaluation (tech_sme_evaluation.md): the domain's worked
checks on the pure scoring functions, then the features on conftest's platform."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features._config import INNOVATION, TECH_SME
from features.innovation import (
    innovation_points_from_indicators,
    innovation_stage,
    percentile_ranks,
    tech_sme_direct,
    tech_sme_eligible,
    tech_sme_passes,
    tech_sme_score_table,
)
from techscore.exceptions import ValidationError
from tests.features.conftest import A, B, C, D, E

IDS = INNOVATION.indicator_ids


def _cohort(values: dict[str, list[float]], stage: str = "growth", year: int = 2023) -> pd.DataFrame:
    n = len(next(iter(values.values())))
    return pd.DataFrame({"year": year, "stage": stage, **values}, index=[f"f{i}" for i in range(n)])


def _all(*per_firm: float) -> dict[str, list[float]]:
    return {i: list(per_firm) for i in IDS}


# -- innovation points: the worked checks ------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["start-up", "growth", "stable"])
def test_best_on_everything_scores_100_and_worst_0(stage: str) -> None:
    got = innovation_points_from_indicators(_cohort(_all(9.0, 5.0, 1.0), stage))
    assert got["points"].tolist() == pytest.approx([100.0, 50.0, 0.0])
    assert got["rank"].tolist() == pytest.approx([1.0, 0.5, 0.0])


def test_cohort_of_one_scores_100_for_any_reported_value() -> None:
    got = innovation_points_from_indicators(_cohort(_all(0.0), "start-up"))
    assert got["points"].tolist() == pytest.approx([100.0])
    assert got["tier"].tolist() == [3.0]
    # A missing indicator of a lone firm scores 0: 100 less that indicator's start-up weight (growth group 25 / 6).
    values = _all(3.0)
    values["taxes_paid"] = [np.nan]
    assert innovation_points_from_indicators(_cohort(values, "start-up"))["points"].iloc[0] == pytest.approx(
        100 - 25 / 6)


def test_three_firm_cohort_by_hand() -> None:
    # Growth stage weights: technology 45 / 7 each, growth and operations 35 / 6, auxiliary 20 / 5.
    values = _all(3.0, 2.0, 1.0)  # firm 0 > firm 1 > firm 2 ...
    values["rd_expense"] = [1.0, 1.0, 5.0]  # ... except a tie for the bottom: ranks 1.5, 1.5, 3 -> 0.25, 0.25, 1
    values["venture_capital"] = [np.nan, 1.0, 2.0]  # missing ranks lowest: 0, 0.5, 1
    values["awards"] = [0.0, 0.0, 0.0]  # all tied: mean rank 2 -> 0.5 each
    tech, grow, aux = 45 / 7, 35 / 6, 20 / 5
    others = 6 * tech + 6 * grow + 3 * aux  # the 15 indicators ranked 3 > 2 > 1
    expected = [
        others * 1.0 + tech * 0.25 + aux * 0.0 + aux * 0.5,
        others * 0.5 + tech * 0.25 + aux * 0.5 + aux * 0.5,
        others * 0.0 + tech * 1.0 + aux * 1.0 + aux * 0.5,
    ]
    got = innovation_points_from_indicators(_cohort(values))
    assert got["points"].tolist() == pytest.approx(expected)
    assert got["rank"].tolist() == pytest.approx([1.0, 0.5, 0.0])
    assert got["tier"].tolist() == [3.0, 0.0, 0.0]


def test_cohorts_are_year_and_stage() -> None:
    # Identical values in different stages or years never meet: each firm is alone in its cohort.
    frame = pd.concat([_cohort(_all(1.0), "growth"), _cohort(_all(5.0), "stable"),
                       _cohort(_all(9.0), "growth", year=2022)])
    assert innovation_points_from_indicators(frame)["points"].tolist() == pytest.approx([100.0] * 3)


def test_tiers_by_rank() -> None:
    # 100 firms with distinct values: ranks (r - 1) / 99; the top 5 reach 0.95, the next 5 0.90, the next 10 0.80.
    got = innovation_points_from_indicators(_cohort(_all(*np.arange(100.0))))
    assert got["tier"].value_counts().sort_index().tolist() == [80, 10, 5, 5]
    assert got["tier"].iloc[-5:].tolist() == [3.0] * 5


def test_percentile_ranks_rules() -> None:
    got = percentile_ranks(np.array([4.0, np.nan, 4.0, 1.0, np.nan]), np.array([0, 0, 0, 0, 1]))
    # cohort 0: 1.0 < 4.0 = 4.0, NaN lowest -> ranks NaN 1, 1.0 2, 4.0 3.5 -> (r - 1) / 3; cohort 1: a lone NaN.
    assert got.tolist() == pytest.approx([2.5 / 3, 0.0, 2.5 / 3, 1 / 3, 0.0])


def test_stage_rule() -> None:
    age = np.array([2, 3, 3, 10, 9, 9, np.nan])
    revenue = np.array([500e6, 10e6, 4.9e6, 1e6, 100e6, 50e6, np.nan])
    assert innovation_stage(age, revenue, INNOVATION.stage_rule).tolist() == [
        "start-up", "growth", "start-up", "start-up", "stable", "growth", "growth"]


def test_unknown_stage_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"stage must be one of start-up, growth, stable; got \['seed'\]\."):
        innovation_points_from_indicators(_cohort(_all(1.0), "seed"))


# -- innovation points on the platform ---------------------------------------------------------------------------


def test_points_rank_in_the_platform_cohort(feat) -> None:
    # 2023 stable cohort {A, C, F} (F is not being scored but is a peer): A 3, F 2, C 1 on every indicator,
    # awards all 0 (tie: 0.5 each), venture capital A missing (A 0, C 0.5, F 1). Stable weights: auxiliary 15 / 5.
    assert feat.value("inno_stage", A) == "stable" and feat.value("inno_stage", C) == "stable"
    assert feat.value("inno_points", A) == pytest.approx(100 - 3 * 0.5 - 3)
    assert feat.value("inno_points", C) == pytest.approx(3 * 0.5 + 3 * 0.5)
    assert feat.value("inno_points_rank", A) == 1.0 and feat.value("inno_points_rank", C) == 0.0  # F in between
    assert feat.value("inno_points_tier", A) == 3 and feat.value("inno_points_tier", C) == 0


def test_points_of_lone_and_older_cohorts(feat) -> None:
    # B (founded 2022) is alone in the 2023 start-up cohort; its taxes paid are missing (start-up growth group 25/6).
    assert feat.value("inno_stage", B) == "start-up"
    assert feat.value("inno_points", B) == pytest.approx(100 - 25 / 6)
    # D's latest known year is 2022: founded 2019 (3 years), no revenue -> growth, alone.
    assert feat.value("inno_stage", D) == "growth"
    assert feat.value("inno_points", D) == pytest.approx(100.0)
    assert np.isnan(feat.value("inno_points", E))


def test_indicator_values_of_the_latest_year(feat) -> None:
    assert feat.value("inno_tech_contract_value", A) == 3.0  # 2023 (the 2024 row is reported in 2025)
    assert np.isnan(feat.value("inno_venture_capital", A))
    assert feat.value("inno_rd_platform_level", D) == 2.0  # D's 2022 row
    assert feat.value("inno_awards", B) == 0.0 and feat.value("inno_standards_led", C) == 1.0
    assert feat.value("inno_graduates_hired", B) == 7.0


# -- tech-SME evaluation: the worked examples ---------------------------------------------------------------------


def _example(employees, staff, rd, revenue, costs, class1, class2) -> pd.DataFrame:
    return tech_sme_score_table([employees], [staff], [revenue], [rd], [costs], [class1], [class2], TECH_SME)


def test_worked_example_scores_64_and_passes() -> None:
    # 30 of 120 staff (25%: 16); R&D 4.5M on revenue 100M (4.5%: 30) or costs 25M (18%: 20): 30; 3 class II: 18.
    table = _example(120, 30, 4.5e6, 100e6, 25e6, 0, 3)
    assert table.iloc[0].tolist() == [16.0, 30.0, 18.0, 64.0]
    eligible = tech_sme_eligible([120], [100e6], [80e6], TECH_SME)
    assert tech_sme_passes(table, eligible, [False], TECH_SME).tolist() == [True]


def test_worked_example_48_fails_with_staff_score_0() -> None:
    table = _example(120, 10, 4.5e6, 100e6, 25e6, 0, 3)  # 8.3%: 0
    assert table.iloc[0].tolist() == [0.0, 30.0, 18.0, 48.0]
    assert tech_sme_passes(table, [True], [False], TECH_SME).tolist() == [False]
    # The staff rule binds on its own: a score of 60 or more with no S&T staff still fails.
    rich = _example(120, 10, 9e6, 100e6, 25e6, 1, 0)
    assert rich["score"].iloc[0] == 80.0 and tech_sme_passes(rich, [True], [False], TECH_SME).tolist() == [False]


def test_worked_example_50_fails_unless_high_tech() -> None:
    # 40 of 80 staff (50%: 20); R&D 1M on revenue 80M (1.25%: 0) and costs 70M (1.4%: 0); one invention: 30.
    table = _example(80, 40, 1e6, 80e6, 70e6, 1, 0)
    assert table.iloc[0].tolist() == [20.0, 0.0, 30.0, 50.0]
    eligible = tech_sme_eligible([80], [80e6], [50e6], TECH_SME)
    no_cert = tech_sme_direct(eligible, [False], [0], [0], [0], TECH_SME)
    cert = tech_sme_direct(eligible, [True], [0], [0], [0], TECH_SME)
    assert tech_sme_passes(table, eligible, no_cert, TECH_SME).tolist() == [False]
    assert tech_sme_passes(table, eligible, cert, TECH_SME).tolist() == [True]


def test_rd_takes_the_better_ratio_and_band_edges() -> None:
    table = tech_sme_score_table([100] * 3, [30] * 3, [100e6] * 3, [6e6, 2e6, 1e6], [60e6, 6e6, 100e6],
                                 [0] * 3, [4, 5, 1], TECH_SME)
    # 6% of revenue: 50; 2M / 6M costs = 33% beats 2% of revenue: 50; 1% and 1%: 0. Class II 4+: 24, 1: 6.
    assert table["rd"].tolist() == [50.0, 50.0, 0.0]
    assert table["achievements"].tolist() == [24.0, 24.0, 6.0]


def test_eligibility_and_direct_qualification() -> None:
    eligible = tech_sme_eligible([500, 501, 10, np.nan], [200e6, 1e6, 1e6, np.nan], [1e6, 1e6, 200e6 + 1, np.nan],
                                 TECH_SME)
    assert eligible.tolist() == [True, False, False, True]  # a missing figure does not disqualify
    direct = tech_sme_direct([True] * 4 + [False], [False] * 5, [2, 1, 0, 0, 3], [0, 0, 1, 0, 1], [0, 0, 0, 1, 1],
                             TECH_SME)
    assert direct.tolist() == [True, False, True, True, False]  # the last is not eligible


def test_tech_sme_features_on_the_platform(feat) -> None:
    # A: 50 / 200 staff (25%: 16); R&D 6M / revenue 120M = 5% (40) beats 6M / costs 100M = 6% (0); 3 inventions: 30.
    assert feat.value("inno_tech_sme_score", A) == 86.0
    assert feat.value("inno_tech_sme_direct", A) == 1.0  # high-tech certificate since 2020
    assert feat.value("inno_tech_sme_pass", A) == 1.0
    # B: 3 / 12 staff (16); R&D 0 (0); 3 class II: 18 -> 34: fails, and nothing qualifies it directly.
    assert feat.value("inno_tech_sme_score", B) == 34.0
    assert feat.value("inno_tech_sme_pass", B) == 0.0 and feat.value("inno_tech_sme_direct", B) == 0.0
    # C: revenue 300M > 200M: not eligible, so its led standard does not qualify it.
    assert feat.value("inno_tech_sme_direct", C) == 0.0 and feat.value("inno_tech_sme_pass", C) == 0.0
    # D: no statement (no score), but a provincial R&D platform qualifies it directly.
    assert np.isnan(feat.value("inno_tech_sme_score", D))
    assert feat.value("inno_tech_sme_direct", D) == 1.0 and feat.value("inno_tech_sme_pass", D) == 1.0
