"""The raw-data contract: the seven raw tables, their columns, types and rules (DESIGN.md section 4).

This module is the single declaration the loader, the validator and the synthetic generator all read, so a
column is named, typed and ruled in one place only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["str", "uscc", "int", "float", "money", "date", "bool", "category"]

CERTIFICATIONS: tuple[str, ...] = (
    "tech_sme",
    "high_tech",
    "innovative_sme",
    "specialized_sme",
    "little_giant",
    "gazelle",
    "unicorn",
)
"""Certification columns of `enterprises`, each the date the firm first held it (empty if never)."""

IP_KINDS: tuple[str, ...] = (
    "invention",
    "utility_model",
    "design",
    "trademark",
    "software_copyright",
    "ic_layout",
    "plant_variety",
)
IP_STATUSES: tuple[str, ...] = ("pending", "granted", "lapsed", "invalid", "transferred_out")
TAX_GRADES: tuple[str, ...] = ("A", "B", "M", "C", "D")
"""Tax credit grades in order of risk, lowest first."""

INNOVATION_INDICATORS: tuple[str, ...] = (
    "rd_expense",
    "rd_expense_growth",
    "rd_intensity",
    "rd_staff_share",
    "tech_contract_value",
    "class1_ip_3y",
    "class2_ip_3y",
    "revenue_growth",
    "high_tech_revenue",
    "return_on_net_assets",
    "net_profit_growth",
    "taxes_paid",
    "employee_growth",
    "graduates_hired",
    "venture_capital",
    "rd_platform_level",
    "standards_led",
    "awards",
)
"""Indicator columns of `innovation_indicators` (techscore's default specification, shared/domain)."""


Normalisation = Literal["whitespace", "width", "case", "synonym"]

NORMALISATIONS: dict[str, str] = {
    "whitespace": "white space and invisible characters around the value removed (space, tab, line breaks, U+00A0, "
                  "U+3000, U+200B-U+200D, U+2060, U+FEFF); a value of nothing else is missing",
    "width": "full-width forms made ASCII (Unicode NFKC of a value holding one: \uff21\uff11 -> A1)",
    "case": "letters in the contract's case: firm and industry codes upper case, a category as its allowed value",
    "synonym": "another spelling of a category or a true/false value replaced by the contract's value (是 -> true)",
}
"""Every change the validator may make to a value, by rule id; each change is a warning naming file, row, column,
the value as read and the value kept. A column applies only the changes its contract lists (`Column.normalise`);
any other departure from the contract is not repaired, so the value fails its own rule and the row is rejected."""

DEFAULT_NORMALISE: dict[str, tuple[Normalisation, ...]] = {
    "uscc": ("whitespace", "width", "case"),
    "category": ("whitespace", "width", "case", "synonym"),
    "bool": ("whitespace", "width", "synonym"),
    "int": ("whitespace", "width"),
    "float": ("whitespace", "width"),
    "money": ("whitespace", "width"),
    "date": ("whitespace", "width"),
    "str": ("whitespace",),
}
"""The changes each kind of column applies unless its contract says otherwise. Free text (names, ids) keeps its
characters (a Chinese name keeps its full-width brackets); true/false, 1/0 in any case are the bool type's own
spellings, not changes."""

BOOL_SYNONYMS: tuple[tuple[str, str], ...] = (
    ("yes", "true"), ("no", "false"), ("y", "true"), ("n", "false"), ("t", "true"), ("f", "false"),
    ("是", "true"), ("否", "false"), ("真", "true"), ("假", "false"), ("有", "true"), ("无", "false"),
)
"""Other spellings of true and false (matched in any case), each kept as the contract's value with a warning."""


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = False
    choices: tuple[str, ...] | None = None
    description: str = ""
    normalise: tuple[Normalisation, ...] | None = None
    """The changes this column applies, each with a warning (None: `DEFAULT_NORMALISE` of its kind)."""
    synonyms: tuple[tuple[str, str], ...] = ()
    """(spelling, contract value) pairs of the ``synonym`` change, spellings matched in any case."""
    past: bool = True
    """For a date: the day of an event that has happened, so never after the data's snapshot (extraction) date;
    False for dates that may lie ahead (an expiry, a due date)."""

    @property
    def changes(self) -> tuple[Normalisation, ...]:
        """The changes this column applies (its own list, else its kind's default)."""
        return DEFAULT_NORMALISE[self.kind] if self.normalise is None else self.normalise

    @property
    def spellings(self) -> tuple[tuple[str, str], ...]:
        """Synonyms of this column: its own, plus the other spellings of true/false for a bool."""
        return (*self.synonyms, *(BOOL_SYNONYMS if self.kind == "bool" else ()))


@dataclass(frozen=True)
class Table:
    """One raw table: its columns, key, date-order rules and foreign keys."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    date_order: tuple[tuple[str, str, bool], ...] = ()
    """(earlier, later, strict): earlier <= later (or < when strict) wherever both are present."""
    foreign_keys: tuple[tuple[str, str], ...] = ()
    """(column, table): every non-empty value must be a `uscc` of that table."""
    description: str = ""

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def columns_of_kind(self, *kinds: Kind) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.kind in kinds)


def _c(name: str, kind: Kind, required: bool = False, choices: tuple[str, ...] | None = None, d: str = "",
       **policy) -> Column:
    return Column(name, kind, required, choices, d, **policy)


_CODE = ("whitespace", "width", "case")
"""The changes of a code column (industry, region): like a firm code."""

IP_KIND_SYNONYMS: tuple[tuple[str, str], ...] = (
    ("发明", "invention"), ("发明专利", "invention"), ("实用新型", "utility_model"), ("实用新型专利", "utility_model"),
    ("外观设计", "design"), ("外观设计专利", "design"), ("商标", "trademark"), ("注册商标", "trademark"),
    ("软件著作权", "software_copyright"), ("计算机软件著作权", "software_copyright"), ("软著", "software_copyright"),
    ("集成电路布图设计", "ic_layout"), ("植物新品种", "plant_variety"),
)
IP_STATUS_SYNONYMS: tuple[tuple[str, str], ...] = (
    ("审查中", "pending"), ("申请中", "pending"), ("在审", "pending"), ("授权", "granted"), ("有效", "granted"),
    ("失效", "lapsed"), ("无效", "invalid"), ("已转让", "transferred_out"), ("转出", "transferred_out"),
)
TAX_GRADE_SYNONYMS: tuple[tuple[str, str], ...] = tuple((f"{g}级", g) for g in ("A", "B", "M", "C", "D"))


ENTERPRISES = Table(
    "enterprises",
    (
        _c("uscc", "uscc", True, d="unified social credit code (GB 32100-2015)"),
        _c("name", "str", True, d="registered name"),
        _c("industry", "str", True, d="GB/T 4754-2017 code: section letter, letter+division (C39) or division (39)",
           normalise=_CODE),
        _c("region", "str", True, d="6-digit administrative division code (GB/T 2260)", normalise=_CODE),
        _c("founded", "date", True, d="date of establishment"),
        _c("registered_capital", "money", d="registered capital, yuan"),
        _c("chain_leader", "bool", d="designated chain-leader firm (链主企业)"),
        *(_c(c, "date", d=f"date the firm first held the {c} certification") for c in CERTIFICATIONS),
    ),
    key=("uscc",),
    description="one row per firm",
)

FINANCIALS = Table(
    "financials",
    (
        _c("uscc", "uscc", True),
        _c("year", "int", True, d="fiscal year"),
        _c("revenue", "money", True, d="operating revenue, yuan"),
        _c("rd_expense", "money", True, d="R&D expense, yuan"),
        _c("total_assets", "money"),
        _c("total_liabilities", "money"),
        _c("net_profit", "float", d="net profit, yuan (may be negative)"),
        _c("operating_cash_flow", "float", d="net operating cash flow, yuan (may be negative)"),
        _c("total_costs", "money", d="total costs and expenses, yuan"),
        _c("employees", "int"),
        _c("rd_staff", "int", d="science-and-technology / R&D staff"),
        _c("high_tech_revenue", "money", d="revenue from high-tech products and services, yuan"),
    ),
    key=("uscc", "year"),
    foreign_keys=(("uscc", "enterprises"),),
    description="one row per firm and fiscal year; known from the reporting date (default 31 May of year+1)",
)

IP_RIGHTS = Table(
    "ip_rights",
    (
        _c("uscc", "uscc", True),
        _c("ip_id", "str", True),
        _c("kind", "category", True, choices=IP_KINDS, synonyms=IP_KIND_SYNONYMS),
        _c("filed", "date", True),
        _c("granted", "date"),
        _c("status", "category", True, choices=IP_STATUSES, synonyms=IP_STATUS_SYNONYMS),
        _c("status_date", "date", d="date the current status took effect (lapse, invalidation, transfer)"),
        _c("expires", "date", past=False),
        _c("pledged", "bool"),
        _c("pledged_date", "date"),
        _c("citations", "int"),
        _c("claims", "int"),
    ),
    key=("ip_id",),
    date_order=(("filed", "granted", False), ("granted", "expires", False), ("filed", "expires", False)),
    foreign_keys=(("uscc", "enterprises"),),
    description="one row per IP right",
)

INNOVATION = Table(
    "innovation_indicators",
    (
        _c("uscc", "uscc", True),
        _c("year", "int", True),
        *(_c(i, "float") for i in INNOVATION_INDICATORS),
    ),
    key=("uscc", "year"),
    foreign_keys=(("uscc", "enterprises"),),
    description="one row per firm and year; known from the reporting date (default 31 May of year+1)",
)

SUPPLY_CHAIN = Table(
    "supply_chain",
    (
        _c("invoice_id", "str", d="invoice number; the key when present"),
        _c("seller_uscc", "uscc", True),
        _c("buyer_uscc", "uscc", True),
        _c("date", "date", True),
        _c("amount", "money", True),
        _c("due_date", "date", past=False),
        _c("paid_date", "date"),
    ),
    key=("invoice_id",),
    date_order=(("date", "due_date", False), ("date", "paid_date", False)),
    foreign_keys=(("seller_uscc", "enterprises"), ("buyer_uscc", "enterprises")),
    description="one row per invoice",
)

TAX = Table(
    "tax",
    (
        _c("uscc", "uscc", True),
        _c("year", "int", True),
        _c("grade", "category", True, choices=TAX_GRADES, synonyms=TAX_GRADE_SYNONYMS),
    ),
    key=("uscc", "year"),
    foreign_keys=(("uscc", "enterprises"),),
    description="one row per firm and year; published in April of year+1",
)

LOANS = Table(
    "loans",
    (
        _c("loan_id", "str", True),
        _c("bank_id", "str", True),
        _c("uscc", "uscc", True),
        _c("issued", "date", True),
        _c("amount", "money", True),
        _c("term_months", "int"),
        _c("product", "str"),
        _c("default_date", "date", d="first 90+ days past due; empty if none"),
    ),
    key=("loan_id",),
    date_order=(("issued", "default_date", True),),
    foreign_keys=(("uscc", "enterprises"),),
    description="one row per loan",
)

TABLES: dict[str, Table] = {
    t.name: t for t in (ENTERPRISES, FINANCIALS, IP_RIGHTS, INNOVATION, SUPPLY_CHAIN, TAX, LOANS)
}
"""The seven raw tables by name, in dependency order (enterprises first)."""

TABLE_NAMES: tuple[str, ...] = tuple(TABLES)


@dataclass(frozen=True)
class PointInTime:
    """When each kind of record becomes known: month and day of the year after the one it describes, and the
    date from which changes without a date of their own are known."""

    financials_known: tuple[int, int] = (5, 31)
    indicators_known: tuple[int, int] = (5, 31)
    tax_known: tuple[int, int] = (4, 30)
    extra: dict[str, object] = field(default_factory=dict)
    snapshot: str | None = None
    """The data's extraction date (ISO). A change the data hold without its own date (an IP status without
    `status_date`, a pledge without `pledged_date`, a grant without `granted`) is known from this date on; None
    (default): it is never known, so every as-of date sees the right as it was at grant."""
