"""Scoring inside the warehouse: the LightGBM PD model and the WOE scorecard as SQL, the scorecard as PMML."""

from techscore.export.api import FORMATS, export_model, export_text, load_exportable
from techscore.export.card import CardTable, Characteristic, card_table
from techscore.export.pd_sql import pd_model_sql
from techscore.export.pmml import card_pmml
from techscore.export.scorecard_sql import card_sql

__all__ = ["FORMATS", "CardTable", "Characteristic", "card_pmml", "card_sql", "card_table", "export_model",
           "export_text", "load_exportable", "pd_model_sql"]
