"""Supply-chain features against hand computations from conftest's invoices (as of 2024-07-01).

12-month window [2023-07-01, 2024-07-01), previous [2022-07-01, 2023-07-01). A's invoices as seller: T1 B 100
(paid on time), T2 C 300 (10 days late), T3 B 100 (unpaid, due after D), T4 F 500 (unpaid, due 2024-04-01), T5 B 200
(previous window); as buyer: T6 from C 400 (on time), T7 from B 50 (60 days late), T8 from F 80 (paid after D: unpaid
at D, due 2024-06-15). T9 is after D, T11 a trade with itself. B defaulted on a loan in October 2023 (C only after
D, in September 2024).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from features.supply_chain import pagerank, pagerank_over_floor
from tests.features.conftest import FIRMS, A, B, C, D, Resolver, raw_tables


def test_volumes_and_growth(feat) -> None:
    assert feat.value("sc_sales_12m", A) == 100 + 300 + 100 + 500
    assert feat.value("sc_sales_growth", A) == pytest.approx(1000 / 200 - 1)
    assert feat.value("sc_purchases_12m", A) == 400 + 50 + 80
    assert np.isnan(feat.value("sc_purchases_growth", A))  # nothing bought the year before
    assert feat.value("sc_purchases_growth", B) == pytest.approx(200 / 200 - 1)  # T1 + T3 vs T5
    assert feat.value("sc_sales_12m", D) == 0 and np.isnan(feat.value("sc_sales_growth", D))


def test_concentration_and_counts(feat) -> None:
    # A's customers: B 200, C 300, F 500.
    assert feat.value("sc_customer_hhi", A) == pytest.approx(0.2**2 + 0.3**2 + 0.5**2)
    assert feat.value("sc_top_customer_share", A) == pytest.approx(0.5)
    assert feat.value("sc_n_customers", A) == 3
    # A's suppliers: C 400, B 50, F 80.
    assert feat.value("sc_supplier_hhi", A) == pytest.approx((400**2 + 50**2 + 80**2) / 530**2)
    assert feat.value("sc_n_suppliers", A) == 3
    assert feat.value("sc_n_customers", D) == 0 and np.isnan(feat.value("sc_customer_hhi", D))


def test_chain_leader_share(feat) -> None:
    assert feat.value("sc_chain_leader_sales_share", A) == pytest.approx(200 / 1000)  # B leads its chain
    assert feat.value("sc_chain_leader_sales_share", C) == 0.0


def test_days_sales_outstanding(feat) -> None:
    assert feat.value("sc_dso_days", A) == pytest.approx((100 + 500) / 1000 * 365)  # T3 and T4 unpaid at D
    assert feat.value("sc_dso_days", C) == 0.0  # T6 was paid


def test_payment_timeliness(feat) -> None:
    # As seller, known at D: T1 on time, T2 10 days late, T4 unpaid 91 days past due (T3 is not due yet).
    assert feat.value("sc_late_rate_as_seller", A) == pytest.approx(2 / 3)
    assert feat.value("sc_days_late_as_seller", A) == pytest.approx((0 + 10 + 91) / 3)
    # As buyer: T6 on time, T7 60 days late, T8 still unpaid at D, 16 days past due.
    assert feat.value("sc_late_rate_as_buyer", A) == pytest.approx(2 / 3)
    assert feat.value("sc_days_late_as_buyer", A) == pytest.approx((0 + 60 + 16) / 3)
    # B bought T1 (paid on time) and T3 (not due): one known invoice, on time. T10 has no due date.
    assert feat.value("sc_late_rate_as_buyer", B) == 0.0
    assert np.isnan(feat.value("sc_late_rate_as_seller", D))


def test_defaulted_partner_share(feat) -> None:
    # A traded 200 (T1, T3) + 50 (T7) with B, which defaulted in October 2023, of 1000 + 530.
    assert feat.value("sc_defaulted_partner_share", A) == pytest.approx(250 / 1530)
    # C bought 70 from B (T10) of 400 + 370; C's own default is after D and does not count for A.
    assert feat.value("sc_defaulted_partner_share", C) == pytest.approx(70 / 770)


def test_defaulted_partner_share_counts_recent_defaults_only() -> None:
    # As of 2024-11-01: B's default (October 2023) is 13 months old and no longer counts; C's (September 2024)
    # does. A's trade in [2023-11-01, 2024-11-01): sold T3 100, T4 500, T9 900; bought T6 400 (from C), T7 50, T8 80.
    later = Resolver(raw_tables(), pd.Timestamp("2024-11-01"), FIRMS)
    assert later.value("sc_defaulted_partner_share", A) == pytest.approx(400 / 2030)  # not (400 + 1050) / 2030


def test_pagerank_by_hand() -> None:
    # Buyers 0 and 1 each buy from seller 2 (flows[seller, buyer]); 2 buys nothing and spreads its rank evenly.
    # Stationary x = 0.05 + 0.85 y / 3 for firms 0, 1 and 2x + y = 1: x = (1/3) / (1 + 1.7 / 3).
    x = (1 / 3) / (1 + 1.7 / 3)
    got = pagerank(sparse.csr_array(([5.0, 1.0], ([2, 2], [0, 1])), shape=(3, 3)))
    assert got.tolist() == pytest.approx([3 * x, 3 * x, 3 * (1 - 2 * x)], abs=1e-6)
    ring = pagerank(sparse.csr_array(([1.0, 1.0, 1.0], ([1, 2, 0], [0, 1, 2])), shape=(3, 3)))
    assert ring.tolist() == pytest.approx([1.0, 1.0, 1.0])


def test_pagerank_over_floor_keeps_firms_no_one_buys_from_at_one() -> None:
    # The hand case above, then the same trade with five more firms that trade with no one: scaled by the mean, the
    # unendorsed buyers move (0.638 -> 0.67 ...); over the floor they stay at exactly 1 and seller 2 at 2.7.
    x = (1 / 3) / (1 + 1.7 / 3)
    small = sparse.csr_array(([5.0, 1.0], ([2, 2], [0, 1])), shape=(3, 3))
    grown = sparse.csr_array(([5.0, 1.0], ([2, 2], [0, 1])), shape=(8, 8))
    assert pagerank(small)[0] != pytest.approx(pagerank(grown)[0], abs=1e-3)
    for flows in (small, grown):
        got = pagerank_over_floor(flows)
        assert got[0] == got[1] == 1.0 and (got[3:] == 1.0).all()
    assert pagerank_over_floor(small)[2] == pytest.approx((1 - 2 * x) / x)


def test_pagerank_feature_ranks_suppliers_of_busy_buyers(feat) -> None:
    ranks = {f: feat.value("sc_pagerank", f) for f in (A, B, C, D)}
    assert ranks[D] == min(ranks.values()) == 1.0  # no trade at all: the floor
    assert ranks[A] == max(ranks.values())  # sells to three buyers


def test_short_window_sales_change(feat) -> None:
    # 3 months [2024-04-01, 2024-07-01) against [2024-01-01, 2024-04-01): A sold T3 (100) against T4 (500); T9 of
    # 2024-07-02 is after D and T11 a trade with itself. C sold T6 (400) in the earlier quarter and nothing since.
    assert feat.value("sc_sales_change_3m", A) == pytest.approx(100 / 500 - 1)
    assert feat.value("sc_sales_change_3m", C) == pytest.approx(-1.0)
    assert np.isnan(feat.value("sc_sales_change_3m", B))  # B's sales (T7, T10) are older than six months


def test_short_window_late_rate(feat) -> None:
    # A's purchases due in [2024-04-01, 2024-07-01): only T8 (due 2024-06-15, unpaid at D): late. T6 and T7 fell due
    # earlier (the 12-month rate counts them: 2/3). B's T3 falls due after D; C has no purchase due in the window.
    assert feat.value("sc_late_rate_as_buyer_3m", A) == 1.0
    assert np.isnan(feat.value("sc_late_rate_as_buyer_3m", B))
    assert np.isnan(feat.value("sc_late_rate_as_buyer_3m", C))
