"""Session fixtures for report tests: a small realistic world, a model, rendered reports, and headless Chromium."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.explain._world import make_dataset, train_booster


@pytest.fixture(scope="session")
def world():
    return make_dataset(n=2500, seed=1)


@pytest.fixture(scope="session")
def booster(world):
    return train_booster(world, rounds=80, seed=1)


@pytest.fixture(scope="session")
def split(world):
    cut = int(len(world.frame) * 0.7)
    return world.frame.iloc[:cut], world.frame.iloc[cut:]


@pytest.fixture(scope="session")
def model_inputs(world, booster, split):
    from techscore.explain import explain
    from techscore.reports.model_report import ModelReportInputs

    train, test = split
    segments = pd.DataFrame({
        "segment": ["seg_industry"] * 4 + ["bank_id"] * 2,
        "value": ["C", "I", "M", "F", "B1", "B2"],
        "rows": [300, 220, 110, 70, 350, 350],
        "bad_rate": [0.05, 0.03, 0.02, 0.04, 0.04, 0.035],
        "auc": [0.71, 0.74, 0.69, 0.70, 0.72, 0.73],
    })
    return ModelReportInputs(
        run_id="0123456789abcdef0123456789abcdef", explanation=explain(booster, test, features=world.features),
        metrics={"train_auc": 0.78, "test_auc": 0.72, "test_ks": 0.35, "test_gini": 0.44, "test_brier": 0.035},
        params={"learning_rate": "0.05", "num_leaves": "15"}, run_name="unit", experiment="unit-tests",
        dataset_summary={"rows": len(world.frame), "bad_rate": float(world.y.mean()),
                         "missing_rate": world.frame[world.feature_ids].isna().mean().to_dict()},
        champion_metrics={"auc": 0.72, "ks": 0.35, "gini": 0.44, "brier": 0.035},
        challenger_metrics={"auc": 0.69, "ks": 0.31, "gini": 0.38, "brier": 0.036},
        segments=segments, fingerprints={"dataset_fingerprint": world.fingerprint, "catalogue_version": "cat-v1"},
        top_dependence=3,
    )


@pytest.fixture(scope="session")
def firm_inputs(world, booster, split):
    from techscore.dataset.history import yearly_dates
    from techscore.explain import fit_references
    from techscore.reports.firm_report import firm_report_inputs

    train, test = split
    rows = test.iloc[[0, 7, 11]]
    firms = pd.DataFrame({
        "uscc": rows["uscc"].to_numpy(), "name": ["北京量子芯科技有限公司", "深圳示例机器人有限公司", "苏州纳微新材料股份有限公司"],
        "section": rows["seg_industry"].to_numpy(), "as_of": rows["issued"].to_numpy(),
    })
    metas = [m for m in world.features if m.id in ("rd_intensity_3y", "ip_invention_in_force", "inno_points", "fin_revenue_latest")]
    rng = np.random.default_rng(0)
    hist = []
    for r in firms.itertuples():
        for d in yearly_dates(r.as_of):
            for m in metas:
                med = float(train[m.id].median())
                hist.append((r.uscc, m.id, d, med * rng.uniform(0.5, 1.5), med * 0.6, med, med * 1.4, 100))
    history = pd.DataFrame(hist, columns=["uscc", "feature", "as_of", "value", "peer_q25", "peer_median", "peer_q75", "peer_n"])
    return firm_report_inputs(booster, rows, firms, fit_references(train, world.features), run_id="0123456789abcdef",
                              features=world.features, history=history, history_features=metas)


@pytest.fixture(scope="session")
def rendered(model_inputs, firm_inputs, tmp_path_factory):
    from techscore.reports.firm_report import write_firm_report
    from techscore.reports.model_report import write_model_report

    out = tmp_path_factory.mktemp("reports")
    return {"model": write_model_report(model_inputs, out, "zh"), "firm": write_firm_report(firm_inputs, out, "zh")}


@pytest.fixture(scope="session")
def chromium():
    """Headless Chromium, installed from the system packages when absent (as CI must); skip only if impossible."""
    from tests.reports._system import chromium_or_reason, cjk_font_or_reason

    found, reason = chromium_or_reason()
    if found is None:
        print(f"headless Chromium unavailable, skipping browser tests: {reason}")
        pytest.skip(f"headless Chromium could not be installed: {reason}")
    family, why = cjk_font_or_reason()
    if family is None:
        print(f"no CJK font, skipping browser tests: {why}")
        pytest.skip(f"no CJK font could be installed: {why}")
    return found
