"""Supply-chain features from invoices: volume and growth, concentration, chain-leader ties, collection and payment
delays, exposure to defaulted partners, and centrality in the trade network.

As known at the as-of date D: invoices dated before D, a payment dated on/after D is not yet made. Windows: "12
months" is [D - 12 months, D), "previous 12 months" is [D - 24 months, D - 12 months). Sales are a firm's invoices
as seller, purchases as buyer. Trades with a firm not registered at D, and a firm's trades with itself, are left
out. Counts are 0 for a firm without trades; shares and ratios are NaN where their denominator is 0.

Payment timeliness (as seller: how its customers pay it; as buyer: how it pays its suppliers), over the invoices of
the 12 months with a due date whose outcome is known at D (due before D, or already paid):
late = paid after the due date, or unpaid at D with the due date passed; days late = (payment date, or D when
unpaid) - due date, 0 when on time.

Short windows (what moves between the yearly publications): "3 months" is [D - 3 months, D) and "the 3 months
before" is [D - 6 months, D - 3 months), for invoice dates; the 3-month late-payment share takes the invoices *due*
in the last 3 months (their outcome is known at D: paid, or unpaid past the due date).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from techscore.catalogue import feature, feature_group, node

from ._frame import (
    Rows,
    arrow,
    dates,
    days_source,
    flags,
    floats,
    months_before,
    per_firm,
    positions,
    ratio,
    series,
    take,
)

GROUP = feature_group("supply_chain", name_zh="供应链", name_en="Supply chain", order=40)
"""The group this module's features belong to (the catalogue orders groups by `order`)."""

SHORT_MONTHS = 3
"""Length of the short windows (sales change, recent late payments): a quarter, so a slide or a downturn shows
within months rather than after the 12-month windows have turned over."""
DEFAULTED_PARTNER_MONTHS = 12
"""How recent a partner's loan default must be to count in `sc_defaulted_partner_share`."""
PAGERANK_DAMPING = 0.85
PAGERANK_TOL = 1e-8
PAGERANK_MAX_ITER = 200


@dataclass(frozen=True)
class Trades:
    """Invoices of the 24 months before D as integer arrays (one row per invoice)."""

    rows: Rows
    """`s`, `b`: seller and buyer (positions in `enterprises`); `amount`; `date`, `due`, `paid`: days from D (NaN
    when missing; `paid` NaN = unpaid at D); `recent`: dated in the last 12 months."""
    n: int
    """Firms in the universe (rows of `enterprises`, the platform's firms registered before D)."""
    paid_known: bool
    """Whether the data record payment dates at all (without them no payment feature is defined)."""


@node
def trades(supply_chain: pd.DataFrame, enterprises: pd.DataFrame, as_of: pd.Timestamp) -> Trades:
    """Invoices of the 24 months before D between registered firms, coded as positions in `enterprises`."""
    start = np.datetime64(as_of - pd.DateOffset(months=24))
    window = days_source(supply_chain["date"]) >= start
    universe = pd.Index(enterprises["uscc"])
    s = positions(arrow(supply_chain["seller_uscc"], window), universe)
    b = positions(arrow(supply_chain["buyer_uscc"], window), universe)
    keep = (s >= 0) & (b >= 0) & (s != b)
    rows = np.flatnonzero(window)[keep]
    date = dates(supply_chain, "date", as_of, rows)
    return Trades(
        Rows(s=s[keep], b=b[keep], amount=np.nan_to_num(floats(supply_chain, "amount", rows)), date=date,
             due=dates(supply_chain, "due_date", as_of, rows), paid=dates(supply_chain, "paid_date", as_of, rows),
             recent=date >= months_before(as_of, 12)),
        len(enterprises), "paid_date" in supply_chain.columns,
    )


@node
def sc_volumes(trades: Trades, firm_ent_pos: np.ndarray, firms: pd.Index) -> pd.DataFrame:
    """Per firm: `sales`, `purchases` (12 months), `sales_prev`, `purchases_prev` (the 12 months before), yuan."""
    r = trades.rows
    recent, amount = r["recent"], r["amount"]
    out = {}
    for name, who in (("sales", r["s"]), ("purchases", r["b"])):
        out[name] = take(per_firm(who[recent], trades.n, amount[recent]), firm_ent_pos)
        out[f"{name}_prev"] = take(per_firm(who[~recent], trades.n, amount[~recent]), firm_ent_pos)
    return pd.DataFrame(out, index=firms)


