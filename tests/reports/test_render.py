"""Rendered reports are self-contained, bilingual and hold what a validator and a reviewer read (no browser)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from techscore.exceptions import ReportError

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?!data:|#)([^"']+)["']""", re.I)


def _html(path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("which", ["model", "firm"])
def test_reports_are_self_contained(rendered, which):
    html = _html(rendered[which])
    assert EXTERNAL.findall(html) == []
    assert "<link" not in html and "@import" not in html and "http://" not in html and "https://" not in html
    images = re.findall(r'<img[^>]*src="([^"]+)"', html)
    assert images and all(src.startswith("data:image/png;base64,") for src in images)


@pytest.mark.parametrize("which", ["model", "firm"])
def test_reports_hold_both_languages_with_a_switch(rendered, which):
    html = _html(rendered[which])
    assert '<html lang="zh-CN" class="lang-zh"' in html
    assert 'id="lang-toggle"' in html and "lang=(zh|en)" in html
    assert "html.lang-zh .en, html.lang-en .zh { display: none !important; }" in html
    zh = re.findall(r'<span class="zh">', html)
    en = re.findall(r'<span class="en">', html)
    assert len(zh) == len(en) > 20
    assert "@page { size: A4" in html and "@media print" in html


def test_model_report_sections_and_numbers(rendered, model_inputs):
    html = _html(rendered["model"])
    for section in ("数据概要", "Data summary", "验证指标", "Validation metrics", "Champion vs challenger",
                    "Global SHAP", "Risk-direction checks", "Segment performance", "fingerprints"):
        assert section in html, section
    assert model_inputs.run_id in html and model_inputs.fingerprints["dataset_fingerprint"] in html
    assert "0.7200" in html and "0.6900" in html and "+0.0300" in html  # champion, challenger, difference
    expl = model_inputs.explanation
    top = expl.importance()["feature"].iloc[0]
    assert f'<td class="mono">{top}</td>' in html
    # every declared numeric driver is listed with a status
    assert html.count('class="badge ') >= len(expl.features)


def test_model_report_flags_a_feature_running_against_its_direction(model_inputs):
    import dataclasses

    from techscore.explain.shap_values import Explanation
    from techscore.reports.model_report import render_model_report

    expl = model_inputs.explanation
    flipped = [dataclasses.replace(f, direction=-f.direction) if f.id == "inno_points" else f for f in expl.features]
    bad = dataclasses.replace(model_inputs, explanation=Explanation(expl.values, expl.base, expl.data, flipped))
    html = render_model_report(bad, "en")
    assert "1 feature(s) run against their declared risk direction: inno_points." in html
    assert '<html lang="en" class="lang-en"' in html


def test_firm_report_has_one_page_per_firm_with_reasons_and_codes(rendered, firm_inputs):
    html = _html(rendered["firm"])
    assert html.count('class="page firm"') == 3
    for uscc in firm_inputs.firms["uscc"]:
        assert f'id="firm-{uscc}"' in html
    raises = firm_inputs.reasons[firm_inputs.reasons["effect"] == "raises"]
    for r in raises.itertuples():
        assert r.text_zh in html and r.text_en.replace("&", "&amp;") in html and r.code in html
    assert "北京量子芯科技有限公司" in html
    assert html.count("<img") == 3 * (2 + 4)  # waterfall zh+en, 4 trend panels per firm
    assert "同行业中位数" in html and "industry median" in html


def test_firm_report_refuses_an_empty_batch(firm_inputs):
    import dataclasses

    from techscore.reports.firm_report import render_firm_report

    empty = dataclasses.replace(firm_inputs, explanation=firm_inputs.explanation.take([]))
    with pytest.raises(ReportError, match="no firm to report on"):
        render_firm_report(empty)


def test_firm_inputs_refuse_misaligned_firms(booster, world, split):
    import pandas as pd

    from techscore.reports.firm_report import firm_report_inputs

    with pytest.raises(ReportError, match="X has 2 rows but firms has 1"):
        firm_report_inputs(booster, split[1].iloc[:2], pd.DataFrame({"uscc": ["X"]}), None)


def test_scores_fall_back_to_the_logistic_of_the_margin(firm_inputs):
    import numpy as np

    expl = firm_inputs.explanation
    np.testing.assert_allclose(firm_inputs.scores["pd"], 1 / (1 + np.exp(-expl.margin)))


@pytest.mark.parametrize(("key", "part", "name", "model"), [
    ("test_auc", "test", "auc", "champion"), ("valid_log_loss", "valid", "log_loss", "champion"),
    ("challenger_train_ks", "train", "ks", "challenger"), ("best_iteration", None, "best_iteration", "champion"),
])
def test_metric_keys_parse_against_the_vocabulary(key, part, name, model):
    from techscore.model.vocabulary import parse_metric

    parsed = parse_metric(key)
    assert (parsed.part, parsed.metric.name, parsed.model) == (part, name, model)


@pytest.mark.parametrize("key", ["auc_train", "valid/log_loss", "psi", "test", "roc_auc"])
def test_keys_outside_the_vocabulary_are_not_guessed(key):
    from techscore.model.vocabulary import parse_metric

    assert parse_metric(key) is None


def test_unknown_labels_read_as_words():
    from techscore.reports._labels import PLOTS, label

    assert label("roc_curve", PLOTS) == ("ROC 曲线", "ROC curve")
    assert label("calibration_by_grade", PLOTS) == ("校准曲线 by grade", "calibration curve by grade")
    assert label("my_custom_plot", PLOTS) == ("my custom plot", "my custom plot")


def test_model_report_shows_periods_the_embargo_gap_and_leakage_findings(model_inputs):
    import dataclasses

    from techscore.reports.model_report import render_model_report

    splits = pd.DataFrame({
        "fold": ["oot"] * 4, "split": ["train", "valid", "embargo", "test"], "rows": [16457, 6526, 6997, 17443],
        "bad": [610, 200, 150, 412], "rate": [0.0371, 0.0306, 0.0214, 0.0236],
        "period": ["2018-01-01 .. 2020-12-30", "2021-01-01 .. 2021-12-31", "2022-01-01 .. 2022-12-31 (12 months)",
                   "2023-01-01 .. 2024-12-30"],
    })
    leakage = pd.DataFrame({
        "feature": ["f014", "f000"], "name": ["mths_to_charge_off", "member_id"],
        "check": ["single_feature_auc", "identifier"], "value": [0.975, 1.0],
        "detail": ["AUC 0.975 alone (threshold 0.95)", "6,000 distinct values in 6,000 rows"], "allowed": [False, True],
    })
    html = render_model_report(dataclasses.replace(model_inputs, splits=splits, leakage=leakage), "en")
    for period in splits["period"]:
        assert period in html
    assert "embargo gap (left out)" in html
    assert "Embargo gap 2022-01-01 .. 2022-12-31 (12 months): 6,997 loans (150 defaults)" in html
    assert "Leakage guard (before fitting)" in html and "AUC 0.975 alone (threshold 0.95)" in html
    assert "separates the classes alone" in html and "reviewed, allowed" in html
    assert "The leakage guard flagged 1 column(s); review them before use: mths_to_charge_off." in html
    clean = render_model_report(dataclasses.replace(model_inputs, splits=splits, leakage=leakage.iloc[:0]), "en")
    assert "Nothing flagged" in clean and "The leakage guard flagged" not in clean
