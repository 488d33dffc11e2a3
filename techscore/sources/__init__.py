"""Raw enterprise tables: the data contract, loading and validation."""

from techscore.sources.schema import (
    CERTIFICATIONS,
    INNOVATION_INDICATORS,
    IP_KINDS,
    IP_STATUSES,
    TABLE_NAMES,
    TABLES,
    TAX_GRADES,
    Column,
    PointInTime,
    Table,
)

__all__ = [
    "CERTIFICATIONS", "INNOVATION_INDICATORS", "IP_KINDS", "IP_STATUSES", "TABLE_NAMES", "TABLES", "TAX_GRADES",
    "Column", "PointInTime", "Table",
]