@node
def sc_graph(trades: Trades) -> sparse.csr_array:
    """Trade of the 12 months as a sparse matrix over the registry: [seller, buyer] = summed amount."""
    r = trades.rows.where(trades.rows["recent"], "s", "b", "amount")
    return sparse.coo_array((r["amount"], (r["s"], r["b"])), shape=(trades.n, trades.n)).tocsr()


@node
def sc_pairs(sc_graph: sparse.csr_array) -> Rows:
    """Trade of the 12 months summed per seller-buyer pair: `s`, `b`, `amount`."""
    g = sc_graph
    return Rows(s=np.repeat(np.arange(g.shape[0]), np.diff(g.indptr)), b=g.indices.astype(np.int64), amount=g.data)


def _concentration(sc_pairs: Rows, trades: Trades, side: str, firm_ent_pos: np.ndarray,
                   firms: pd.Index) -> pd.Series:
    who, amount = sc_pairs[side], sc_pairs["amount"]
    total = per_firm(who, trades.n, amount)
    share = ratio(amount, total[who])
    hhi = np.where(total > 0, per_firm(who, trades.n, share * share), np.nan)
    return series(take(hhi, firm_ent_pos), firms)


@feature(group="supply_chain", name_zh="近12个月销售额", name_en="Sales, 12 months", unit="yuan", unit_zh="元",
         direction=-1, sources=("supply_chain",), description="Invoiced sales in the 12 months before the as-of date.")
def sc_sales_12m(sc_volumes: pd.DataFrame) -> pd.Series:
    return sc_volumes["sales"]


@feature(group="supply_chain", name_zh="销售额增长率", name_en="Sales growth", unit="ratio", unit_zh="",
         direction=-1, sources=("supply_chain",),
         description="Sales of the last 12 months / sales of the 12 months before, minus 1.")
def sc_sales_growth(sc_volumes: pd.DataFrame) -> pd.Series:
    return series(ratio(sc_volumes["sales"].to_numpy(), sc_volumes["sales_prev"].to_numpy()) - 1.0,
                  sc_volumes.index)


@feature(group="supply_chain", name_zh="近12个月采购额", name_en="Purchases, 12 months", unit="yuan", unit_zh="元",
         direction=0, sources=("supply_chain",),
         description="Invoiced purchases in the 12 months before the as-of date.")
def sc_purchases_12m(sc_volumes: pd.DataFrame) -> pd.Series:
    return sc_volumes["purchases"]


@feature(group="supply_chain", name_zh="采购额增长率", name_en="Purchases growth", unit="ratio", unit_zh="",
         direction=0, sources=("supply_chain",),
         description="Purchases of the last 12 months / purchases of the 12 months before, minus 1.")
def sc_purchases_growth(sc_volumes: pd.DataFrame) -> pd.Series:
    return series(ratio(sc_volumes["purchases"].to_numpy(), sc_volumes["purchases_prev"].to_numpy()) - 1.0,
                  sc_volumes.index)


@node
def sc_short_window(trades: Trades, firm_ent_pos: np.ndarray, firms: pd.Index, as_of: pd.Timestamp) -> pd.DataFrame:
    """Per firm: `sales_3m`, `sales_prev_3m` (invoice dates in the last 3 months and the 3 before, yuan), and of
    its purchase invoices due in the last 3 months `due_3m` (count) and `late_3m` (paid after the due date or
    unpaid at D)."""
    r = trades.rows
    start, prev = months_before(as_of, SHORT_MONTHS), months_before(as_of, 2 * SHORT_MONTHS)
    date, s, amount = r["date"], r["s"], r["amount"]
    recent, before = date >= start, (date >= prev) & (date < start)
    due, paid = r["due"], r["paid"]
    due_now = (due >= start) & (due < 0) & trades.paid_known
    late = due_now & (np.isnan(paid) | (paid > due))
    return pd.DataFrame({
        "sales_3m": take(per_firm(s[recent], trades.n, amount[recent]), firm_ent_pos),
        "sales_prev_3m": take(per_firm(s[before], trades.n, amount[before]), firm_ent_pos),
        "due_3m": take(per_firm(r["b"][due_now], trades.n), firm_ent_pos),
        "late_3m": take(per_firm(r["b"][late], trades.n), firm_ent_pos),
    }, index=firms)


@feature(group="supply_chain", name_zh="近3个月销售额环比", name_en="Sales change, last 3 months",
         unit="ratio", unit_zh="", direction=-1, sources=("supply_chain",),
         description="Sales invoiced in the last 3 months / sales of the 3 months before, minus 1: a fall in "
                     "orders shows here a quarter after it starts, long before the 12-month sales turn over.")
