"""The feature catalogue engine: discovers `features/`, checks metadata, resolves dependencies, computes."""

from techscore.catalogue.docs import catalogue_html, catalogue_markdown, write_catalogue_docs
from techscore.catalogue.engine import Catalogue, load_catalogue
from techscore.catalogue.meta import (
    DIRECTION_TEXT,
    UNITS,
    UNITS_ZH,
    FeatureMeta,
    GroupMeta,
    NodeMeta,
    feature,
    feature_group,
    node,
)

__all__ = [
    "DIRECTION_TEXT", "UNITS", "UNITS_ZH", "Catalogue", "FeatureMeta", "GroupMeta", "NodeMeta", "catalogue_html",
    "catalogue_markdown", "feature", "feature_group", "load_catalogue", "node", "write_catalogue_docs",
]
