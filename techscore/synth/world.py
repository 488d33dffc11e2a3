"""Generate a whole synthetic world: the seven raw tables as Parquet, its ground truth and a description."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from techscore.progress import Progress
from techscore.sources.schema import CERTIFICATIONS, TABLE_NAMES
from techscore.synth import _arrow as A
from techscore.synth._arrow import NO_DAY, TableWriter
from techscore.synth.applications import ApprovalRule, make_applications
from techscore.synth.certifications import first_grant, make_certifications
from techscore.synth.config import BANK_PREFERENCES, BANKS, SynthConfig, streams
from techscore.synth.financials import financial_rows, make_grid
from techscore.synth.firms import DIVISION_CODES, SIZE_BANDS, Firms, make_firms
from techscore.synth.innovation import make_innovation
from techscore.synth.ip import make_ip
from techscore.synth.loans import loan_intensity, make_loans
from techscore.synth.network import make_network
from techscore.synth.paths import make_paths
from techscore.synth.plants import FIRM_TRUTH_FILE, apply_to_paths, firm_truth_table, make_plants
from techscore.synth.risk import (
    CONTAGION_FEATURE,
    DRIVERS,
    MACRO_HAZARD,
    NOISE_FEATURES,
    Defaults,
    make_defaults,
    month_starts,
)
from techscore.synth.tax import make_tax
from techscore.synth.trade import make_invoices
from techscore.synth.truth import LOAN_TRUTH_FILE, TRUE_PD, loan_truth_table

"""Called with a step's description and the fraction of the whole job done (0-1)."""

GROUND_TRUTH_FILE = "ground_truth.json"
METADATA_FILE = "world.json"
README_FILE = "README.md"


