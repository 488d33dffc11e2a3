"""Model and experiment specs: the TOML files in `models/` and `experiments/`, read into checked pydantic models.

A model spec says how to fit and express a PD model (learner parameters, monotone constraints, calibration, score
scaling, master scale, seed); an experiment spec says what to fit it on (data, feature groups, performance window,
split, segments, MLflow experiment, challenger). Every key is declared here with its type and allowed values;
an unknown or mistyped key is an error that names the file and the dotted key::

    experiments/demo.toml: unknown key 'split.tset_from'

This module is low-level (pydantic and the standard library only), so the dataset layer and the CLI can read
specs without importing the modelling stack.

>>> spec = load_experiment("experiments/polish.toml")            # doctest: +SKIP
>>> spec.split.cv, spec.model_spec().learner.learning_rate      # doctest: +SKIP
(5, 0.05)
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_serializer, model_validator
from pydantic import ValidationError as PydanticValidationError

from techscore.exceptions import SpecError
from techscore.workspace import workspace as find_workspace

__all__ = [
    "CALIBRATION_METHODS", "CHAMPION_MODES", "CalibrationSpec", "DataSpec", "ExperimentSpec", "LeakageSpec",
    "LearnerSpec", "MasterScaleSpec", "ModelSpec", "REJECT_INFERENCE_METHODS", "RejectInferenceSpec", "Scalar",
    "ScalingSpec", "SpecFile", "SpecPart", "SplitSpec", "load_experiment",
    "load_model_spec", "load_spec", "parse_spec", "shown_path", "spec_error",
]

CALIBRATION_METHODS: tuple[str, ...] = ("platt", "isotonic", "none")
"""`platt` (default): logistic in the raw margin, affine in log-odds so SHAP values stay additive; `isotonic`:
a monotone step function (better fit for large validation sets, breaks additivity); `none`: the booster's own
probability."""
CHAMPION_MODES: tuple[str, ...] = ("auto", "lightgbm", "scorecard", "blend")
"""`champion`: chosen by inner cross-validated log loss (auto), or forced (see `techscore.model.champion`)."""

Scalar = str | int | float | bool
Fraction = Annotated[float, Field(gt=0, le=1)]
NonNeg = Annotated[float, Field(ge=0)]


class SpecPart(BaseModel):
    """A table of a spec file: every key declared, unknown keys refused, frozen once read."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)



class SpecFile(SpecPart):
    """The base of every spec file (model, experiment, joint experiment): the file it was read from, the workspace
    its relative paths resolve against, and how messages name it."""

    _path: Path | None = PrivateAttr(default=None)
    _workspace: Path | None = PrivateAttr(default=None)

    @property
    def path(self) -> Path | None:
        """The file this spec was read from (None when built in code)."""
        return self._path

    @property
    def workspace(self) -> Path:
        """The workspace relative paths are resolved against."""
        return self._workspace or find_workspace()

    @property
    def shown(self) -> str:
        """The spec as messages name it: its file relative to the workspace, else its name."""
        if self._path is None:
            return f"spec '{getattr(self, 'name', type(self).__name__)}'"
        return shown_path(self._path, self.workspace)

    def resolve(self, relative: str | Path) -> Path:
        """`relative` against the workspace (absolute paths unchanged)."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.workspace / p

    def error(self, key: str, message: str) -> SpecError:
        """A SpecError naming this spec's file and `key`."""
        return SpecError(f"{self.shown}: key '{key}': {message}")

    def located(self, path: Path | None, workspace: Path | None) -> SpecFile:
        """This spec, marked as read from `path` with relative paths resolved against `workspace`."""
        self._path = None if path is None else Path(path).resolve()
        self._workspace = None if workspace is None else Path(workspace).resolve()
        return self