def sc_sales_change_3m(sc_short_window: pd.DataFrame) -> pd.Series:
    return series(ratio(sc_short_window["sales_3m"].to_numpy(), sc_short_window["sales_prev_3m"].to_numpy()) - 1.0,
                  sc_short_window.index)


@feature(group="supply_chain", name_zh="近3个月自身逾期付款率", name_en="Own late-payment rate, last 3 months",
         unit="share", unit_zh="", direction=1, sources=("supply_chain",),
         description="Share of its purchase invoices due in the last 3 months that it paid after the due date or "
                     "had not paid by the as-of date: the recent payment behaviour the 12-month rate dilutes.")
def sc_late_rate_as_buyer_3m(sc_short_window: pd.DataFrame) -> pd.Series:
    return series(ratio(sc_short_window["late_3m"].to_numpy(), sc_short_window["due_3m"].to_numpy()),
                  sc_short_window.index)


@feature(group="supply_chain", name_zh="客户集中度", name_en="Customer concentration (HHI)", unit="ratio",
         unit_zh="", direction=1, sources=("supply_chain",),
         description="Herfindahl index of the last 12 months' sales over customers: sum of squared shares, 0-1.")
def sc_customer_hhi(sc_pairs: Rows, trades: Trades, firm_ent_pos: np.ndarray, firms: pd.Index) -> pd.Series:
    return _concentration(sc_pairs, trades, "s", firm_ent_pos, firms)


@feature(group="supply_chain", name_zh="供应商集中度", name_en="Supplier concentration (HHI)", unit="ratio",
         unit_zh="", direction=1, sources=("supply_chain",),
         description="Herfindahl index of the last 12 months' purchases over suppliers: sum of squared shares, 0-1.")
def sc_supplier_hhi(sc_pairs: Rows, trades: Trades, firm_ent_pos: np.ndarray, firms: pd.Index) -> pd.Series:
    return _concentration(sc_pairs, trades, "b", firm_ent_pos, firms)


@feature(group="supply_chain", name_zh="第一大客户占比", name_en="Top customer share", unit="share", unit_zh="",
         direction=1, sources=("supply_chain",),
         description="Share of the last 12 months' sales that went to the largest customer.")
def sc_top_customer_share(sc_pairs: Rows, trades: Trades, firm_ent_pos: np.ndarray,
                          firms: pd.Index) -> pd.Series:
    s, amount = sc_pairs["s"], sc_pairs["amount"]
    top = np.zeros(trades.n)
    np.maximum.at(top, s, amount)
    return series(take(ratio(top, per_firm(s, trades.n, amount)), firm_ent_pos), firms)


@feature(group="supply_chain", name_zh="对链主企业销售占比", name_en="Sales share to chain leaders", unit="share",
         unit_zh="", direction=-1, sources=("supply_chain", "enterprises"),
         description="Share of the last 12 months' sales that went to designated chain-leader firms (链主企业).")
def sc_chain_leader_sales_share(sc_pairs: Rows, trades: Trades, enterprises: pd.DataFrame,
                                firm_ent_pos: np.ndarray, firms: pd.Index) -> pd.Series:
    s, b, amount = sc_pairs["s"], sc_pairs["b"], sc_pairs["amount"]
    leader = flags(enterprises, "chain_leader")[b] if len(b) else np.zeros(0, dtype=bool)
    to_leaders = per_firm(s[leader], trades.n, amount[leader])
    return series(take(ratio(to_leaders, per_firm(s, trades.n, amount)), firm_ent_pos), firms)


@feature(group="supply_chain", name_zh="客户数", name_en="Customers", unit="count", unit_zh="家", direction=-1,
         sources=("supply_chain",), description="Distinct customers invoiced in the last 12 months.")
def sc_n_customers(sc_pairs: Rows, trades: Trades, firm_ent_pos: np.ndarray, firms: pd.Index) -> pd.Series:
    return series(take(per_firm(sc_pairs["s"], trades.n), firm_ent_pos), firms)


@feature(group="supply_chain", name_zh="供应商数", name_en="Suppliers", unit="count", unit_zh="家", direction=0,
         sources=("supply_chain",), description="Distinct suppliers that invoiced the firm in the last 12 months.")
def sc_n_suppliers(sc_pairs: Rows, trades: Trades, firm_ent_pos: np.ndarray, firms: pd.Index) -> pd.Series:
    return series(take(per_firm(sc_pairs["b"], trades.n), firm_ent_pos), firms)


