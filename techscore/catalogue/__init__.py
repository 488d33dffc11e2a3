"""The feature catalogue engine: discovers `features/`, checks metadata, resolves dependencies, computes."""

from techscore.catalogue.meta import GROUPS, UNITS, FeatureMeta, NodeMeta, feature, node

__all__ = ["GROUPS", "UNITS", "FeatureMeta", "NodeMeta", "feature", "node"]
