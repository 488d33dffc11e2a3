"""Invoices on the trade network, with payment behaviour that worsens before a buyer defaults.

Each relationship trades while both firms exist (a firm stops trading one to four months after its default);
invoices per year are Poisson (more for bigger shares of the seller's sales), amounts split the expected yearly
flow (the seller's true revenue times the buyer's share). Due dates are 30-90 days out. A buyer pays late with a
probability set by its latent payment habit, rising steeply in the 12 months before its default; an invoice
still unpaid at the snapshot, or left unpaid by a defaulted buyer, has an empty `paid_date`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from techscore.synth import _arrow as A
from techscore.synth._arrow import NO_DAY
from techscore.synth.config import SynthConfig, year_start
from techscore.synth.firms import Firms
from techscore.synth.network import Network
from techscore.synth.paths import Paths
from techscore.synth.plants import Plants

DUE_DAYS = np.array([30, 45, 60, 90])
DUE_P = np.array([0.3, 0.3, 0.25, 0.15])
PLATFORM_SHARE = 0.5
"""Share of a seller's sales that passes through invoices on the platform."""


def make_invoices(firms: Firms, paths: Paths, network: Network, default_day: np.ndarray, cfg: SynthConfig,
                  rng: np.random.Generator, plants: Plants | None = None) -> Iterator[dict[str, pa.Array]]:
    """The `supply_chain` table in chunks of relationships; `plants` shrink the sales and slow the payments of
    shocked and sliding firms from their start day."""
    snapshot = cfg.snapshot_day
    exit_day = np.where(default_day == NO_DAY, NO_DAY, default_day + rng.integers(30, 120, firms.n))
    ys = year_start(np.arange(cfg.start_year, cfg.end_year + 2))
    next_id = 1
    for lo_e in range(0, network.n_edges, cfg.chunk_edges):
        e = np.arange(lo_e, min(lo_e + cfg.chunk_edges, network.n_edges))
        s, b, share = network.seller[e], network.buyer[e], network.share[e].astype(np.float64)
        a_lo = np.maximum(network.start[e], ys[0])
        a_hi = np.minimum(np.minimum(network.end[e], snapshot + 1), np.minimum(exit_day[s], exit_day[b]))
        lo = np.maximum(a_lo[:, None], ys[None, :-1])
        hi = np.minimum(a_hi[:, None], ys[None, 1:])
        frac = np.clip((hi - lo) / 365.0, 0, 1)
        m = (0.6 + 4.0 * share)[:, None] * frac
        counts = rng.poisson(m).ravel()
        cell = np.repeat(np.arange(counts.size), counts)
        i, t = np.divmod(cell, frac.shape[1])
        n = len(cell)
        seller, buyer = s[i], b[i]
        day = lo[i, t] + np.floor(rng.random(n) * np.maximum(hi[i, t] - lo[i, t], 1)).astype(np.int64)
        flow = share[i] * np.exp(paths.log_revenue[seller, t].astype(np.float64)) * PLATFORM_SHARE * frac[i, t]
        amount = flow / np.maximum(m[i, t], 1.0) * np.exp(rng.normal(-0.06, 0.35, n))
        stress = np.zeros(n) if plants is None else plants.late_logit(buyer, day)
        if plants is not None:
            amount = amount * plants.sales_factor(seller, day)
        amount = np.round(amount, 2)
        due = day + rng.choice(DUE_DAYS, size=n, p=DUE_P)
        to_default = default_day[buyer] - day
        ramp = np.where((to_default > 0) & (to_default <= 365), 3.0 * (1 - to_default / 365.0), 0.0)
        late = rng.random(n) < 1 / (1 + np.exp(2.2 - 0.9 * paths.late_z[buyer, t] - ramp - stress))
        days_late = 1 + np.floor(rng.exponential(15 + 15 * ramp)).astype(np.int64)
        on_time = day + np.floor(rng.uniform(0.2, 1.0, n) * (due - day)).astype(np.int64)
        paid = np.where(late, due + days_late, on_time)
        dropped = (paid >= default_day[buyer]) & (rng.random(n) < 0.85)
        paid = np.where(dropped | (paid > snapshot), NO_DAY, paid)
        order = np.lexsort((day, i))
        ids = np.arange(next_id, next_id + n)
        next_id += n
        yield {
            "invoice_id": A.numbered("INV", ids, 11),
            "seller_uscc": A.take(firms.uscc, seller[order]),
            "buyer_uscc": A.take(firms.uscc, buyer[order]),
            "date": A.dates(day[order]),
            "amount": A.floats(amount[order]),
            "due_date": A.dates(due[order]),
            "paid_date": A.dates(paid[order]),
        }
