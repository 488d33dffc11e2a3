"""Deployment: settings from file, environment and options (in that order of strength); several workers behind one
port sharing the audit trail; SIGTERM lets them finish and exit cleanly with every answered decision recorded."""

from __future__ import annotations

import signal
import sqlite3

import psutil
import pytest

from techscore.exceptions import SpecError
from techscore.serve.runner import _dump, _load, service_config
from techscore.serve.settings import load_settings
from tests.serve._live import REPO, Load, free_port, start_service, stop
from tests.serve.conftest import as_records


def test_options_beat_environment_beat_file_beat_defaults(tmp_path):
    toml = tmp_path / "serve.toml"
    toml.write_text('[serve]\nmodel = "models:/pd@champion"\nport = 9000\nreasons = 4\nworkers = 3\n'
                    'poll_seconds = 10\n', encoding="utf-8")
    env = {"TECHSCORE_SERVE_PORT": "9100", "TECHSCORE_SERVE_WORKERS": "2", "TECHSCORE_SERVE_ADMIN_TOKEN": "Zq8-admin"}
    s = load_settings(toml, env=env, options={"port": 9200, "workers": None, "audit": tmp_path / "a.sqlite"})
    assert (s.model, s.port, s.workers, s.reasons, s.poll_seconds) == ("models:/pd@champion", 9200, 2, 4, 10.0)
    assert (s.host, s.max_records, s.audit, s.admin_token) == ("127.0.0.1", 1000, tmp_path / "a.sqlite", "Zq8-admin")
    from_env = load_settings(env={"TECHSCORE_SERVE_CONFIG": str(toml)})  # the file named by the environment
    assert (from_env.port, from_env.workers) == (9000, 3)
    config = service_config(s)
    assert config.admin_token_sha256 and "Zq8-admin" not in _dump(config)  # only the hash leaves the settings
    assert _load(_dump(config)) == config  # what the workers rebuild is what the supervisor meant


def test_bad_settings_name_their_source(tmp_path):
    toml = tmp_path / "serve.toml"
    toml.write_text("[serve]\nport = 'eighty'\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"serve\.toml: key 'port'.*'eighty'"):
        load_settings(toml, env={})
    with pytest.raises(SpecError, match=r"environment \(TECHSCORE_SERVE_\*\): key 'workers'"):
        load_settings(env={"TECHSCORE_SERVE_WORKERS": "0"})
    with pytest.raises(SpecError, match="unknown setting.*TECHSCORE_SERVE_PROT"):
        load_settings(env={"TECHSCORE_SERVE_PROT": "80"})
    toml.write_text("[serve]\nmodle = 'x'\n", encoding="utf-8")
    with pytest.raises(SpecError, match="serve.toml: unknown key 'modle'"):
        load_settings(toml, env={})
    with pytest.raises(SpecError, match="not found"):
        load_settings(tmp_path / "none.toml", env={})


@pytest.mark.slow
def test_two_workers_share_the_port_and_the_trail_and_stop_cleanly(model_dir, frame, tmp_path):
    audit, port = tmp_path / "audit.sqlite", free_port()
    toml = tmp_path / "serve.toml"
    toml.write_text(f'[serve]\nmodel = "{model_dir}"\nworkers = 2\nreasons = 5\naudit = "{audit}"\nport = 1\n',
                    encoding="utf-8")
    service = start_service(["--config", str(toml)], port, TECHSCORE_SERVE_REASONS="2")  # the option sets the port
    base = f"http://127.0.0.1:{port}"
    try:
        workers = [p for p in psutil.Process(service.pid).children() if "spawn_main" in " ".join(p.cmdline())]
        assert len(workers) == 2
        records = as_records(frame.head(40))
        with Load(base, records, clients=4) as load:
            load.wait_until(lambda out: sum(status == 200 for c in out for _, status, _ in c) >= 200)
            service.send_signal(signal.SIGTERM)  # with requests in flight
            assert service.wait(timeout=60) == 0
    finally:
        stop(service, signal.SIGKILL)
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
    outcomes = [x for c in load.outcomes for x in c]
    assert not [s for _, s, _ in outcomes if isinstance(s, int) and s != 200]  # refused connections only after
    answered = {body["request_id"]: body for _, s, body in outcomes if s == 200}
    assert all(len(b["results"][0]["reasons"]) <= 2 for b in answered.values())  # environment over file
    with sqlite3.connect(audit) as db:
        recorded = dict(db.execute("SELECT request_id, pd FROM decisions").fetchall())
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert len(answered) >= 200
    assert {rid: b["results"][0]["pd"] for rid, b in answered.items()}.items() <= recorded.items()


def test_the_shipped_configuration_loads():
    """scripts/serve.toml (used by the systemd unit and the container) is a valid configuration."""
    s = load_settings(REPO / "scripts" / "serve.toml", env={"TECHSCORE_SERVE_HOST": "0.0.0.0"})
    assert (s.model, s.workers, s.host) == ("models:/techscore_demo_pd@champion", 2, "0.0.0.0")
    unit = (REPO / "scripts" / "techscore-serve.service").read_text(encoding="utf-8")
    assert "serve --config /etc/techscore/serve.toml" in unit and "ExecReload=/bin/kill -HUP $MAINPID" in unit
    assert 'ENTRYPOINT ["techscore", "serve", "--config", "/etc/techscore/serve.toml"]' in \
        (REPO / "scripts" / "Containerfile").read_text(encoding="utf-8")
