"""Event signals from the raw tables between two as-of dates, beside the early-warning list.

Each view is `techscore.sources.known_as_of` of the raw tables at a date, so an event is listed only when it was
known before the later date and not before the earlier one:

==================  ==========================================================================================
code                the firm ...
==================  ==========================================================================================
``TAX_GRADE_CD``    got a tax credit grade of C or D, worse than the one known before (or none was known)
``PARTNER_DEFAULT`` traded within `partner_months` with a firm whose loan defaulted (90+ days past due)
``LOAN_DEFAULT``    had a loan of its own go 90+ days past due, at any bank (the loans table's DPD signal)
``LATE_PAYMENTS``   paid a larger share of its invoices (as buyer, due in the last `late_months`) late or not at
                    all: the share rose by at least `late_share_rise`
``PATENT_LAPSED``   saw invention patents in force lapse or be invalidated
``PATENT_PLEDGED``  pledged invention patents (知识产权质押: a policy product, so a low-severity signal)
``CERT_LOST``       held a certification (high-tech, 专精特新 ...) at the earlier date and not at the later one
==================  ==========================================================================================

The contract records when a firm first held a certification, not when it ended, so ``CERT_LOST`` fires only when the
tables handed for the later date (a newer registry extract) no longer hold it. The loans table has no days past due
short of default, so late payment is read from the supply chain's due and paid dates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from techscore.monitor.spec import EventOptions
from techscore.sources.asof import as_tables, known_as_of
from techscore.sources.schema import CERTIFICATIONS, TAX_GRADES, PointInTime

__all__ = ["CERT_NAMES", "EVENT_CODES", "EVENT_COLUMNS", "EVENT_TABLES", "SEVERITIES", "event_codes_by_firm", "event_signals",
           "of_firms"]

EVENT_CODES: dict[str, tuple[str, str]] = {
    "TAX_GRADE_CD": ("纳税信用等级降至 C/D 级", "tax credit grade down to C or D"),
    "PARTNER_DEFAULT": ("交易对手违约", "a trade partner defaulted"),
    "LOAN_DEFAULT": ("本企业贷款逾期 90 天以上", "a loan of the firm went 90+ days past due"),
    "LATE_PAYMENTS": ("应付账款逾期占比上升", "share of invoices paid late rose"),
    "PATENT_LAPSED": ("发明专利失效", "invention patents lapsed or invalidated"),
    "PATENT_PLEDGED": ("发明专利出质", "invention patents pledged"),
    "CERT_LOST": ("资质认定失去", "a certification was lost"),
}
"""Stable codes of the event signals, in the order a firm's codes are listed, with their meaning."""

SEVERITIES: tuple[str, ...] = ("high", "medium", "low")

EVENT_COLUMNS: tuple[str, ...] = ("uscc", "as_of_before", "as_of_after", "code", "severity", "detail_zh",
                                  "detail_en", "event_date")
EVENT_TABLES: tuple[str, ...] = ("enterprises", "ip_rights", "supply_chain", "tax", "loans")
"""The raw tables the event signals read."""

CERT_NAMES: dict[str, tuple[str, str]] = {
    "tech_sme": ("科技型中小企业", "tech-based SME"), "high_tech": ("高新技术企业", "high-tech enterprise"),
    "innovative_sme": ("创新型中小企业", "innovative SME"),
    "specialized_sme": ("专精特新中小企业", "specialised and sophisticated SME (专精特新)"),
    "little_giant": ("专精特新“小巨人”企业", "little giant (专精特新小巨人)"), "gazelle": ("瞪羚企业", "gazelle"),
    "unicorn": ("独角兽企业", "unicorn"),
}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _rows(uscc, code: str, severity, zh, en, dates=None) -> pd.DataFrame:
    n = len(uscc)
    when = np.full(n, np.datetime64("NaT"), "datetime64[ns]") if dates is None else np.asarray(dates, "datetime64[ns]")
    return pd.DataFrame({"uscc": pd.array(np.asarray(uscc, dtype=object), dtype="string"), "code": code,
                         "severity": np.broadcast_to(np.asarray(severity, dtype=object), (n,)),
                         "detail_zh": pd.array(list(zh), dtype="string"),
                         "detail_en": pd.array(list(en), dtype="string"), "event_date": when})


def _latest_tax(tax: pd.DataFrame) -> pd.DataFrame:
    known = tax.dropna(subset=["uscc", "year", "grade"])
    return known.sort_values("year", kind="stable").drop_duplicates("uscc", keep="last").set_index("uscc")