@feature(group="supply_chain", name_zh="应收账款周转天数", name_en="Days sales outstanding", unit="days",
         unit_zh="天", direction=1, sources=("supply_chain",),
         description="Receivables at the as-of date (its invoices of the last 24 months still unpaid) / sales of "
                     "the last 12 months x 365; NaN without sales or without payment dates in the data.")
def sc_dso_days(trades: Trades, sc_volumes: pd.DataFrame, firm_ent_pos: np.ndarray) -> pd.Series:
    r = trades.rows
    unpaid = np.isnan(r["paid"])
    receivable = take(per_firm(r["s"][unpaid], trades.n, r["amount"][unpaid]), firm_ent_pos)
    dso = ratio(receivable, sc_volumes["sales"].to_numpy()) * 365.0
    return series(dso if trades.paid_known else np.full(len(dso), np.nan), sc_volumes.index)


@node
def sc_timeliness(trades: Trades, firm_ent_pos: np.ndarray, firms: pd.Index) -> pd.DataFrame:
    """Per firm and side (`seller_*`, `buyer_*`): invoices of the 12 months whose timeliness is known at D
    (`_known`), those late (`_late`) and their summed days late (`_days`); see the module docstring."""
    r = trades.rows.where(trades.rows["recent"], "s", "b", "due", "paid")
    due, paid = r["due"], r["paid"]
    is_paid = ~np.isnan(paid)
    known = ~np.isnan(due) & ((due < 0) | is_paid) & trades.paid_known
    late_days = np.clip(np.where(is_paid, paid, 0.0) - due, 0.0, None)
    late = known & (late_days > 0)
    out = {}
    for side, col in (("seller", "s"), ("buyer", "b")):
        who = r[col]
        out[f"{side}_known"] = take(per_firm(who[known], trades.n), firm_ent_pos)
        out[f"{side}_late"] = take(per_firm(who[late], trades.n), firm_ent_pos)
        out[f"{side}_days"] = take(per_firm(who[known], trades.n, late_days[known]), firm_ent_pos)
    return pd.DataFrame(out, index=firms)


def _rate(sc_timeliness: pd.DataFrame, side: str, what: str) -> pd.Series:
    return series(ratio(sc_timeliness[f"{side}_{what}"].to_numpy(), sc_timeliness[f"{side}_known"].to_numpy()),
                  sc_timeliness.index)


@feature(group="supply_chain", name_zh="客户逾期付款率", name_en="Late-payment rate of customers", unit="share",
         unit_zh="", direction=1, sources=("supply_chain",),
         description="Share of its sales invoices of the last 12 months (timeliness known at the as-of date) that "
                     "customers paid after the due date or left unpaid past it.")
def sc_late_rate_as_seller(sc_timeliness: pd.DataFrame) -> pd.Series:
    return _rate(sc_timeliness, "seller", "late")


@feature(group="supply_chain", name_zh="客户平均逾期天数", name_en="Days late, customers", unit="days",
         unit_zh="天", direction=1, sources=("supply_chain",),
         description="Mean days past due of its sales invoices of the last 12 months (0 when paid on time; unpaid "
                     "ones count to the as-of date).")
def sc_days_late_as_seller(sc_timeliness: pd.DataFrame) -> pd.Series:
    return _rate(sc_timeliness, "seller", "days")


@feature(group="supply_chain", name_zh="自身逾期付款率", name_en="Own late-payment rate", unit="share", unit_zh="",
         direction=1, sources=("supply_chain",),
         description="Share of its purchase invoices of the last 12 months (timeliness known at the as-of date) "
                     "that it paid after the due date or left unpaid past it.")
def sc_late_rate_as_buyer(sc_timeliness: pd.DataFrame) -> pd.Series:
    return _rate(sc_timeliness, "buyer", "late")


@feature(group="supply_chain", name_zh="自身平均逾期天数", name_en="Own days late", unit="days", unit_zh="天",
         direction=1, sources=("supply_chain",),
         description="Mean days past due of its purchase invoices of the last 12 months (0 when paid on time; "
                     "unpaid ones count to the as-of date).")
def sc_days_late_as_buyer(sc_timeliness: pd.DataFrame) -> pd.Series:
    return _rate(sc_timeliness, "buyer", "days")


@feature(group="supply_chain", name_zh="违约交易对手占比", name_en="Trade with defaulted partners", unit="share",
         unit_zh="", direction=1, sources=("supply_chain", "loans"),
         description="Share of its last 12 months' trade (sales plus purchases) with partners whose first loan "
                     "default (90+ days past due) fell in the 12 months before the as-of date: recent distress in "
                     "the chain, which is what spreads; a partner's default of years ago is not counted.")
