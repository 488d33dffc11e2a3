#!/usr/bin/env bash
# Start techscore's shared MLflow tracking server for joint modelling in the foreground (for a terminal or a
# service manager): techscore's server app (MLflow's basic-auth app with default_permission = NO_PERMISSIONS and
# techscore's rules before every request), artifacts served through the server, the admin password from the
# environment only. A thin wrapper over `techscore server start`.
#
# Development (SQLite, loopback):
#   export MLFLOW_AUTH_ADMIN_PASSWORD="$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"  # required
#   scripts/mlflow-server.sh                                   # state, SQLite and artifacts in ./mlflow-server
#
# Production (PostgreSQL and TLS: basic auth sends passwords with every request, so a non-loopback MLFLOW_HOST
# needs MLFLOW_TLS_CERT and MLFLOW_TLS_KEY, or MLFLOW_INSECURE=1 behind a TLS proxy on the same machine):
#   apt-get install postgresql                                 # Debian/Ubuntu, or use a managed PostgreSQL
#   sudo -u postgres createuser --pwprompt mlflow
#   sudo -u postgres createdb -O mlflow mlflow                 # tracking store
#   sudo -u postgres createdb -O mlflow mlflow_auth            # users and permissions
#   .venv/bin/pip install psycopg2-binary                      # the driver SQLAlchemy needs
#   echo 'localhost:5432:*:mlflow:THE-DB-PASSWORD' >> ~/.pgpass && chmod 600 ~/.pgpass   # no password in URIs
#   MLFLOW_BACKEND_URI=postgresql://mlflow@localhost:5432/mlflow \
#   MLFLOW_AUTH_DB_URI=postgresql://mlflow@localhost:5432/mlflow_auth \
#   MLFLOW_ARTIFACTS_DIR=/srv/mlflow/artifacts MLFLOW_HOST=0.0.0.0 MLFLOW_ALLOWED_HOSTS=mlflow.example.org \
#   MLFLOW_TLS_CERT=/etc/ssl/mlflow/fullchain.pem MLFLOW_TLS_KEY=/etc/ssl/mlflow/key.pem \
#   scripts/mlflow-server.sh
# then, once:  techscore server provision --url https://mlflow.example.org:5000 --bank bank_a --bank bank_b \
#                  --credentials /srv/mlflow/credentials.json
#
# Environment: MLFLOW_AUTH_ADMIN_PASSWORD (required), MLFLOW_AUTH_ADMIN_USERNAME [techscore-admin],
# MLFLOW_STATE_DIR [./mlflow-server], MLFLOW_BACKEND_URI [SQLite in the state dir], MLFLOW_AUTH_DB_URI [SQLite in
# the state dir], MLFLOW_ARTIFACTS_DIR [<state dir>/artifacts], MLFLOW_HOST [127.0.0.1], MLFLOW_PORT [5000],
# MLFLOW_WORKERS [2], MLFLOW_ALLOWED_HOSTS, MLFLOW_TLS_CERT and MLFLOW_TLS_KEY (PEM; the key mode 0600),
# MLFLOW_INSECURE (1: allow a non-loopback host without TLS), TECHSCORE [techscore next to this repo's .venv,
# else on PATH].
set -euo pipefail

if [ -z "${MLFLOW_AUTH_ADMIN_PASSWORD:-}" ]; then
    echo "mlflow-server: set MLFLOW_AUTH_ADMIN_PASSWORD (a strong one); there is no default." >&2
    exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
techscore="${TECHSCORE:-}"
if [ -z "$techscore" ]; then
    if [ -x "$here/.venv/bin/techscore" ]; then techscore="$here/.venv/bin/techscore"; else techscore="techscore"; fi
fi

backend="${MLFLOW_BACKEND_URI:-}"
case "$backend" in
    postgresql*)
        python_bin="$(dirname "$(command -v "$techscore")")/python"
        if ! "$python_bin" -c "import psycopg2" 2>/dev/null; then
            echo "mlflow-server: $backend needs the psycopg2 driver: $python_bin -m pip install psycopg2-binary" >&2
            exit 2
        fi
        ;;
esac

state="${MLFLOW_STATE_DIR:-$PWD/mlflow-server}"
args=(server start --foreground --state-dir "$state"
      --host "${MLFLOW_HOST:-127.0.0.1}" --port "${MLFLOW_PORT:-5000}" --workers "${MLFLOW_WORKERS:-2}")
[ -n "$backend" ] && args+=(--backend-uri "$backend")
[ -n "${MLFLOW_AUTH_DB_URI:-}" ] && args+=(--auth-db-uri "$MLFLOW_AUTH_DB_URI")
[ -n "${MLFLOW_ARTIFACTS_DIR:-}" ] && args+=(--artifacts-dir "$MLFLOW_ARTIFACTS_DIR")
[ -n "${MLFLOW_ALLOWED_HOSTS:-}" ] && args+=(--allowed-hosts "$MLFLOW_ALLOWED_HOSTS")
[ -n "${MLFLOW_TLS_CERT:-}" ] && args+=(--tls-cert "$MLFLOW_TLS_CERT")
[ -n "${MLFLOW_TLS_KEY:-}" ] && args+=(--tls-key "$MLFLOW_TLS_KEY")
[ "${MLFLOW_INSECURE:-0}" = "1" ] && args+=(--insecure)

exec "$techscore" "${args[@]}"
