"""Every error techscore raises, each also inheriting the matching built-in exception."""

from __future__ import annotations


class TechscoreError(Exception):
    """Base of all techscore errors."""


class SchemaError(TechscoreError, ValueError):
    """A table or feature table does not have the columns or types it must have."""


class ValidationError(TechscoreError, ValueError):
    """Raw data break the data contract; carries the problems found."""

    def __init__(self, message: str, problems: object | None = None) -> None:
        super().__init__(message)
        self.problems = problems


class SpecError(TechscoreError, ValueError):
    """A model or experiment spec has an unknown key, a wrong type or a bad value; names file and key."""


class CatalogueError(TechscoreError, ValueError):
    """The feature catalogue is inconsistent: duplicate ids, missing metadata, cyclic dependencies."""


class ModelError(TechscoreError, RuntimeError):
    """A model cannot be trained, loaded or applied."""


class LeakageError(ModelError):
    """The leakage guard found columns that look like the outcome or an identifier (strict mode); carries them."""

    def __init__(self, message: str, findings: object | None = None) -> None:
        super().__init__(message)
        self.findings = findings


class ScoringError(TechscoreError, RuntimeError):
    """A batch cannot be scored."""


class AuthError(TechscoreError, PermissionError):
    """The tracking server refused an action for lack of permission."""


class ReportError(TechscoreError, RuntimeError):
    """A report cannot be built or printed: a run lacks what the report needs, or no headless browser is found."""


class ServerError(TechscoreError, RuntimeError):
    """The tracking server cannot be started, reached or provisioned."""


class RunError(ReportError):
    """A run's artifacts are missing or unreadable (a ReportError too: the reports were its first readers)."""
