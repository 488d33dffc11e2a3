"""Row accounting: random bad rows injected into valid tables are each rejected by the right rule, every good row
is kept, and valid + rejected = input in every table."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from techscore.sources import uscc
from techscore.sources.validation import validate
from tests.sources.conftest import as_text, make_codes, make_world, write_text


def bad_check(code: str) -> str:
    return code[:-1] + next(c for c in uscc.ALPHABET if c != code[-1])


# table -> kind -> change of a copied good row: {column: value}; "FRESH"/"UNKNOWN" are firm codes no row uses
INJECTIONS: dict[str, dict[str, dict[str, object]]] = {
    "enterprises": {
        "type": {"uscc": "FRESH", "founded": "2021-02-30"},
        "required_value": {"uscc": "FRESH", "name": None},
        "uscc_check": {"uscc": "BADFRESH"},
        "negative": {"uscc": "FRESH", "registered_capital": "-1"},
        "industry": {"uscc": "FRESH", "industry": "C12"},
        "region": {"uscc": "FRESH", "region": "44030"},
        "year_range": {"uscc": "FRESH", "founded": "1850-06-01"},
        "duplicate_key": {},
    },
    "financials": {
        "type": {"year": "NEWYEAR", "revenue": "abc"},
        "required_value": {"year": "NEWYEAR", "rd_expense": None},
        "uscc_check": {"year": "NEWYEAR", "uscc": "BADSELF"},
        "negative": {"year": "NEWYEAR", "revenue": "-5"},
        "foreign_key": {"year": "NEWYEAR", "uscc": "UNKNOWN"},
        "year_range": {"year": "1850"},
        "duplicate_key": {},
    },
    "ip_rights": {
        "type": {"ip_id": "NEWID", "filed": "yesterday"},
        "required_value": {"ip_id": "NEWID", "filed": None},
        "uscc_check": {"ip_id": "NEWID", "uscc": "BADSELF"},
        "negative": {"ip_id": "NEWID", "citations": "-2"},
        "choice": {"ip_id": "NEWID", "kind": "patent"},
        "foreign_key": {"ip_id": "NEWID", "uscc": "UNKNOWN"},
        "date_order": {"ip_id": "NEWID", "filed": "2019-06-01", "granted": "2019-05-01"},
        "duplicate_key": {},
    },
    "innovation_indicators": {
        "type": {"year": "NEWYEAR", "rd_intensity": "high"},
        "uscc_check": {"year": "NEWYEAR", "uscc": "BADSELF"},
        "foreign_key": {"year": "NEWYEAR", "uscc": "UNKNOWN"},
        "year_range": {"year": "2150"},
        "duplicate_key": {},
    },
    "supply_chain": {
        "type": {"invoice_id": "NEWID", "amount": "1.2.3"},
        "required_value": {"invoice_id": "NEWID", "amount": None},
        "uscc_check": {"invoice_id": "NEWID", "seller_uscc": "BADSELF"},
        "negative": {"invoice_id": "NEWID", "amount": "-1"},
        "foreign_key": {"invoice_id": "NEWID", "buyer_uscc": "UNKNOWN"},
        "date_order": {"invoice_id": "NEWID", "paid_date": "2000-01-01"},
        "duplicate_key": {},
    },
    "tax": {
        "type": {"year": "20x0"},
        "required_value": {"year": "NEWYEAR", "grade": None},
        "choice": {"year": "NEWYEAR", "grade": "E"},
        "foreign_key": {"year": "NEWYEAR", "uscc": "UNKNOWN"},
        "duplicate_key": {},
    },
    "loans": {
        "type": {"loan_id": "NEWID", "issued": "2021/01/01"},
        "required_value": {"loan_id": "NEWID", "bank_id": None},
        "negative": {"loan_id": "NEWID", "amount": "-100"},
        "foreign_key": {"loan_id": "NEWID", "uscc": "UNKNOWN"},
        "date_order": {"loan_id": "NEWID", "issued": "2021-03-01", "default_date": "2021-03-01"},
        "duplicate_key": {},
    },
}
USCC_COLUMN = {"supply_chain": "seller_uscc"}

injection = st.sampled_from([(t, k) for t, kinds in INJECTIONS.items() for k in kinds]).flatmap(
    lambda tk: st.tuples(st.just(tk[0]), st.just(tk[1]), st.floats(0, 1, exclude_max=True)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), fmt=st.sampled_from(["csv", "parquet"]),
       injections=st.lists(injection, min_size=1, max_size=10))
def test_injected_rows_are_rejected_and_good_rows_kept(tmp_path_factory, seed, fmt, injections) -> None:
    world = {name: as_text(frame) for name, frame in make_world(n_firms=8, seed=seed).items()}
    originals = {name: len(frame) for name, frame in world.items()}
    known = set(world["enterprises"]["uscc"])
    pool = iter(c for c in make_codes(60, np.random.default_rng(seed + 1)) if c not in known)
    added: dict[str, list[dict]] = {name: [] for name in world}
    expected: list[tuple[str, int, str]] = []
    for k, (table, kind, where) in enumerate(injections):
        source = world[table].iloc[int(where * originals[table])].to_dict()
        row = dict(source)
        for column, value in INJECTIONS[table][kind].items():
            if value == "FRESH":
                value = next(pool)
            elif value == "BADFRESH":
                value = bad_check(next(pool))
            elif value == "UNKNOWN":
                value = next(pool)
            elif value == "BADSELF":
                value = bad_check(source[column])
            elif value == "NEWYEAR":
                value = str(2030 + k)
            elif value == "NEWID":
                value = f"INJ{k:04d}"
            row[column] = value
        added[table].append(row)
        expected.append((table, originals[table] + len(added[table]), kind))
    for name, rows in added.items():
        if rows:
            world[name] = pd.concat([world[name], pd.DataFrame(rows)], ignore_index=True)
    result = validate(write_text(world, tmp_path_factory.mktemp("world"), fmt))

    problems = result.problems[result.problems["severity"] == "error"]
    for table, row, rule in expected:
        hit = problems[(problems["table"] == table) & (problems["row"] == row) & (problems["rule"] == rule)]
        assert len(hit) >= 1, (table, row, rule, problems[problems["table"] == table])
    for name in world:
        injected_rows = {row for table, row, _ in expected if table == name}
        assert set(result.rejects[name]["row"]) == injected_rows, name
        counts = result.counts.loc[name]
        assert counts["input"] == len(world[name]) == counts["valid"] + counts["rejected"]
        assert len(result.valid[name]) == originals[name]
        assert len(result.rejects[name]) == len(injected_rows)
