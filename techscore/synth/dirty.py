"""Dirty mode: plant one documented case of every class the data contract declares into a written world.

Each plant (`INJECTIONS`) changes one cell (or drops one column) so that one rule of
`techscore.sources.validation.RULES` fires there, with its declared outcome: the row ``rejected`` (an error), the
value ``kept`` as normalised with a warning (white space and invisible characters, full-width forms, case, Chinese
spellings), or the file refused (``file``: a missing required column, which makes `techscore validate` exit 2).
``dirty_manifest.json`` lists every plant with table, file, 1-based data row (header excluded; null for a file),
column, rule, outcome, the value written and, for a normalisation, the value kept.

`financials` is rewritten as CSV (``financials.csv``), since a value of the wrong type can only be stored in a text
file; the other tables stay Parquet (their text columns are normalised the same way). Rows of enterprises that are
rejected are chosen among the youngest firms, which have the fewest rows elsewhere; their other rows then also break
``foreign_key_rejected`` (a side effect the manifest names, not a plant). Dates after the snapshot are a few days
after the ``snapshot_date`` the world records in ``world.json``.
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
FILE_LEVEL_TABLE, FILE_LEVEL_COLUMN = "innovation_indicators", "year"

INJECTIONS: dict[str, tuple[str, str, str]] = {
    # case: (rule, outcome, what is planted)
    "uscc_check": ("uscc_check", "rejected", "enterprises.uscc: last character changed so the GB 32100 check fails"),
    "industry": ("industry", "rejected", "enterprises.industry: Z99, not a GB/T 4754-2017 code"),
    "required_value": ("required_value", "rejected", "enterprises.name: emptied"),
    "date_order": ("date_order", "rejected", "ip_rights.granted: set 30 days before filed"),
    "negative": ("negative", "rejected", "financials.revenue: made negative"),
    "duplicate_key": ("duplicate_key", "rejected", "financials (uscc, year): a copy of an earlier row appended at the end"),
    "foreign_key": ("foreign_key", "rejected", "loans.uscc: a valid code of no firm in enterprises"),
    "type": ("type", "rejected", "financials.employees: text that is not an integer (CSV)"),
    "choice": ("choice", "rejected", "tax.grade: E, not a tax credit grade"),
    "code_inner_zero_width": ("uscc_format", "rejected",
                              "supply_chain.buyer_uscc: a zero-width space (U+200B) inside the code"),
    "issued_after_snapshot": ("after_snapshot", "rejected", "loans.issued: 10 days after the snapshot date"),
    "default_after_snapshot": ("after_snapshot", "rejected", "loans.default_date: 20 days after the snapshot date"),
    "invoice_after_snapshot": ("after_snapshot", "rejected",
                               "supply_chain.date: 5 days after the snapshot date (due 60 days later, unpaid)"),
    "filed_after_snapshot": ("after_snapshot", "rejected", "ip_rights.filed: a pending right filed 15 days after "
                                                           "the snapshot date"),
    "code_no_break_space": ("whitespace", "kept", "enterprises.uscc: a no-break space (U+00A0) after the code"),
    "code_zero_width": ("whitespace", "kept", "loans.uscc: a zero-width space (U+200B) before the code"),
    "code_byte_order_mark": ("whitespace", "kept", "supply_chain.seller_uscc: a byte-order mark (U+FEFF) before it"),
    "industry_ideographic_space": ("whitespace", "kept", "enterprises.industry: an ideographic space (U+3000) after it"),
    "kind_tab": ("whitespace", "kept", "ip_rights.kind: a tab after it"),
    "region_full_width": ("width", "kept", "enterprises.region: full-width digits"),
    "grade_case": ("case", "kept", "tax.grade: lower case"),
    "status_case": ("case", "kept", "ip_rights.status: Granted"),
    "kind_chinese": ("synonym", "kept", "ip_rights.kind: 发明专利 for invention"),
    "chain_leader_chinese": ("synonym", "kept", "enterprises.chain_leader: 否 for false"),
    "required_column": ("required_column", "file",
                        f"{FILE_LEVEL_TABLE}: the required column {FILE_LEVEL_COLUMN} dropped (the file is refused)"),
}
"""Planted case -> (rule id, outcome, what is planted)."""


def _set(table: pa.Table, column: str, row: int, value: object) -> pa.Table:
    """`table` with one cell replaced (0-based `row`); None makes it missing."""
    i = table.schema.get_field_index(column)
    col = table.column(i)
    mask = np.zeros(table.num_rows, dtype=bool)
    mask[row] = True
    new = pc.if_else(pa.array(mask), pa.scalar(value, type=col.type), col)
    return table.set_column(i, table.schema.field(i), new)


def _as_text(table: pa.Table, column: str) -> pa.Table:
    i = table.schema.get_field_index(column)
    return table.set_column(i, column, table.column(i).cast(pa.string()))


class _Rows:
    """Picks rows of each table at random, never the same row twice, among rows a test accepts."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.used: dict[str, set[int]] = {}

    def pick(self, table: str, candidates: np.ndarray | None, n_rows: int) -> int:
        ok = np.ones(n_rows, dtype=bool) if candidates is None else np.asarray(candidates, dtype=bool).copy()
        ok[list(self.used.get(table, ()))] = False
        row = int(self.rng.choice(np.flatnonzero(ok)))
        self.used.setdefault(table, set()).add(row)
        return row

    def take(self, table: str, row: int) -> int:
        self.used.setdefault(table, set()).add(int(row))
        return int(row)


