"""Monitoring against what the synthetic world planted: a dated downturn of one industry, and firms on a slide.

One small world with a severe downturn of section I from 1 May 2025 (`shock_size=3`: the hazard times 20, invoices
paid late almost always, sales down by 95%) and sharp slides, the demo experiment's model trained on it, and
`run_monitor` over the first day of each month from January to September 2025. Ground truth: `ground_truth.json`
and `firm_truth.parquet`.

What the monitor sees is bounded by what the model reads month to month: the previous year's tax grades (April) and
statements (31 May) arrive in the comparisons ending 1 May and 1 June and move every segment; between publications
only trade moves (the 3-month supply-chain features read it within a quarter), and only for the firms that trade on
the platform. So the shock is read from the comparisons ending two months or more after the start against those
ending on or before it. The early warnings are judged in their order (later PD first) and as a watch list.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from techscore.cli.demo import DEMO_EXPERIMENT
from techscore.model.training import train
from techscore.monitor.evaluation import POOLED, segment_shift, warning_performance
from techscore.monitor.run import run_monitor
from techscore.monitor.spec import load_monitor_spec
from techscore.specs import load_experiment
from techscore.synth import generate
from techscore.synth.plants import FIRM_TRUTH_FILE

ROOT = Path(__file__).resolve().parents[2]
FIRMS, SEED = 8_000, 3
PLANTS = {"shock_section": "I", "shock_size": 3.0, "slide_size": 9.0, "slide_share": 0.04}
DATES = [f"2025-{m:02d}-01" for m in range(1, 10)]
SECTION = "I"
WATCH = "CCC"
GRADES = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C", "D")
"""experiments/monitor_demo.toml's watch grade and the master scale of the demo's model (models/pd_lgbm_sme_v1)."""
LATE = ["sc_late_rate_as_buyer", "sc_days_late_as_buyer"]
"""The features of the shock's most visible move: shocked firms pay their suppliers late."""

pytestmark = pytest.mark.xdist_group("planted-monitoring")


@pytest.fixture(scope="module")
def monitored(tmp_path_factory):
    base = tmp_path_factory.mktemp("planted")
    world = base / "world"
    generate(FIRMS, SEED, world, **PLANTS)
    spec = load_experiment(ROOT / DEMO_EXPERIMENT)
    data = spec.data.model_copy(update={"path": str(world), "dataset": str(base / "dataset")})
    result = train(spec.model_copy(update={"data": data, "challenger": False}), tracking=False, out=base / "out")
    monitor = load_monitor_spec(ROOT / "experiments" / "monitor_demo.toml", workspace=ROOT)
    monitor = monitor.model_copy(update={"model": str(result.paths["model"]), "data": str(world),
                                         "dates": DATES, "out": str(base / "monitor")})
    run = run_monitor(monitor, tracking=False)
    tables = run.tables | {"scores": run.table("scores")}  # the per-firm scores are streamed to disk
    truth = json.loads((world / "ground_truth.json").read_text(encoding="utf-8"))
    return tables, truth, pd.read_parquet(world / FIRM_TRUTH_FILE)


def _periods(frame: pd.DataFrame, start: str) -> tuple[pd.Series, pd.Series]:
    """(before: comparisons whose later date sees no post-shock data, settled: later date 2+ months after start)."""
    after = pd.to_datetime(frame["as_of_after"])
    return after <= pd.Timestamp(start), after >= pd.Timestamp(start) + pd.DateOffset(months=2)


def test_ground_truth_declares_the_shock_and_the_slides(monitored):
    _, truth, firms = monitored
    shock = truth["plants"]["shock"]
    assert shock["segment"] == {"column": "industry", "section": SECTION} and shock["start"] == "2025-05-01"
    assert shock["log_hazard_increase"] == 3.0 and shock["firms"] == int(firms["shocked"].sum()) > 0.1 * FIRMS
    sliding = firms.loc[firms["slide_start"].notna()]
    assert truth["plants"]["slides"]["firms"] == len(sliding) > 30
    start, default = pd.to_datetime(sliding["slide_start"]), pd.to_datetime(sliding["default_date"])
    assert (default.dropna() > start[default.notna()]).all()  # a slide starts before its default
    settled = sliding.loc[start <= pd.Timestamp("2024-06-01")]
    others = firms.loc[firms["slide_start"].isna()]
    # about 40% of the other firms default over the ten years, young micro firms most
    assert settled["default_date"].notna().mean() > max(0.8, 1.8 * others["default_date"].notna().mean())


