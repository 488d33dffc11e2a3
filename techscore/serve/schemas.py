"""The API's documented shapes (OpenAPI): requests, decisions, model information and error bodies."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["ErrorBody", "FirmScoreRequest", "FirmScoreResponse", "ModelInfo", "ScoreRequest", "ScoreResponse"]


class ScoreRequest(BaseModel):
    """One or many feature records: `uscc` and every model feature (null for a missing value)."""

    records: list[dict[str, float | str | bool | None]] = Field(
        min_length=1, description="Feature records: `uscc` and the model's features (see GET /v1/model).")
    reasons: int | None = Field(None, ge=0, description="Reason codes per firm (default: the service's).")
    bank: str | None = Field(None, description="The bank asking; with API keys it must be the key's bank (else 403).")


class FirmScoreRequest(BaseModel):
    """Firms by unified social credit code; their features come from the service's feature snapshot."""

    firms: list[str] = Field(min_length=1, description="Unified social credit codes (GB 32100-2015, 18 characters).")
    as_of: str | None = Field(None, description="The as-of date of the features (YYYY-MM-DD); default: each firm's "
                                                "latest in the snapshot.", examples=["2024-06-30"])
    reasons: int | None = Field(None, ge=0, description="Reason codes per firm (default: the service's).")
    bank: str | None = Field(None, description="The bank asking; with API keys it must be the key's bank (else 403).")


class Reason(BaseModel):
    code: str = Field(description="The feature id: a stable code.")
    shap: float = Field(description="Its SHAP value (log-odds): how much it raises the risk.")
    text_zh: str
    text_en: str


class Decision(BaseModel):
    uscc: str
    pd: float
    score: float
    grade: str
    reasons: list[Reason]


class ModelRef(BaseModel):
    name: str
    version: str


class ScoreResponse(BaseModel):
    request_id: str
    model: ModelRef
    catalogue_version: str | None
    results: list[Decision]


class FirmDecision(Decision):
    as_of: str = Field(description="The as-of date of the firm's features in the snapshot.")


class FirmScoreResponse(BaseModel):
    request_id: str
    model: ModelRef
    catalogue_version: str | None
    snapshot_id: str = Field(description="The feature snapshot the features were read from (also in the audit).")
    results: list[FirmDecision]


class FieldProblem(BaseModel):
    record: int | None = Field(None, description="0-based position of the record (null: the request itself).")
    field: str = Field(description="The field at fault (`uscc`, a feature id, or empty for the whole record).")
    code: str = Field(description="Reject code: the batch scorer's (`invalid_uscc`, `infinite`, ...) or a field "
                                  "code (`missing_field`, `wrong_type`, `not_a_number`).")
    message: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    errors: list[FieldProblem] = []


class ErrorBody(BaseModel):
    request_id: str
    error: ErrorDetail


class FeatureInfo(BaseModel):
    id: str
    kind: str
    name_zh: str
    name_en: str
    unit: str
    categories: list[str] = []


class ModelInfo(BaseModel):
    name: str
    version: str
    source: str
    catalogue_version: str | None
    grades: list[str]
    max_reasons: int
    features: list[FeatureInfo]
