"""The joint-modelling experiment spec: which banks, which model variants, which comparisons, which cut-offs.

A joint spec (`experiments/joint_*.toml`) names the data, model spec and out-of-time split as a training
experiment does, plus the banks and what to compare on each bank's own test loans::

    name = "joint_demo"
    model = "models/pd_lgbm_v1.toml"
    variants = ["own", "pooled", "own_bank", "pooled_bank"]

    [data]
    path = "data/joint-demo"

    [split]
    train_before = 2022-01-01
    test_from = 2023-01-01

    [banks.BANK_D]
    npl_ratio = 0.012            # the bank's NPL ratio over all its loans
    npl_tolerance = 0.03         # what it tolerates above that for tech SMEs (policy: up to 3 points)

Variants cross the training rows (the bank's own loans, or the loans of every bank in the spec) with the
features (the platform's catalogue, or the catalogue plus the bank's own relationship features,
the catalogue's `bank` group, `features/bank.py`). Every key is declared; an unknown or mistyped key is an error naming the file
and the dotted key, as for the other specs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from techscore.joint.names import check_name
from techscore.specs import (
    DataSpec,
    ExperimentSpec,
    LearnerSpec,
    ModelSpec,
    Scalar,
    SpecFile,
    SpecPart,
    SplitSpec,
    load_model_spec,
    load_spec,
    parse_spec,
)

__all__ = [
    "VARIANTS", "BankSpec", "BootstrapSpec", "ComparisonSpec", "JointSpec", "SynthSpec", "TrackingSpec",
    "default_comparisons", "load_joint",
]

Variant = Literal["own", "pooled", "own_bank", "pooled_bank"]
VARIANTS: dict[str, tuple[str, str]] = {
    "own": ("own", "platform"),
    "pooled": ("pooled", "platform"),
    "own_bank": ("own", "platform+bank"),
    "pooled_bank": ("pooled", "platform+bank"),
}
"""Variant -> (training rows, features). `own`: the bank's own loans; `pooled`: every spec bank's loans.
`platform`: the catalogue; `platform+bank`: the catalogue plus the lending bank's relationship features."""
DEFAULT_COMPARISONS: tuple[tuple[str, str, str], ...] = (
    ("pooling_gain", "pooled", "own"),
    ("bank_features_gain", "own_bank", "own"),
    ("pooled_bank_features_gain", "pooled_bank", "pooled"),
)
"""(name, variant, baseline) compared when the spec lists none and both variants are run."""
Fraction = Annotated[float, Field(gt=0, le=1)]
Rate = Annotated[float, Field(ge=0, lt=1)]


class BankSpec(SpecPart):
    """One bank: its cut-off rule, whether it supplies its own features, and its tracking user.

    The cut-off is either the NPL rule (`npl_ratio` + `npl_tolerance`: approve the best-rated loans while their
    expected bad rate stays within ``npl_ratio + npl_tolerance``, credit_policy.md) or a target `approval_rate`.
    """

    npl_ratio: Rate | None = None
    """The bank's non-performing-loan ratio over all its loans."""
    npl_tolerance: Rate = 0.03
    """How far above `npl_ratio` the bank tolerates for tech SMEs (the Guangxi plan allows up to 3 points)."""
    approval_rate: Fraction | None = None
    """Instead of the NPL rule: approve this share of the best-rated loans."""
    features: bool = True
    """The bank supplies its relationship features (`own_bank` and `pooled_bank` variants)."""
    user: str | None = None
    """Tracking-server user and experiment suffix (default: the bank id)."""

    @model_validator(mode="after")
    def _one_rule(self) -> BankSpec:
        if (self.npl_ratio is None) == (self.approval_rate is None):
            raise ValueError("give either npl_ratio (with npl_tolerance) or approval_rate, not both or neither")
        if "npl_tolerance" in self.model_fields_set and self.approval_rate is not None:
            raise ValueError("npl_tolerance applies to the NPL rule; with approval_rate leave it out")
        if self.npl_ratio is not None and self.npl_ratio + self.npl_tolerance >= 1:
            raise ValueError("npl_ratio + npl_tolerance must stay below 1")
        if self.user is not None:
            check_name("user", self.user)
        return self

    @property
    def max_bad_rate(self) -> float | None:
        """The expected bad rate the approved loans must stay within (NPL rule), else None."""
        return None if self.npl_ratio is None else self.npl_ratio + self.npl_tolerance

    @property
    def cutoff_rule(self) -> str:
        if self.npl_ratio is not None:
            return f"expected bad rate <= {self.npl_ratio:.2%} + {self.npl_tolerance:.2%}"
        return f"approval rate {self.approval_rate:.0%}"


class ComparisonSpec(SpecPart):
    """An AUC difference to estimate on each bank's test loans: `variant` minus `baseline`."""

    name: str
    variant: Variant
    baseline: Variant

    @model_validator(mode="after")
    def _distinct(self) -> ComparisonSpec:
        check_name("comparison", self.name)
        if self.variant == self.baseline:
            raise ValueError(f"variant and baseline must differ; got {self.variant!r} twice")
        return self


class BootstrapSpec(SpecPart):
    """Paired, class-stratified bootstrap of the test loans (`techscore.joint.compare`)."""

    n: Annotated[int, Field(ge=100, le=100_000)] = 1000
    level: Annotated[float, Field(gt=0.5, lt=1)] = 0.95
    seed: int = 0


