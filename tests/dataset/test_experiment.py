"""An experiment spec is resolved into its dataset in one place: the `dataset` command, `train`, `tune` and
`joint` agree on the point-in-time rules and take the catalogue of the spec's workspace, wherever they run."""

from __future__ import annotations

import json
import shutil
import textwrap

import pytest
from typer.testing import CliRunner

from techscore.catalogue import load_catalogue
from techscore.cli import app
from techscore.dataset import LoanDataset, dataset_fingerprint, dataset_request, load_dataset
from techscore.exceptions import SpecError
from techscore.sources.schema import PointInTime
from techscore.specs import load_experiment

runner = CliRunner()

SPEC = """
name = "mini"
model = "models/none.toml"
[data]
path = "world"
window_months = 6
groups = ["rd", "finance"]
[data.point_in_time]
financials_known = [3, 31]
[split]
train_before = 2022-01-01
test_from = 2023-01-01
"""

OTHER_CATALOGUE = '''
from techscore.catalogue import feature, feature_group

RD = feature_group("rd", name_zh="研发投入", name_en="R&D", order=10)

@feature(group="rd", name_zh="别的", name_en="Other workspace's feature", unit="ratio", direction=-1,
         sources=("financials",), description="Only in the workspace the command runs in.")
def rd_other(financials, firms):
    return financials.groupby("uscc")["rd_expense"].sum().reindex(firms).astype(float)
'''


@pytest.fixture
def spec_ws(ws, data_dir, tmp_path):
    """A workspace holding the mini catalogue, the world and an experiment with point-in-time rules."""
    root = tmp_path / "bank"
    shutil.copytree(ws / "features", root / "features")
    (root / "models").mkdir()
    (root / "experiments").mkdir()
    shutil.copytree(data_dir, root / "world")
    (root / "experiments" / "mini.toml").write_text(SPEC, encoding="utf-8")
    return root


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """The command runs from another workspace, with another catalogue."""
    other = tmp_path / "other"
    (other / "features").mkdir(parents=True)
    (other / "models").mkdir()
    (other / "features" / "other.py").write_text(textwrap.dedent(OTHER_CATALOGUE), encoding="utf-8")
    monkeypatch.delenv("TECHSCORE_WORKSPACE", raising=False)
    monkeypatch.chdir(other)
    return other


def test_dataset_command_honours_point_in_time(spec_ws, catalogue):
    result = runner.invoke(app, ["dataset", str(spec_ws / "experiments" / "mini.toml"), "--json"])
    assert result.exit_code == 0, result.output
    want = dataset_fingerprint(spec_ws / "world", catalogue, groups=["rd", "finance"], window_months=6,
                               point_in_time=PointInTime(financials_known=(3, 31)))
    assert json.loads(result.output)["fingerprint"] == want
    ds = LoanDataset.read(spec_ws / "dataset-mini")
    assert ds.summary["point_in_time"]["financials_known"] == [3, 31]


def test_dataset_command_and_training_build_the_same_dataset(spec_ws):
    result = runner.invoke(app, ["dataset", str(spec_ws / "experiments" / "mini.toml"), "--json"])
    assert result.exit_code == 0, result.output
    spec = load_experiment(spec_ws / "experiments" / "mini.toml", check_model=False)
    assert load_dataset(spec).fingerprint == json.loads(result.output)["fingerprint"]


def test_spec_run_from_another_folder_uses_its_own_workspace_catalogue(spec_ws, elsewhere, catalogue):
    result = runner.invoke(app, ["dataset", str(spec_ws / "experiments" / "mini.toml"), "--json"])
    assert result.exit_code == 0, result.output
    ds = LoanDataset.read(spec_ws / "dataset-mini")
    assert ds.feature_ids == catalogue.select(groups=["rd", "finance"]).ids
    assert "rd_other" not in ds.feature_ids and "rd_other" in load_catalogue(elsewhere).ids
    spec = load_experiment(spec_ws / "experiments" / "mini.toml", check_model=False)
    assert load_dataset(spec).feature_ids == ds.feature_ids


def test_an_unknown_point_in_time_key_names_the_file(spec_ws):
    path = spec_ws / "experiments" / "mini.toml"
    path.write_text(SPEC.replace("financials_known", "financial_known"), encoding="utf-8")
    with pytest.raises(SpecError, match=r"experiments/mini\.toml: unknown key 'data\.point_in_time\.financial_known'"):
        dataset_request(load_experiment(path, check_model=False))
