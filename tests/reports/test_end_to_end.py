"""The demo path end to end: synthetic world -> dataset -> tracked training -> `techscore report model RUN` ->
`techscore report firm RUN --uscc X` / `--batch FILE`; the reports open in headless Chromium with no console
error and no missing image, print to PDF, and are logged to the run."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chromium")]

ROOT = Path(__file__).resolve().parents[2]
MODEL_TOML = """
name = "pd_report_test"
seed = 7
[learner]
learning_rate = 0.1
num_leaves = 7
min_child_samples = 15
num_boost_round = 120
early_stopping_rounds = 25
"""


def _demo_run(base: Path):
    """A small synthetic world trained with MLflow tracking and the SHAP-summary callback."""
    from techscore.explain.summary import explain_callback
    from techscore.model.training import train
    from techscore.synth import generate

    base.mkdir(parents=True)
    generate(700, 11, base / "world")
    (base / "model.toml").write_text(MODEL_TOML, encoding="utf-8")
    (base / "experiment.toml").write_text(f"""
name = "report_e2e"
model = "{base / 'model.toml'}"
registered_model = ""
[data]
path = "{base / 'world'}"
dataset = "{base / 'dataset'}"
[split]
train_before = 2021-01-01
test_from = 2023-01-01
""", encoding="utf-8")
    return train(base / "experiment.toml", workspace=ROOT, out=base / "outputs", callbacks=[explain_callback()])


def _cli(*args: str):
    from techscore.cli import app

    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _artifacts(run_id: str) -> set[str]:
    from techscore.model.registry import client

    c, found, todo = client(), set(), [None]
    while todo:
        for a in c.list_artifacts(run_id, todo.pop()):
            (todo.append(a.path) if a.is_dir else found.add(a.path))
    return found


def _training_logged_shap_summaries_and_references(result) -> None:
    logged = _artifacts(result.run_id)
    assert {"explain/references.json", "explain/shap_importance.csv", "explain/direction_check.csv",
            "explain/shap_values.parquet", "explain/shap_importance_zh.png", "explain/shap_beeswarm_en.png",
            "explain/shap_importance_clusters.csv"} <= logged
    refs = json.loads((result.paths["model"] / "references.json").read_text(encoding="utf-8"))
    assert refs["by"] == "seg_industry" and refs["groups"]


def _shap_adds_up_to_the_pd_models_log_odds_for_every_test_firm(result) -> None:
    from techscore.explain import explain

    model, frame = result.model, result.dataset.frame
    test = frame.iloc[result.folds[0].test]
    expl = explain(model, test)
    np.testing.assert_allclose(expl.base + expl.values.sum(axis=1), model.raw_margin(test), rtol=0, atol=1e-6)
    assert expl.feature_ids == model.feature_ids


def _reports_open_print_and_are_logged(result, out: Path, batch: Path) -> None:
    from techscore.reports.chromium import check_page

    run_id = result.run_id
    _cli("report", "model", run_id, "--out", str(out), "--workspace", str(ROOT), "--pdf")
    firms = result.predictions.sort_values("pd")["uscc"].drop_duplicates()
    one = firms.iloc[-1]
    _cli("report", "firm", run_id, "--uscc", one, "--out", str(out), "--lang", "en", "--workspace", str(ROOT))
    batch.write_text("\n".join(firms.iloc[[0, len(firms) // 2, -1]]), encoding="utf-8")
    _cli("report", "firm", run_id, "--batch", str(batch), "--out", str(out), "--pdf", "--workspace", str(ROOT))

    pages = {"model": out / "model_report.html", "firm": out / f"firm_{one}.html", "batch": out / "firms_batch.html"}
    for name, lang in (("model", "zh"), ("model", "en"), ("firm", "en"), ("batch", "zh")):
        page = check_page(f"{pages[name]}?lang={lang}", width=800)
        assert page.ok, (name, lang, page)
        assert page.broken_images == [] and page.images > 0
        assert page.overflow_px <= 0, (name, lang, page.overflowing)
        assert page.lang == ("zh-CN" if lang == "zh" else "en")
    model_page = pages["model"].read_text(encoding="utf-8")
    clusters = pd.read_csv(result.paths["explain"] / "shap_importance_clusters.csv")
    shared = clusters[clusters["n_members"] > 1]
    assert len(shared) and "Importance of correlated feature clusters" in model_page
    names = {f.id: f.name_en for f in result.model.features}
    assert html.escape(names[shared.iloc[0]["members"].split()[0]], quote=False) in model_page
    # the split's periods with the embargo gap, and the leakage guard's verdict, read from the run
    gap = result.tables["splits"].set_index("split").loc["embargo"]
    assert f"Embargo gap {gap['period']}: {int(gap['rows']):,} loans" in model_page
    assert "Leakage guard (before fitting)" in model_page and "Nothing flagged" in model_page
    text = pages["firm"].read_text(encoding="utf-8")
    assert one in text and "Factors raising the risk most" in text and "行业" in text
    batch_pdf = (out / "firms_batch.pdf").read_bytes()
    assert batch_pdf[:5] == b"%PDF-" and b"/Count 3" in batch_pdf  # one A4 page per firm
    assert (out / "model_report.pdf").read_bytes()[:5] == b"%PDF-"
    logged = _artifacts(run_id)
    assert {"reports/model_report.html", "reports/model_report.pdf", f"reports/firm_{one}.html",
            "reports/firms_batch.html", "reports/firms_batch.pdf"} <= logged


def _unknown_firm_is_a_clean_error(result, out: Path) -> None:
    from techscore.cli import app

    res = CliRunner().invoke(app, ["report", "firm", result.run_id, "--uscc", "91110000000000000X", "--out",
                                   str(out), "--no-log", "--workspace", str(ROOT)])
    assert res.exit_code == 2
    assert "1 firm not in the run's data" in res.output and "91110000000000000X" in res.output


def test_demo_path_end_to_end(chromium, tmp_path, monkeypatch):
    """One test (one training) for the whole path: pytest-xdist may not keep a group on one worker."""
    monkeypatch.chdir(ROOT)
    result = _demo_run(tmp_path / "demo")
    _training_logged_shap_summaries_and_references(result)
    _shap_adds_up_to_the_pd_models_log_odds_for_every_test_firm(result)
    _reports_open_print_and_are_logged(result, tmp_path / "reports", tmp_path / "batch.txt")
    _unknown_firm_is_a_clean_error(result, tmp_path / "unknown")
