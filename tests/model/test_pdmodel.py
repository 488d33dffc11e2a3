"""The fitted PDModel: predictions, scores, grades, columns by id or display name, plain-file save/load."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from techscore.exceptions import ModelError, SchemaError
from techscore.model.fit import fit_pd_model
from techscore.model.pdmodel import BOOSTER_FILE, MODEL_FILE, PDModel
from techscore.specs import LearnerSpec, ModelSpec


@pytest.fixture(scope="module")
def model(loan_dataset):
    X, y = loan_dataset.X, loan_dataset.y.to_numpy()
    spec = ModelSpec(name="m", learner=LearnerSpec(num_leaves=7, num_boost_round=150, early_stopping_rounds=20))
    m, _ = fit_pd_model(X.iloc[:3000], y[:3000], X.iloc[3000:], y[3000:], loan_dataset.features, spec,
                        catalogue_version="v1")
    return m


def test_predict_frame(model, loan_dataset):
    X = loan_dataset.X.iloc[:500]
    out = model.predict_frame(X)
    assert list(out.columns) == ["pd", "score", "grade"] and out.index.equals(X.index)
    assert np.allclose(out["pd"], model.calibrator.predict(model.raw_margin(X)))
    assert np.array_equal(out["score"], model.score(out["pd"].to_numpy()))
    assert set(out["grade"]) <= set(model.master_scale.grades)
    # higher PD never gets a better score
    order = np.argsort(out["pd"].to_numpy())
    assert np.all(np.diff(out["score"].to_numpy()[order]) <= 1e-9)


def test_save_load_round_trip_reproduces_scores(model, loan_dataset, tmp_path):
    folder = model.save(tmp_path / "m")
    assert sorted(p.name for p in folder.iterdir()) == [BOOSTER_FILE, MODEL_FILE]
    doc = json.loads((folder / MODEL_FILE).read_text())
    assert doc["catalogue_version"] == "v1" and doc["calibrator"]["method"] == "platt"
    again = PDModel.load(str(folder))
    X = loan_dataset.X
    pd.testing.assert_frame_equal(again.predict_frame(X), model.predict_frame(X))
    assert again.features == model.features and PDModel.from_mlflow(folder).feature_ids == model.feature_ids


def test_tampered_booster_is_refused(model, tmp_path):
    folder = model.save(tmp_path / "m")
    (folder / BOOSTER_FILE).write_text((folder / BOOSTER_FILE).read_text() + "\n", encoding="utf-8")
    with pytest.raises(ModelError, match="does not match the checksum"):
        PDModel.load(folder)


def test_columns_by_display_name_and_any_order(model, loan_dataset):
    X = loan_dataset.X.iloc[:50]
    renamed = X.rename(columns={f.id: f.name_en for f in model.features})
    by_name = renamed[list(reversed(renamed.columns))]
    assert np.allclose(model.predict_pd(by_name), model.predict_pd(X))


def test_missing_columns_named(model, loan_dataset):
    X = loan_dataset.X.drop(columns=["fin_leverage", "noise_a"])
    with pytest.raises(SchemaError, match="missing 2 columns the model was trained on: fin_leverage, noise_a"):
        model.predict_pd(X)


def test_categorical_encoding_from_strings_and_unknown_values(model, loan_dataset):
    X = loan_dataset.X.iloc[:200]
    as_text = X.assign(profile_industry_section=X["profile_industry_section"].astype(str))
    assert np.allclose(model.predict_pd(as_text), model.predict_pd(X))
    unknown = X.assign(profile_industry_section="Z")
    assert np.isfinite(model.predict_pd(unknown)).all()
    ints = X.assign(fin_tax_grade=X["fin_tax_grade"].astype("int64"))
    assert np.allclose(model.predict_pd(ints), model.predict_pd(X))


def test_booster_names_must_match_features(model):
    with pytest.raises(ModelError, match="do not match"):
        PDModel(booster=model.booster, features=model.features[:-1], calibrator=model.calibrator)
