"""The firm report page on demand: one firm's snapshot record through the reports' own firm report renderer.

The record is typed as the batch scorer reads it (`records.records_table`), then scored, explained and rendered
by `techscore.reports.firm_report` (the page `techscore report firm` writes; no second renderer). Rendering draws
charts with matplotlib, which is not safe across threads, so one page is rendered at a time per process.
"""

from __future__ import annotations

import threading

import pandas as pd

from techscore.reports.firm_report import firm_report_inputs, render_firm_report
from techscore.scoring.guard import ID_COLUMN, InputSchema
from techscore.serve.model import ServedModel
from techscore.serve.records import records_table

__all__ = ["firm_report_page"]

_RENDERING = threading.Lock()


def firm_report_page(served: ServedModel, schema: InputSchema, record: dict, as_of: str, lang: str) -> str:
    """The firm report (HTML, both languages, `lang` shown first) of one firm's feature `record` as of `as_of`.

    The record must already pass the scorer's checks (the route scores it first); the firm's industry section,
    when the model's reason references group by a column the record holds, groups its reasons as online.
    """
    table, errors = records_table([record], schema)
    if errors or table is None:
        raise ValueError(f"the record of {record.get(ID_COLUMN)} cannot be read: {errors[0].message}")
    X = table.to_pandas()
    refs = served.references
    section = None
    for col in (((refs.by,) if refs.by else ()) + tuple(refs.also_by)) if refs is not None else ():
        if col in record:
            section = None if record[col] is None else str(record[col])
            break
    firms = pd.DataFrame({ID_COLUMN: [str(record[ID_COLUMN])], "as_of": [pd.Timestamp(as_of)], "name": [""],
                          "section": pd.array([section], dtype="string")})
    with _RENDERING:
        inputs = firm_report_inputs(served.model, X, firms, refs, run_id=served.version, groups=firms["section"])
        return render_firm_report(inputs, lang)
