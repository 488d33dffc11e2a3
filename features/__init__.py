"""techscore's feature catalogue: plain functions with their metadata, one module per group.

=====================  ======================================================================================
module                 features
=====================  ======================================================================================
rd.py                  R&D intensity, growth, volatility, staff, high-tech revenue, the high-tech R&D test
ip.py                  IP in force by kind and class, filings, grant ratio, age, lapses, pledges, IP score
innovation.py          innovation points (创新积分制), tech-SME evaluation (科技型中小企业评价), indicators
supply_chain.py        trade volume and growth, concentration, chain leaders, DSO, delays, defaulted partners,
                       PageRank
profile.py             age, size band, industry, province, certifications, lifecycle stage, borrowing history
finance.py             leverage, profitability, cash-flow cover, revenue, staff, tax grade, statement age
_nodes.py, _frame.py   shared helper nodes (registry rows, financial statements) and array helpers
_config.py, config/    the replaceable rules (point tables, thresholds, weights), read once at import
=====================  ======================================================================================

The engine (`techscore.catalogue`) imports every module here, resolves each function's parameters by name (base
inputs cut to what was known before the as-of date, helper nodes, other features) and computes each once.
"""
