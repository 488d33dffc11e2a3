"""`techscore server start|stop|provision`: the shared, authenticated MLflow tracking server of joint modelling.

`start` serves HTTPS with ``--tls-cert``/``--tls-key`` and refuses a non-loopback ``--host`` without them unless
``--insecure``.

The admin password is read from ``$MLFLOW_AUTH_ADMIN_PASSWORD`` only (never a command-line argument, which other
users of the machine could read in the process list); bank passwords from ``$TECHSCORE_PASSWORD_<USER>`` or
generated into the credentials file (mode 0600).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from techscore.cli._common import JsonFlag, cli_errors, console

StateDir = Annotated[
    Path, typer.Option("--state-dir", help="Folder of the server's auth config, log and pid file.")
]
AdminUser = Annotated[
    str | None,
    typer.Option("--admin-user", envvar="MLFLOW_AUTH_ADMIN_USERNAME", help="Admin user (default techscore-admin)."),
]


def _parse_access(items: list[str] | None) -> dict[str, str] | None:
    if not items:
        return None
    out = {}
    for item in items:
        bank, sep, level = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--platform-access takes BANK=LEVEL (e.g. bank_a=EDIT); got {item!r}.")
        out[bank.strip()] = level.strip().upper()
    return out


def register(app: typer.Typer) -> None:
    server_app = typer.Typer(help="Start, provision and stop the shared tracking server (per-bank isolation).")

    @server_app.command("start")
    def start(
        state_dir: StateDir = Path("mlflow-server"),
        backend_uri: Annotated[
            str | None,
            typer.Option("--backend-uri", help="sqlite:///path.db or postgresql://user@host/db (default SQLite in the state dir)."),
        ] = None,
        artifacts_dir: Annotated[
            Path | None, typer.Option("--artifacts-dir", help="Artifact store folder (default <state-dir>/artifacts).")
        ] = None,
        auth_db_uri: Annotated[
            str | None, typer.Option("--auth-db-uri", help="Users-and-permissions database (default SQLite in the state dir).")
        ] = None,
        host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="Port (0 picks a free one).")] = 5000,
        workers: Annotated[int, typer.Option("--workers", min=1, help="Server worker processes.")] = 2,
        allowed_hosts: Annotated[
            str | None,
            typer.Option("--allowed-hosts", help="Host headers to accept beyond loopback, e.g. mlflow.example.org."),
        ] = None,
        tls_cert: Annotated[
            Path | None, typer.Option("--tls-cert", help="PEM certificate (chain): serve HTTPS only.")
        ] = None,
        tls_key: Annotated[Path | None, typer.Option("--tls-key", help="PEM private key of --tls-cert (mode 0600).")] = None,
        insecure: Annotated[
            bool,
            typer.Option("--insecure", help="Allow a non-loopback --host without TLS (a TLS proxy on this machine)."),
        ] = False,
        admin_user: AdminUser = None,
        foreground: Annotated[bool, typer.Option("--foreground", help="Stay attached; Ctrl-C stops the server.")] = False,
        as_json: JsonFlag = False,
    ) -> None:
        """Start the server in the background (admin password from $MLFLOW_AUTH_ADMIN_PASSWORD)."""
        from techscore.joint.server import start_server

        with cli_errors():
            state_dir = state_dir.resolve()
            state_dir.mkdir(parents=True, exist_ok=True)
            with console.status("starting the tracking server (10-40 s)..."):
                handle = start_server(
                    backend_uri or f"sqlite:///{state_dir / 'mlflow.db'}",
                    artifacts_dir or state_dir / "artifacts",
                    host=host,
                    port=port,
                    admin_user=admin_user,
                    state_dir=state_dir,
                    auth_db_uri=auth_db_uri,
                    workers=workers,
                    tls_cert=tls_cert,
                    tls_key=tls_key,
                    insecure=insecure,
                    extra_args=["--allowed-hosts", allowed_hosts] if allowed_hosts else [],
                )
            info = {"url": handle.url, "pid": handle.pid, "admin_user": handle.admin_user, "log": str(handle.log_path)}
            if as_json:
                console.print_json(json.dumps(info))
            else:
                console.print(f"tracking server at [bold]{handle.url}[/] (pid {handle.pid}, log {handle.log_path})")
            if foreground:
                import signal

                def _terminate(signum, frame):  # a service manager's SIGTERM stops the server too
                    raise KeyboardInterrupt

                signal.signal(signal.SIGTERM, _terminate)
                try:
                    while handle.running:
                        time.sleep(1.0)
                except KeyboardInterrupt:
                    pass
                finally:
                    handle.stop()

    @server_app.command("stop")
    def stop(state_dir: StateDir = Path("mlflow-server")) -> None:
        """Stop the server started with `techscore server start --state-dir ...` (only while its recorded process is
        still that server: same start time and command line)."""
        from techscore.joint.server import stop_server

        with cli_errors():
            if stop_server(state_dir):
                console.print("tracking server stopped")
            else:
                console.print(f"no running server recorded in {state_dir}")

    @server_app.command("provision")
    def provision_cmd(
        url: Annotated[str, typer.Option("--url", help="The server's URL, e.g. http://127.0.0.1:5000.")],
        banks: Annotated[list[str], typer.Option("--bank", help="A bank id (repeat for each bank).")],
        credentials: Annotated[
            Path, typer.Option("--credentials", help="Where to write the users' credentials (JSON, mode 0600).")
        ],
        platform: Annotated[str, typer.Option("--platform", help="The data platform's user name.")] = "platform",
        platform_access: Annotated[
            list[str] | None,
            typer.Option("--platform-access", help="BANK=LEVEL the bank grants the platform (default EDIT on all)."),
        ] = None,
        bank_permission: Annotated[
            str, typer.Option("--bank-permission", help="A bank's level on its own experiment: MANAGE or READ.")
        ] = "MANAGE",
        prefix: Annotated[str, typer.Option("--prefix", help="Experiment name prefix.")] = "joint/",
        admin_user: AdminUser = None,
        as_json: JsonFlag = False,
    ) -> None:
        """One user and experiment per bank, the platform user, and their grants (idempotent)."""
        from techscore.joint.server import provision

        with cli_errors():
            creds = provision(
                url,
                banks,
                admin_user=admin_user,
                platform_user=platform,
                platform_access=_parse_access(platform_access),
                bank_permission=bank_permission.upper(),
                experiment_prefix=prefix,
                credentials_path=credentials,
            )
            rows = {
                c.username: {
                    "role": c.role,
                    "experiment": c.experiment,
                    "experiment_id": c.experiment_id,
                    "password": "set" if c.password else "unchanged",
                }
                for c in creds.values()
            }
            if as_json:
                console.print_json(json.dumps({"url": url, "credentials": str(credentials), "users": rows}))
                return
            for name, row in rows.items():
                console.print(f"{name:>16}: {row['role']:<8} {row['experiment']} (id {row['experiment_id']}), password {row['password']}")
            console.print(f"credentials written to {credentials} (mode 0600)")

    app.add_typer(server_app, name="server")
