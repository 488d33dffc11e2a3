"""Per-loan economics under a set of policy tools: what the bank expects to earn and to lose on each loan.

For a loan of amount A and PD p, under the bank's terms (LGD, EAD, rate r, funding cost f) and the tools:

- exposure at default E = ead * A; the loss if it defaults, L = lgd * E;
- a guarantee leaves the bank its share b of L (the "4222" scheme: b = 0.2), else b = 1;
- the bank's expected net loss before risk compensation is p * b * L;
- expected income is (1 - p) * (r + s) * A - f * A - (fee - fee_subsidy) * A, where s is the interest subsidy
  (points the government pays on a performing loan) and the fee is counted only under a guarantee;
- each risk-compensation pool repays its share of the book's expected net loss, up to its cap (the cap depends on
  the whole approved book, so it is applied in `techscore.policy.cutoffs`, not per loan).

A defaulting loan is taken to pay no interest; one year of the loan is priced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from techscore.policy.spec import BankTerms, Guarantee, PolicySpec, RiskCompensation, Subsidy

__all__ = ["LoanEconomics", "loan_economics", "pool_compensation", "scenario_tools"]


@dataclass(frozen=True)
class LoanEconomics:
    """Each loan's expected figures (yuan) under one scenario, before the pools' caps."""

    net_loss: np.ndarray
    """Expected loss the bank bears after recoveries and any guarantee, before risk compensation."""
    income: np.ndarray
    """Expected interest and subsidy on performing loans, less funding cost and the bank's guarantee fee."""
    pools: tuple[tuple[float, float | None], ...]
    """(share, cap) of each risk-compensation pool of the scenario."""


def loan_economics(pd_: np.ndarray, amount: np.ndarray, bank: BankTerms,
                   tools: Sequence[RiskCompensation | Guarantee | Subsidy]) -> LoanEconomics:
    """Per-loan expected net loss and income under `tools` (an empty list: the bank alone)."""
    p = np.asarray(pd_, dtype=np.float64)
    a = np.asarray(amount, dtype=np.float64)
    bank_share, fee, subsidy = 1.0, 0.0, 0.0
    pools: list[tuple[float, float | None]] = []
    for tool in tools:
        if isinstance(tool, Guarantee):
            bank_share, fee = tool.bank_share, tool.fee - tool.fee_subsidy
        elif isinstance(tool, Subsidy):
            subsidy += tool.rate
        else:
            pools.append((tool.share, tool.cap))
    net_loss = p * bank.lgd * bank.ead * a * bank_share
    income = (1.0 - p) * (bank.interest_rate + subsidy) * a - (bank.funding_cost + fee) * a
    return LoanEconomics(net_loss=net_loss, income=income, pools=tuple(pools))


def pool_compensation(net_loss: np.ndarray, pools: Sequence[tuple[float, float | None]]) -> np.ndarray:
    """What the pools repay on books whose expected net loss is `net_loss` (one value per book): each pool its
    share, up to its cap; pools stack."""
    loss = np.asarray(net_loss, dtype=np.float64)
    paid = np.zeros_like(loss)
    for share, cap in pools:
        paid += share * loss if cap is None else np.minimum(share * loss, cap)
    return paid


def scenario_tools(spec: PolicySpec, names: Sequence[str]) -> list[RiskCompensation | Guarantee | Subsidy]:
    """The tools a scenario names, in declared order."""
    return [spec.tools[name] for name in names]
