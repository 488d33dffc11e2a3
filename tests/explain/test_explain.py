"""SHAP values: additivity to the model's log-odds, alignment, persistence, direction check and plots."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from techscore.exceptions import ModelError, SchemaError
from techscore.explain import direction_check, explain, load_explanation
from techscore.explain.shap_values import Explanation


def test_shap_plus_base_equals_log_odds_for_every_firm(booster, world, train_test):
    test = train_test[1]
    expl = explain(booster, test, features=world.features)
    margin = booster.predict(test[expl.feature_ids], raw_score=True)
    assert expl.values.shape == (len(test), len(world.features))
    np.testing.assert_allclose(expl.base + expl.values.sum(axis=1), margin, rtol=0, atol=1e-6)
    np.testing.assert_allclose(expl.margin, margin, rtol=0, atol=1e-6)


def test_lightgbm_engine_matches_treeshap_engine_when_present(booster, world, train_test):
    pytest.importorskip("techscore.explain.treeshap")
    rows = train_test[1].iloc[:300]
    a = explain(booster, rows, features=world.features, engine="lightgbm")
    b = explain(booster, rows, features=world.features, engine="treeshap")
    np.testing.assert_allclose(a.values, b.values, atol=1e-6)
    assert a.base == pytest.approx(b.base, abs=1e-6)


def test_columns_are_aligned_to_the_model_not_the_batch(booster, world, train_test):
    rows = train_test[1].iloc[:50]
    shuffled = rows[list(reversed(world.feature_ids))].assign(extra=1.0)
    a = explain(booster, rows, features=world.features)
    b = explain(booster, shuffled, features=world.features)
    np.testing.assert_array_equal(a.values, b.values)
    assert b.feature_ids == world.feature_ids


def test_missing_model_columns_are_named(booster, world, train_test):
    rows = train_test[1].drop(columns=["inno_points", "fin_leverage"])
    with pytest.raises(SchemaError, match=r"missing 2 columns the model was trained on: inno_points, fin_leverage"):
        explain(booster, rows)


def test_unknown_model_type_is_refused():
    with pytest.raises(ModelError, match="cannot explain a dict"):
        explain({}, pd.DataFrame())


def test_features_without_metadata_get_their_id_as_name(booster, train_test):
    expl = explain(booster, train_test[1].iloc[:5])
    assert expl.features[0].name_en == expl.feature_ids[0]


def test_empty_batch_keeps_the_base_value(booster, world, train_test):
    expl = explain(booster, train_test[1].iloc[:0], features=world.features)
    full = explain(booster, train_test[1].iloc[:3], features=world.features)
    assert expl.values.shape == (0, len(world.features))
    assert expl.base == pytest.approx(full.base)


def test_importance_is_mean_abs_shap_largest_first(explanation):
    imp = explanation.importance()
    expected = np.abs(explanation.values).mean(axis=0)
    assert imp["mean_abs_shap"].is_monotonic_decreasing
    got = imp.set_index("feature")["mean_abs_shap"].reindex(explanation.feature_ids).to_numpy()
    np.testing.assert_allclose(got, expected)
    assert imp["share"].sum() == pytest.approx(1.0)
    # the planted drivers lead; the never-used flag is last
    assert set(imp["feature"].head(3)) <= {"rd_intensity_3y", "ip_invention_in_force", "inno_points", "fin_leverage",
                                          "profile_registered_capital", "profile_age_years"}


def test_save_and_load_round_trip(explanation, tmp_path):
    path = explanation.save(tmp_path / "shap.parquet")
    back = load_explanation(path, features=explanation.features)
    np.testing.assert_array_equal(back.values, explanation.values)
    assert back.base == explanation.base
    assert back.feature_ids == explanation.feature_ids
    pd.testing.assert_frame_equal(back.data, explanation.data, check_index_type=False)


def test_take_selects_rows(explanation):
    sub = explanation.take([3, 1])
    np.testing.assert_array_equal(sub.values, explanation.values[[3, 1]])
    assert list(sub.data.index) == list(explanation.data.index[[3, 1]])


def test_direction_check_passes_declared_directions_and_catches_a_wrong_one(explanation):
    import dataclasses

    checks = direction_check(explanation).set_index("feature")
    for fid in ("rd_intensity_3y", "ip_invention_in_force", "inno_points", "fin_leverage", "sc_customer_hhi"):
        assert checks.loc[fid, "status"] == "pass", checks.loc[fid]
        assert np.sign(checks.loc[fid, "spearman"]) == checks.loc[fid, "declared"]
    assert checks.loc["profile_industry_section", "status"] == "n/a"
    assert checks.loc["profile_registered_capital", "status"] == "n/a"  # no direction declared
    flipped = [dataclasses.replace(f, direction=-f.direction) if f.id == "fin_leverage" else f for f in explanation.features]
    wrong = direction_check(Explanation(explanation.values, explanation.base, explanation.data, flipped))
    assert wrong.set_index("feature").loc["fin_leverage", "status"] == "fail"


def test_direction_check_reports_unused_features(explanation):
    values = explanation.values.copy()
    values[:, 0] = 0.0
    checks = direction_check(Explanation(values, explanation.base, explanation.data, explanation.features))
    assert checks.iloc[0]["status"] == "unused"


PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_plots_are_png_and_draw_chinese_with_a_cjk_font(explanation, lang, cjk_font):
    from techscore.explain import plots

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images = [
            plots.importance_bar(explanation, lang), plots.beeswarm(explanation, lang),
            plots.dependence(explanation, "rd_intensity_3y", lang),
            plots.dependence(explanation, "profile_industry_section", lang),
            plots.waterfall(explanation, 0, lang, calibrated_pd=0.031),
        ]
    assert all(img.startswith(PNG) and len(img) > 5000 for img in images)
    missing_glyphs = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert missing_glyphs == []


def test_dependence_of_unknown_feature_is_refused(explanation):
    from techscore.explain import plots

    with pytest.raises(KeyError, match="'nope' is not in the explanation"):
        plots.dependence(explanation, "nope")


def test_plots_refuse_unknown_language(explanation):
    from techscore.explain import plots

    with pytest.raises(ValueError, match="lang must be one of zh, en; got 'fr'"):
        plots.importance_bar(explanation, "fr")
