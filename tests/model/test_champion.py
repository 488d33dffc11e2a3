"""Champion selection: LightGBM, the WOE scorecard or their blend, chosen inside the training part; the blend's
explanations add up exactly and its reason codes come out of `techscore score` like LightGBM's."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from techscore.cli import app
from techscore.explain import explain
from techscore.model.blend import card_contributions, card_log_odds
from techscore.model.card import CardTable
from techscore.model.champion import compare_candidates
from techscore.model.pdmodel import PDModel
from tests.export.conftest import scoring_rows, sme_book
from tests.model._champion_book import champion_book
from tests.scoring._world import uscc_codes

pytestmark = pytest.mark.xdist_group("champion")

@pytest.fixture(scope="module")
def book():
    return champion_book()


def test_blend_contributions_are_weighted_treeshap_plus_scorecard_and_add_up(book):
    model, choice, _, _ = book["shipped"]["blend"]
    w_l, w_s = choice.weights
    assert choice.winner == "blend" and w_l > 0 and w_s > 0
    rows = scoring_rows(1500, seed=8, model=book["lgbm"])
    card, lgbm = book["card"], book["lgbm"]
    prepared = lgbm.prepare(rows)
    margin = model.raw_margin(rows)
    np.testing.assert_allclose(margin, w_l * lgbm.raw_margin(rows) + w_s * card_log_odds(card, prepared),
                               rtol=0, atol=1e-9)
    for engine in ("treeshap", "lightgbm"):
        expl = explain(model, rows, engine=engine)
        np.testing.assert_allclose(expl.margin, margin, rtol=0, atol=1e-9)
    # each feature: w_l * its LightGBM TreeSHAP value + w_s * its scorecard contribution, less a constant (the
    # contribution's training mean: exactly that when every bin of the feature had training rows)
    offset = expl.values - w_l * explain(lgbm, rows).values
    values, _ = card_contributions(card, prepared)
    train_bins = card.bin_index(lgbm.prepare(book["X"]))
    trained, _ = card_contributions(card, lgbm.prepare(book["X"]))
    in_card, centred = [], []
    for j, c in enumerate(card.characteristics):
        k = lgbm.feature_ids.index(c.feature)
        in_card.append(k)
        offset[:, k] -= w_s * values[:, j]
        assert np.ptp(offset[:, k]) <= 1e-9
        if c.kind == "numeric" and len(np.unique(train_bins[c.feature])) == len(c.points) + 1:
            centred.append(c.feature)
            assert offset[0, k] == pytest.approx(-w_s * trained[:, j].mean(), abs=1e-9)
    assert centred  # features with missing values in training: the exact training mean
    others = [k for k in range(len(lgbm.feature_ids)) if k not in in_card]
    assert np.abs(offset[:, others]).max() <= 1e-9


def test_scorecard_champion_is_the_recalibrated_card(book):
    model, choice, _, _ = book["shipped"]["scorecard"]
    assert choice.winner == "scorecard" and choice.weights == (0.0, 1.0)
    rows = scoring_rows(800, seed=9)
    z = card_log_odds(book["card"], model.prepare(rows))
    np.testing.assert_allclose(model.raw_margin(rows), z, rtol=0, atol=1e-9)
    np.testing.assert_allclose(model.predict_pd(rows), model.calibrator.predict(z), rtol=0, atol=1e-12)
    assert model.booster.num_trees() == len(book["card"].characteristics)


def test_choice_records_every_candidate_and_is_deterministic(book):
    _, auto, _, _ = book["shipped"]["auto"]
    _, forced, _, _ = book["shipped"]["scorecard"]
    assert [c["candidate"] for c in auto.candidates] == ["lightgbm", "scorecard", "blend"]
    best = min((c for c in auto.candidates if c["eligible"]), key=lambda c: c["inner_log_loss"])
    assert auto.winner == best["candidate"] and "lowest inner cross-validated log loss" in auto.reason
    assert auto.evidence == {"source": "valid", "rows": 1500, "defaults": auto.evidence["defaults"], "folds": 5}
    assert forced.candidates == auto.candidates and f"auto would ship {auto.winner}" in forced.reason


def test_compare_candidates_on_margins_with_known_information():
    rng = np.random.default_rng(0)
    n = 4000
    a, b = rng.normal(size=n), rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2 + 1.2 * a + 0.8 * b)))).astype(int)
    both = compare_candidates(a, b, y, seed=1)  # each margin holds half of the signal: the blend wins
    assert both.winner == "blend" and both.weights[0] > both.weights[1] > 0
    card_only = compare_candidates(rng.normal(size=n), 1.2 * a + 0.8 * b, y, seed=1)
    assert card_only.winner == "scorecard"
    assert compare_candidates(a, b, y, seed=1) == both
    noise = rng.normal(size=n)  # LightGBM's margin off by noise the other margin is: weight -1 on it
    redundant = compare_candidates(1.2 * a + 0.8 * b + noise, noise, y, seed=1)  # a negative weight never ships
    blend = next(c for c in redundant.candidates if c["candidate"] == "blend")
    assert not blend["eligible"] and redundant.winner != "blend"


@pytest.mark.parametrize("mode", ["scorecard", "blend"])
def test_techscore_score_gives_pd_and_reason_codes_of_the_champion(book, mode, tmp_path):
    model = book["shipped"][mode][0]
    folder = model.save(tmp_path / "model")
    X, _ = sme_book(2000, 77)
    frame = X.assign(uscc=pd.array(uscc_codes(len(X), 3), dtype="string"))
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    out = tmp_path / "scores.parquet"
    result = CliRunner().invoke(app, ["score", "--model", str(folder), "--input", str(tmp_path / "in.parquet"),
                                      "--output", str(out), "--reasons", "3", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["scored"] == len(X)
    got = pq.read_table(out).to_pandas().sort_values("row")
    loaded = PDModel.load(folder)
    np.testing.assert_allclose(got["pd"].to_numpy(), loaded.predict_pd(X), rtol=0, atol=1e-12)
    expl = explain(loaded, X)
    order = np.argsort(-expl.values, axis=1, kind="stable")[:, :3]
    top = np.take_along_axis(expl.values, order, axis=1)
    ids = np.asarray(expl.feature_ids, dtype=object)[order]
    for j in range(3):
        raises = top[:, j] > 0
        assert got[f"reason_{j + 1}"].to_numpy()[raises].tolist() == ids[raises, j].tolist()
        np.testing.assert_allclose(got[f"reason_{j + 1}_shap"].to_numpy()[raises], top[raises, j], atol=1e-9)
        assert got[f"reason_{j + 1}"].isna().to_numpy()[~raises].all()
    scorecard_features = {c.feature for c in book["card"].characteristics}
    assert set(got["reason_1"].dropna()) <= set(loaded.feature_ids)
    if mode == "scorecard":  # only the scorecard's features can be reasons
        assert set(got["reason_1"].dropna()) <= scorecard_features


def test_saved_card_round_trips(book, tmp_path):
    card = book["card"]
    again = CardTable.load(card.save(tmp_path / "scorecard.json"))
    rows = scoring_rows(300, seed=4)
    np.testing.assert_array_equal(again.predict_pd(rows), card.predict_pd(rows))


@pytest.mark.filterwarnings("ignore:No variables were selected:UserWarning")  # optbinning's own, the point here
def test_auto_keeps_lightgbm_when_the_scorecard_cannot_compete():
    """Features without information: the scorecard bins nothing, so auto ships LightGBM and says why; forcing the
    scorecard is an error."""
    from techscore.catalogue.meta import FeatureMeta
    from techscore.exceptions import ModelError
    from techscore.model.champion import select_champion
    from techscore.model.fit import fit_pd_model
    from tests.model._champion_book import SPEC

    rng = np.random.default_rng(3)
    X = pd.DataFrame({"flat_a": np.ones(800), "flat_b": np.zeros(800)})
    y = (rng.random(800) < 0.2).astype(int)
    features = [FeatureMeta(id=c, group="t", name_zh=c, name_en=c, description=c, unit="", sources=(), direction=0,
                            kind="numeric") for c in X.columns]
    model, fit = fit_pd_model(X.iloc[:600], y[:600], X.iloc[600:], y[600:], features, SPEC)
    shipped, choice, _, margin = select_champion(model, fit, X.iloc[:600], y[:600], X.iloc[600:], y[600:], SPEC)
    assert shipped is model and margin is None
    assert choice.winner == "lightgbm" and "the scorecard could not compete" in choice.reason
    with pytest.raises(ModelError):
        select_champion(model, fit, X.iloc[:600], y[:600], X.iloc[600:], y[600:], SPEC, mode="scorecard")
