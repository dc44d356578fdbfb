"""Server hardening: IPv6 rate keys, consent cap, Redis fallback, separate keys, headers, file modes."""

from __future__ import annotations

import logging
import os
import socket
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import text

from tests.collect.collect_helpers import AGREE, PEER, all_turns, counts
from wildchat.collect.client import network_pseudonym
from wildchat.collect.db.session import make_engine
from wildchat.collect.errors import api_error
from wildchat.collect.ratelimit import RateLimiter
from wildchat.collect.refusals import RateLimited
from wildchat.web.httpsec import CONTENT_SECURITY_POLICY

MSG = {"model": "echo", "message": "hi"}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- IPv6 clients are rate-limited per /64 ------------------------------------------------------


def test_network_pseudonym_groups_ipv6_by_prefix_and_leaves_ipv4_alone() -> None:
    key = b"k" * 32
    same = network_pseudonym(key, "2001:db8:1:2::1", 64)
    assert same is not None and len(same) == 64
    assert network_pseudonym(key, "2001:db8:1:2:ffff:ffff:ffff:fffe", 64) == same
    assert network_pseudonym(key, "2001:db8:1:3::1", 64) != same
    assert network_pseudonym(b"x" * 32, "2001:db8:1:2::1", 64) != same  # keyed
    assert network_pseudonym(key, "2001:db8:1:2::1", 128) != network_pseudonym(key, "2001:db8:1:2::2", 128)
    assert network_pseudonym(key, "203.0.113.7", 64) is None
    assert network_pseudonym(key, "::ffff:203.0.113.7", 64) is None  # a mapped IPv4 is IPv4


def _from(ip: str) -> dict[str, str]:
    """Headers of a request relayed by the trusted proxy (the test peer) for client ``ip``."""
    return {"x-forwarded-for": ip}


def test_ipv6_clients_in_one_64_share_a_rate_limit(make_app: Callable[..., TestClient]) -> None:
    client = make_app(rate_limit_per_minute=3, trusted_proxies=[f"{PEER[0]}/32"])
    one, two, elsewhere = "2001:db8:1:2::1", "2001:db8:1:2:aaaa::77", "2001:db8:1:3::1"
    assert client.post("/api/consent", json=AGREE, headers=_from(one)).status_code == 200  # 1
    assert client.post("/api/consent", json=AGREE, headers=_from(two)).status_code == 200  # 2
    assert client.post("/api/chat", json=MSG, headers=_from(one)).status_code == 200  # 3
    r = client.post("/api/chat", json=MSG, headers=_from(two))  # another address, same /64: same budget
    assert r.status_code == 429 and r.json()["error"] == "rate_limited"
    assert client.post("/api/chat", json=MSG, headers=_from(elsewhere)).status_code == 200  # next /64
    hashed = {t.hashed_ip for t in all_turns(client.app) if t.role == "user"}  # type: ignore[arg-type]
    assert len(hashed) == 2  # stored pseudonyms stay per address; only the limiter groups by network


def test_ipv6_prefix_is_configurable(make_app: Callable[..., TestClient]) -> None:
    client = make_app(rate_limit_per_minute=1, rate_limit_ipv6_prefix=128, trusted_proxies=[f"{PEER[0]}/32"])
    assert client.post("/api/consent", json=AGREE, headers=_from("2001:db8:1:2::1")).status_code == 200
    assert client.post("/api/consent", json=AGREE, headers=_from("2001:db8:1:2::2")).status_code == 200
    assert client.post("/api/consent", json=AGREE, headers=_from("2001:db8:1:2::1")).status_code == 429


# --- consent inserts per client per hour ---------------------------------------------------------


def test_consent_inserts_are_capped_per_client_per_hour(make_app: Callable[..., TestClient]) -> None:
    client = make_app(consents_per_hour=2)
    assert client.post("/api/consent", json=AGREE).status_code == 200
    assert client.post("/api/consent", json={"agree": True}).status_code == 400  # refused: not counted
    assert client.post("/api/consent", json=AGREE).status_code == 200
    r = client.post("/api/consent", json=AGREE)
    assert r.status_code == 429 and r.json()["error"] == "consent_limit"
    assert 0 < r.json()["retry_after"] <= 3600
    assert counts(client.app)["consents"] == 2  # type: ignore[arg-type]


# --- Redis: timeouts and the in-process fallback (never fail open) -------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_unreachable_redis_falls_back_to_the_in_process_limiter(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RateLimiter(2, 100, f"redis://127.0.0.1:{_closed_port()}/0", redis_timeout_s=0.3)
    caplog.set_level(logging.WARNING, logger="wildchat.collect.ratelimit")
    limiter.check_request("client-a")
    limiter.check_request("client-a")
    with pytest.raises(RateLimited) as err:
        limiter.check_request("client-a")  # over the limit although Redis is down: not fail-open
    assert api_error(err.value).status == 429 and err.value.code == "rate_limited"
    limiter.check_request("client-b")  # other clients keep their own budget
    assert limiter.degraded
    warnings = [r for r in caplog.records if "in-process limiter" in r.getMessage()]
    assert len(warnings) == 1  # logged once per outage, not per request


