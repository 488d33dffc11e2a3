"""Spec files: every key checked, errors naming the file and the dotted key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from techscore.exceptions import SpecError
from techscore.specs import (
    ExperimentSpec,
    MasterScaleSpec,
    ModelSpec,
    load_experiment,
    load_model_spec,
)
from tests.model.conftest import EXPERIMENT_TOML, MODEL_TOML, write_workspace

REPO = Path(__file__).resolve().parents[2]


def test_unknown_key_names_file_and_dotted_key(tmp_path):
    ws = write_workspace(tmp_path, experiment=EXPERIMENT_TOML.replace("test_from", "tset_from"))
    with pytest.raises(SpecError, match=r"^experiments/synthetic\.toml: .*unknown key 'split\.tset_from'"):
        load_experiment(ws / "experiments" / "synthetic.toml")


def test_wrong_type_names_key_and_value(tmp_path):
    ws = write_workspace(tmp_path, model=MODEL_TOML.replace("learning_rate = 0.1", 'learning_rate = "fast"'))
    with pytest.raises(SpecError, match=r"models/test_lgbm\.toml: key 'learner\.learning_rate': .*got 'fast'"):
        load_experiment(ws / "experiments" / "synthetic.toml")


def test_bad_value_and_missing_key(tmp_path):
    ws = write_workspace(tmp_path, model=MODEL_TOML.replace('method = "platt"', 'method = "beta"')
                         .replace('name = "test_lgbm"', ""))
    with pytest.raises(SpecError) as err:
        load_model_spec(ws / "models" / "test_lgbm.toml")
    msg = str(err.value)
    assert "missing key 'name'" in msg and "key 'calibration.method'" in msg and "'beta'" in msg


def test_split_kinds_are_exclusive(tmp_path):
    ws = write_workspace(tmp_path, experiment=EXPERIMENT_TOML.replace("[split]", "[split]\ncv = 5"))
    with pytest.raises(SpecError, match=r"key 'split': give either train_before and test_from .* or cv"):
        load_experiment(ws / "experiments" / "synthetic.toml")


def test_split_dates_must_be_ordered():
    with pytest.raises(Exception, match="must come after"):
        ExperimentSpec.model_validate({"name": "x", "data": {"path": "w"},
                                       "split": {"train_before": dt.date(2023, 1, 1), "test_from": dt.date(2022, 1, 1)}})


def test_data_needs_one_source(tmp_path):
    bad = EXPERIMENT_TOML.replace('path = "world"', 'path = "world"\ntabular = "x.csv"\ntarget = "y"')
    ws = write_workspace(tmp_path, experiment=bad)
    with pytest.raises(SpecError, match=r"key 'data': give either path .* or tabular"):
        load_experiment(ws / "experiments" / "synthetic.toml")


def test_invalid_toml_and_missing_file(tmp_path):
    ws = write_workspace(tmp_path, experiment="name = [")
    with pytest.raises(SpecError, match=r"experiments/synthetic\.toml: not valid TOML"):
        load_experiment(ws / "experiments" / "synthetic.toml")
    with pytest.raises(SpecError, match="spec file not found"):
        load_experiment(ws / "experiments" / "nope.toml")


def test_master_scale_checked():
    with pytest.raises(Exception, match="increase strictly"):
        MasterScaleSpec(grades=["A", "B"], pd_upper=[0.5, 0.2])
    with pytest.raises(Exception, match="last pd_upper must be 1"):
        MasterScaleSpec(grades=["A", "B"], pd_upper=[0.1, 0.5])
    with pytest.raises(Exception, match="same length"):
        MasterScaleSpec(grades=["A"], pd_upper=[0.1, 1.0])


def test_paths_resolve_against_workspace_and_dataset_request(tmp_path):
    from techscore.dataset import dataset_request

    ws = write_workspace(tmp_path)
    spec = load_experiment(ws / "experiments" / "synthetic.toml")
    assert spec.workspace == ws.resolve()
    assert spec.resolve("world") == ws.resolve() / "world"
    assert spec.model_spec().name == "test_lgbm"
    assert spec.experiment_name == "techscore-test-synthetic" and spec.model_name == "techscore_test_pd"
    (ws / "world").mkdir(exist_ok=True)
    request = dataset_request(spec)
    assert request.data == ws.resolve() / "world" and request.out == ws.resolve() / "dataset-synthetic"
    assert request.window_months == 12 and request.workspace == ws.resolve()


def test_learner_params_are_deterministic_lightgbm_params():
    params = ModelSpec(name="m", seed=3).learner.lgb_params(3)
    assert params["seed"] == 3 and params["deterministic"] is True and params["force_col_wise"] is True
    assert params["num_threads"] == 1 and "num_boost_round" not in params and "refit" not in params


@pytest.mark.parametrize("name", ["models/pd_lgbm_v1.toml"])
def test_repository_model_specs_load(name):
    spec = load_model_spec(REPO / name)
    assert spec.calibration.method == "platt" and spec.monotone


@pytest.mark.parametrize("name", ["experiments/polish.toml", "experiments/demo.toml"])
def test_repository_experiments_load(name):
    spec = load_experiment(REPO / name)
    assert spec.workspace == REPO
    assert spec.split.kind == ("cv" if "polish" in name else "oot")


def test_leakage_and_embargo_keys_are_checked(tmp_path):
    ws = write_workspace(tmp_path, experiment=EXPERIMENT_TOML + "[leakage]\nstrcit = true\nauc_threshold = 0.4\n")
    with pytest.raises(SpecError) as err:
        load_experiment(ws / "experiments" / "synthetic.toml")
    assert "unknown key 'leakage.strcit'" in str(err.value) and "key 'leakage.auc_threshold'" in str(err.value)
    ws = write_workspace(tmp_path, experiment=EXPERIMENT_TOML.replace("[split]", "[split]\nembargo_months = -1"))
    with pytest.raises(SpecError, match=r"key 'split\.embargo_months'"):
        load_experiment(ws / "experiments" / "synthetic.toml")
    ws = write_workspace(tmp_path, model=MODEL_TOML.replace('method = "platt"', 'method = "platt"\ncross_fit_folds = 1'))
    with pytest.raises(SpecError, match=r"key 'calibration\.cross_fit_folds'"):
        load_model_spec(ws / "models" / "test_lgbm.toml")
