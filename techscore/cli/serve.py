"""`techscore serve`: the online scoring service on uvicorn; `techscore serve snapshot`: a featurized table as the
service's feature snapshot; `techscore audit export`: its decisions as Parquet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from techscore.cli._common import JsonFlag, TrackingUri, cli_errors, console

DEFAULT_AUDIT = Path("techscore-audit.sqlite")
KeysFile = Annotated[Path, typer.Option("--keys", help="The API key store (SQLite).")]
SnapshotStore = Annotated[Path | None, typer.Option(
    "--snapshots", help="Feature snapshot store (techscore serve snapshot): firms scored by code read their features "
                        "from the snapshot it names as current.")]


def register(app: typer.Typer) -> None:
    serve_app = typer.Typer(help="The online scoring service: POST /v1/score, POST /v1/firms/score, "
                                 "GET /v1/firms/{uscc}/report, GET /v1/model, /metrics.",
                            invoke_without_command=True)

    @serve_app.callback()
    def serve(
        ctx: typer.Context,
        model: Annotated[str | None, typer.Option(
            "--model", help="models:/name@alias, models:/name/version or a local model folder.")] = None,
        host: Annotated[str | None, typer.Option("--host", help="Address to listen on [127.0.0.1].")] = None,
        port: Annotated[int | None, typer.Option("--port", min=0, max=65535, help="Port to listen on [8000].")]
        = None,
        audit: Annotated[Path | None, typer.Option(
            "--audit", help=f"The audit trail (SQLite, WAL) [{DEFAULT_AUDIT}].")] = None,
        reasons: Annotated[int | None, typer.Option("--reasons", min=0, help="Reason codes per firm [5].")] = None,
        max_body_bytes: Annotated[int | None, typer.Option(
            "--max-body-bytes", min=1, help="Largest request body [1 MiB].")] = None,
        max_records: Annotated[int | None, typer.Option(
            "--max-records", min=1, help="Most records per request [1000].")] = None,
        keys: Annotated[Path | None, typer.Option(
            "--keys", help="API key store (techscore serve keys add): every request needs a key of it. Without it "
                           "no key is asked for (loopback, or behind an authenticating gateway).")] = None,
        snapshots: SnapshotStore = None,
        tracking_uri: TrackingUri = None,
        config: Annotated[Path | None, typer.Option(
            "--config", help="TOML file with a [serve] table; options and TECHSCORE_SERVE_* variables override "
                             "it (also TECHSCORE_SERVE_CONFIG).")] = None,
        workers: Annotated[int | None, typer.Option(
            "--workers", min=1, help="Processes behind the one port [1].")] = None,
        poll_seconds: Annotated[float | None, typer.Option(
            "--poll-seconds", min=0, help="How often to check whether the alias moved; 0: only on SIGHUP or "
                                          "POST /v1/admin/reload [30].")] = None,
        graceful_timeout: Annotated[int | None, typer.Option(
            "--graceful-timeout", min=1, help="Seconds in-flight requests get after SIGTERM [30].")] = None,
    ) -> None:
        """Serve a registered model over HTTP: decisions with their reasons, each recorded before it is answered."""
        if ctx.invoked_subcommand is not None:
            return
        _serve(config, {"model": model, "host": host, "port": port, "audit": audit, "reasons": reasons,
                        "max_body_bytes": max_body_bytes, "max_records": max_records, "keys": keys,
                        "snapshots": snapshots,
                        "tracking_uri": tracking_uri, "workers": workers, "poll_seconds": poll_seconds,
                        "graceful_timeout": graceful_timeout})

    keys_app = typer.Typer(help="API keys of the service: one per caller, scoped to a bank, stored hashed.",
                           no_args_is_help=True)

    @keys_app.command("add")
    def keys_add(
        bank: Annotated[str, typer.Option("--bank", help="The bank the key is scoped to.")],
        keys: KeysFile,
        rate: Annotated[float, typer.Option("--rate", min=0.001, help="Requests per second allowed.")] = 50.0,
        as_json: JsonFlag = False,
    ) -> None:
        """Create a key for a bank; its token is shown once (only its hash is stored)."""
        from techscore.serve.keys import KeyStore

        with cli_errors():
            store = KeyStore(keys)
            key, token = store.add(bank, rate=rate)
            store.close()
        if as_json:
            typer.echo(json.dumps({"key_id": key.key_id, "bank": key.bank, "rate": key.rate, "token": token}))
            return
        console.print(f"key {key.key_id} for bank {key.bank} ({key.rate:g} requests/s); hand over this token, it "
                      f"is not shown again:", soft_wrap=True)
        typer.echo(token)

    @keys_app.command("revoke")
    def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id (from keys add or keys list).")],
                    keys: KeysFile) -> None:
        """Revoke a key: its requests get 401 from now on, without a restart."""
        from techscore.serve.keys import KeyStore

        with cli_errors():
            store = KeyStore(keys)
            key = store.revoke(key_id)
            store.close()
        console.print(f"key {key.key_id} of bank {key.bank} revoked at {key.revoked}")

    @keys_app.command("list")
    def keys_list(keys: KeysFile, as_json: JsonFlag = False) -> None:
        """The keys: id, bank, rate, created, revoked (never the tokens)."""
        from rich.table import Table

        from techscore.serve.keys import KeyStore

        with cli_errors():
            store = KeyStore(keys)
            rows = store.keys()
            store.close()
        if as_json:
            typer.echo(json.dumps([vars(k) for k in rows]))
            return
        table = Table("key", "bank", "rate/s", "created", "revoked")
        for k in rows:
            table.add_row(k.key_id, k.bank, f"{k.rate:g}", k.created, k.revoked or "")
        console.print(table)

    @serve_app.command("snapshot")
    def snapshot(
        features: Annotated[Path, typer.Option(
            "--features", help="A featurized table (techscore featurize --out): Parquet or CSV with uscc.")],
        store: Annotated[Path, typer.Option("--store", help="The snapshot store folder (serve --snapshots).")],
        as_of: Annotated[str | None, typer.Option(
            "--as-of", help="The date the features are as of, when the table has no as_of column.")] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Make a featurized table the service's feature snapshot: written beside the others, then made current
        atomically (a running service switches on its next request)."""
        import pandas as pd

        from techscore.serve.snapshot_store import write_snapshot

        with cli_errors():
            if not features.is_file():
                raise FileNotFoundError(f"featurized table {features} does not exist.")
            if features.suffix.lower() in (".csv", ".tsv"):
                frame = pd.read_csv(features, sep="\t" if features.suffix.lower() == ".tsv" else ",",
                                    dtype={"uscc": "string"})
            else:
                frame = pd.read_parquet(features)
            with console.status(f"writing the snapshot of {features}", spinner="dots"):
                info = write_snapshot(frame, store, as_of=as_of, source=str(features))
        if as_json:
            typer.echo(json.dumps({"snapshot_id": info.snapshot_id, "path": str(info.path), "rows": info.rows,
                                   "firms": info.firms, "as_of": list(info.as_of)}))
            return
        console.print(f"snapshot {info.snapshot_id}: {info.firms:,} firms, {info.rows:,} rows as of "
                      f"{', '.join(info.as_of)} -> {info.path} (current)", soft_wrap=True)

    serve_app.add_typer(keys_app, name="keys")
    app.add_typer(serve_app, name="serve")

    audit_app = typer.Typer(help="The scoring service's audit trail.", no_args_is_help=True)

    @audit_app.command("export")
    def export(
        out: Annotated[Path, typer.Option("--out", help="Parquet file to write.")],
        audit: Annotated[Path, typer.Option("--audit", help="The audit trail (SQLite).")] = DEFAULT_AUDIT,
        start: Annotated[str | None, typer.Option(
            "--from", help="First time included (ISO 8601 UTC, e.g. 2026-12-01 or 2026-12-01T08:00).")] = None,
        end: Annotated[str | None, typer.Option("--to", help="First time excluded (ISO 8601 UTC).")] = None,
    ) -> None:
        """Write the decisions recorded from --from up to --to to Parquet."""
        from techscore.serve import export_audit

        with cli_errors():
            n = export_audit(audit, out, start=start, end=end)
        console.print(f"{n:,} decisions -> {out}", soft_wrap=True)

    app.add_typer(audit_app, name="audit")


def _serve(config: Path | None, options: dict) -> None:
    """Resolve the settings (options over environment over file), load the model once to fail early, serve."""
    from techscore.serve import load_served_model
    from techscore.serve.runner import run_service
    from techscore.serve.settings import load_settings

    with cli_errors():
        settings = load_settings(config, options=options)
        if not settings.model:
            raise typer.BadParameter("--model (or TECHSCORE_SERVE_MODEL, or model in the [serve] table) is "
                                     "required to serve.", param_hint="--model")
        with console.status(f"loading {settings.model}", spinner="dots"):
            served = load_served_model(settings.model, tracking_uri=settings.tracking_uri)
        follows = f" (following the alias every {settings.poll_seconds:g} s)" \
            if "@" in settings.model and settings.poll_seconds else ""
        console.print(f"serving {served.name} version {served.version}{follows} on http://{settings.host}:"
                      f"{settings.port} with {settings.workers} worker(s) (audit: {settings.audit})", soft_wrap=True)
    run_service(settings, served=served)
