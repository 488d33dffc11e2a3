"""A server with TLS and two workers: HTTPS only, and a changed password or a removed user stops working on every
worker at once (MLflow's own per-worker login cache kept old passwords for up to a minute)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets

import pytest
import requests

from techscore.exceptions import AuthError
from techscore.joint.auth import AuthClient

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mlflow_tls_server")]


def _self_signed(folder):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    from techscore.joint.server import start_server

    root = tmp_path_factory.mktemp("tls-server")
    cert, key = _self_signed(root)
    admin = ("ts-admin", "adm-" + secrets.token_urlsafe(18))
    handle = start_server(f"sqlite:///{root / 'mlflow.db'}", root / "artifacts", admin_user=admin[0],
                          admin_password=admin[1], state_dir=root / "state", workers=2, tls_cert=cert, tls_key=key)
    try:
        yield {"url": handle.url, "cert": str(cert), "admin": admin}
    finally:
        handle.stop(timeout=5)


def test_the_server_speaks_https_only(tls_server):
    url = tls_server["url"]
    assert url.startswith("https://127.0.0.1:")
    assert requests.get(f"{url}/health", verify=tls_server["cert"], timeout=30).status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{url}/health", timeout=30)  # an unknown certificate is not trusted
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url.replace("https://", "http://") + "/health", timeout=30)


def _statuses(url: str, auth, cert: str, n: int = 24) -> set[int]:
    """Statuses of `n` requests, each on a new connection (so both workers answer some)."""
    out = set()
    for _ in range(n):
        with requests.Session() as s:
            out.add(s.get(f"{url}/api/2.0/mlflow/users/current", auth=auth, verify=cert, timeout=30).status_code)
    return out


def test_a_changed_password_or_a_removed_user_stops_working_on_every_worker_at_once(tls_server):
    url, cert = tls_server["url"], tls_server["cert"]
    admin = AuthClient(url, *tls_server["admin"], verify=cert)
    old, new = "Old-" + secrets.token_urlsafe(16), "New-" + secrets.token_urlsafe(16)
    admin.create_user("bank_t", old)
    assert _statuses(url, ("bank_t", old), cert) == {200}  # every worker has now seen (and may remember) it
    admin.update_password("bank_t", new)
    assert _statuses(url, ("bank_t", old), cert) == {401}
    assert _statuses(url, ("bank_t", new), cert) == {200}
    admin.call("DELETE", "/api/2.0/mlflow/users/delete", json={"username": "bank_t"})
    assert _statuses(url, ("bank_t", new), cert) == {401}
    with pytest.raises(AuthError, match="not authenticated"):
        AuthClient(url, "bank_t", new, verify=cert).current_user()
