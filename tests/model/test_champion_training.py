"""The training pipeline chooses its champion inside each training part, on real small categorical data (Statlog
Australian credit, 690 applicants), records why, and saves the shipped scorecard for `techscore export`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from techscore.cli import app
from techscore.dataset.experiment import load_dataset
from techscore.dataset.frame import LABEL, LoanDataset
from techscore.exceptions import SpecError
from techscore.model.card import CardTable
from techscore.model.pdmodel import PDModel
from techscore.model.split import cv_folds
from techscore.model.training import fit_fold, train
from techscore.specs import load_experiment, load_model_spec

pytestmark = pytest.mark.xdist_group("champion_training")

AUSTRALIAN = Path("/work/shared/data/australian_credit/australian.dat")
CATEGORICAL = (0, 3, 4, 5, 7, 8, 10, 11)
"""Columns A1, A4, A5, A6, A8, A9, A11, A12 of the Statlog data are categorical (codes)."""


def _workspace(root: Path) -> Path:
    raw = pd.read_csv(AUSTRALIAN, sep=r"\s+", header=None)
    table = pd.DataFrame({f"A{i + 1}": ("c" + raw[i].astype(str)) if i in CATEGORICAL else raw[i].astype(float)
                          for i in range(14)}).assign(y=raw[14])
    table.to_csv(root / "australian.csv", index=False)
    (root / "models").mkdir()
    (root / "experiments").mkdir()
    (root / "models" / "quick.toml").write_text('name = "quick"\n[learner]\nnum_boost_round = 300\n'
                                                'early_stopping_rounds = 30\n', encoding="utf-8")
    (root / "experiments" / "aus.toml").write_text(
        'name = "aus"\nmodel = "models/quick.toml"\nchallenger = true\n[data]\ntabular = "australian.csv"\n'
        'target = "y"\n[split]\ncv = 2\ninner_folds = 3\n', encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def australian(tmp_path_factory):
    if not AUSTRALIAN.is_file():
        pytest.skip(f"{AUSTRALIAN} is not on this machine")
    ws = _workspace(tmp_path_factory.mktemp("aus"))
    out = ws / "out"
    return ws, train(ws / "experiments" / "aus.toml", tracking=False, out=out), out


def test_auto_champion_is_chosen_per_training_part_and_recorded(australian):
    _, result, out = australian
    table = result.tables["champion_selection"]
    assert sorted(table["fold"].unique()) == ["fold1", "fold2", "full"]
    assert (table.groupby("fold")["chosen"].sum() == 1).all()
    assert set(table["candidate"]) == {"lightgbm", "scorecard", "blend"}
    for _, part in table.groupby("fold"):  # the winner has the lowest inner log loss of the eligible
        eligible = part[part["eligible"]]
        assert part.loc[part["chosen"], "candidate"].item() == eligible.loc[eligible["inner_log_loss"].idxmin(),
                                                                            "candidate"]
    sel = result.report["champion_selection"]
    assert sel["mode"] == "auto" and sel["evidence"]["source"] == "inner_cv"
    assert sel["shipped"] in ("scorecard", "blend")  # small categorical data: the scorecard carries weight
    assert sel["shipped"] in sel["reason"] and "lowest inner cross-validated log loss" in sel["reason"]
    assert sum(sel["outer_folds_won"].values()) == 2
    for name in ("lightgbm", "scorecard", "blend"):
        assert result.metrics[f"champion_inner_log_loss_{name}"] > 0
    assert result.metrics["champion_weight_scorecard"] > 0
    assert json.loads((out / "metrics.json").read_text())["champion_selection"]["shipped"] == sel["shipped"]
    assert (out / "tables" / "champion_selection.csv").is_file()
    assert PDModel.load(out / "model").info["champion"]["winner"] == sel["shipped"]


def test_shipped_scorecard_is_saved_and_exports(australian, tmp_path):
    _, result, out = australian
    card_file = out / "model" / "scorecard.json"
    card = CardTable.load(card_file)
    assert [c.feature for c in card.characteristics] == [c.feature for c in result.card.characteristics]
    sql = tmp_path / "card.sql"
    res = CliRunner().invoke(app, ["export", "--model", str(card_file), "--format", "sql", "--out", str(sql),
                                   "--reasons", "2"])
    assert res.exit_code == 0, res.output
    assert "reason_2" in sql.read_text()
    assert CardTable.load(out / "challenger" / "scorecard.json").characteristics == card.characteristics


def test_the_choice_never_sees_the_test_rows(australian):
    """Flipping every label of the fold's test rows changes neither the comparison nor the shipped model."""
    ws, _, _ = australian
    spec = load_experiment(ws / "experiments" / "aus.toml")
    ds = load_dataset(spec)
    mspec = load_model_spec(ws / "models" / "quick.toml")
    y = ds.y.to_numpy()
    fold = cv_folds(y, 2, seed=0, inner_folds=3)[0]
    frame = ds.frame.copy()
    frame.iloc[fold.test, frame.columns.get_loc(LABEL)] = 1 - y[fold.test]
    flipped = LoanDataset(frame=frame, features=ds.features, fingerprint=ds.fingerprint, name=ds.name)
    a, b = fit_fold(ds, fold, mspec), fit_fold(flipped, fold, mspec)
    assert a.choice == b.choice
    assert a.model.booster.model_to_string() == b.model.booster.model_to_string()
    assert a.model.calibrator == b.model.calibrator
    assert not np.array_equal(ds.y.to_numpy()[fold.test], flipped.y.to_numpy()[fold.test])


def test_champion_key_is_checked_and_the_experiment_overrides_it(australian, tmp_path):
    ws, _, _ = australian
    (tmp_path / "bad.toml").write_text('name = "bad"\nchampion = "forest"\n', encoding="utf-8")
    with pytest.raises(SpecError, match=r"key 'champion'.*'forest'"):
        load_model_spec(tmp_path / "bad.toml")
    assert load_model_spec(ws / "models" / "quick.toml").champion == "auto"
    text = (ws / "experiments" / "aus.toml").read_text().replace("challenger = true", 'champion = "lightgbm"')
    (ws / "experiments" / "forced.toml").write_text(text, encoding="utf-8")
    assert load_experiment(ws / "experiments" / "forced.toml").champion == "lightgbm"