def test_shock_shows_as_a_driver_change_of_its_segment(monitored):
    tables, truth, _ = monitored
    shift = segment_shift(tables["drivers"], SECTION)
    shift["relative"] = shift["segment_change"] - shift["portfolio_change"]
    before, settled = _periods(shift, truth["plants"]["shock"]["start"])
    assert before.sum() == 4 and settled.sum() == 3
    calm = max(shift.loc[before, "relative"].max(), 0.001)
    assert (shift.loc[settled, "relative"] > 2 * calm).all(), shift
    # what moved the segment: the late-payment features, far more than before the shock
    drivers = tables["drivers"]
    late = drivers.loc[(drivers["segment"] == SECTION) & drivers["feature"].isin(LATE)]
    moved = late.groupby("as_of_after")["contribution"].sum()
    b, s = _periods(moved.reset_index(), truth["plants"]["shock"]["start"])
    assert moved[s.to_numpy()].min() > 2 * max(moved[b.to_numpy()].max(), 0.001), moved


def test_shock_shows_as_a_csi_change_of_the_late_payment_features(monitored):
    tables, truth, _ = monitored
    stab = tables["stability"]
    late = stab.loc[stab["item"].isin(LATE)]
    before, settled = _periods(late, truth["plants"]["shock"]["start"])
    for item in LATE:
        rows = late["item"] == item
        assert late.loc[rows & settled, "psi"].max() > 2 * late.loc[rows & before, "psi"].max(), late
    # and no feature reads a PSI past the stable band month to month from a drifting mass point (sc_pagerank read 8+)
    assert stab.loc[stab["item"] == "sc_pagerank", "psi"].max() < 0.1


def _pooled(monitored) -> pd.Series:
    tables, truth, firms = monitored
    perf = warning_performance(tables["scores"], tables["early_warnings"], firms.set_index("uscc")["default_date"],
                               horizon_months=6, top=0.05, observed_until=truth["snapshot"], watch_grade=WATCH,
                               grades=GRADES)
    assert perf.loc[perf["as_of_after"] != POOLED, "complete"].sum() == 5  # later dates Feb..Jun: 6 months known
    return perf.loc[perf["as_of_after"] == POOLED].iloc[0]


def test_the_early_warning_order_and_the_watch_list_catch_the_next_six_months_defaults(monitored):
    pooled = _pooled(monitored)
    assert pooled["defaults"] >= 100
    # the first 5% in the warning order (later PD first) hold 2.8 times the population's default rate (seed 3)
    assert pooled["top_lift"] > 2.5, pooled
    # the watch list (at the watch grade or worse, or newly listed): 78% of the defaults in 38% of the firms (this
    # world's default rate is high: 3.4% within 6 months, so many firms sit at CCC or worse)
    assert pooled["recall_at_watch"] > 1.8 * pooled["watched_share"], pooled


@pytest.mark.xfail(strict=True, reason="ranking by the PD rise alone is near chance: measured on this world (seed 3) "
                   "the 5% largest rises hold 1.26 times the population's 6-month default rate, and the month's "
                   "new warnings (3.4% of firms) 3.8% of the defaults; a rise from a low PD stays a low PD, which "
                   "is why the warning order is the later PD (techscore.monitor.warnings.warning_priority)")
def test_pd_rises_alone_catch_the_next_six_months_defaults(monitored):
    pooled = _pooled(monitored)
    assert pooled["rise_lift"] > 2 and pooled["recall_listed"] > 2 * pooled["listed_share"], pooled

