"""Dirty mode: inject a documented set of contract violations into a written world.

Each injection breaks one rule of `techscore.sources.validation.RULES` (the ids below are those rule ids) at one
cell, and is listed in ``dirty_manifest.json`` with table, file, 1-based data row (header excluded), column and
rule. `financials` is rewritten as CSV (``financials.csv``), since a value of the wrong type can only be stored in
a text file. Rows of enterprises are chosen among the youngest firms, which have the fewest rows elsewhere;
their other rows then also break ``foreign_key_rejected`` (a side effect the manifest names, not an injection).
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv
import pyarrow.parquet as pq

from techscore.sources.uscc import ALPHABET
from techscore.synth.firms import make_codes

MANIFEST_FILE = "dirty_manifest.json"
CSV_TABLE = "financials"

INJECTIONS: dict[str, str] = {
    "uscc_check": "enterprises.uscc: last character changed so the GB 32100 check fails",
    "industry": "enterprises.industry: Z99, not a GB/T 4754-2017 code",
    "required_value": "enterprises.name: emptied",
    "date_order": "ip_rights.granted: set 30 days before filed",
    "negative": "financials.revenue: made negative",
    "duplicate_key": "financials (uscc, year): a copy of an earlier row appended at the end",
    "foreign_key": "loans.uscc: a valid code of no firm in enterprises",
    "type": "financials.employees: text that is not an integer (CSV)",
    "choice": "tax.grade: E, not a tax credit grade",
}
"""Rule id -> what is injected."""


def _set(table: pa.Table, column: str, row: int, value: object) -> pa.Table:
    """`table` with one cell replaced (0-based `row`); None makes it missing."""
    i = table.schema.get_field_index(column)
    col = table.column(i)
    mask = np.zeros(table.num_rows, dtype=bool)
    mask[row] = True
    new = pc.if_else(pa.array(mask), pa.scalar(value, type=col.type), col)
    return table.set_column(i, table.schema.field(i), new)


def inject(out: Path, rng: np.random.Generator) -> list[dict]:
    """Inject every violation of `INJECTIONS` into the world at `out`; writes and returns the manifest entries."""
    out = Path(out)
    tables = {name: pq.read_table(out / f"{name}.parquet") for name in ("enterprises", "financials", "ip_rights", "loans", "tax")}
    entries: list[dict] = []

    def record(table: str, file: str, row0: int, column: str, rule: str, value: object) -> None:
        entries.append({"table": table, "file": file, "row": int(row0) + 1, "column": column, "rule": rule,
                        "value": None if value is None else str(value), "description": INJECTIONS[rule]})

    ent = tables["enterprises"]
    founded = ent.column("founded").cast(pa.int32()).to_numpy()
    young = np.argsort(-founded, kind="stable")[:3]
    code = ent.column("uscc")[int(young[0])].as_py()
    bad = code[:-1] + next(c for c in ALPHABET if c != code[-1])
    ent = _set(ent, "uscc", young[0], bad)
    record("enterprises", "enterprises.parquet", young[0], "uscc", "uscc_check", bad)
    ent = _set(ent, "industry", young[1], "Z99")
    record("enterprises", "enterprises.parquet", young[1], "industry", "industry", "Z99")
    ent = _set(ent, "name", young[2], None)
    record("enterprises", "enterprises.parquet", young[2], "name", "required_value", None)
    tables["enterprises"] = ent

    ip = tables["ip_rights"]
    granted = np.flatnonzero(ip.column("granted").is_valid().to_numpy(zero_copy_only=False))
    row = int(rng.choice(granted))
    filed = ip.column("filed")[row].as_py()
    early = filed - datetime.timedelta(days=30)
    tables["ip_rights"] = _set(ip, "granted", row, early)
    record("ip_rights", "ip_rights.parquet", row, "granted", "date_order", early)

    fin = tables["financials"]
    rows = rng.choice(fin.num_rows, size=3, replace=False)
    revenue = -abs(fin.column("revenue")[int(rows[0])].as_py())
    fin = _set(fin, "revenue", rows[0], revenue)
    record("financials", "financials.csv", rows[0], "revenue", "negative", revenue)
    fin = fin.set_column(fin.schema.get_field_index("employees"), "employees", fin.column("employees").cast(pa.string()))
    fin = _set(fin, "employees", rows[1], "约120人")
    record("financials", "financials.csv", rows[1], "employees", "type", "约120人")
    fin = pa.concat_tables([fin, fin.slice(int(rows[2]), 1)])
    record("financials", "financials.csv", fin.num_rows - 1, "uscc,year", "duplicate_key", None)
    tables["financials"] = fin

    loans = tables["loans"]
    known = set(ent.column("uscc").to_pylist())
    orphan = next(c for c in make_codes(rng, np.array(["440300"] * 8)) if c not in known)
    row = int(rng.integers(0, loans.num_rows))
    tables["loans"] = _set(loans, "uscc", row, str(orphan))
    record("loans", "loans.parquet", row, "uscc", "foreign_key", orphan)

    tax = tables["tax"]
    row = int(rng.integers(0, tax.num_rows))
    tables["tax"] = _set(tax, "grade", row, "E")
    record("tax", "tax.parquet", row, "grade", "choice", "E")

    for name, table in tables.items():
        if name == CSV_TABLE:
            (out / f"{name}.parquet").unlink()
            pv.write_csv(table, out / f"{name}.csv")
        else:
            pq.write_table(table, out / f"{name}.parquet", compression="zstd")
    manifest = {
        "rules": "rule ids of techscore.sources.validation.RULES",
        "row": "1-based data row of the file, header excluded",
        "injections": entries,
        "side_effects": "rows of other tables whose firm is an injected enterprises row break foreign_key_rejected",
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return entries