class LearnerSpec(SpecPart):
    """LightGBM parameters (names as in LightGBM's docs); `extra` passes any other LightGBM parameter through."""

    objective: Literal["binary", "cross_entropy"] = "binary"
    learning_rate: Annotated[float, Field(gt=0, le=1)] = 0.05
    num_leaves: Annotated[int, Field(ge=2, le=131072)] = 15
    max_depth: int = -1
    min_child_samples: Annotated[int, Field(ge=1)] = 20
    min_sum_hessian_in_leaf: NonNeg = 1e-3
    feature_fraction: Fraction = 1.0
    bagging_fraction: Fraction = 1.0
    bagging_freq: Annotated[int, Field(ge=0)] = 0
    lambda_l1: NonNeg = 0.0
    lambda_l2: NonNeg = 0.0
    min_gain_to_split: NonNeg = 0.0
    max_bin: Annotated[int, Field(ge=2)] = 255
    path_smooth: NonNeg = 0.0
    scale_pos_weight: Annotated[float, Field(gt=0)] = 1.0
    extra_trees: bool = False
    cat_smooth: NonNeg = 10.0
    cat_l2: NonNeg = 10.0
    min_data_per_group: Annotated[int, Field(ge=1)] = 100
    max_cat_to_onehot: Annotated[int, Field(ge=1)] = 4
    monotone_constraints_method: Literal["basic", "intermediate", "advanced"] = "intermediate"
    monotone_penalty: NonNeg = 0.0
    num_boost_round: Annotated[int, Field(ge=1)] = 2000
    early_stopping_rounds: Annotated[int, Field(ge=0)] = 100
    """Stop when the validation metric has not improved for this many rounds (0: train all rounds)."""
    early_stopping_metric: Literal["auc", "binary_logloss", "average_precision"] = "auc"
    refit: bool = False
    """After early stopping, refit on train + validation with the best number of rounds scaled by the data
    growth; the calibrator is then fitted on cross-fitted margins of that configuration
    (`calibration.cross_fit_folds`), not on the early-stopped booster's."""
    inner_cv_model: Literal["refit", "average"] = "average"
    """With inner cross-validation (cv experiments): after early stopping on the inner folds, `average` the inner
    boosters (their trees joined into one booster; on the Polish data a little better discrimination and
    calibration than a refit, each inner booster being calibrated out of fold) or `refit` one booster on all
    training rows for the chosen number of rounds."""
    inner_cv_repeats: Annotated[int, Field(ge=1)] = 1
    """With inner cross-validation: run it this many times on other shuffles and seeds; `average` then averages
    all the inner boosters (bagging: steadier ranking on few defaults, at `inner_cv_repeats` times the cost)."""
    num_threads: Annotated[int, Field(ge=1)] = 1
    """Fixed so that the same spec and seed give the same model bytes. One by default: LightGBM's threads slow
    down badly when other processes (parallel test workers, other jobs) compete for the cores."""
    histogram: Literal["col_wise", "row_wise"] = "col_wise"
    """Histogram layout, forced (LightGBM's automatic choice is timed and so not reproducible)."""
    extra: dict[str, Scalar] = Field(default_factory=dict)

    def lgb_params(self, seed: int) -> dict[str, Any]:
        """Parameters for `lightgbm.train` (boosting rounds and early stopping are passed separately)."""
        skip = {"num_boost_round", "early_stopping_rounds", "early_stopping_metric", "refit", "inner_cv_model",
                "inner_cv_repeats", "histogram", "extra"}
        params = {k: v for k, v in self.model_dump().items() if k not in skip}
        params.update(
            metric=self.early_stopping_metric, seed=int(seed), deterministic=True, verbosity=-1,
            feature_pre_filter=False, **{f"force_{self.histogram}": True},
        )
        params.update(self.extra)
        return params


class CalibrationSpec(SpecPart):
    method: Literal["platt", "isotonic", "none"] = "platt"
    cross_fit_folds: Annotated[int, Field(ge=2, le=20)] = 5
    """With `learner.refit` (the booster that ships is refit on train + validation): the calibrator is fitted on
    the out-of-fold margins of this many boosters, each trained on the other folds of train + validation with
    the shipped booster's parameters and number of rounds (cross-fitting)."""


class ScalingSpec(SpecPart):
    """Points-to-double-the-odds scaling: PD at `base_odds` (good:bad) scores `base_score`; doubling the
    good:bad odds adds `pdo` points (doubling the odds of default takes `pdo` away)."""

    base_score: float = 600.0
    base_odds: Annotated[float, Field(gt=0)] = 50.0
    pdo: Annotated[float, Field(gt=0)] = 20.0
    decimals: Annotated[int, Field(ge=0, le=6)] = 1


DEFAULT_GRADES = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C", "D")
DEFAULT_PD_UPPER = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.10, 0.20, 1.0)


