"""Raw IPs never reach the database by default; X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.collect.collect_helpers import AGREE, PEER, all_turns
from wildchat.collect.client import resolve_client_ip
from wildchat.privacy import GeoLocator, hmac_ip

MSG = {"model": "echo", "message": "hi"}


def dump_database(app: FastAPI) -> str:
    """Every value of every table as text (works on SQLite and PostgreSQL)."""
    engine = app.state.services.engine
    out = []
    with engine.connect() as conn:
        for table in ("consents", "conversations", "turns"):
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                out.append(" ".join(str(v) for v in row))
    return "\n".join(out)


def test_raw_ip_is_never_stored_by_default(client: TestClient, secret_key: str, ip_key: str) -> None:
    client.post("/api/consent", json=AGREE)
    client.post("/api/chat", json=MSG, headers={"x-forwarded-for": "198.51.100.23"})
    dump = dump_database(client.app)  # type: ignore[arg-type]
    assert PEER[0] not in dump and "198.51.100.23" not in dump
    assert hmac_ip(ip_key.encode(), PEER[0]) in dump  # pseudonyms use the IP key ...
    assert hmac_ip(secret_key.encode(), PEER[0]) not in dump  # ... never the cookie-signing key


def test_store_raw_ip_is_an_explicit_opt_in(make_app: Callable[..., TestClient]) -> None:
    client = make_app(store_raw_ip=True)
    client.post("/api/consent", json=AGREE)
    client.post("/api/chat", json=MSG)
    assert PEER[0] in dump_database(client.app)  # type: ignore[arg-type]


def test_forwarded_for_only_from_trusted_proxies(
    make_app: Callable[..., TestClient], ip_key: str
) -> None:
    key = ip_key.encode()
    untrusted = make_app(trusted_proxies=["10.0.0.0/8"])  # the peer 203.0.113.77 is not a proxy
    untrusted.post("/api/consent", json=AGREE)
    untrusted.post("/api/chat", json=MSG, headers={"x-forwarded-for": "8.8.8.8"})
    assert all_turns(untrusted.app)[0].hashed_ip == hmac_ip(key, PEER[0])  # type: ignore[arg-type]

    trusted = make_app(trusted_proxies=[f"{PEER[0]}/32"])
    trusted.post("/api/consent", json=AGREE)
    trusted.post("/api/chat", json=MSG, headers={"x-forwarded-for": "1.2.3.4, 8.8.8.8"})
    user = [t for t in all_turns(trusted.app) if t.role == "user"][-1]  # type: ignore[arg-type]
    assert user.hashed_ip == hmac_ip(key, "8.8.8.8")  # right-most untrusted hop, not the spoofable 1.2.3.4
    expected = GeoLocator().lookup("8.8.8.8")
    assert expected.country is not None
    assert (user.country, user.state) == (expected.country, expected.state)


def test_resolve_client_ip() -> None:
    nets = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32")]
    assert resolve_client_ip("203.0.113.5", ["1.1.1.1"], nets) == "203.0.113.5"
    assert resolve_client_ip("10.0.0.2", ["1.1.1.1"], nets) == "1.1.1.1"
    assert resolve_client_ip("10.0.0.2", ["9.9.9.9, 1.1.1.1, 10.0.0.3"], nets) == "1.1.1.1"
    assert resolve_client_ip("10.0.0.2", ["9.9.9.9", "1.1.1.1"], nets) == "1.1.1.1"
    assert resolve_client_ip("10.0.0.2", [], nets) == "10.0.0.2"
    assert resolve_client_ip("10.0.0.2", ["garbage"], nets) == "10.0.0.2"
    assert resolve_client_ip("10.0.0.2", ["1.1.1.1, garbage"], nets) == "10.0.0.2"
    assert resolve_client_ip("2001:db8::1", ["::ffff:5.6.7.8"], nets) == "5.6.7.8"
    assert resolve_client_ip("10.0.0.2", ["10.0.0.9"], nets) == "10.0.0.9"  # all hops trusted
    assert resolve_client_ip(None, ["1.1.1.1"], nets) is None
    assert resolve_client_ip("10.0.0.2", ["1.1.1.1"], []) == "10.0.0.2"
