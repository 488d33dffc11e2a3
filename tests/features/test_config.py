"""The replaceable rules in features/config/: shipped files load, bad files are refused with file and key named, and a
replacement specification changes the scores."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from features import _config
from features._config import CONFIG_DIR, InnovationSpec, TechSmeSpec, load
from features.innovation import innovation_points_from_indicators
from techscore.exceptions import SpecError


def _copy(tmp_path: Path, name: str, old: str, new: str) -> Path:
    shutil.copy(CONFIG_DIR / name, tmp_path / name)
    text = (tmp_path / name).read_text(encoding="utf-8")
    assert old in text
    (tmp_path / name).write_text(text.replace(old, new, 1), encoding="utf-8")
    return tmp_path


def test_shipped_rules() -> None:
    spec = _config.INNOVATION
    assert len(spec.indicators) == 18
    assert [sum(i.group == g for i in spec.indicators) for g in ("technology", "growth", "auxiliary")] == [7, 6, 5]
    for stage in _config.STAGES:
        assert spec.weights(stage).sum() == pytest.approx(100.0)
    assert spec.weights("start-up")[spec.indicator_ids.index("rd_expense")] == pytest.approx(50 / 7)
    assert [b.min_ratio for b in _config.HIGH_TECH.bands] == [0.05, 0.04, 0.03]
    assert _config.TECH_SME.pass_.min_score == 60 and _config.TECH_SME.eligibility.max_employees == 500


def test_weights_must_sum_to_100(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "innovation_points.toml", '"start-up" = 50', '"start-up" = 55')
    with pytest.raises(SpecError, match=r"innovation_points.toml is invalid: .*weights of stage start-up must sum "
                                        r"to 100; got 105"):
        load("innovation_points.toml", InnovationSpec, folder)


def test_unknown_group_and_key(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "innovation_points.toml", 'group = "auxiliary"', 'group = "influence"')
    with pytest.raises(SpecError, match="indicator graduates_hired names group 'influence'"):
        load("innovation_points.toml", InnovationSpec, folder)
    folder = _copy(tmp_path, "tech_sme.toml", "min_score = 60", "min_scor = 60")
    with pytest.raises(SpecError, match=r"tech_sme.toml is invalid: pass.min_score: Field required.*"
                                        r"pass.min_scor: Extra inputs are not permitted"):
        load("tech_sme.toml", TechSmeSpec, folder)


def test_bands_must_descend(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "tech_sme.toml", "bands = [[0.30, 20], [0.25, 16]", "bands = [[0.25, 16], [0.30, 20]")
    with pytest.raises(SpecError, match="staff: Value error, bands must be listed from the highest lower bound down"):
        load("tech_sme.toml", TechSmeSpec, folder)


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"feature configuration .*nothing.toml is missing"):
        load("nothing.toml", InnovationSpec, tmp_path)
    (tmp_path / "broken.toml").write_text("stages = [", encoding="utf-8")
    with pytest.raises(SpecError, match=r"broken.toml is not valid TOML"):
        load("broken.toml", InnovationSpec, tmp_path)


def test_a_regional_table_replaces_the_default() -> None:
    regional = InnovationSpec.model_validate({
        "groups": {"all": {"weights": {"start-up": 100, "growth": 100, "stable": 100}}},
        "indicators": [{"id": "rd_expense", "group": "all", "weight": 3}, {"id": "awards", "group": "all"}],
        "stage_rule": _config.INNOVATION.stage_rule.model_dump(), "tiers": {"min_rank": {3: 0.5}},
    })
    frame = pd.DataFrame({"year": 2023, "stage": "growth", "rd_expense": [2.0, 1.0], "awards": [0.0, 1.0]})
    got = innovation_points_from_indicators(frame, regional)
    assert got["points"].tolist() == pytest.approx([75.0, 25.0])
    assert got["tier"].tolist() == [3.0, 0.0]