class MasterScaleSpec(SpecPart):
    """Grades from best to worst, each with the upper bound of its PD band (last bound 1)."""

    grades: list[str] = Field(default_factory=lambda: list(DEFAULT_GRADES))
    pd_upper: list[float] = Field(default_factory=lambda: list(DEFAULT_PD_UPPER))

    @model_validator(mode="after")
    def _bands(self) -> MasterScaleSpec:
        if len(self.grades) != len(self.pd_upper):
            raise ValueError(f"grades and pd_upper must have the same length; got {len(self.grades)} grades and "
                             f"{len(self.pd_upper)} bounds")
        if len(set(self.grades)) != len(self.grades):
            raise ValueError("grades must be distinct")
        ups = self.pd_upper
        if any(not (0 < u <= 1) for u in ups) or any(b <= a for a, b in zip(ups, ups[1:], strict=False)):
            raise ValueError(f"pd_upper must increase strictly within (0, 1]; got {ups}")
        if not math.isclose(ups[-1], 1.0):
            raise ValueError(f"the last pd_upper must be 1 so every PD has a grade; got {ups[-1]}")
        return self


class ModelSpec(SpecFile):
    """A model spec file (`models/*.toml`)."""

    name: str
    description: str = ""
    seed: int = 42
    monotone: bool = True
    """Monotone constraints from the features' declared risk directions (categorical features: none)."""
    learner: LearnerSpec = Field(default_factory=LearnerSpec)
    calibration: CalibrationSpec = Field(default_factory=CalibrationSpec)
    scaling: ScalingSpec = Field(default_factory=ScalingSpec)
    master_scale: MasterScaleSpec = Field(default_factory=MasterScaleSpec)
    champion: Literal["auto", "lightgbm", "scorecard", "blend"] = "auto"
    """What ships: `auto` compares LightGBM, the WOE scorecard and their blend in log-odds by inner
    cross-validated log loss inside each training part; the others force one (`techscore.model.champion`)."""


class DataSpec(SpecPart):
    """Where the rows come from: a folder of raw tables (`path`, built into a loan dataset) or one `tabular` file
    (ARFF, CSV or Parquet) with a `target` column. Relative paths are relative to the workspace."""

    path: str | None = None
    dataset: str | None = None
    """Folder the built loan dataset is written to and reused from (default: beside `path`)."""
    groups: list[str] | None = None
    window_months: Annotated[int, Field(ge=1)] = 12
    observation_end: dt.date | None = None
    point_in_time: dict[str, Any] | None = None
    tabular: str | None = None
    target: str | None = None
    id_column: str | None = None
    date_column: str | None = None
    """Tabular data: a date column kept out of the features (parsed as dates), for an out-of-time split."""
    segment_columns: list[str] = Field(default_factory=list)
    """Tabular data: columns kept out of the features and used only to break metrics down."""
    directions: dict[str, Literal[-1, 0, 1]] = Field(default_factory=dict)
    """Tabular data: declared risk direction of named columns (others: none)."""
    sample: Fraction | None = None
    """Use a stratified random share of the rows (quick checks)."""
    columns: list[str] | None = None
    """Tabular data without a header row (whitespace-separated `.dat`, `.txt`, `.data`, or such a CSV): the names
    of its columns, in order."""
    categorical: list[str] = Field(default_factory=list)
    """Tabular data: columns holding category codes, even when the codes are numbers."""
    event: str | None = None
    """Tabular data: the target value that marks a default (e.g. "bad"; the other value is 0). Default: the
    target holds 0/1 or false/true."""

    @model_validator(mode="after")
    def _one_source(self) -> DataSpec:
        if (self.path is None) == (self.tabular is None):
            raise ValueError("give either path (a folder of raw tables) or tabular (one file), not both or neither")
        if self.tabular is not None and not self.target:
            raise ValueError("tabular data needs target, the name of the label column")
        return self