def _tax_events(b: dict, a: dict, pit: PointInTime) -> pd.DataFrame:
    before, after = _latest_tax(b["tax"]), _latest_tax(a["tax"])
    rank = {g: i for i, g in enumerate(TAX_GRADES)}
    after = after.loc[after["grade"].isin(["C", "D"])]
    old = before["grade"].reindex(after.index)
    worse = old.isna() | (after["grade"].map(rank) > old.map(rank).fillna(-1))
    after, old = after.loc[worse.to_numpy(bool)], old.loc[worse.to_numpy(bool)]
    year = after["year"].astype(int)
    month, day = pit.tax_known
    published = pd.to_datetime(pd.DataFrame({"year": year + 1, "month": month, "day": day}))
    zh = [f"纳税信用等级由 {o} 级降至 {g} 级（{y} 年度）" if isinstance(o, str) else f"纳税信用等级评为 {g} 级（{y} 年度）"
          for o, g, y in zip(old, after["grade"], year, strict=True)]
    en = [f"Tax credit grade fell from {o} to {g} (tax year {y})" if isinstance(o, str)
          else f"Tax credit grade {g} (tax year {y})" for o, g, y in zip(old, after["grade"], year, strict=True)]
    sev = np.where(after["grade"].to_numpy(object) == "D", "high", "medium")
    return _rows(after.index, "TAX_GRADE_CD", sev, zh, en, published.to_numpy("datetime64[ns]"))


def _new_defaults(a: dict, before: pd.Timestamp) -> pd.DataFrame:
    """Loans whose default is known at the later date but was not at the earlier one."""
    loans = a["loans"]
    return loans.loc[(loans["default_date"] >= before).to_numpy(bool, na_value=False)]


def _loan_default_events(a: dict, before: pd.Timestamp) -> pd.DataFrame:
    d = _new_defaults(a, before).sort_values("default_date", kind="stable")
    first = d.groupby("uscc", sort=True).agg(date=("default_date", "min"), banks=("bank_id", lambda s: sorted(set(s))),
                                            loans=("loan_id", "size"))
    zh = [f"{n} 笔贷款逾期 90 天以上（{'、'.join(b)}）" for n, b in zip(first["loans"], first["banks"], strict=True)]
    en = [f"{n} loan(s) went 90+ days past due ({', '.join(b)})" for n, b in
          zip(first["loans"], first["banks"], strict=True)]
    return _rows(first.index, "LOAN_DEFAULT", "high", zh, en, first["date"].to_numpy("datetime64[ns]"))


def _partner_events(a: dict, before: pd.Timestamp, after: pd.Timestamp, opt: EventOptions) -> pd.DataFrame:
    defaulted = _new_defaults(a, before).groupby("uscc")["default_date"].min()
    sc = a["supply_chain"]
    sc = sc.loc[(sc["date"] >= after - pd.DateOffset(months=opt.partner_months)).to_numpy(bool, na_value=False)]
    pairs = pd.concat([
        pd.DataFrame({"uscc": sc["seller_uscc"].to_numpy(object), "partner": sc["buyer_uscc"].to_numpy(object),
                      "amount": sc["amount"].to_numpy(float)}),
        pd.DataFrame({"uscc": sc["buyer_uscc"].to_numpy(object), "partner": sc["seller_uscc"].to_numpy(object),
                      "amount": sc["amount"].to_numpy(float)})], ignore_index=True)
    pairs = pairs.loc[pairs["uscc"] != pairs["partner"]]
    total = pairs.groupby("uscc")["amount"].sum()
    hit = pairs.loc[pairs["partner"].isin(defaulted.index)]
    hit = hit.assign(date=defaulted.reindex(hit["partner"]).to_numpy("datetime64[ns]"))
    per = hit.groupby("uscc").agg(partners=("partner", "nunique"), amount=("amount", "sum"), date=("date", "min"))
    share = per["amount"] / total.reindex(per.index)
    zh = [f"{n} 家交易对手违约（占近 {opt.partner_months} 个月交易额 {_pct(s)}）"
          for n, s in zip(per["partners"], share, strict=True)]
    en = [f"{n} trade partner(s) defaulted ({_pct(s)} of the last {opt.partner_months} months' trade)"
          for n, s in zip(per["partners"], share, strict=True)]
    sev = np.where(share.to_numpy(float) >= opt.partner_share_high, "high", "medium")
    return _rows(per.index, "PARTNER_DEFAULT", sev, zh, en, per["date"].to_numpy("datetime64[ns]"))


