"""Reason codes: the top factors by SHAP value, stable codes and bilingual sentences against learned references."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from techscore.catalogue.meta import FeatureMeta
from techscore.exceptions import SchemaError
from techscore.explain import References, fit_references, reason_codes, reasons_wide, sentence, top_k
from techscore.explain.shap_values import Explanation

PATENTS = FeatureMeta("ip_invention_in_force", "ip", "有效发明专利", "Granted invention patents in force", "",
                      "count", (), -1, unit_zh="件")


@pytest.fixture(scope="session")
def references(world, train_test):
    return fit_references(train_test[0], world.features, by="seg_industry", min_count=30)


def test_sentence_reads_like_the_issue_example():
    assert sentence(PATENTS, 2, 7, "group", "zh", by="seg_industry") == "有效发明专利 2 件，低于同行业中位数 7 件"
    assert sentence(PATENTS, 2, 7, "group", "en", by="seg_industry") == (
        "Granted invention patents in force: 2, below the industry median of 7")
    assert sentence(PATENTS, 9, 7, "all", "zh", by="seg_industry") == "有效发明专利 9 件，高于全样本中位数 7 件"
    assert sentence(PATENTS, 9, 7, "all", "en") == "Granted invention patents in force: 9, above the overall median of 7"
    assert sentence(PATENTS, 7, 7, "group", "en", by="seg_industry").endswith("equal to the industry median")


@pytest.mark.parametrize(("meta", "value", "ref", "stat", "zh", "en"), [
    (FeatureMeta("rd_intensity", "rd", "研发强度", "R&D intensity", "", "ratio", (), -1), 0.0123, 0.046, "median",
     "研发强度 1.2%，低于同行业中位数 4.6%", "R&D intensity: 1.2%, below the industry median of 4.6%"),
    (FeatureMeta("sc_sales_12m", "supply_chain", "近12个月销售额", "Sales, last 12 months", "", "yuan", (), -1),
     3_456_000.0, 125_000_000.0, "median", "近12个月销售额 346 万元，低于同行业中位数 1.25 亿元",
     "Sales, last 12 months: 3.46 million yuan, below the industry median of 125.00 million yuan"),
    (FeatureMeta("profile_high_tech", "profile", "高新技术企业", "High-tech enterprise", "", "flag", (), -1), 0.0, 0.62,
     "share", "高新技术企业：否（同行业62%为是）", "High-tech enterprise: no (62% of industry peers: yes)"),
    (FeatureMeta("sc_dso_days", "supply_chain", "应收账款周转天数", "Days sales outstanding", "", "days", (), 1), 95.0,
     61.5, "median", "应收账款周转天数 95 天，高于同行业中位数 61.5 天",
     "Days sales outstanding: 95 days, above the industry median of 61.5 days"),
    (FeatureMeta("rd_intensity", "rd", "研发强度", "R&D intensity", "", "ratio", (), -1), np.nan, 0.046, "median",
     "研发强度：无数据", "R&D intensity: not available"),
    (FeatureMeta("profile_industry_section", "profile", "行业门类", "Industry section", "", "category", (), 0,
                 kind="categorical"), "C", np.nan, None, "行业门类：C 制造业", "Industry section: C (manufacturing)"),
    (FeatureMeta("profile_region", "profile", "所在省份", "Province", "", "category", (), 0, kind="categorical"), "44",
     np.nan, None, "所在省份：广东", "Province: Guangdong (44)"),
    (FeatureMeta("fin_tax_grade", "finance", "纳税信用等级", "Tax credit grade", "", "grade", (), 1), 4.0, 2.0,
     "median", "纳税信用等级 C，差于同行业中位数 B", "Tax credit grade: C, worse than the industry median of B"),
    (FeatureMeta("inno_points_rank", "innovation", "创新积分分位", "Innovation points rank", "", "rank", (), -1), 0.81,
     0.54, "median", "创新积分分位 第 81 百分位，高于同行业中位数（第 54 百分位）",
     "Innovation points rank: 81st percentile, above the industry median (54th percentile)"),
])
def test_sentences_have_units_and_direction_words(meta, value, ref, stat, zh, en):
    assert sentence(meta, value, ref, "group", "zh", by="seg_industry", stat=stat) == zh
    assert sentence(meta, value, ref, "group", "en", by="seg_industry", stat=stat) == en


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 20), st.integers(1, 12)),
              elements=st.floats(-5, 5, allow_nan=False).map(lambda x: round(x, 3))),
       st.integers(0, 14))
def test_top_k_matches_a_full_sort(values, k):
    for largest in (True, False):
        idx, vals = top_k(values, k, largest=largest)
        kk = min(k, values.shape[1])
        assert idx.shape == (values.shape[0], kk)
        for i, row in enumerate(values):
            wanted = sorted((v for v in row if (v > 0 if largest else v < 0)), reverse=largest)[:kk]
            got = [v for v in vals[i] if not np.isnan(v)]
            assert got == wanted
            assert all(row[j] == v for j, v in zip(idx[i], vals[i], strict=True) if j >= 0)
            assert list(idx[i][len(got):]) == [-1] * (kk - len(got))


def test_reason_codes_name_the_features_with_the_largest_positive_shap(explanation, references):
    reasons = reason_codes(explanation, references, k=3, k_lower=2)
    raises = reasons[reasons["effect"] == "raises"]
    ids = np.array(explanation.feature_ids)
    checked = 0
    for row in range(len(explanation.values)):
        v = explanation.values[row]
        positive = np.argsort(-v, kind="stable")
        expected = [ids[j] for j in positive[:3] if v[j] > 0]
        got = raises.loc[raises["row"] == row].sort_values("rank")["code"].tolist()
        assert got == expected, (row, got, expected)
        checked += bool(expected)
    assert checked > 0.9 * len(explanation.values)
    assert set(reasons.columns) >= {"row", "key", "effect", "rank", "code", "shap", "text_zh", "text_en"}
    lowers = reasons[reasons["effect"] == "lowers"]
    assert (lowers["shap"] < 0).all() and (raises["shap"] > 0).all()
    assert lowers["rank"].max() <= 2


def test_each_sentence_states_the_value_and_the_reference(explanation, references, train_test):
    reasons = reason_codes(explanation, references, k=3)
    test = train_test[1]
    metas = explanation.meta
    one = reasons[(reasons["code"] == "ip_invention_in_force") & (reasons["scope"] == "group")].iloc[0]
    section = test["seg_industry"].iloc[int(one["row"])]
    median = train_test[0].loc[train_test[0]["seg_industry"] == section, "ip_invention_in_force"].median()
    assert one["reference"] == median
    assert one["text_zh"].startswith(f"{metas['ip_invention_in_force'].name_zh} {int(one['value'])} 件")
    assert f"同行业中位数 {median:g} 件" in one["text_zh"] or "持平" in one["text_zh"]
    assert one["text_en"].startswith("Granted invention patents in force: ")
    numeric = reasons[reasons["code"].isin(["rd_intensity_3y", "fin_leverage", "inno_points"]) & reasons["value"].notna()]
    assert numeric["text_zh"].str.contains("高于|低于|持平").all()
    assert numeric["text_en"].str.contains("above|below|equal to").all()


def test_references_come_from_training_never_from_the_batch(booster, world, explanation, references):
    """A firm's sentences do not change when it is scored alone or inside another batch."""
    full = reason_codes(explanation, references)
    alone = reason_codes(explanation.take([7]), references)
    mine = full[full["row"] == 7].drop(columns=["row"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(alone.drop(columns=["row"]).reset_index(drop=True), mine)


def test_references_are_per_section_medians_with_overall_fallback(world, train_test):
    train = train_test[0]
    refs = fit_references(train, world.features, by="seg_industry", min_count=30)
    counts = train["seg_industry"].value_counts()
    big = counts.index[0]
    assert refs.groups[big]["inno_points"] == pytest.approx(train.loc[train["seg_industry"] == big, "inno_points"].median())
    assert refs.overall["fin_leverage"] == pytest.approx(train["fin_leverage"].median())
    assert refs.stats["profile_high_tech"] == "share"
    assert refs.overall["profile_high_tech"] == pytest.approx(train["profile_high_tech"].mean())
    assert "profile_industry_section" not in refs.stats  # categorical: no reference
    strict = fit_references(train, world.features, by="seg_industry", min_count=int(counts.iloc[-1]) + 1)
    small = counts.index[-1]
    assert small not in strict.groups
    ref, scope = strict.lookup("inno_points", np.array([small, big, "unknown"]))
    assert scope.tolist() == ["all", "group", "all"]
    assert ref[0] == pytest.approx(strict.overall["inno_points"])


def test_references_round_trip_as_json_beside_the_model(references, tmp_path):
    path = references.save(tmp_path)
    assert path.name == "references.json"
    back = References.load(tmp_path)
    assert back.overall == references.overall and back.groups == references.groups and back.by == "seg_industry"


def test_references_refuse_missing_columns(world, train_test):
    with pytest.raises(SchemaError, match="missing 1 feature column: inno_points"):
        fit_references(train_test[0].drop(columns=["inno_points"]), world.features)


def test_groups_fall_back_to_the_industry_feature(explanation, references):
    data = explanation.data
    assert references.groups_of(data) is not None  # profile_industry_section is a model feature here
    by_feature = reason_codes(explanation.take(range(20)), references)
    by_segment = reason_codes(explanation.take(range(20)), references,
                              groups=data["profile_industry_section"].astype("string").iloc[:20])
    pd.testing.assert_frame_equal(by_feature, by_segment)


def test_groups_must_align_with_the_batch(explanation, references):
    with pytest.raises(SchemaError, match="groups has 3 rows; the explanation has"):
        reason_codes(explanation, references, groups=pd.Series(["C", "I", "M"]))


def test_without_references_sentences_state_the_value(explanation):
    reasons = reason_codes(explanation.take(range(10)), None)
    assert not reasons["text_en"].str.contains("median").any()
    assert reasons["reference"].isna().all()


def test_reasons_wide_gives_one_row_per_firm(explanation, references):
    sub = explanation.take(range(25))
    wide = reasons_wide(reason_codes(sub, references), n_rows=25, k=3)
    assert len(wide) == 25
    assert list(wide.columns[:3]) == ["reason_1_code", "reason_1_zh", "reason_1_en"]
    first = int(np.argmax(sub.values[0]))
    assert wide.loc[0, "reason_1_code"] == sub.feature_ids[first]
    with pytest.raises(ValueError, match="effect must be one of raises, lowers; got 'up'"):
        reasons_wide(reason_codes(sub, references), 25, effect="up")


def test_categorical_and_flag_reasons_have_no_median_words(explanation, references):
    metas = [dataclasses.replace(f) for f in explanation.features]
    values = np.zeros_like(explanation.values)
    j_cat = explanation.feature_ids.index("profile_industry_section")
    j_flag = explanation.feature_ids.index("profile_high_tech")
    values[:, j_cat], values[:, j_flag] = 0.5, 0.3
    expl = Explanation(values, explanation.base, explanation.data, metas)
    reasons = reason_codes(expl.take(range(5)), references, k=2)
    cat = reasons[reasons["code"] == "profile_industry_section"]
    flag = reasons[reasons["code"] == "profile_high_tech"]
    assert cat["text_zh"].str.match(r"^行业门类：[CIMF] \S+$").all()
    assert flag["text_en"].str.contains(r"High-tech enterprise: (?:yes|no) \(\d+% of industry peers: yes\)").all()