def test_black_holed_redis_costs_at_most_the_timeout() -> None:
    """A Redis that accepts connections but never answers: the socket timeout bounds the wait."""
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(16)  # the kernel accepts; nobody ever reads or answers
        port = hole.getsockname()[1]
        limiter = RateLimiter(1, 100, f"redis://127.0.0.1:{port}/0", redis_timeout_s=0.3)
        start = time.monotonic()
        limiter.check_request("k")
        first = time.monotonic() - start
        start = time.monotonic()
        with pytest.raises(RateLimited):
            limiter.check_request("k")
        second = time.monotonic() - start
    assert first < 3.0  # one timeout (plus redis-py's own retry), not a hang
    assert second < 0.2  # while Redis is marked down, checks do not wait for it again


def test_app_with_unreachable_redis_still_limits(make_app: Callable[..., TestClient]) -> None:
    client = make_app(rate_limit_per_minute=2, redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    assert client.post("/api/consent", json=AGREE).status_code == 200
    r = client.post("/api/chat", json=MSG)
    assert r.status_code == 200 and r.text.endswith("data: [DONE]\n\n")
    assert client.post("/api/chat", json=MSG).status_code == 429


# --- separate keys -----------------------------------------------------------------------------


def test_cookie_is_signed_with_the_secret_key_not_the_ip_key(
    client: TestClient, secret_key: str, ip_key: str
) -> None:
    assert client.post("/api/consent", json=AGREE).status_code == 200
    cookie = client.cookies["wildchat_consent"]
    salt = "wildchat-consent-v1"
    assert URLSafeTimedSerializer(secret_key.encode(), salt=salt).loads(cookie)["v"] == "1"
    with pytest.raises(Exception, match="Signature"):
        URLSafeTimedSerializer(ip_key.encode(), salt=salt).loads(cookie)


# --- security headers and the Secure cookie -----------------------------------------------------


def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    responses = [
        client.get("/"),
        client.get("/static/app.js"),
        client.get("/api/consent"),
        client.get("/no/such/page"),
        client.post("/api/chat", json=MSG),  # 403 without consent
        client.post("/api/consent", json=AGREE),
        client.post("/api/chat", json=MSG),  # the SSE stream
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 404, 403, 200, 200]
    for r in responses:
        assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
    csp = CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp and "unsafe-inline" not in csp


def test_consent_cookie_is_secure_outside_dev(make_app: Callable[..., TestClient]) -> None:
    r = make_app().post("/api/consent", json=AGREE)
    assert "secure" in r.headers["set-cookie"].lower()
    r = make_app(cookie_secure=False).post("/api/consent", json=AGREE)  # an explicit choice is kept
    assert "secure" not in r.headers["set-cookie"].lower()


# --- files holding raw data or keys are 0600 in 0700 folders ---------------------------------------


def test_new_sqlite_database_is_0600_in_a_0700_folder(tmp_path: Path) -> None:
    db = tmp_path / "fresh" / "x.db"
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x TEXT)"))
        conn.execute(text("INSERT INTO t VALUES ('secret text')"))
    assert _mode(db.parent) == 0o700 and _mode(db) == 0o600
    for extra in (Path(f"{db}-wal"), Path(f"{db}-shm")):
        if extra.exists():  # SQLite gives its side files the database's mode
            assert _mode(extra) == 0o600
    engine.dispose()


def test_dev_keys_are_separate_0600_files(tmp_path: Path) -> None:
    from wildchat.collect.settings import load_settings

    data = tmp_path / "data"
    s = load_settings(None, dev=True, data_dir=data, models=["e=replay"])
    assert _mode(data) == 0o700
    assert _mode(data / "secret.key") == 0o600 and _mode(data / "ip.key") == 0o600
    assert s.key_bytes != s.ip_key_bytes
    assert s.cookie_secure is False  # dev mode runs on plain http://localhost
    again = load_settings(None, dev=True, data_dir=data, models=["e=replay"])
    assert again.ip_key_bytes == s.ip_key_bytes  # pseudonyms stable across restarts


def test_raw_export_is_0600_even_over_an_existing_file(
    client: TestClient, db_url: str, tmp_path: Path
) -> None:
    from wildchat.collect.export import export_logs

    client.post("/api/consent", json=AGREE)
    client.post("/api/chat", json=MSG)
    out = tmp_path / "exports" / "raw.jsonl"
    export_logs(db_url, out)
    assert _mode(out) == 0o600 and _mode(out.parent) == 0o700
    old = tmp_path / "old.parquet"
    old.write_bytes(b"")
    os.chmod(old, 0o644)
    assert export_logs(db_url, old).records == 1
    assert _mode(old) == 0o600


# --- admin export: malformed ``since`` is a 400 -------------------------------------------------------


@pytest.mark.parametrize(
    "since",
    [
        "yesterday",
        "2024-01-01T00:00:00",  # no offset
        "\u00b2",  # a Unicode digit float() refuses
        "1" * 400,  # an epoch far out of range
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
        "1.2.3",
    ],
)
def test_admin_export_refuses_a_malformed_since_with_400(
    make_app: Callable[..., TestClient], since: str
) -> None:
    token = "t" * 40
    client = make_app(admin_token=token)
    auth = {"authorization": f"Bearer {token}"}
    r = client.get("/api/admin/export", params={"since": since}, headers=auth)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    ok = client.get("/api/admin/export", params={"since": "1700000000"}, headers=auth)
    assert ok.status_code == 200
