"""The policy table (`features/config/policy.toml`): the bank's figures and the public tools that share its loss.

Every figure a policy text sets (NPL tolerance, the 4222 loss shares, subsidy points, the pool's share and cap)
is a declared key here, never a constant in the code; a bad file is refused naming the file and the key.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from techscore.specs import SpecFile, SpecPart, load_spec
from techscore.workspace import workspace as find_workspace

__all__ = [
    "BankTerms", "Guarantee", "PolicySpec", "RiskCompensation", "Subsidy", "Tool", "load_policy",
    "policy_path",
]

Rate = Annotated[float, Field(ge=0, le=1)]
Positive = Annotated[float, Field(gt=0)]


class BankTerms(SpecPart):
    """The bank's own figures: its NPL ratio and tolerance, pricing, and the loss assumptions."""

    npl_ratio: Rate
    """The bank's NPL ratio over all its loans."""
    npl_tolerance: Rate = 0.03
    """What it tolerates above that for small and micro tech firms (policy: up to 3 percentage points)."""
    interest_rate: Rate
    """Rate the borrower pays, per year."""
    funding_cost: Rate
    """The bank's cost of funds and operations, per year, on the amount lent."""
    lgd: Rate
    """Loss given default: share of the exposure lost after recoveries."""
    ead: Annotated[float, Field(gt=0, le=1.5)] = 1.0
    """Exposure at default as a share of the amount (1: fully drawn)."""
    default_amount: Positive = 1_000_000.0
    """Amount of each loan (yuan) when the book has no amount column."""

    @model_validator(mode="after")
    def _limit_below_one(self) -> BankTerms:
        if self.npl_ratio + self.npl_tolerance >= 1:
            raise ValueError("npl_ratio + npl_tolerance must stay below 1")
        return self

    @property
    def bad_rate_limit(self) -> float:
        """The highest expected bad rate the policy tolerates: NPL ratio + tolerance."""
        return self.npl_ratio + self.npl_tolerance


class RiskCompensation(SpecPart):
    """A public pool that repays a share of the bank's net loss on tech loans (pools of a city and a district
    stack: declare each)."""

    kind: Literal["risk_compensation"]
    share: Rate
    """Share of the bank's net loss (after recoveries and any guarantee) the pool repays."""
    cap: Positive | None = None
    """Most the pool pays on the book (yuan); none when left out. Applied to the expected compensation."""


class Guarantee(SpecPart):
    """A government guarantee scheme sharing each guaranteed loan's loss (the "4222" scheme: 40/20/20/20 between
    guarantor, re-guarantor, bank and local government)."""

    kind: Literal["guarantee"]
    shares: dict[str, Rate]
    """Loss share of each party; must hold `bank` and add up to 1."""
    fee: Rate = 0.0
    """Guarantee fee per year on the amount, where the bank carries it (0 when the borrower pays it)."""
    fee_subsidy: Rate = 0.0
    """Part of the fee repaid by the government (policy: 0.2-0.4%)."""

    @model_validator(mode="after")
    def _shares(self) -> Guarantee:
        if "bank" not in self.shares:
            raise ValueError(f"shares must name the bank's share ('bank'); got {sorted(self.shares)}")
        total = sum(self.shares.values())
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(f"shares must add up to 1; got {total:g}")
        if self.fee_subsidy > self.fee:
            raise ValueError(f"fee_subsidy ({self.fee_subsidy:g}) exceeds the fee ({self.fee:g})")
        return self

    @property
    def bank_share(self) -> float:
        """Share of a guaranteed loan's loss the bank keeps."""
        return self.shares["bank"]


class Subsidy(SpecPart):
    """An interest subsidy (贴息): percentage points of the amount per year the government pays on a performing loan,
    counted as interest the bank receives (科创贷 +0.5, 研发贷 +1 point above the regional base)."""

    kind: Literal["subsidy"]
    rate: Rate


Tool = Annotated[RiskCompensation | Guarantee | Subsidy, Field(discriminator="kind")]


class PolicySpec(SpecFile):
    """`features/config/policy.toml`: the bank, its tools, and the scenarios (sets of tools) the cut-off table
    compares. Without `scenarios`: the baseline (no tool), each tool alone, and all tools together."""

    bank: BankTerms
    tools: dict[str, Tool] = {}
    scenarios: dict[str, list[str]] | None = None
    approval_steps: Annotated[int, Field(ge=2, le=1000)] = 20
    """Rows of the cut-off table per scenario: approval rates 1/steps, 2/steps, ... 1."""

    @model_validator(mode="after")
    def _scenarios(self) -> PolicySpec:
        for name, tools in (self.scenarios or {}).items():
            unknown = [t for t in tools if t not in self.tools]
            if unknown:
                raise ValueError(f"scenario {name!r} names tools {unknown} not declared under [tools]; "
                                 f"declared: {sorted(self.tools)}")
            if len(set(tools)) != len(tools):
                raise ValueError(f"scenario {name!r} names a tool twice: {tools}")
        pools = sum(t.share for t in self.tools.values() if isinstance(t, RiskCompensation))
        if pools > 1:
            raise ValueError(f"risk-compensation shares add up to {pools:g}, above 1")
        guarantees = [n for n, t in self.tools.items() if isinstance(t, Guarantee)]
        for name, tools in self.scenario_tools().items():
            if len([t for t in tools if t in guarantees]) > 1:
                raise ValueError(f"scenario {name!r} stacks two guarantees; a loan has one guarantee")
        return self

    def scenario_tools(self) -> dict[str, list[str]]:
        """Scenario name -> its tools (declared, or the default set)."""
        if self.scenarios is not None:
            return {name: list(tools) for name, tools in self.scenarios.items()}
        out: dict[str, list[str]] = {"baseline": []}
        out.update({name: [name] for name in self.tools})
        guarantees = [n for n, t in self.tools.items() if isinstance(t, Guarantee)]
        if len(self.tools) > 1 and len(guarantees) <= 1:
            out["all"] = list(self.tools)
        return out


def policy_path(workspace: str | Path | None = None) -> Path:
    """The workspace's policy table: `features/config/policy.toml`."""
    return find_workspace(workspace) / "features" / "config" / "policy.toml"


def load_policy(path: str | Path | None = None, *, workspace: str | Path | None = None) -> PolicySpec:
    """Read and check a policy table (default: the workspace's `features/config/policy.toml`); errors name the
    file and the dotted key."""
    return load_spec(PolicySpec, policy_path(workspace) if path is None else path, workspace=workspace,
                     folder="features")
