"""The online scoring service (线上授信): one firm at a time, with its reasons, recorded before it is answered.

`create_app(ServiceConfig(model=..., audit=...))` builds the FastAPI app `techscore serve` runs on uvicorn. It
scores through the batch scorer's own checks and per-row scoring (`techscore.scoring.ChunkScorer`), so a firm
gets the same bytes online as in `techscore score`; `export_audit` writes the audit trail to Parquet.
"""

from techscore.serve.app import API_VERSION, ServiceConfig, create_app
from techscore.serve.audit import AuditError, AuditLog, export_audit
from techscore.serve.engine import OnlineScorer
from techscore.serve.model import ServedModel, load_served_model

__all__ = [
    "API_VERSION", "AuditError", "AuditLog", "OnlineScorer", "ServedModel", "ServiceConfig", "create_app",
    "export_audit", "load_served_model",
]
