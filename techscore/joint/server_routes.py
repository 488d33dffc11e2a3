"""Every route of the MLflow server techscore runs, by who may call it (see `techscore.joint.server_app`).

One line a route: METHOD and path, the ``/ajax-api/`` twin of an ``/api/`` route folded into it and each path
parameter written ``*``; sections name the class. ``PUBLIC`` routes answer without a login and carry no tenant
data; ``USER`` routes are open to every authenticated user and MLflow's per-resource grants decide; ``OWN_NAME``
routes are ``USER`` routes whose new name must lie in the caller's namespace (``<user>.``); ``ADMIN`` routes
answer the admin only. The server refuses to start while a route of the app is missing here, so an MLflow
release that adds a route stops the server (and the test suite) until the route is classified.
"""

from __future__ import annotations

__all__ = ["CLASSES", "ROUTES"]

CLASSES = ("PUBLIC", "USER", "OWN_NAME", "ADMIN")

_TABLE = """
PUBLIC
GET /api/3.0/mlflow/server-info
GET /health
GET /static-files/*
USER
GET /
GET /api/2.0/mlflow-artifacts/artifacts
DELETE /api/2.0/mlflow-artifacts/artifacts/*
GET /api/2.0/mlflow-artifacts/artifacts/*
PUT /api/2.0/mlflow-artifacts/artifacts/*
GET /api/2.0/mlflow/artifacts/list
POST /api/2.0/mlflow/experiments/delete-experiment-tag
GET /api/2.0/mlflow/experiments/get
GET /api/2.0/mlflow/experiments/get-by-name
GET /api/2.0/mlflow/experiments/search
POST /api/2.0/mlflow/experiments/search
POST /api/2.0/mlflow/experiments/set-experiment-tag
POST /api/2.0/mlflow/logged-models
DELETE /api/2.0/mlflow/logged-models/*
GET /api/2.0/mlflow/logged-models/*
PATCH /api/2.0/mlflow/logged-models/*
GET /api/2.0/mlflow/logged-models/*/artifacts/directories
GET /api/2.0/mlflow/logged-models/*/artifacts/files
POST /api/2.0/mlflow/logged-models/*/params
PATCH /api/2.0/mlflow/logged-models/*/tags
DELETE /api/2.0/mlflow/logged-models/*/tags/*
POST /api/2.0/mlflow/logged-models/search
GET /api/2.0/mlflow/metrics/get-history
GET /api/2.0/mlflow/metrics/get-history-bulk
GET /api/2.0/mlflow/metrics/get-history-bulk-interval
POST /api/2.0/mlflow/model-versions/create
DELETE /api/2.0/mlflow/model-versions/delete
DELETE /api/2.0/mlflow/model-versions/delete-tag
GET /api/2.0/mlflow/model-versions/get
GET /api/2.0/mlflow/model-versions/get-download-uri
GET /api/2.0/mlflow/model-versions/search
POST /api/2.0/mlflow/model-versions/set-tag
POST /api/2.0/mlflow/model-versions/transition-stage
PATCH /api/2.0/mlflow/model-versions/update
DELETE /api/2.0/mlflow/registered-models/alias
GET /api/2.0/mlflow/registered-models/alias
POST /api/2.0/mlflow/registered-models/alias
DELETE /api/2.0/mlflow/registered-models/delete
DELETE /api/2.0/mlflow/registered-models/delete-tag
GET /api/2.0/mlflow/registered-models/get
GET /api/2.0/mlflow/registered-models/get-latest-versions
POST /api/2.0/mlflow/registered-models/get-latest-versions
GET /api/2.0/mlflow/registered-models/search
POST /api/2.0/mlflow/registered-models/set-tag
PATCH /api/2.0/mlflow/registered-models/update
POST /api/2.0/mlflow/runs/create
POST /api/2.0/mlflow/runs/delete
POST /api/2.0/mlflow/runs/delete-tag
GET /api/2.0/mlflow/runs/get
POST /api/2.0/mlflow/runs/log-batch
POST /api/2.0/mlflow/runs/log-inputs
POST /api/2.0/mlflow/runs/log-metric
POST /api/2.0/mlflow/runs/log-model
POST /api/2.0/mlflow/runs/log-parameter
POST /api/2.0/mlflow/runs/outputs
POST /api/2.0/mlflow/runs/restore
POST /api/2.0/mlflow/runs/search
POST /api/2.0/mlflow/runs/set-tag
POST /api/2.0/mlflow/runs/update
GET /api/2.0/mlflow/users/current
GET /api/2.0/mlflow/users/get
PATCH /api/2.0/mlflow/users/update-password
GET /api/3.0/mlflow/users/current/permissions
GET /get-artifact
POST /graphql
GET /model-versions/get-artifact
GET /version
OWN_NAME
POST /api/2.0/mlflow/registered-models/create
POST /api/2.0/mlflow/registered-models/rename
ADMIN
GET /build/*
GET /graphql
POST /api/2.0/mlflow-artifacts/mpu/abort/*
POST /api/2.0/mlflow-artifacts/mpu/complete/*
POST /api/2.0/mlflow-artifacts/mpu/create/*
GET /api/2.0/mlflow-artifacts/presigned/*
POST /api/2.0/mlflow/artifacts/presigned-download-url
POST /api/2.0/mlflow/artifacts/presigned-upload-url
POST /api/2.0/mlflow/experiments/create
POST /api/2.0/mlflow/experiments/delete
POST /api/2.0/mlflow/experiments/restore
POST /api/2.0/mlflow/experiments/search-datasets
POST /api/2.0/mlflow/experiments/update
GET /api/2.0/mlflow/gateway-proxy
POST /api/2.0/mlflow/gateway-proxy
GET /api/2.0/mlflow/get-online-trace-details
GET /api/2.0/mlflow/get-trace-artifact
POST /api/2.0/mlflow/runs/create-promptlab-run
GET /api/2.0/mlflow/traces
POST /api/2.0/mlflow/traces
PATCH /api/2.0/mlflow/traces/*
GET /api/2.0/mlflow/traces/*/info
DELETE /api/2.0/mlflow/traces/*/tags
PATCH /api/2.0/mlflow/traces/*/tags
POST /api/2.0/mlflow/traces/delete-traces
POST /api/2.0/mlflow/traces/link-prompts
POST /api/2.0/mlflow/traces/link-to-run
GET /api/2.0/mlflow/unified-traces
POST /api/2.0/mlflow/upload-artifact
POST /api/2.0/mlflow/users/create
POST /api/2.0/mlflow/users/create-ui
DELETE /api/2.0/mlflow/users/delete
GET /api/2.0/mlflow/users/list
PATCH /api/2.0/mlflow/users/update-admin
GET /api/2.0/mlflow/webhooks
POST /api/2.0/mlflow/webhooks
DELETE /api/2.0/mlflow/webhooks/*
GET /api/2.0/mlflow/webhooks/*
PATCH /api/2.0/mlflow/webhooks/*
POST /api/2.0/mlflow/webhooks/*/test
POST /api/2.0mlflow/experiments/search-datasets
POST /api/3.0/jobs/
GET /api/3.0/jobs/*
PATCH /api/3.0/jobs/cancel/*
POST /api/3.0/jobs/search
GET /api/3.0/mlflow/assistant/config
PUT /api/3.0/mlflow/assistant/config
POST /api/3.0/mlflow/assistant/message
GET /api/3.0/mlflow/assistant/providers
GET /api/3.0/mlflow/assistant/providers/*/health
GET /api/3.0/mlflow/assistant/providers/*/models
PATCH /api/3.0/mlflow/assistant/sessions/*
POST /api/3.0/mlflow/assistant/sessions/*/permission
GET /api/3.0/mlflow/assistant/sessions/*/stream
POST /api/3.0/mlflow/assistant/sessions/*/tool-result
POST /api/3.0/mlflow/assistant/skills/install
DELETE /api/3.0/mlflow/datasets/*
GET /api/3.0/mlflow/datasets/*
POST /api/3.0/mlflow/datasets/*/add-experiments
GET /api/3.0/mlflow/datasets/*/experiment-ids
DELETE /api/3.0/mlflow/datasets/*/records
GET /api/3.0/mlflow/datasets/*/records
POST /api/3.0/mlflow/datasets/*/records
POST /api/3.0/mlflow/datasets/*/remove-experiments
PATCH /api/3.0/mlflow/datasets/*/tags
DELETE /api/3.0/mlflow/datasets/*/tags/*
POST /api/3.0/mlflow/datasets/create
GET /api/3.0/mlflow/datasets/search
POST /api/3.0/mlflow/datasets/search
POST /api/3.0/mlflow/demo/delete
POST /api/3.0/mlflow/demo/generate
POST /api/3.0/mlflow/gateway/budgets/create
DELETE /api/3.0/mlflow/gateway/budgets/delete
GET /api/3.0/mlflow/gateway/budgets/get
GET /api/3.0/mlflow/gateway/budgets/list
POST /api/3.0/mlflow/gateway/budgets/update
GET /api/3.0/mlflow/gateway/budgets/windows
POST /api/3.0/mlflow/gateway/endpoints/bindings/create
DELETE /api/3.0/mlflow/gateway/endpoints/bindings/delete
GET /api/3.0/mlflow/gateway/endpoints/bindings/list
POST /api/3.0/mlflow/gateway/endpoints/create
DELETE /api/3.0/mlflow/gateway/endpoints/delete
DELETE /api/3.0/mlflow/gateway/endpoints/delete-tag
GET /api/3.0/mlflow/gateway/endpoints/get
GET /api/3.0/mlflow/gateway/endpoints/list
POST /api/3.0/mlflow/gateway/endpoints/models/attach
POST /api/3.0/mlflow/gateway/endpoints/models/detach
POST /api/3.0/mlflow/gateway/endpoints/set-tag
POST /api/3.0/mlflow/gateway/endpoints/update
POST /api/3.0/mlflow/gateway/guardrails/add-to-endpoint
POST /api/3.0/mlflow/gateway/guardrails/create
DELETE /api/3.0/mlflow/gateway/guardrails/delete
GET /api/3.0/mlflow/gateway/guardrails/get
GET /api/3.0/mlflow/gateway/guardrails/list
GET /api/3.0/mlflow/gateway/guardrails/list-for-endpoint
DELETE /api/3.0/mlflow/gateway/guardrails/remove-from-endpoint
PATCH /api/3.0/mlflow/gateway/guardrails/update-config
POST /api/3.0/mlflow/gateway/model-definitions/create
DELETE /api/3.0/mlflow/gateway/model-definitions/delete
GET /api/3.0/mlflow/gateway/model-definitions/get
GET /api/3.0/mlflow/gateway/model-definitions/list
POST /api/3.0/mlflow/gateway/model-definitions/update
GET /api/3.0/mlflow/gateway/provider-config
GET /api/3.0/mlflow/gateway/secrets/config
POST /api/3.0/mlflow/gateway/secrets/create
DELETE /api/3.0/mlflow/gateway/secrets/delete
GET /api/3.0/mlflow/gateway/secrets/get
GET /api/3.0/mlflow/gateway/secrets/list
POST /api/3.0/mlflow/gateway/secrets/update
GET /api/3.0/mlflow/gateway/supported-models
GET /api/3.0/mlflow/gateway/supported-providers
POST /api/3.0/mlflow/genai/evaluate/invoke
GET /api/3.0/mlflow/get-trace-artifact
POST /api/3.0/mlflow/issues
GET /api/3.0/mlflow/issues/*
PATCH /api/3.0/mlflow/issues/*
POST /api/3.0/mlflow/issues/invoke
POST /api/3.0/mlflow/issues/search
GET /api/3.0/mlflow/jobs/*
PATCH /api/3.0/mlflow/jobs/cancel/*
POST /api/3.0/mlflow/label-schemas/create
DELETE /api/3.0/mlflow/label-schemas/delete
GET /api/3.0/mlflow/label-schemas/get
GET /api/3.0/mlflow/label-schemas/get-by-name
GET /api/3.0/mlflow/label-schemas/list
PATCH /api/3.0/mlflow/label-schemas/update
GET /api/3.0/mlflow/mcp-servers
POST /api/3.0/mlflow/mcp-servers
DELETE /api/3.0/mlflow/mcp-servers/*
GET /api/3.0/mlflow/mcp-servers/*
PATCH /api/3.0/mlflow/mcp-servers/*
POST /api/3.0/mlflow/mcp-servers/*/aliases
DELETE /api/3.0/mlflow/mcp-servers/*/aliases/*
GET /api/3.0/mlflow/mcp-servers/*/aliases/*
GET /api/3.0/mlflow/mcp-servers/*/endpoints
POST /api/3.0/mlflow/mcp-servers/*/endpoints
DELETE /api/3.0/mlflow/mcp-servers/*/endpoints/*
GET /api/3.0/mlflow/mcp-servers/*/endpoints/*
PATCH /api/3.0/mlflow/mcp-servers/*/endpoints/*
POST /api/3.0/mlflow/mcp-servers/*/tags
DELETE /api/3.0/mlflow/mcp-servers/*/tags/*
GET /api/3.0/mlflow/mcp-servers/*/versions
POST /api/3.0/mlflow/mcp-servers/*/versions
DELETE /api/3.0/mlflow/mcp-servers/*/versions/*
GET /api/3.0/mlflow/mcp-servers/*/versions/*
PATCH /api/3.0/mlflow/mcp-servers/*/versions/*
POST /api/3.0/mlflow/mcp-servers/*/versions/*/tags
DELETE /api/3.0/mlflow/mcp-servers/*/versions/*/tags/*
GET /api/3.0/mlflow/mcp-servers/endpoints
POST /api/3.0/mlflow/prompt-optimization/jobs
DELETE /api/3.0/mlflow/prompt-optimization/jobs/*
GET /api/3.0/mlflow/prompt-optimization/jobs/*
POST /api/3.0/mlflow/prompt-optimization/jobs/*/cancel
GET /api/3.0/mlflow/prompt-optimization/jobs/search
POST /api/3.0/mlflow/prompt-optimization/jobs/search
POST /api/3.0/mlflow/review-queues/create
POST /api/3.0/mlflow/review-queues/delete
GET /api/3.0/mlflow/review-queues/get
GET /api/3.0/mlflow/review-queues/get-by-name
POST /api/3.0/mlflow/review-queues/get-or-create-user
POST /api/3.0/mlflow/review-queues/items/add
GET /api/3.0/mlflow/review-queues/items/list
POST /api/3.0/mlflow/review-queues/items/remove
POST /api/3.0/mlflow/review-queues/items/set-status
GET /api/3.0/mlflow/review-queues/list
POST /api/3.0/mlflow/review-queues/update
POST /api/3.0/mlflow/roles/assign
POST /api/3.0/mlflow/roles/create
DELETE /api/3.0/mlflow/roles/delete
GET /api/3.0/mlflow/roles/get
GET /api/3.0/mlflow/roles/list
POST /api/3.0/mlflow/roles/permissions/add
GET /api/3.0/mlflow/roles/permissions/list
DELETE /api/3.0/mlflow/roles/permissions/remove
PATCH /api/3.0/mlflow/roles/permissions/update
DELETE /api/3.0/mlflow/roles/unassign
PATCH /api/3.0/mlflow/roles/update
GET /api/3.0/mlflow/roles/users/list
POST /api/3.0/mlflow/scorer/invoke
DELETE /api/3.0/mlflow/scorers/delete
GET /api/3.0/mlflow/scorers/get
GET /api/3.0/mlflow/scorers/list
PUT /api/3.0/mlflow/scorers/online-config
GET /api/3.0/mlflow/scorers/online-configs
POST /api/3.0/mlflow/scorers/register
GET /api/3.0/mlflow/scorers/versions
POST /api/3.0/mlflow/traces
GET /api/3.0/mlflow/traces/*
POST /api/3.0/mlflow/traces/*/assessments
DELETE /api/3.0/mlflow/traces/*/assessments/*
GET /api/3.0/mlflow/traces/*/assessments/*
PATCH /api/3.0/mlflow/traces/*/assessments/*
DELETE /api/3.0/mlflow/traces/*/tags
PATCH /api/3.0/mlflow/traces/*/tags
GET /api/3.0/mlflow/traces/batchGet
POST /api/3.0/mlflow/traces/batchGetInfos
POST /api/3.0/mlflow/traces/calculate-filter-correlation
POST /api/3.0/mlflow/traces/delete-traces
GET /api/3.0/mlflow/traces/get
POST /api/3.0/mlflow/traces/metrics
POST /api/3.0/mlflow/traces/search
GET /api/3.0/mlflow/ui-telemetry
POST /api/3.0/mlflow/ui-telemetry
GET /api/3.0/mlflow/users/permissions/get
POST /api/3.0/mlflow/users/permissions/grant
GET /api/3.0/mlflow/users/permissions/list
POST /api/3.0/mlflow/users/permissions/revoke
GET /api/3.0/mlflow/users/roles/list
GET /api/3.0/mlflow/workspaces
POST /api/3.0/mlflow/workspaces
DELETE /api/3.0/mlflow/workspaces/*
GET /api/3.0/mlflow/workspaces/*
PATCH /api/3.0/mlflow/workspaces/*
POST /gateway/*/mlflow/invocations
POST /gateway/anthropic/v1/messages
POST /gateway/gemini/v1beta/models/*:generateContent
POST /gateway/gemini/v1beta/models/*:streamGenerateContent
POST /gateway/mlflow/v1/chat/completions
GET /gateway/mlflow/v1/models
POST /gateway/openai/v1/chat/completions
POST /gateway/openai/v1/embeddings
POST /gateway/openai/v1/responses
POST /gateway/openai/v1/responses/compact
POST /gateway/proxy/*/*
POST /gateway/typesafe/v1/systemone
GET /signup
POST /v1/traces
"""


def _parse(text: str) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    section = None
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line in CLASSES:
            section = line
            continue
        method, path = line.split(" ", 1)
        if section is None or (method, path) in out:
            raise ValueError(f"route table: {line!r} has no section or repeats")
        out[(method, path)] = section
    return out


ROUTES: dict[tuple[str, str], str] = _parse(_TABLE)
"""(method, canonical path) -> class."""
