"""The feature catalogue engine: discovers `features/`, checks metadata, resolves dependencies, computes."""

from techscore.catalogue.docs import catalogue_html, catalogue_markdown, write_catalogue_docs
from techscore.catalogue.engine import Catalogue, load_catalogue
from techscore.catalogue.meta import (
    DIRECTION_TEXT,
    GROUP_NAMES,
    GROUPS,
    UNITS,
    UNITS_ZH,
    FeatureMeta,
    NodeMeta,
    feature,
    node,
)

__all__ = [
    "DIRECTION_TEXT", "GROUPS", "GROUP_NAMES", "UNITS", "UNITS_ZH", "Catalogue", "FeatureMeta", "NodeMeta",
    "catalogue_html", "catalogue_markdown", "feature", "load_catalogue", "node", "write_catalogue_docs",
]
