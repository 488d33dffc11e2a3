"""The trade network: who sells to whom, how much, from when to when.

A few chain-leader firms buy from many small suppliers: each firm sells to 1 + a geometric number of customers
(more for bigger firms), and customers are drawn with weights that follow a Pareto law scaled by size, with chain
leaders weighted far above the rest, so in-degrees are heavy-tailed. Each seller splits its sales over its
customers with Gamma(0.6) shares, which sets its customer concentration (HHI), a planted risk driver.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from techscore.synth.config import SynthConfig, year_start
from techscore.synth.firms import Firms

_MEAN_EXTRA_CUSTOMERS = np.array([0.6, 1.2, 2.5, 6.0])  # by size band, beyond the first
CHAIN_LEADER_PULL = 30.0


@dataclass
class Network:
    """Trade relationships (edges seller -> buyer) and derived per-firm quantities."""

    seller: np.ndarray  # int64 firm index
    buyer: np.ndarray
    share: np.ndarray  # share of the seller's sales going to this buyer
    start: np.ndarray  # day the relationship starts
    end: np.ndarray  # day it would end by churn (exits end it earlier)
    customer_hhi: np.ndarray  # per firm: sum of squared customer shares (1.0 for a single customer)
    supplies_leader: np.ndarray  # per firm: sells to a chain leader
    weights: sparse.csr_matrix  # row-normalised trade weights between partners (both directions)

    @property
    def n_edges(self) -> int:
        return len(self.seller)


def make_network(firms: Firms, cfg: SynthConfig, rng: np.random.Generator) -> Network:
    """Draw the trade relationships."""
    n = firms.n
    k = 1 + rng.geometric(1.0 / (1.0 + _MEAN_EXTRA_CUSTOMERS[firms.size_band])) - 1
    seller = np.repeat(np.arange(n), k)
    pull = (rng.pareto(1.3, n) + 1.0) * np.exp(0.6 * firms.size_band) * np.where(firms.chain_leader, CHAIN_LEADER_PULL, 1.0)
    cum = np.cumsum(pull)
    buyer = np.searchsorted(cum, rng.random(len(seller)) * cum[-1], side="right")
    buyer = np.minimum(buyer, n - 1)
    buyer = np.where(buyer == seller, (buyer + 1) % n, buyer)
    key = np.unique(seller * np.int64(n) + buyer)  # one relationship per ordered pair, sorted by seller
    seller, buyer = key // n, key % n
    raw = rng.gamma(0.6, 1.0, len(seller)) + 1e-3
    total = np.bincount(seller, weights=raw, minlength=n)
    share = raw / total[seller]
    hhi = np.bincount(seller, weights=share**2, minlength=n)
    hhi[np.bincount(seller, minlength=n) == 0] = 1.0
    # relationships start after both firms exist (some years later), and may end by churn
    both = np.maximum(firms.founded[seller], firms.founded[buyer])
    start = np.maximum(both + (rng.exponential(1.5, len(seller)) * 365).astype(np.int64),
                       year_start(cfg.start_year) - (rng.exponential(4.0, len(seller)) * 365).astype(np.int64))
    start = np.maximum(start, both)
    end = start + (rng.exponential(9.0, len(seller)) * 365).astype(np.int64) + 180
    supplies_leader = np.zeros(n, dtype=bool)
    supplies_leader[seller[firms.chain_leader[buyer]]] = True
    # contagion weights: each partner's share of the firm's trade (sales and purchases), static expected flows
    flow = share * np.exp(firms.log_revenue_mature[seller])
    rows = np.concatenate([seller, buyer])
    cols = np.concatenate([buyer, seller])
    vals = np.concatenate([flow, flow])
    tot = np.bincount(rows, weights=vals, minlength=n)
    w = sparse.csr_matrix(((vals / tot[rows]).astype(np.float32), (rows, cols)), shape=(n, n))
    return Network(seller=seller, buyer=buyer, share=share.astype(np.float32), start=start, end=end,
                   customer_hhi=hhi.astype(np.float32), supplies_leader=supplies_leader, weights=w)
