"""End to end: `techscore joint` on a small synthetic world, in a local store and against the authenticated server.

The world (3,000 firms, default rate raised to 8% so that small banks have some defaults) holds loans of four
banks of very different sizes; with the split below the two large banks can fit their own models, the two small
ones cannot (too few defaults in their validation year) and are compared on the pooled models only.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow

BANKS = ("BANK_A", "BANK_B", "BANK_C", "BANK_D")
VARIANTS = ("own", "pooled", "own_bank", "pooled_bank")
MODEL = """
name = "joint_fast"
seed = 7
[learner]
learning_rate = 0.1
num_leaves = 7
min_child_samples = 20
num_boost_round = 300
early_stopping_rounds = 30
num_threads = 1
"""


def _spec(root: Path, world: Path, banks: dict[str, str], name: str, tracking: str = "") -> Path:
    """A joint spec in workspace `root`; `banks` maps bank id -> its TOML body."""
    body = "\n".join(f"[banks.{b}]\n{textwrap.dedent(text).strip()}\n" for b, text in banks.items())
    path = root / "experiments" / f"{name}.toml"
    path.write_text(textwrap.dedent(f"""
        name = "{name}"
        model = "models/joint_fast.toml"
        min_bad = 5
        [data]
        path = "{world}"
        dataset = "{root / 'dataset'}"
        [split]
        train_before = 2021-07-01
        test_from = 2022-07-01
        [bootstrap]
        n = 300
        seed = 1
        [tracking]
        """) + tracking + "\n" + body, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def joint_ws(tmp_path_factory):
    """A workspace with the fast model spec and a small synthetic world."""
    from techscore.synth import generate

    root = tmp_path_factory.mktemp("joint-ws")
    (root / "experiments").mkdir()
    (root / "models").mkdir()
    (root / "features").symlink_to(Path(__file__).resolve().parents[2] / "features")  # the spec's own catalogue
    (root / "models" / "joint_fast.toml").write_text(MODEL, encoding="utf-8")
    world = root / "world"
    generate(3000, 5, world, default_rate=0.08, shock_section=None, slide_share=0.0)  # no monitoring plants: the
    # counts below (BANK_A's validation defaults, the small banks' skips) rest on this world's realisation
    return root, world


def _children(client, experiment_name: str, parent_id: str):
    exp = client.get_experiment_by_name(experiment_name)
    return client.search_runs([exp.experiment_id], filter_string=f"tags.`techscore.parent_run` = '{parent_id}'")


def test_local_store_parent_children_and_comparison_table(joint_ws, tmp_path):
    from mlflow import MlflowClient
    from typer.testing import CliRunner

    from techscore.cli import app
    from techscore.model.metrics import auc

    root, world = joint_ws
    spec = _spec(root, world, {"BANK_A": "npl_ratio = 0.04\nnpl_tolerance = 0.02", "BANK_B": "npl_ratio = 0.05",
                               "BANK_C": "approval_rate = 0.8", "BANK_D": "approval_rate = 0.9"}, "local")
    uri = os.environ["MLFLOW_TRACKING_URI"]  # the suite's throw-away SQLite store (tests/conftest.py)
    assert uri.startswith("sqlite:///")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["joint", str(spec), "--tracking-uri", uri, "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)

    client = MlflowClient(tracking_uri=uri)
    parent = client.get_run(info["parent_run_id"])
    assert client.get_experiment(parent.info.experiment_id).name == "joint/platform"
    assert parent.info.status == "FINISHED"
    shipped = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"comparison.csv", "comparison.md", "auc_differences.csv", "comparison.png", "children.json"} <= shipped

    table = pd.read_csv(out / "comparison.csv")
    assert sorted(zip(table["bank"], table["variant"], strict=True)) == sorted(
        (b, v) for b in BANKS for v in VARIANTS)
    ran = table[table["auc"].notna()]
    for col in ("auc", "ks", "brier", "calibration_oe", "approval_rate", "auc_lo", "auc_hi"):
        assert ran[col].notna().all(), col
    assert (ran["approved_bad_rate"].notna() | (ran["approval_rate"] == 0)).all()
    assert ((ran["auc_lo"] <= ran["auc"]) & (ran["auc"] <= ran["auc_hi"])).all()
    # the table's AUC is the AUC of the bank's own test loans, as the child's predictions show
    pred = pd.read_parquet(out / "children" / "BANK_A" / "pooled" / "predictions.parquet")
    row = ran[(ran["bank"] == "BANK_A") & (ran["variant"] == "pooled")].iloc[0]
    assert len(pred) == row["test_loans"] and pred["label"].sum() == row["test_defaults"]
    assert auc(pred["label"], pred["pd"]) == pytest.approx(row["auc"])
    assert (pred["issued"] >= pd.Timestamp("2022-07-01")).all()
    loans = pd.read_parquet(world / "loans.parquet").set_index("loan_id")
    assert set(loans.loc[pred["loan_id"], "bank_id"]) == {"BANK_A"}
    # a child run is a run's artifact set: the one reader reads it as it reads a training run
    from techscore.model.artifacts import RunArtifacts
    from techscore.model.vocabulary import parse_metric

    child = RunArtifacts.load(out / "children" / "BANK_A" / "own")
    own = ran[(ran["bank"] == "BANK_A") & (ran["variant"] == "own")].iloc[0]
    parts = child.membership["part"].value_counts()
    assert parts["test"] == own["test_loans"] and parts["train"] == own["bank_train_loans"]
    assert set(loans.loc[child.membership["loan_id"], "bank_id"]) == {"BANK_A"}
    assert child.model.feature_ids and [k for k in child.metrics if parse_metric(k) is None] == []
    # the two small banks have too few defaults in their validation year for a model of their own
    skipped = table[table["auc"].isna()]
    assert set(zip(skipped["bank"], skipped["variant"], strict=True)) == {
        (b, v) for b in ("BANK_C", "BANK_D") for v in ("own", "own_bank")}
    assert skipped["note"].str.contains("an own model needs at least 5").all()
    assert set(ran.loc[ran["variant"] == "pooled", "bank"]) == set(BANKS)
    # the cut-off rules hold on the PDs that set them: NPL rule and approval-rate target
    a = ran[ran["bank"] == "BANK_A"]
    assert (a["approved_expected_bad_rate"].dropna() <= 0.06 + 1e-12).all()
    assert a["max_bad_rate"].tolist() == pytest.approx([0.06] * len(a))
    c = ran[ran["bank"] == "BANK_C"]
    assert (c["approval_rate"] <= 0.8).all() and (c["approval_rate"] > 0.7).all()

    diffs = pd.read_csv(out / "auc_differences.csv")
    assert len(diffs) == len(BANKS) * 3
    pooling = diffs[diffs["comparison"] == "pooling_gain"].set_index("bank")
    measured = pooling.loc[["BANK_A", "BANK_B"]]
    assert (measured["diff_lo"] <= measured["auc_diff"]).all() and (measured["auc_diff"] <= measured["diff_hi"]).all()
    assert np.allclose(measured["auc_diff"], measured["auc_variant"] - measured["auc_baseline"])
    assert pooling.loc[["BANK_C", "BANK_D"], "auc_diff"].isna().all()

    # one child per bank and variant that ran, in the bank's own experiment, tagged with the parent
    for bank in BANKS:
        children = _children(client, f"joint/{bank}", parent.info.run_id)
        expected = set(ran.loc[ran["bank"] == bank, "variant"])
        assert {r.data.tags["techscore.variant"] for r in children} == expected
        for r in children:
            assert r.info.status == "FINISHED"
            assert r.data.tags["techscore.parent_experiment"] == "joint/platform"
            assert "mlflow.parentRunId" not in r.data.tags  # other experiment: the link is the tag
            m = r.data.metrics
            for key in ("test_auc", "test_ks", "test_brier", "test_log_loss", "test_auc_lo", "test_auc_hi",
                        "test_calibration_oe", "approval_rate", "train_rows", "valid_rows", "train_auc"):
                assert key in m, (bank, r.data.tags["techscore.variant"], key)
            assert "approved_bad_rate" in m or m["approval_rate"] == 0
            row = ran[(ran["bank"] == bank) & (ran["variant"] == r.data.tags["techscore.variant"])].iloc[0]
            assert m["test_auc"] == pytest.approx(row["auc"])
            arts = {x.path for x in client.list_artifacts(r.info.run_id)}
            assert {"tables", "plots", "predictions.parquet"} <= arts
    links = json.loads((out / "children.json").read_text())
    assert len(links["children"]) == len(ran) and len(links["skipped"]) == 4
    assert parent.data.tags["techscore.joint"] == "local"


@pytest.mark.xdist_group("mlflow_server")
def test_server_children_are_written_by_each_bank_and_hidden_from_the_others(joint_ws, mlflow_server, tmp_path,
                                                                            monkeypatch, capsys):
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from techscore.joint.experiment import run_joint

    root, world = joint_ws
    spec = _spec(root, world, {"BANK_A": 'npl_ratio = 0.02\nuser = "bank_a"',
                               "BANK_B": 'approval_rate = 0.8\nuser = "bank_b"'}, "server", tracking="plots = false")
    result = run_joint(spec, credentials=mlflow_server["root"] / "credentials.json", out=tmp_path / "out")
    assert "View run" not in capsys.readouterr().out  # the library never prints (MLflow would, unasked)
    assert result.tracking_uri == mlflow_server["url"]
    assert {(c.bank, c.variant) for c in result.children} == {(b, v) for b in ("BANK_A", "BANK_B") for v in VARIANTS}
    assert result.differences["auc_diff"].notna().all()

    def as_user(user: str) -> MlflowClient:
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user)
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", mlflow_server["creds"][user].password)
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        return MlflowClient(tracking_uri=mlflow_server["url"])

    runs_of = {b: [c for c in result.children if c.bank == b] for b in ("BANK_A", "BANK_B")}
    for bank, user in (("BANK_A", "bank_a"), ("BANK_B", "bank_b")):
        client = as_user(user)
        found = _children(client, f"joint/{user}", result.parent_run_id)
        assert {r.info.run_id for r in found} == {c.run_id for c in runs_of[bank]}
        assert all(r.data.tags["techscore.bank"] == bank and "test_auc" in r.data.metrics for r in found)
        assert {c.experiment for c in runs_of[bank]} == {f"joint/{user}"}
        # the parent (the platform's experiment) is not theirs to read
        with pytest.raises(MlflowException, match="403|PERMISSION_DENIED|[Pp]ermission"):
            client.get_run(result.parent_run_id)

    bank_b = as_user("bank_b")
    for child in runs_of["BANK_A"]:
        with pytest.raises(MlflowException, match="403|PERMISSION_DENIED|[Pp]ermission"):
            bank_b.get_run(child.run_id)
    try:  # the server refuses the search or returns none of bank_a's runs
        seen = {r.info.run_id for r in bank_b.search_runs([runs_of["BANK_A"][0].experiment_id])}
    except MlflowException as exc:
        assert "403" in str(exc) or "PERMISSION_DENIED" in str(exc), exc
        seen = set()
    assert not seen & {c.run_id for c in runs_of["BANK_A"]}

    platform = as_user("platform")
    parent = platform.get_run(result.parent_run_id)
    assert platform.get_experiment(parent.info.experiment_id).name == "joint/platform"
    assert {a.path for a in platform.list_artifacts(result.parent_run_id)} >= {"comparison.csv", "comparison.png"}
    # bank_a granted the platform EDIT, bank_b nothing: bank_b's children were written with bank_b's own login
    assert platform.get_run(runs_of["BANK_A"][0].run_id).data.tags["techscore.parent_run"] == result.parent_run_id
    with pytest.raises(MlflowException, match="403|PERMISSION_DENIED|[Pp]ermission"):
        platform.get_run(runs_of["BANK_B"][0].run_id)


def test_a_bank_without_loans_is_named_with_the_file_and_key(joint_ws, tmp_path):
    from typer.testing import CliRunner

    from techscore.cli import app

    root, world = joint_ws
    spec = _spec(root, world, {"BANK_A": "approval_rate = 0.8", "BANK_Z": "approval_rate = 0.8"}, "unknown")
    res = CliRunner().invoke(app, ["joint", str(spec), "--no-tracking", "--out", str(tmp_path / "out")])
    assert res.exit_code == 2
    said = " ".join(res.output.split())  # the terminal wraps long lines
    assert "experiments/unknown.toml: key 'banks.BANK_Z': no loan of the dataset has bank_id 'BANK_Z'" in said
    assert "the loans come from BANK_A, BANK_B, BANK_C, BANK_D" in said