def _snapshot(out: Path) -> datetime.date:
    meta = json.loads((out / "world.json").read_text(encoding="utf-8"))
    return datetime.date.fromisoformat(meta["snapshot_date"])


def inject(out: Path, rng: np.random.Generator) -> list[dict]:
    """Plant every case of `INJECTIONS` into the world at `out`; writes and returns the manifest entries."""
    out = Path(out)
    names = ("enterprises", "financials", "ip_rights", "loans", "tax", "supply_chain", FILE_LEVEL_TABLE)
    tables = {name: pq.read_table(out / f"{name}.parquet") for name in names}
    snapshot = _snapshot(out)
    rows = _Rows(rng)
    entries: list[dict] = []

    def record(case: str, table: str, row0: int | None, column: str, value: object, kept: object = None) -> None:
        rule, outcome, description = INJECTIONS[case]
        file = f"{table}.csv" if table == CSV_TABLE else f"{table}.parquet"
        entries.append({"case": case, "table": table, "file": file, "row": None if row0 is None else int(row0) + 1,
                        "column": column, "rule": rule, "outcome": outcome,
                        "value": None if value is None else str(value), "kept": None if kept is None else str(kept),
                        "description": description})

    def plant(case: str, table: str, column: str, row: int, value: object, kept: object = None) -> None:
        tables[table] = _set(tables[table], column, row, value)
        record(case, table, row, column, value, kept)

    def cell(table: str, column: str, row: int) -> object:
        return tables[table].column(column)[row].as_py()

    # enterprises: three rejected young firms, then normalised values in other rows
    ent = tables["enterprises"]
    founded = ent.column("founded").cast(pa.int32()).to_numpy()
    young = [rows.take("enterprises", r) for r in np.argsort(-founded, kind="stable")[:3]]
    code = cell("enterprises", "uscc", young[0])
    plant("uscc_check", "enterprises", "uscc", young[0], code[:-1] + next(c for c in ALPHABET if c != code[-1]))
    plant("industry", "enterprises", "industry", young[1], "Z99")
    plant("required_value", "enterprises", "name", young[2], None)
    rejected_firms = {cell("enterprises", "uscc", r) for r in young} | {code}
    row = rows.pick("enterprises", None, ent.num_rows)
    code = cell("enterprises", "uscc", row)
    plant("code_no_break_space", "enterprises", "uscc", row, code + "\u00a0", code)
    row = rows.pick("enterprises", None, ent.num_rows)
    industry = cell("enterprises", "industry", row)
    plant("industry_ideographic_space", "enterprises", "industry", row, industry + "\u3000", industry)
    row = rows.pick("enterprises", None, ent.num_rows)
    region = cell("enterprises", "region", row)
    plant("region_full_width", "enterprises", "region", row, "".join(chr(ord(c) + 0xFEE0) for c in region), region)
    tables["enterprises"] = _as_text(tables["enterprises"], "chain_leader")
    leader = tables["enterprises"].column("chain_leader").to_numpy(zero_copy_only=False) == "false"
    row = rows.pick("enterprises", leader, ent.num_rows)
    plant("chain_leader_chinese", "enterprises", "chain_leader", row, "否", "false")

    ip = tables["ip_rights"]
    granted = ip.column("granted").is_valid().to_numpy(zero_copy_only=False)
    status = ip.column("status").to_numpy(zero_copy_only=False)
    kind = ip.column("kind").to_numpy(zero_copy_only=False)
    row = rows.pick("ip_rights", granted, ip.num_rows)
    early = cell("ip_rights", "filed", row) - datetime.timedelta(days=30)
    plant("date_order", "ip_rights", "granted", row, early)
    row = rows.pick("ip_rights", status == "granted", ip.num_rows)
    plant("status_case", "ip_rights", "status", row, "Granted", "granted")
    row = rows.pick("ip_rights", kind == "invention", ip.num_rows)
    plant("kind_chinese", "ip_rights", "kind", row, "发明专利", "invention")
    row = rows.pick("ip_rights", None, ip.num_rows)
    plant("kind_tab", "ip_rights", "kind", row, cell("ip_rights", "kind", row) + "\t", cell("ip_rights", "kind", row))
    late = snapshot + datetime.timedelta(days=15)
    expires = ip.column("expires").cast(pa.int32()).to_numpy(zero_copy_only=False)
    pending = (status == "pending") & ~granted & (np.nan_to_num(expires, nan=np.inf) > (late - datetime.date(1970, 1, 1)).days)
    plant("filed_after_snapshot", "ip_rights", "filed", rows.pick("ip_rights", pending, ip.num_rows), late)

    fin = tables["financials"]
    row = rows.pick("financials", None, fin.num_rows)
    plant("negative", "financials", "revenue", row, -abs(cell("financials", "revenue", row)))
    tables["financials"] = _as_text(tables["financials"], "employees")
    plant("type", "financials", "employees", rows.pick("financials", None, fin.num_rows), "约120人")
    copy = rows.pick("financials", None, fin.num_rows)
    tables["financials"] = pa.concat_tables([tables["financials"], tables["financials"].slice(copy, 1)])
    record("duplicate_key", "financials", tables["financials"].num_rows - 1, "uscc,year", None)

    loans = tables["loans"]
    firm_ok = ~np.isin(loans.column("uscc").to_numpy(zero_copy_only=False), list(rejected_firms))
    defaulted = loans.column("default_date").is_valid().to_numpy(zero_copy_only=False)
    known = set(tables["enterprises"].column("uscc").to_pylist())
    orphan = next(c for c in make_codes(rng, np.array(["440300"] * 8)) if c not in known)
    plant("foreign_key", "loans", "uscc", rows.pick("loans", None, loans.num_rows), str(orphan))
    row = rows.pick("loans", firm_ok, loans.num_rows)
    code = cell("loans", "uscc", row)
    plant("code_zero_width", "loans", "uscc", row, "\u200b" + code, code)
    plant("issued_after_snapshot", "loans", "issued", rows.pick("loans", firm_ok & ~defaulted, loans.num_rows),
          snapshot + datetime.timedelta(days=10))
    plant("default_after_snapshot", "loans", "default_date", rows.pick("loans", firm_ok & defaulted, loans.num_rows),
          snapshot + datetime.timedelta(days=20))

    sc = tables["supply_chain"]
    sellers = ~np.isin(sc.column("seller_uscc").to_numpy(zero_copy_only=False), list(rejected_firms))
    buyers = ~np.isin(sc.column("buyer_uscc").to_numpy(zero_copy_only=False), list(rejected_firms))
    row = rows.pick("supply_chain", sellers & buyers, sc.num_rows)
    code = cell("supply_chain", "buyer_uscc", row)
    plant("code_inner_zero_width", "supply_chain", "buyer_uscc", row, code[:9] + "\u200b" + code[9:])
    row = rows.pick("supply_chain", sellers & buyers, sc.num_rows)
    code = cell("supply_chain", "seller_uscc", row)
    plant("code_byte_order_mark", "supply_chain", "seller_uscc", row, "\ufeff" + code, code)
    row = rows.pick("supply_chain", sellers & buyers, sc.num_rows)
    day = snapshot + datetime.timedelta(days=5)
    plant("invoice_after_snapshot", "supply_chain", "date", row, day)
    tables["supply_chain"] = _set(_set(tables["supply_chain"], "due_date", row, day + datetime.timedelta(days=60)),
                                  "paid_date", row, None)

    tax = tables["tax"]
    plant("choice", "tax", "grade", rows.pick("tax", None, tax.num_rows), "E")
    row = rows.pick("tax", None, tax.num_rows)
    grade = cell("tax", "grade", row)
    plant("grade_case", "tax", "grade", row, grade.lower(), grade)

    inno = tables[FILE_LEVEL_TABLE]
    tables[FILE_LEVEL_TABLE] = inno.drop_columns([FILE_LEVEL_COLUMN])
    record("required_column", FILE_LEVEL_TABLE, None, FILE_LEVEL_COLUMN, None)

    for name, table in tables.items():
        if name == CSV_TABLE:
            (out / f"{name}.parquet").unlink()
            pv.write_csv(table, out / f"{name}.csv")
        else:
            pq.write_table(table, out / f"{name}.parquet", compression="zstd")
    manifest = {
        "rules": "rule ids of techscore.sources.validation.RULES",
        "row": "1-based data row of the file, header excluded (null: the whole file)",
        "outcome": "rejected: the row is rejected (error); kept: the value is kept as `kept`, with a warning naming "
                   "the value as read and kept; file: the file is refused (validate exits 2)",
        "snapshot_date": snapshot.isoformat(),
        "injections": entries,
        "side_effects": "rows of other tables whose firm is an injected enterprises row break foreign_key_rejected",
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return entries
