"""Raw enterprise tables: the data contract, loading and validation.

Loading and validation are re-exported lazily (they import pandas and pyarrow, the contract does not). The
validator is `techscore.sources.validate` (defined in `techscore.sources.validation`).
"""

from techscore.lazy import lazy_exports
from techscore.sources.schema import (
    CERTIFICATIONS,
    INNOVATION_INDICATORS,
    IP_KINDS,
    IP_STATUSES,
    NORMALISATIONS,
    TABLE_NAMES,
    TABLES,
    TAX_GRADES,
    Column,
    PointInTime,
    Table,
)

__all__ = [
    "CERTIFICATIONS", "INNOVATION_INDICATORS", "IP_KINDS", "IP_STATUSES", "NORMALISATIONS", "TABLE_NAMES", "TABLES", "TAX_GRADES",
    "Column", "PointInTime", "Table",
]

_LAZY: dict[str, str] = {
    "RawTable": "techscore.sources.load",
    "Sources": "techscore.sources.load",
    "load_sources": "techscore.sources.load",
    "load_table": "techscore.sources.load",
    "RULES": "techscore.sources.validation",
    "validate": "techscore.sources.validation",
    "ValidationResult": "techscore.sources.validation",
    "write_rejects": "techscore.sources.rejects",
    "write_report": "techscore.sources.rejects",
    "write_valid": "techscore.sources.rejects",
    "normalise": "techscore.sources._normalise",
    "summarize": "techscore.sources._problems",
}
__all__ += list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
