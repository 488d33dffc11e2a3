"""A cross-validated run: the rows its final model trained on are written once (split membership) and every
reader takes them from there, so explain and the reports agree (before, one took every row as training rows
and another none)."""

from __future__ import annotations

import json

import pytest

from techscore.explain.reasons import REFERENCES_FILE, References, fit_references
from techscore.explain.summary import explain_callback
from techscore.model.artifacts import RunArtifacts
from techscore.model.training import train
from tests.model.conftest import make_loan_dataset, write_workspace

MODEL = """
name = "tiny"
seed = 3
[learner]
learning_rate = 0.2
num_leaves = 4
num_boost_round = 40
early_stopping_rounds = 10
"""

EXPERIMENT = """
name = "cv_tabular"
model = "models/test_lgbm.toml"
challenger = false
[data]
tabular = "loans.csv"
target = "label"
segment_columns = ["seg_industry"]
[split]
cv = 3
inner_folds = 0
valid_fraction = 0.25
"""


@pytest.fixture(scope="module")
def cv_run(tmp_path_factory):
    root = write_workspace(tmp_path_factory.mktemp("ws"), model=MODEL, experiment=EXPERIMENT)
    frame = make_loan_dataset(n=1200, seed=5).frame
    columns = ["label", "seg_industry", "rd_intensity", "fin_leverage", "sc_late_rate_as_buyer", "profile_age_years"]
    frame[columns].to_csv(root / "loans.csv", index=False)
    out = root / "out"
    result = train(root / "experiments" / "synthetic.toml", tracking=False, out=out,
                   callbacks=[explain_callback(plots=False)])
    return result, out, root


def test_a_cv_run_records_the_final_models_rows(cv_run):
    result, out, root = cv_run
    run = RunArtifacts.load(out)
    ds, spec = run.dataset(workspace=root)
    assert spec.split.kind == "cv"
    train_rows, valid_rows, test_rows = (run.rows(p, ds.frame) for p in ("train", "valid", "test"))
    assert len(train_rows) == 900 and len(valid_rows) == 300
    assert train_rows.intersection(valid_rows).empty
    assert len(test_rows) == len(ds.frame)  # every row is out of fold once


def test_a_cv_runs_references_come_from_the_rows_the_report_uses(cv_run):
    result, out, root = cv_run
    run = RunArtifacts.load(out)
    ds, _ = run.dataset(workspace=root)
    saved = References.load(out / "explain" / REFERENCES_FILE)
    refit = fit_references(ds.frame.loc[run.rows("train", ds.frame)], run.model.features, fingerprint=ds.fingerprint)
    assert json.dumps(refit.to_dict(), sort_keys=True, default=str) == json.dumps(saved.to_dict(), sort_keys=True,
                                                                                 default=str)


def test_a_cv_runs_model_report_builds(cv_run, tmp_path):
    from techscore.reports.model_report import build_model_report

    _, out, root = cv_run
    paths = build_model_report(out, out=tmp_path, workspace=root, log=False)
    page = paths["html"].read_text(encoding="utf-8")
    assert "AUC cv mean" in page  # the out-of-fold metrics, labelled from the vocabulary
    assert "dataset fingerprint differs" not in page