def _late_share(view: dict, as_of: pd.Timestamp, opt: EventOptions) -> pd.DataFrame:
    """Per buyer: amount due in the `late_months` before `as_of`, the share of it paid late, the latest late due."""
    sc = view["supply_chain"]
    due = sc["due_date"]
    sc = sc.loc[((due < as_of) & (due >= as_of - pd.DateOffset(months=opt.late_months))).to_numpy(bool,
                                                                                                 na_value=False)]
    grace = pd.Timedelta(days=opt.late_grace_days)
    # unpaid at the date (paid_date not yet known) counts as late once the grace period has run out
    late = (sc["paid_date"] > sc["due_date"] + grace).to_numpy(bool, na_value=False) | (
        sc["paid_date"].isna() & (sc["due_date"] + grace < as_of)).to_numpy(bool, na_value=False)
    frame = pd.DataFrame({"uscc": sc["buyer_uscc"].to_numpy(object), "amount": sc["amount"].to_numpy(float),
                          "late": np.where(late, sc["amount"].to_numpy(float), 0.0),
                          "late_due": sc["due_date"].where(late).to_numpy("datetime64[ns]")})
    out = frame.groupby("uscc").agg(amount=("amount", "sum"), late=("late", "sum"), late_due=("late_due", "max"))
    out["share"] = out["late"] / out["amount"].where(out["amount"] > 0)
    return out


def _late_events(b: dict, a: dict, before: pd.Timestamp, after: pd.Timestamp, opt: EventOptions) -> pd.DataFrame:
    old, new = _late_share(b, before, opt), _late_share(a, after, opt)
    prev = old["share"].reindex(new.index).fillna(0.0)
    rise = new["share"] - prev
    sel = (rise >= opt.late_share_rise).to_numpy(bool, na_value=False)
    new, prev = new.loc[sel], prev.loc[sel]
    zh = [f"应付账款逾期占比从 {_pct(p)} 升至 {_pct(s)}（近 {opt.late_months} 个月到期）"
          for p, s in zip(prev, new["share"], strict=True)]
    en = [f"Share of invoices paid late rose from {_pct(p)} to {_pct(s)} (due in the last {opt.late_months} months)"
          for p, s in zip(prev, new["share"], strict=True)]
    sev = np.where(new["share"].to_numpy(float) >= 0.5, "high", "medium")
    return _rows(new.index, "LATE_PAYMENTS", sev, zh, en, new["late_due"].to_numpy("datetime64[ns]"))


def _inventions(view: dict) -> pd.DataFrame:
    ip = view["ip_rights"]
    return ip.loc[(ip["kind"] == "invention").to_numpy(bool, na_value=False)].set_index("ip_id")


def _patent_events(b: dict, a: dict) -> pd.DataFrame:
    old, new = _inventions(b), _inventions(a)
    in_force = (old["status"] == "granted").to_numpy(bool, na_value=False)
    force = old.loc[in_force]
    now = new.reindex(force.index)
    lapsed = force.loc[now["status"].isin(["lapsed", "invalid"]).to_numpy(bool, na_value=False)].assign(
        date=now["status_date"])
    count_in_force = force.groupby("uscc").size()
    per = lapsed.groupby("uscc").agg(n=("uscc", "size"), date=("date", "max"))
    held = count_in_force.reindex(per.index)
    zh = [f"{n} 项发明专利失效或被宣告无效（原有效 {h} 项）" for n, h in zip(per["n"], held, strict=True)]
    en = [f"{n} invention patent(s) lapsed or invalidated (of {h} in force)" for n, h in zip(per["n"], held, strict=True)]
    sev = np.where(per["n"].to_numpy() * 2 >= held.to_numpy(), "high", "medium")
    out = [_rows(per.index, "PATENT_LAPSED", sev, zh, en, per["date"].to_numpy("datetime64[ns]"))]
    was = old["pledged"].fillna(False).astype(bool) if "pledged" in old else pd.Series(False, index=old.index)
    is_now = new["pledged"].fillna(False).astype(bool) if "pledged" in new else pd.Series(False, index=new.index)
    fresh = new.loc[(is_now & ~was.reindex(new.index, fill_value=False)).to_numpy(bool)]
    date = fresh["pledged_date"] if "pledged_date" in fresh else pd.Series(pd.NaT, index=fresh.index)
    per = fresh.assign(date=date).groupby("uscc").agg(n=("uscc", "size"), date=("date", "max"))
    out.append(_rows(per.index, "PATENT_PLEDGED", "low", [f"{n} 项发明专利出质" for n in per["n"]],
                     [f"{n} invention patent(s) pledged" for n in per["n"]], per["date"].to_numpy("datetime64[ns]")))
    return pd.concat(out, ignore_index=True)


