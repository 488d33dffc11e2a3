"""The WOE scorecard as a plain points table, the common source of its SQL and PMML exports.

The table itself lives in `techscore.model.card` (training folds it into a blended champion); it is re-exported
here, where the exporters read it.
"""

from techscore.model.card import CARD_FORMAT, CardTable, Characteristic, card_table

__all__ = ["CARD_FORMAT", "CardTable", "Characteristic", "card_table"]
