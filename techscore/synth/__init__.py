"""A synthetic world of Chinese technology SMEs with the structure a real platform's data has.

``generate(n_firms, seed, out)`` writes the seven raw tables of `techscore.sources.schema` as Parquet, plus
``ground_truth.json`` (planted drivers, noise, shock and slides), ``loan_truth.parquet``, ``firm_truth.parquet``,
``world.json`` and ``README.md``. Vectorised NumPy, one random
stream per table (``SeedSequence.spawn``): the same seed gives the same bytes; firm-local tables are written in
chunks of firms and invoices in chunks of relationships, so a million firms fit in a few GiB.

Structure
---------
- **Firms** (`firms`): GB/T 4754-2017 divisions weighted towards tech (about 62% in ``TECH_DIVISIONS``), stored as
  ``C39``/``I65``; 6-digit region codes of 36 tech cities and districts (Shenzhen 440300, Haidian 110108, Pudong
  310115, Wuhan 420100, Nanning 450100...); USCC ``91`` + region + GB 11714 organisation code with its check +
  GB 32100 check; founded 1995-2024 skewed young; size bands micro/small/medium/large; registered capital is
  NOISE; about 0.5% chain leaders among large, older firms.
- **Latent paths** (`paths`): per firm-year true revenue (ramp-up with age, firm trend, AR shocks, macro years),
  R&D intensity (industry x capability x size), leverage, ROA, payment habit, tax standing, innovation capacity.
- **Financials** 2016-2025 after the founding year, ~5% missing years; **innovation indicators** (all 18) from the
  same values, IP counts and innovation capacity (graduates hired, awards, standards led are NOISE); **tax** grades
  (M for new firms). **IP rights** from an R&D-driven filing process with grants 1.5-4 years later for inventions,
  rejections (invalid), pending, lapses, transfers, pledges, citations (claims are NOISE), legal terms.
- **Certifications** (`certifications`): tech_sme, high_tech (R&D over threshold and a granted right first),
  innovative_sme -> specialized_sme -> little_giant, gazelle (high growth), rare unicorns.
- **Trade** (`network`, `trade`): chain leaders buy from many suppliers (heavy-tailed in-degrees); invoices with
  due dates 30-90 days; late payment driven by the buyer's habit and rising in the 12 months before its default.
- **Defaults** (`risk`): monthly hazard of the firms' true states at the previous year end (planted drivers
  `risk.DRIVERS`), unobserved frailty and noise, and contagion from trade partners that defaulted in the last 12
  months; calibrated so that ~3% of loans default within 12 months (about 40% of firms, mostly young micro firms,
  exit within the ten years). Defaulted firms exit: no new loans, trade stops, patents lapse. Crude proxies of
  eight drivers reach an out-of-time AUC of about 0.78 (tests/synth/test_risk.py).
- **Loans** (`loans`): four banks (50/30/15/5% of loans) with different preferences, products from the policies,
  2018 onwards, ``default_date`` = the firm's default when within the term.
- **Applications** (`applications`, optional): the drawn loans become applications decided by a declared approval
  rule; only approved ones become loans, every applicant's true outcome and PD go to ``application_truth.parquet``.
- **Plants for monitoring** (`plants`): a dated downturn of one industry section (hazard, sales, late payments,
  revenue) and firms on a slide before default, recorded in the ground truth.
- **Dirty mode** (`dirty`): documented contract violations listed in ``dirty_manifest.json``.
"""

from techscore.synth.world import SynthSummary, generate

__all__ = ["SynthSummary", "generate"]