class TrackingSpec(SpecPart):
    """Where runs go: the parent in ``<experiment_prefix><platform_user>``, each bank's children in
    ``<experiment_prefix><bank user>`` (the names `techscore server provision` creates)."""

    platform_user: str = "platform"
    experiment_prefix: str = "joint/"
    log_models: bool = True
    """Save the fitted models as run artifacts (LightGBM text + JSON, `PDModel.save`): each bank's own models in
    its child runs, the pooled models in the parent."""
    plots: bool = True
    """Save ROC, KS and calibration plots of each child run (about half a second each)."""

    @field_validator("platform_user")
    @classmethod
    def _user(cls, v: str) -> str:
        return check_name("platform user", v)


class SynthSpec(SpecPart):
    """`techscore joint` generates the synthetic world into `data.path` when that folder does not exist yet (demos);
    the experiment itself only reads data."""

    firms: Annotated[int, Field(ge=10)]
    seed: int = 0


class _LearnerOverride(SpecPart):
    learner: LearnerSpec


class JointSpec(SpecFile):
    """A joint-modelling experiment spec file."""

    name: str
    description: str = ""
    model: str = "models/pd_lgbm_v1.toml"
    """Model spec file, relative to the workspace; every variant fits with it."""
    learner: dict[str, Scalar] = Field(default_factory=dict)
    """Learner parameters overriding the model spec's for every variant (e.g. ``refit = false``); checked as the
    model spec's ``[learner]`` table is."""
    data: DataSpec
    split: SplitSpec
    synth: SynthSpec | None = None
    banks: dict[str, BankSpec]
    """Bank id (as in the loans table's `bank_id`) -> its settings; the pooled variants pool these banks."""
    variants: list[Variant] = Field(default_factory=lambda: list(VARIANTS))
    comparisons: list[ComparisonSpec] | None = None
    """AUC differences to estimate (default: pooling gain, bank-features gain, each when both variants run)."""
    min_bad: Annotated[int, Field(ge=1)] = 5
    """An own model needs this many defaults in the bank's training rows and in its validation rows."""
    segments: list[str] | None = None
    """Segment columns to break each bank's test metrics down by (default: every segment column but bank_id)."""
    min_segment_rows: Annotated[int, Field(ge=1)] = 30
    bootstrap: BootstrapSpec = Field(default_factory=BootstrapSpec)
    tracking: TrackingSpec = Field(default_factory=TrackingSpec)

    @model_validator(mode="after")
    def _check(self) -> JointSpec:
        if self.data.path is None:
            raise ValueError("data.path must name a folder of raw tables: joint modelling needs the loans' bank_id")
        if self.split.kind != "oot":
            raise ValueError("split must be out of time (train_before and test_from): each bank is compared on "
                             "its own later loans")
        if len(self.banks) < 2:
            raise ValueError(f"banks must name at least two banks to pool; got {len(self.banks)}")
        for bank in self.banks:
            check_name("bank", bank)
        users = [self.bank_user(b) for b in self.banks]
        if len(set(users)) != len(users) or self.tracking.platform_user in users:
            raise ValueError("every bank and the platform need distinct tracking users")
        if not self.variants or len(set(self.variants)) != len(self.variants):
            raise ValueError(f"variants must list distinct variants; got {self.variants}")
        if self.comparisons is not None:
            names = [c.name for c in self.comparisons]
            if len(set(names)) != len(names):
                raise ValueError(f"comparison names repeat: {', '.join(names)}")
            for c in self.comparisons:
                missing = [v for v in (c.variant, c.baseline) if v not in self.variants]
                if missing:
                    raise ValueError(f"comparison {c.name!r} names variants not in variants: {', '.join(missing)}")
        if "bank_id" in (self.segments or []):
            raise ValueError("segments cannot include bank_id: every bank is measured on its own loans")
        return self

    # --- resolved views --------------------------------------------------------------------------------------
    @property
    def shown(self) -> str:
        return super().shown if self._path is not None else f"joint experiment '{self.name}'"

    def bank_user(self, bank: str) -> str:
        return self.banks[bank].user or bank

    def experiment_of(self, user: str) -> str:
        """The MLflow experiment of a tracking user."""
        return f"{self.tracking.experiment_prefix}{user}"

    @property
    def comparison_list(self) -> list[ComparisonSpec]:
        """The comparisons to estimate (the spec's, else the defaults whose variants both run)."""
        if self.comparisons is not None:
            return list(self.comparisons)
        return default_comparisons(self.variants)

    def experiment_spec(self) -> ExperimentSpec:
        """The training experiment this spec's data, model and split amount to (for `load_dataset`)."""
        spec = ExperimentSpec(name=self.name, description=self.description, model=self.model, data=self.data,
                              split=self.split, challenger=False, registered_model="", segments=self.segments,
                              min_segment_rows=self.min_segment_rows)
        return spec.located(self._path, self._workspace)

    def model_spec(self) -> ModelSpec:
        """The model spec every variant fits with: the file `model` names, with the `learner` overrides."""
        base = load_model_spec(self.resolve(self.model), workspace=self.workspace)
        if not self.learner:
            return base
        merged = parse_spec(_LearnerOverride, {"learner": {**base.learner.model_dump(), **self.learner}}, self.shown)
        return base.model_copy(update={"learner": merged.learner})


def default_comparisons(variants: list[str]) -> list[ComparisonSpec]:
    """The default comparisons among `variants`."""
    return [ComparisonSpec(name=n, variant=v, baseline=b) for n, v, b in DEFAULT_COMPARISONS
            if v in variants and b in variants]


def load_joint(path: str | Path, *, workspace: str | Path | None = None, check_model: bool = True) -> JointSpec:
    """Read and check a joint spec TOML (and, with `check_model`, the model spec it names).

    Relative paths are resolved against `workspace` (default: the folder holding `experiments/` when the file
    lives there, else the current workspace). Errors name the file and the dotted key.
    """
    spec = load_spec(JointSpec, path, workspace=workspace, folder="experiments")
    if check_model:
        spec.model_spec()
    return spec
