"""Monitoring between two dates: known answers by hand, and the exact SHAP split on a trained model."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from techscore.catalogue.meta import FeatureMeta
from techscore.model.metrics import psi
from techscore.monitor import (
    BASE_ROW,
    GONE,
    NEW,
    Snapshot,
    driver_table,
    early_warnings,
    migration_matrix,
    stability_table,
    take_snapshot,
)
from tests.scoring._world import FEATURES, feature_table, train_model

GRADES = ("A", "B", "C", "D", "E")
RD = FeatureMeta("rd_intensity", "rd", "研发强度", "R&D intensity", "", "ratio", (), -1)
LEV = FeatureMeta("fin_leverage", "finance", "资产负债率", "Leverage", "", "ratio", (), 1)
SECTION = FeatureMeta("section", "profile", "行业门类", "Industry section", "", "category", (), 0, kind="categorical")


def _snapshot(as_of, uscc, data, shap, pd_, grade, base=-3.0) -> Snapshot:
    return Snapshot(as_of=as_of, uscc=pd.Index(uscc, name="uscc"), data=pd.DataFrame(data, index=uscc),
                    shap=np.asarray(shap, dtype=np.float64), base=base, pd=np.asarray(pd_, dtype=np.float64),
                    grade=np.asarray(grade, dtype=object), grades=GRADES)


@pytest.fixture(scope="module")
def dates():
    """A model, and one portfolio at two dates: 300 firms lost most of their R&D and gained leverage, 50 left,
    60 joined."""
    model = train_model(n=3000, rounds=80)
    before, _ = feature_table(1500, seed=5)
    after = before.copy()
    after.loc[:299, "rd_intensity_3y"] *= 0.2
    after.loc[:299, "fin_leverage"] += 0.3
    newcomers, _ = feature_table(60, seed=6)
    after = pd.concat([after.iloc[50:], newcomers], ignore_index=True)
    return model, before, after, take_snapshot(model, before, "2025-01-01"), take_snapshot(model, after, "2025-02-01")


def test_snapshot_matches_the_model(dates) -> None:
    model, before, _, snap, _ = dates
    assert np.allclose(snap.margin, model.raw_margin(before), atol=1e-9)
    assert np.allclose(snap.pd, model.predict_pd(before), atol=1e-12)
    assert list(snap.grade) == list(model.grade(model.predict_pd(before)))


def test_driver_split_adds_up_to_the_mean_log_odds_change(dates) -> None:
    model, before, after, snap_b, snap_a = dates
    segments = pd.concat([before, after]).drop_duplicates("uscc").set_index("uscc")["profile_industry_section"]
    table = driver_table(snap_b, snap_a, segments=segments)
    for name, part in table.groupby("segment"):
        rows_b = segments.reindex(before["uscc"]).astype("string").fillna("(missing)").to_numpy() == name
        rows_a = segments.reindex(after["uscc"]).astype("string").fillna("(missing)").to_numpy() == name
        if name == "(all)":
            rows_b, rows_a = np.ones(len(before), bool), np.ones(len(after), bool)
        change = model.raw_margin(after[rows_a]).mean() - model.raw_margin(before[rows_b]).mean()
        assert abs(part["contribution"].sum() - change) < 1e-9, name
    whole = table[table["segment"] == "(all)"]
    assert whole.loc[whole["feature"] == BASE_ROW, "contribution"].item() == 0.0
    # the planted shift (R&D down, leverage up) leads the movers
    assert set(whole["feature"].iloc[:2]) == {"rd_intensity_3y", "fin_leverage"}
    assert (whole.set_index("feature").loc[["rd_intensity_3y", "fin_leverage"], "contribution"] > 0).all()


def test_migration_matrix_by_hand() -> None:
    before = pd.Series({"a": "A", "b": "B", "c": "B", "d": "C"})
    after = pd.Series({"a": "B", "b": "B", "c": "D", "e": "A"})
    m = migration_matrix(before, after, ["A", "B", "C", "D"])
    expected = pd.DataFrame(0, index=["A", "B", "C", "D", NEW], columns=["A", "B", "C", "D", GONE])
    expected.loc["A", "B"] = expected.loc["B", "B"] = expected.loc["B", "D"] = 1
    expected.loc["C", GONE] = expected.loc[NEW, "A"] = 1
    assert (m.to_numpy() == expected.to_numpy()).all()
    assert list(m.index) == list(expected.index) and list(m.columns) == list(expected.columns)
    with pytest.raises(ValueError, match="'Z'"):
        migration_matrix(before, pd.Series({"a": "Z"}), ["A", "B", "C", "D"])


def test_stability_by_hand() -> None:
    cats = pd.CategoricalDtype(["C", "I"])
    n = 100
    uscc = [f"f{i}" for i in range(n)]
    section_b = pd.Series(["C"] * 50 + ["I"] * 50, dtype=cats, index=uscc)
    section_a = pd.Series(["C"] * 25 + ["I"] * 75, dtype=cats, index=uscc)
    rd = np.linspace(0, 0.2, n)
    rd_a = rd.copy()
    rd_a[:10] = np.nan
    zeros = np.zeros((n, 2))
    b = _snapshot("t0", uscc, {"rd_intensity": rd, "section": section_b}, zeros, np.linspace(0.01, 0.1, n), ["A"] * n)
    a = _snapshot("t1", uscc, {"rd_intensity": rd_a, "section": section_a}, zeros, np.linspace(0.01, 0.1, n) * 1.5,
                  ["A"] * n)
    t = stability_table(b, a).set_index("item")
    # shares 0.5/0.5 -> 0.25/0.75: (0.25 - 0.5) ln(0.25/0.5) + (0.75 - 0.5) ln(0.75/0.5)
    assert t.loc["section", "psi"] == pytest.approx(0.25 * math.log(2) + 0.25 * math.log(1.5))
    assert t.loc["section", "band"] == "significant"
    assert t.loc["rd_intensity", "missing_before"] == 0 and t.loc["rd_intensity", "missing_after"] == 0.1
    assert t.loc["rd_intensity", "psi"] == pytest.approx(psi(rd, rd_a))
    assert t.loc["pd", "psi"] == pytest.approx(psi(b.pd, a.pd)) and t.loc["pd", "band"] == "significant"


def test_early_warnings_by_hand() -> None:
    uscc = ["f1", "f2", "f3"]
    data_b = {"rd_intensity": [0.061, 0.05, 0.04], "fin_leverage": [0.5, 0.5, 0.5]}
    data_a = {"rd_intensity": [0.012, 0.05, 0.04], "fin_leverage": [0.5, 0.55, 0.8]}
    shap_b = [[0.1, 0.0], [0.0, 0.0], [0.0, 0.0]]
    shap_a = [[0.9, 0.2], [0.0, 0.05], [0.0, 0.4]]
    b = _snapshot("2025-01-01", uscc, data_b, shap_b, [0.01, 0.02, 0.05], ["A", "B", "C"])
    a = _snapshot("2025-02-01", uscc, data_a, shap_a, [0.03, 0.025, 0.06], ["C", "B", "D"])
    w = early_warnings(b, a, {"rd_intensity": RD, "fin_leverage": LEV}, pd_factor=2, grade_drop=2, watch_grade="D",
                       reasons=2)
    assert w["uscc"].tolist() == ["f3", "f1"]                      # highest later PD first; f2 meets no trigger
    assert w["codes"].tolist() == ["WATCH_GRADE", "PD_RISE;GRADE_DROP"]
    f1 = w.set_index("uscc").loc["f1"]
    assert f1["reason_1"] == "rd_intensity" and f1["reason_1_shap_change"] == pytest.approx(0.8)
    assert f1["reason_1_zh"] == "研发强度从 6.1% 降至 1.2%"
    assert f1["reason_1_en"] == "R&D intensity fell from 6.1% to 1.2%"
    assert f1["reason_2"] == "fin_leverage" and f1["reason_2_en"] == "Leverage stayed at 50.0%"
    f3 = w.set_index("uscc").loc["f3"]
    assert f3["reason_1_en"] == "Leverage rose from 50.0% to 80.0%" and pd.isna(f3["reason_2"])  # no risk added
    with pytest.raises(ValueError, match="watch grade 'Z'"):
        early_warnings(b, a, {"rd_intensity": RD, "fin_leverage": LEV}, watch_grade="Z")


def test_early_warnings_find_the_shifted_firms(dates) -> None:
    model, _, _, snap_b, snap_a = dates
    meta = {f.id: f for f in FEATURES}
    w = early_warnings(snap_b, snap_a, meta, pd_factor=1.5, grade_drop=1)
    shifted = set(snap_b.uscc[50:300])                                # shifted and still in the portfolio
    assert len(w) > 0 and set(w["uscc"]) <= set(snap_b.uscc[50:])
    assert len(set(w["uscc"]) & shifted) / len(w) > 0.9
    assert set(w["reason_1"].dropna()) <= {"rd_intensity_3y", "fin_leverage"}