class SplitSpec(SpecPart):
    """Out-of-time (`train_before` = A, `test_from` = B: train < A <= validation < B <= test) or `cv` stratified
    folds (for data without dates). In each cv fold, early stopping and calibration use `inner_folds` inner
    folds of the training part (then one booster is refit on all of it); `inner_folds = 0` holds out
    `valid_fraction` of it instead."""

    train_before: dt.date | None = None
    test_from: dt.date | None = None
    date_column: str = "issued"
    cv: Annotated[int, Field(ge=2, le=50)] | None = None
    valid_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.2
    inner_folds: Annotated[int, Field(ge=0, le=20)] = 5
    repeats: Annotated[int, Field(ge=1, le=20)] = 1
    """cv: partitions of the rows (seeds seed, seed + 1, ...); CV metrics average over all their folds, which
    steadies a small sample's estimate (and a tuning objective) at `repeats` times the cost."""
    seed: int = 0
    embargo_months: Annotated[int, Field(ge=0, le=120)] | None = None
    """Out of time: loans issued within this many months before `test_from` are left out of training and
    validation (their outcome windows would run into the test period). Default (None): the label window
    (`data.window_months`); 0 turns the embargo off."""

    @model_serializer(mode="wrap")
    def _dump(self, handler) -> dict[str, Any]:
        out = handler(self)
        if out.get("embargo_months", 0) is None:  # cv splits dump as before (tuning studies compare the dump)
            out.pop("embargo_months")
        return out

    @model_validator(mode="after")
    def _one_kind(self) -> SplitSpec:
        oot = self.train_before is not None or self.test_from is not None
        if oot and self.cv is not None:
            raise ValueError("give either train_before and test_from (out of time) or cv (k folds), not both")
        if not oot and self.cv is None:
            raise ValueError("give train_before and test_from (out of time) or cv (k folds)")
        if oot and (self.train_before is None or self.test_from is None):
            raise ValueError("an out-of-time split needs both train_before and test_from")
        if oot and self.test_from <= self.train_before:  # type: ignore[operator]
            raise ValueError(f"test_from ({self.test_from}) must come after train_before ({self.train_before})")
        if oot and self.repeats != 1:
            raise ValueError("repeats applies to cv splits only")
        if not oot and self.embargo_months is not None:
            raise ValueError("embargo_months applies to out-of-time splits only")
        if self.inner_folds == 1:
            raise ValueError("inner_folds must be 0 (a hold-out of valid_fraction) or at least 2")
        return self

    @property
    def kind(self) -> Literal["oot", "cv"]:
        return "cv" if self.cv is not None else "oot"


class LeakageSpec(SpecPart):
    """The leakage guard run before fitting (`techscore.model.leakage`): what it flags and whether a finding
    stops training."""

    strict: bool = False
    """Stop training with an error naming the flagged columns (default: list them in the run and report)."""
    auc_threshold: Annotated[float, Field(gt=0.5, le=1)] = 0.95
    """Flag a feature whose single-feature AUC (either direction, missing values placed best) reaches this."""
    unique_share: Annotated[float, Field(gt=0, le=1)] = 0.95
    """Flag a text or integer column whose distinct values make up this share of its non-missing rows."""
    allow: list[str] = Field(default_factory=list)
    """Columns (feature ids or display names) reviewed and accepted: still listed, never stop training."""


REJECT_INFERENCE_METHODS: tuple[str, ...] = ("none", "augmentation", "parcelling", "fuzzy")
"""Reject-inference methods (`techscore.model.reject_inference`)."""


class RejectInferenceSpec(SpecPart):
    """`[reject_inference]`: how the rejected applicants enter the training part (`techscore.model.reject_inference`)."""

    method: Literal["none", "augmentation", "parcelling", "fuzzy"] = "none"
    applications: str = "applications.parquet"
    """The applications table (application_id, uscc, applied, approved...), relative to the data folder."""
    folds: Annotated[int, Field(ge=2)] = 5
    """Folds of the out-of-fold approval probabilities and PDs of the approved applicants."""
    max_weight: Annotated[float, Field(ge=1)] = 20.0
    """augmentation: largest inverse-approval weight."""
    bands: Annotated[int, Field(ge=1)] = 10
    """parcelling: equal-count score bands of the approved applicants."""
    prudence: Annotated[float, Field(ge=0)] = 1.5
    """parcelling: rejects are bad at this multiple of their band's observed bad rate."""
    reject_weight: Annotated[float, Field(gt=0)] = 1.0
    """fuzzy: total weight of each reject's two rows."""
    seed: int = 0


