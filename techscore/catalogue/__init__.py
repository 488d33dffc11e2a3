"""The feature catalogue engine: discovers `features/`, checks metadata, resolves dependencies, computes."""

from techscore.catalogue.engine import Catalogue, load_catalogue
from techscore.catalogue.meta import GROUPS, UNITS, UNITS_ZH, FeatureMeta, NodeMeta, feature, node

__all__ = ["GROUPS", "UNITS", "UNITS_ZH", "Catalogue", "FeatureMeta", "NodeMeta", "feature", "node", "load_catalogue"]
