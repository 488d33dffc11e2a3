"""Export a shipped model so a warehouse can score without Python: SQL for the PD model and the scorecard, PMML
for the scorecard.

>>> export_model("models:/techscore_demo_pd@champion", "sql", "pd_model.sql")        # doctest: +SKIP
>>> export_model(card_table(result.challenger), "pmml", "scorecard.pmml", reasons=3)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from techscore.exceptions import ModelError
from techscore.export.card import CARD_FORMAT, CardTable, card_table
from techscore.export.pd_sql import pd_model_sql
from techscore.export.pmml import card_pmml
from techscore.export.scorecard_sql import card_sql
from techscore.model.pdmodel import PDModel

__all__ = ["FORMATS", "export_model", "export_text", "load_exportable"]

FORMATS = ("sql", "pmml")
DEFAULT_REASONS = 3


def load_exportable(model: object, *, tracking_uri: str | None = None) -> PDModel | CardTable:
    """A `PDModel`, a `CardTable`, a fitted `ScorecardModel`, a scorecard JSON file (`CardTable.save`), or a PD
    model folder or MLflow URI."""
    if isinstance(model, PDModel | CardTable):
        return model
    if hasattr(model, "scorecard") and hasattr(model, "features"):
        return card_table(model)
    path = Path(str(model)).expanduser()
    if path.is_file() and path.suffix == ".json":
        try:
            fmt = json.loads(path.read_text(encoding="utf-8")).get("format")
        except (OSError, json.JSONDecodeError, AttributeError) as exc:
            raise ModelError(f"{path}: not a readable model file ({exc}).") from exc
        if fmt == CARD_FORMAT:
            return CardTable.load(path)
        raise ModelError(f"{path}: field 'format' must be {CARD_FORMAT!r} for a scorecard; got {fmt!r}.")
    return PDModel.from_mlflow(str(model), tracking_uri=tracking_uri)


def export_text(model: PDModel | CardTable, fmt: str, *, dialect: str = "duckdb", reasons: int | None = None,
                table: str = "features", keep: Sequence[str] | None = None, source: str = "model") -> str:
    """The SQL or PMML text of `model`."""
    if fmt not in FORMATS:
        raise ModelError(f"export format must be one of {', '.join(FORMATS)}; got {fmt!r}.")
    if isinstance(model, CardTable):
        k = DEFAULT_REASONS if reasons is None else reasons
        if fmt == "pmml":
            return card_pmml(model, reasons=k)
        return card_sql(model, table=table, dialect=dialect, reasons=k, keep=keep)
    if fmt == "pmml":
        raise ModelError(f"{source}: the PMML export covers the WOE scorecard; export the LightGBM PD model as SQL.")
    if reasons:
        raise ModelError(f"{source}: reason codes in SQL are exported for the WOE scorecard only; got reasons="
                         f"{reasons} for the LightGBM PD model (its reason codes need TreeSHAP: use techscore score).")
    return pd_model_sql(model, table=table, dialect=dialect, keep=keep, source=source)


def export_model(model: object, fmt: str, out: str | Path, *, dialect: str = "duckdb", reasons: int | None = None,
                 table: str = "features", keep: Sequence[str] | None = None,
                 tracking_uri: str | None = None) -> Path:
    """Write `model` (see `load_exportable`) as `fmt` (``sql`` or ``pmml``) to `out`; returns the file."""
    loaded = load_exportable(model, tracking_uri=tracking_uri)
    source = str(model) if isinstance(model, str | Path) else type(model).__name__
    text = export_text(loaded, fmt, dialect=dialect, reasons=reasons, table=table, keep=keep, source=source)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out