class ExperimentSpec(SpecFile):
    """An experiment spec file (`experiments/*.toml`)."""

    name: str
    description: str = ""
    model: str = "models/pd_lgbm_v1.toml"
    """Model spec file, relative to the workspace."""
    mlflow_experiment: str | None = None
    """MLflow experiment name (default `techscore-<name>`)."""
    registered_model: str | None = None
    """Name in the model registry (default `techscore_<name>_pd`); empty string: do not register."""
    challenger: bool = True
    """Also fit and evaluate the WOE logistic scorecard."""
    champion: Literal["auto", "lightgbm", "scorecard", "blend"] | None = None
    """Override the model spec's `champion` for this experiment."""
    segments: list[str] | None = None
    """Segment columns to break metrics down by (default: every segment column in the data)."""
    min_segment_rows: Annotated[int, Field(ge=1)] = 30
    data: DataSpec
    split: SplitSpec
    leakage: LeakageSpec = Field(default_factory=LeakageSpec)
    reject_inference: RejectInferenceSpec = Field(default_factory=RejectInferenceSpec)

    @model_validator(mode="after")
    def _embargo(self) -> ExperimentSpec:
        """An out-of-time split's embargo defaults to the label window."""
        if self.split.kind == "oot" and self.split.embargo_months is None:
            object.__setattr__(self, "split", self.split.model_copy(update={"embargo_months": self.data.window_months}))
        return self

    @property
    def shown(self) -> str:
        return super().shown if self._path is not None else f"experiment '{self.name}'"

    @property
    def experiment_name(self) -> str:
        return self.mlflow_experiment or f"techscore-{self.name}"

    @property
    def model_name(self) -> str | None:
        if self.registered_model == "":
            return None
        return self.registered_model or f"techscore_{self.name}_pd"

    @property
    def dataset_dir(self) -> Path | None:
        """Where the built loan dataset is cached (raw-table data only)."""
        if self.data.path is None:
            return None
        if self.data.dataset:
            return self.resolve(self.data.dataset)
        return self.resolve(self.data.path).parent / f"dataset-{self.name}"

    def model_spec(self) -> ModelSpec:
        """The model spec this experiment names, read from the workspace."""
        return load_model_spec(self.resolve(self.model), workspace=self.workspace)


def shown_path(path: Path, root: Path | None) -> str:
    """The path as a message shows it: relative to the workspace when inside it."""
    try:
        return (Path(path).resolve().relative_to(root.resolve())).as_posix() if root else str(path)
    except ValueError:
        return str(path)


def spec_error(file: str, exc: PydanticValidationError) -> SpecError:
    """One SpecError naming the file and each offending dotted key, built from pydantic's errors."""
    problems = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"])
        if err["type"] == "extra_forbidden":
            problems.append(f"unknown key '{key}'")
        elif err["type"] == "missing":
            problems.append(f"missing key '{key}'")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            where = f"key '{key}'" if key else "spec"
            got = "" if err["type"] == "value_error" else f"; got {err.get('input')!r}"
            problems.append(f"{where}: {msg}{got}")
    return SpecError(f"{file}: " + "; ".join(problems))


def _read_toml(path: Path, shown: str) -> dict:
    if not path.is_file():
        raise SpecError(f"{shown}: spec file not found.")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{shown}: not valid TOML ({exc}).") from exc


def _workspace_of(path: Path, workspace: str | Path | None, folder: str) -> Path:
    if workspace is not None:
        return Path(workspace).resolve()
    parent = path.resolve().parent
    return parent.parent if parent.name == folder else find_workspace()


SpecT = TypeVar("SpecT", bound=BaseModel)


def parse_spec(cls: type[SpecT], doc: dict, shown: str) -> SpecT:
    """Check the TOML document `doc` against spec class `cls`; errors name `shown` and the dotted key."""
    try:
        return cls.model_validate(doc)
    except PydanticValidationError as exc:
        raise spec_error(shown, exc) from None


def load_spec(cls: type[SpecT], path: str | Path, *, workspace: str | Path | None = None,
              folder: str = "experiments") -> SpecT:
    """Read TOML file `path` into spec class `cls` (errors name the file and the dotted key).

    Relative paths inside the spec are resolved against `workspace` (default: the parent of `folder` when the
    file lives in a folder of that name, else the current workspace); the file and workspace are kept on the
    spec (`path`, `workspace`) when it declares them. Other spec families (joint experiments) load through this.
    """
    path = Path(path)
    root = _workspace_of(path, workspace, folder)
    shown = shown_path(path, root)
    spec = parse_spec(cls, _read_toml(path, shown), shown)
    if isinstance(spec, SpecFile):
        spec.located(path, root)
    return spec


def load_model_spec(path: str | Path, *, workspace: str | Path | None = None) -> ModelSpec:
    """Read and check a model spec TOML; errors name the file and key."""
    return load_spec(ModelSpec, path, workspace=workspace, folder="models")


def load_experiment(
    path: str | Path, *, workspace: str | Path | None = None, check_model: bool = True
) -> ExperimentSpec:
    """Read and check an experiment spec TOML (and, with `check_model`, the model spec it names).

    Relative paths inside it are resolved against `workspace` (default: the folder holding `experiments/`
    when the file lives there, else the current workspace).
    """
    spec = load_spec(ExperimentSpec, path, workspace=workspace, folder="experiments")
    if check_model:
        spec.model_spec()
    return spec
