"""What the training pipeline tells its callbacks, and what it returns.

Cross-cutting work (MLflow logging, progress bars) attaches as callables taking a `TrainEnv`, like LightGBM's
callbacks take a `CallbackEnv`: the pipeline calls every callback at each stage and never branches on
"is tracking on". Stages: `start` (specs and data known), `fold` (a fold fitted and scored), `end` (everything
computed, artifacts written), `failed` (an exception is on its way out).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd

if TYPE_CHECKING:
    from techscore.dataset.frame import LoanDataset
    from techscore.model.pdmodel import PDModel
    from techscore.model.split import Fold
    from techscore.specs import ExperimentSpec, ModelSpec

__all__ = ["Callback", "Stage", "TrainEnv", "TrainResult", "emit"]

Stage = Literal["start", "fold", "end", "failed"]


@dataclass
class TrainResult:
    """Everything one training produced.

    `metrics` is flat (`test_auc`, `valid_ks`, `challenger_test_auc`, `cv_auc_mean`, ...); `report` is the same
    nested as written to `metrics.json`; `tables` are the segment, lift, calibration, PSI, comparison, importance
    and points tables; `paths` the files written (folder `out`, `model`, `metrics.json`, `segments.csv`, plots).
    """

    experiment: ExperimentSpec | None
    model_spec: ModelSpec
    dataset: LoanDataset
    folds: list[Fold] = field(default_factory=list)
    model: PDModel | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    report: dict = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    predictions: pd.DataFrame | None = None
    """Test (out-of-time) or out-of-fold rows: label, pd, score, grade (and the challenger's pd)."""
    membership: pd.DataFrame | None = None
    """Split membership as row ids (`techscore.model.artifacts.membership_table`): the final model's train and
    validation rows, and the test (out-of-time or out-of-fold) rows."""
    run_id: str | None = None
    model_uri: str | None = None
    registered_model: str | None = None
    model_version: str | None = None
    challenger: object | None = None
    """The fitted `ScorecardModel` (when the experiment has the challenger on)."""
    card: object | None = None
    """The shipped scorecard (`CardTable`) when the champion is or contains it; saved as `model/scorecard.json`."""
    learning_curve: tuple[list[float], int] = field(default_factory=lambda: ([], 0))
    tags: dict[str, str] = field(default_factory=dict)
    """Run tags the pipeline adds as it goes (the leakage guard's findings); tracked at the end or on failure."""
    """Validation metric by round of the final model, and its best round."""


@dataclass
class TrainEnv:
    """What a callback sees: the stage, the result so far and, at `fold`, the fold just done."""

    stage: Stage
    result: TrainResult
    fold: Fold | None = None
    fold_metrics: dict[str, float] = field(default_factory=dict)
    done: int = 0
    total: int = 0
    error: BaseException | None = None


Callback = Callable[[TrainEnv], None]


def emit(callbacks: Sequence[Callback], env: TrainEnv) -> None:
    """Call every callback with `env`, in order."""
    for cb in callbacks:
        cb(env)