@dataclass
class SynthSummary:
    """What `generate` wrote."""

    out: Path
    seed: int
    n_firms: int
    rows: dict[str, int]
    files: dict[str, str]
    default_rate_12m: float
    """Share of loans with a complete 12-month window that defaulted within 12 months of issue."""
    loans_with_window: int
    firms_defaulted: int
    dirty: list[dict] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def generate(n_firms: int, seed: int, out: str | Path, *, dirty: bool = False, start_year: int = 2016,
             end_year: int = 2025, progress: Progress | None = None, applications: bool | ApprovalRule = False,
             **options: object) -> SynthSummary:
    """Write a synthetic world of `n_firms` tech-SMEs to folder `out` (see `techscore.synth`).

    Parameters
    ----------
    n_firms, seed
        Size and seed; the same arguments give byte-identical files.
    out
        Folder to write (created if needed); existing files of the same names are replaced.
    dirty
        Also inject a documented set of contract violations and list them in ``dirty_manifest.json``.
    start_year, end_year
        Years of records; the snapshot date is 31 December of `end_year`.
    progress
        Optional callback ``progress(done, 1000, step)`` (done in per-mille of the work, `techscore.progress`).
    applications
        True or an `ApprovalRule`: the drawn loans become applications, only the approved ones become loans, and
        ``applications.parquet`` / ``application_truth.parquet`` are written (`techscore.synth.applications`).
    **options
        Other `SynthConfig` fields (``default_rate``, ``frailty_sd``, ``chunk_firms``...).

    Examples
    --------
    >>> summary = generate(2_000, seed=7, out=tmp_path / "world")  # doctest: +SKIP
    >>> summary.rows["loans"], round(summary.default_rate_12m, 3)  # doctest: +SKIP
    """
    if n_firms < 10:
        raise ValueError(f"n_firms must be at least 10; got {n_firms}.")
    if end_year <= start_year + 2:
        raise ValueError(f"end_year must be at least 3 years after start_year; got {start_year}..{end_year}.")
    cfg = SynthConfig(n_firms=n_firms, seed=seed, start_year=start_year, end_year=end_year, **options)  # type: ignore[arg-type]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    def say(step: str, fraction: float) -> None:
        if progress is not None:
            progress(round(1000 * fraction), 1000, step)
    rng = streams(seed)

    say("firms", 0.0)
    firms = make_firms(cfg, rng["firms"])
    paths = make_paths(firms, cfg, rng["paths"])
    say("trade network", 0.08)
    network = make_network(firms, cfg, rng["network"])
    plants = make_plants(firms, network, cfg, rng["plants"])
    apply_to_paths(paths, plants)
    say("defaults (latent risk, contagion)", 0.14)
    intensity = loan_intensity(firms, paths, network, cfg)
    defaults = make_defaults(firms, paths, network, intensity, cfg, rng["defaults"], plants)
    default_day = defaults.default_day
    plants.drop_slides_after_default(default_day)
    del intensity

    rows: dict[str, int] = {}
    files = {name: f"{name}.parquet" for name in TABLE_NAMES}
    local = ("financials", "ip_rights", "innovation_indicators", "tax")
    writers = {name: TableWriter(out / files[name], name) for name in local}
    certs = {c: np.full(firms.n, NO_DAY, dtype=np.int64) for c in CERTIFICATIONS}
    first_patent = np.full(firms.n, NO_DAY, dtype=np.int64)
    next_ip = 1
    for lo in range(0, firms.n, cfg.chunk_firms):
        say("financials, IP, innovation, tax", 0.3 + 0.35 * lo / firms.n)
        idx = np.arange(lo, min(lo + cfg.chunk_firms, firms.n))
        grid = make_grid(firms, paths, default_day, idx, rng["financials"])
        writers["financials"].write(financial_rows(grid, firms, paths.years, rng["financials"]))
        ip_cols, ip_rows = make_ip(firms, paths, default_day, idx, cfg, rng["ip_rights"], next_ip)
        next_ip += len(ip_rows["firm"])
        writers["ip_rights"].write(ip_cols)
        writers["innovation_indicators"].write(make_innovation(grid, ip_rows, firms, paths, rng["innovation_indicators"]))
        writers["tax"].write(make_tax(firms, paths, default_day, idx, cfg, rng["tax"]))
        for c, days in make_certifications(firms, paths, ip_rows, default_day, idx, cfg, rng["certifications"]).items():
            certs[c][idx] = days
        first_patent[idx] = first_grant(ip_rows, idx, ("invention", "utility_model", "design"))
        del grid, ip_cols, ip_rows
    for name, w in writers.items():
        rows[name] = w.close()

    say("loans", 0.68)
    loans = make_loans(firms, paths, network, default_day, first_patent, cfg, rng["loans"])
    application_truth = None
    if applications:
        rule = applications if isinstance(applications, ApprovalRule) else ApprovalRule()
        loans, application_truth = make_applications(
            out, loans, firms.founded, firms.frailty, firms.uscc, default_day, defaults.month_hazard,
            month_starts(cfg), cfg.frailty_sd, rule, rng["applications"])
    with TableWriter(out / files["loans"], "loans") as w:
        w.write(loans)
    rows["loans"] = w.rows
    rate, with_window = _default_rate(loans, cfg)
    pq.write_table(loan_truth_table(loans, firms.uscc, defaults.month_hazard, month_starts(cfg)),
                   out / LOAN_TRUTH_FILE, compression="zstd")
    del loans

    with TableWriter(out / files["supply_chain"], "supply_chain") as w:
        for chunk in make_invoices(firms, paths, network, default_day, cfg, rng["supply_chain"], plants):
            say("supply-chain invoices", 0.72 + 0.25 * w.rows / max(1, 20 * firms.n))
            w.write(chunk)
    rows["supply_chain"] = w.rows

    with TableWriter(out / files["enterprises"], "enterprises") as w:
        w.write(_enterprise_columns(firms, certs))
    rows["enterprises"] = w.rows
    rows = {name: rows[name] for name in TABLE_NAMES}
    pq.write_table(firm_truth_table(firms.uscc, default_day, plants), out / FIRM_TRUTH_FILE, compression="zstd")

    summary = SynthSummary(
        out=out, seed=seed, n_firms=n_firms, rows=rows, files=files, default_rate_12m=rate,
        loans_with_window=with_window, firms_defaulted=int((default_day != NO_DAY).sum()),
    )
    truth = ground_truth(cfg, defaults, summary) | {"plants": plants.truth(cfg)}
    if application_truth is not None:
        truth["applications"] = application_truth
    _write_json(out / GROUND_TRUTH_FILE, truth)
    _write_json(out / METADATA_FILE, _metadata(cfg, firms, summary) | {"plants": plants.truth(cfg)})
    (out / README_FILE).write_text(_readme(cfg, summary), encoding="utf-8")
    if dirty:
        say("dirty rows", 0.98)
        from techscore.synth.dirty import inject

        summary.dirty = inject(out, rng["dirty"])
    say("done", 1.0)
    return summary


def _enterprise_columns(firms: Firms, certs: dict[str, np.ndarray]) -> dict[str, pa.Array]:
    from techscore.synth import regions

    cols = {
        "uscc": firms.uscc,
        "name": firms.name,
        "industry": A.take(pa.array(DIVISION_CODES), firms.division),
        "region": A.take(pa.array(regions.CODES), firms.region),
        "founded": A.dates(firms.founded),
        "registered_capital": A.floats(firms.registered_capital),
        "chain_leader": pa.array(firms.chain_leader),
    }
    cols.update({c: A.dates(certs[c]) for c in CERTIFICATIONS})
    return cols