def _cert_events(b: dict, a: dict) -> pd.DataFrame:
    old, new = b["enterprises"], a["enterprises"]
    uscc = old["uscc"].to_numpy(object)
    pos = pd.Index(new["uscc"].to_numpy(object)).get_indexer(uscc)     # -1: the firm is not in the later tables
    found = pos >= 0
    parts = []
    for cert in CERTIFICATIONS:
        if cert not in old:
            continue
        held_after = np.zeros(len(uscc), bool)
        if cert in new:
            held_after[found] = new[cert].notna().to_numpy(bool)[pos[found]]
        lost = uscc[old[cert].notna().to_numpy(bool) & found & ~held_after]
        zh, en = CERT_NAMES[cert]
        parts.append(_rows(lost, "CERT_LOST", "medium", [f"失去{zh}认定"] * len(lost),
                           [f"Lost the {en} certification"] * len(lost)))
    return pd.concat(parts, ignore_index=True) if parts else _rows([], "CERT_LOST", "medium", [], [])


def _trim(tables: dict[str, pd.DataFrame], d_b: pd.Timestamp, d_a: pd.Timestamp,
          opt: EventOptions) -> dict[str, pd.DataFrame]:
    """Only the rows and columns the signals can read (the point-in-time views then cut far less): invoices dated
    in the partner window or due in a late-payment window, invention patents, the registry's certification dates."""
    sc = tables["supply_chain"]
    recent = (sc["date"] >= d_a - pd.DateOffset(months=opt.partner_months)).to_numpy(bool, na_value=False)
    if "due_date" in sc:
        recent = recent | (sc["due_date"] >= d_b - pd.DateOffset(months=opt.late_months)).to_numpy(bool, na_value=False)
    ip = tables["ip_rights"]
    ent = tables["enterprises"]
    return dict(tables, supply_chain=sc.loc[recent],
                ip_rights=ip.loc[(ip["kind"] == "invention").to_numpy(bool, na_value=False)],
                enterprises=ent[[c for c in ("uscc", "founded", *CERTIFICATIONS) if c in ent.columns]])


def event_signals(sources: Any, as_of_before: Any, as_of_after: Any, *, sources_after: Any = None,
                  firms: Iterable[str] | None = None, options: EventOptions | None = None,
                  point_in_time: PointInTime | None = None) -> pd.DataFrame:
    """The events of each firm known before `as_of_after` and not before `as_of_before` (module docstring), one row
    per firm and code: `uscc`, the two dates, `code`, `severity` (high, medium, low), `detail_zh`, `detail_en` and
    `event_date` (NaT when the data do not date it), ordered by firm then code.

    `sources` are the raw tables (a `Sources` or a mapping of DataFrames); `sources_after` a later extract for the
    later date (default the same tables); `firms` the portfolio (default every firm with an event).
    """
    opt = options or EventOptions()
    pit = point_in_time or PointInTime()
    d_b, d_a = pd.Timestamp(as_of_before), pd.Timestamp(as_of_after)
    if d_a <= d_b:
        raise ValueError(f"event signals need a later date after the earlier one; got {as_of_before} and "
                         f"{as_of_after}")
    tables_b = _trim(as_tables(sources, EVENT_TABLES), d_b, d_a, opt)
    tables_a = tables_b if sources_after is None else _trim(as_tables(sources_after, EVENT_TABLES), d_b, d_a, opt)
    b = known_as_of(tables_b, d_b, pit, EVENT_TABLES)
    a = known_as_of(tables_a, d_a, pit, EVENT_TABLES)
    events = pd.concat([_tax_events(b, a, pit), _partner_events(a, d_b, d_a, opt), _loan_default_events(a, d_b),
                        _late_events(b, a, d_b, d_a, opt), _patent_events(b, a), _cert_events(b, a)],
                       ignore_index=True)
    if firms is not None:
        events = of_firms(events, firms)
    order = {c: i for i, c in enumerate(EVENT_CODES)}
    events = events.assign(_o=events["code"].map(order)).sort_values(["uscc", "_o"], kind="stable")
    events.insert(1, "as_of_before", d_b.date().isoformat())
    events.insert(2, "as_of_after", d_a.date().isoformat())
    return events[list(EVENT_COLUMNS)].reset_index(drop=True)


def of_firms(events: pd.DataFrame, firms: Iterable[str]) -> pd.DataFrame:
    """The rows of `events` whose firm is among `firms`, in their order (index renumbered): `event_signals` of
    every firm cut to a portfolio equals `event_signals` of the portfolio."""
    wanted = set(map(str, firms))      # a set: pandas' isin on Arrow strings loops in Python over the values
    keep = np.fromiter((u in wanted for u in events["uscc"].to_numpy(object)), bool, len(events))
    return events.loc[keep].reset_index(drop=True)


def event_codes_by_firm(events: pd.DataFrame) -> Mapping[str, str]:
    """Each firm's event codes, `;`-joined in `EVENT_CODES` order (the early-warning list's `events` column)."""
    if events.empty:
        return {}
    return events.groupby("uscc", sort=False)["code"].agg(";".join).to_dict()