def sc_defaulted_partner_share(sc_pairs: Rows, trades: Trades, loans: pd.DataFrame,
                               enterprises: pd.DataFrame, sc_volumes: pd.DataFrame,
                               firm_ent_pos: np.ndarray, as_of: pd.Timestamp) -> pd.Series:
    recent = dates(loans, "default_date", as_of) >= months_before(as_of, DEFAULTED_PARTNER_MONTHS)
    defaulted_pos = positions(loans["uscc"][recent], pd.Index(enterprises["uscc"]))
    defaulted = np.zeros(trades.n, dtype=bool)
    defaulted[defaulted_pos[defaulted_pos >= 0]] = True
    s, b, amount = sc_pairs["s"], sc_pairs["b"], sc_pairs["amount"]
    exposed = per_firm(s[defaulted[b]], trades.n, amount[defaulted[b]]) + per_firm(
        b[defaulted[s]], trades.n, amount[defaulted[s]])
    total = sc_volumes["sales"].to_numpy() + sc_volumes["purchases"].to_numpy()
    return series(ratio(take(exposed, firm_ent_pos), total), sc_volumes.index)


def _pagerank_with_floor(flows: sparse.csr_array, damping: float, tol: float, max_iter: int) -> tuple[np.ndarray, float]:
    """Sum-1 PageRank by power iteration, and its floor: the rank of a node without in-edges (teleport plus the
    dangling nodes' even spread), which every node has at least."""
    n = flows.shape[0]
    out = np.asarray(flows.sum(axis=0)).ravel()
    dangling = out <= 0
    inverse = np.where(dangling, 0.0, 1.0 / np.where(dangling, 1.0, out))
    rank = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        new = damping * (flows @ (rank * inverse) + rank[dangling].sum() / n) + (1.0 - damping) / n
        change = np.abs(new - rank).sum()
        rank = new
        if change < tol:
            break
    return rank, damping * rank[dangling].sum() / n + (1.0 - damping) / n


def pagerank(flows: sparse.csr_array, damping: float = PAGERANK_DAMPING, tol: float = PAGERANK_TOL,
             max_iter: int = PAGERANK_MAX_ITER) -> np.ndarray:
    """Weighted PageRank, scaled so the mean node scores 1; `flows[dst, src]` is the weight of the edge src -> dst.

    A node's rank flows along its out-edges in proportion to their weights; nodes without out-edges spread theirs
    evenly; power iteration until the L1 change of the (sum-1) ranks falls below `tol`.

    >>> pagerank(sparse.csr_array(([1.0, 1.0], ([2, 2], [0, 1])), shape=(3, 3))).round(3).tolist()
    [0.638, 0.638, 1.723]
    """
    if flows.shape[0] == 0:
        return np.zeros(0)
    return _pagerank_with_floor(flows, damping, tol, max_iter)[0] * flows.shape[0]


def pagerank_over_floor(flows: sparse.csr_array, damping: float = PAGERANK_DAMPING, tol: float = PAGERANK_TOL,
                        max_iter: int = PAGERANK_MAX_ITER) -> np.ndarray:
    """Weighted PageRank over its floor: a node without in-edges scores exactly 1, every other node more.

    Scaled by the mean (`pagerank`), the many firms no one buys from share one value that moves with the network's
    size and dangling mass from month to month (and crosses PSI bin edges); over the floor that mass point stays at 1.

    >>> pagerank_over_floor(sparse.csr_array(([1.0, 1.0], ([2, 2], [0, 1])), shape=(3, 3))).round(3).tolist()
    [1.0, 1.0, 2.7]
    """
    if flows.shape[0] == 0:
        return np.zeros(0)
    rank, floor = _pagerank_with_floor(flows, damping, tol, max_iter)
    endorsed = np.asarray(flows.sum(axis=1)).ravel() > 0
    return np.where(endorsed, np.maximum(rank / floor, 1.0), 1.0)


@feature(group="supply_chain", name_zh="供应链网络中心度", name_en="Trade-network PageRank", unit="score",
         unit_zh="", direction=-1, sources=("supply_chain",),
         description="PageRank (damping 0.85) on the platform's trade network of the 12 months before the as-of "
                     "date, edges buyer -> seller weighted by invoiced amount (a purchase endorses the supplier), "
                     "over the rank of a firm no one buys from: such firms score exactly 1 at every date, the "
                     "others more.")
def sc_pagerank(sc_graph: sparse.csr_array, firm_ent_pos: np.ndarray, firms: pd.Index) -> pd.Series:
    return series(take(pagerank_over_floor(sc_graph), firm_ent_pos), firms)