def _default_rate(loans: dict[str, pa.Array], cfg: SynthConfig) -> tuple[float, int]:
    issued = loans["issued"].cast(pa.int32()).to_numpy()
    dflt = loans["default_date"].cast(pa.int32()).fill_null(NO_DAY).to_numpy()
    window = issued <= cfg.snapshot_day - 365
    bad = (dflt != NO_DAY) & (dflt <= issued + 365)
    n = int(window.sum())
    return (float(bad[window].mean()) if n else float("nan")), n


def ground_truth(cfg: SynthConfig, defaults: Defaults, summary: SynthSummary) -> dict:
    """The planted structure: default-rate target, drivers with direction and weight, and the noise features."""
    drivers = [
        {"feature": d.feature, "direction": d.direction, "coef_per_sd": d.coef, "latent": d.latent}
        for d in DRIVERS
    ]
    drivers.append({
        "feature": CONTAGION_FEATURE, "direction": 1,
        "coef_per_sd": round(cfg.contagion * defaults.contagion_sd, 4),
        "latent": f"share of trade with partners that defaulted in the last 12 months "
                  f"(log-hazard +{cfg.contagion} per unit share)",
    })
    total = sum(abs(d["coef_per_sd"]) for d in drivers)
    for d in drivers:
        d["relative_weight"] = round(abs(d["coef_per_sd"]) / total, 4)
    return {
        "seed": cfg.seed,
        "n_firms": cfg.n_firms,
        "snapshot": f"{cfg.end_year}-12-31",
        "performance_window_months": 12,
        "default_rate_target": cfg.default_rate,
        "default_rate_target_band": [0.02, 0.04],
        "loan_truth": {"file": LOAN_TRUTH_FILE, "column": TRUE_PD,
                       "meaning": "each loan's true probability of default within its 12-month label window, "
                                  "from the monthly hazards the world drew from (contagion as it happened)"},
        "default_rate_12m": round(summary.default_rate_12m, 5),
        "loans_with_complete_window": summary.loans_with_window,
        "drivers": drivers,
        "noise": list(NOISE_FEATURES),
        "hazard": {
            "form": "monthly log hazard = intercept + macro(year) + sum(direction * coef_per_sd * z(state at the end of "
                    "the previous year)) + frailty + firm-year noise + contagion * defaulted partner share",
            "intercept": round(defaults.intercept, 5),
            "frailty_sd": cfg.frailty_sd,
            "year_noise_sd": cfg.year_noise_sd,
            "contagion_per_unit_share": cfg.contagion,
            "macro": {str(k): v for k, v in MACRO_HAZARD.items()},
            "driver_latent_sd": {k: round(v, 5) for k, v in defaults.driver_sd.items()},
        },
    }


def _metadata(cfg: SynthConfig, firms: Firms, summary: SynthSummary) -> dict:
    return {
        "generator": "techscore.synth",
        "snapshot_date": f"{cfg.end_year}-12-31",
        "config": asdict(cfg),
        "rows": summary.rows,
        "files": summary.files,
        "banks": {b: {"target_share": s, "preference": BANK_PREFERENCES[b]} for b, s in BANKS.items()},
        "size_bands": dict(zip(SIZE_BANDS, np.bincount(firms.size_band, minlength=4).tolist(), strict=True)),
        "chain_leaders": int(firms.chain_leader.sum()),
        "firms_defaulted": summary.firms_defaulted,
        "default_rate_12m": round(summary.default_rate_12m, 5),
    }


def _readme(cfg: SynthConfig, s: SynthSummary) -> str:
    table = "\n".join(f"| {name} | {s.files[name]} | {n:,} |" for name, n in s.rows.items())
    return f"""# Synthetic tech-SME world

Generated by `techscore synth --firms {cfg.n_firms} --seed {cfg.seed}` (techscore.synth; the same seed gives the
same bytes). Records cover {cfg.start_year}-{cfg.end_year}; loans from {cfg.loan_start_year}; snapshot
{cfg.end_year}-12-31. Everything here is synthetic: no real firm, code or person.

| table | file | rows |
| --- | --- | --- |
{table}

Loans with a complete 12-month window: {s.loans_with_window:,}; defaulted within 12 months: {s.default_rate_12m:.2%}
(target {cfg.default_rate:.0%}). Firms that ever defaulted: {s.firms_defaulted:,}.

`ground_truth.json` lists the planted risk drivers (feature ids of the catalogue, direction, weight), the noise
features and the planted shock and slides (`firm_truth.parquet`: each firm's default date, whether the shock hit
it and the start of its slide); `world.json` the configuration, banks and counts. How the world is made: `help(techscore.synth)`.
"""


def _write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8")
