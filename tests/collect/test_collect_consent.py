"""Consent flow: agree + confirm + current version, signed cookie, 403 and nothing stored otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.collect.collect_helpers import AGREE, counts
from wildchat.collect.consent import ConsentSigner

CHAT = {"message": "hello", "model": "echo"}


def test_get_consent_returns_current_document(make_app: Callable[..., TestClient]) -> None:
    client = make_app(consent_version="2024-05", consent_text="We log everything.")
    body = client.get("/api/consent").json()
    assert body["version"] == "2024-05"
    assert body["text"] == "We log everything."
    assert body["consented"] is False


@pytest.mark.parametrize(
    "payload",
    [
        {"agree": True, "version": "1"},
        {"confirm": True, "version": "1"},
        {"agree": True, "confirm": False, "version": "1"},
        {"agree": "true", "confirm": "true", "version": "1"},
        {"agree": 1, "confirm": 1, "version": "1"},
        {"agree": True, "confirm": True, "version": "0"},
        {"agree": True, "confirm": True},
        [AGREE],
        "yes",
    ],
)
def test_anything_but_agree_confirm_current_version_is_400(client: TestClient, payload: object) -> None:
    r = client.post("/api/consent", json=payload)
    assert r.status_code == 400
    assert r.json()["error"] in {"consent_invalid", "consent_version"}
    assert "set-cookie" not in r.headers
    assert counts(client.app)["consents"] == 0  # type: ignore[arg-type]


def test_malformed_consent_body_is_400(client: TestClient) -> None:
    for body, ctype in [
        (b"{agree", "application/json"),
        (b"\xff\xfe", "application/json"),
        (b"a=1", "text/plain"),
    ]:
        r = client.post("/api/consent", content=body, headers={"content-type": ctype})
        assert r.status_code == 400, body
        assert r.json()["error"] == "consent_invalid"


def test_consent_records_row_and_sets_signed_httponly_cookie(client: TestClient) -> None:
    r = client.post("/api/consent", json=AGREE, headers={"user-agent": "UA/1.0", "accept-language": "fr"})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("wildchat_consent=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    body = r.json()
    with client.app.state.services.session_factory() as s:  # type: ignore[attr-defined]
        from wildchat.collect.db.models import ConsentRow

        row = s.get(ConsentRow, body["consent_id"])
    assert row is not None and row.version == "1"
    assert row.user_agent == "UA/1.0" and row.accept_language == "fr"
    assert row.hashed_ip is not None and len(row.hashed_ip) == 64 and row.ip is None
    assert client.get("/api/consent").json()["consented"] is True
    r = client.post("/api/chat", json=CHAT)
    assert r.status_code == 200 and "[DONE]" in r.text


def _refused(client: TestClient, cookie: str | None) -> None:
    client.cookies.clear()
    if cookie is not None:
        client.cookies.set("wildchat_consent", cookie)
    before = counts(client.app)  # type: ignore[arg-type]
    r = client.post("/api/chat", json=CHAT)
    assert r.status_code == 403
    assert r.json()["error"] == "consent_required"
    assert counts(client.app) == before  # type: ignore[arg-type]


def test_chat_without_or_with_bad_cookie_is_403_and_stores_nothing(
    make_app: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_app(consent_max_age_days=1)
    _refused(client, None)
    client.post("/api/consent", json=AGREE)
    good = client.cookies["wildchat_consent"]
    # forged: same payload, signature flipped; or signed with another key
    _refused(client, good[:-2] + ("AA" if not good.endswith("AA") else "BB"))
    other = ConsentSigner(b"x" * 40, 86400).sign("a" * 32, "1")
    _refused(client, other)
    _refused(client, "not-a-cookie")
    # expired: signed by the right key three days ago
    signer: ConsentSigner = client.app.state.services.signer  # type: ignore[attr-defined]
    real_time = time.time
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: real_time() - 3 * 86400)
    old = signer.sign("b" * 32, "1")
    monkeypatch.undo()
    _refused(client, old)
    # the good cookie still works afterwards
    client.cookies.set("wildchat_consent", good)
    assert client.post("/api/chat", json=CHAT).status_code == 200


def test_cookie_for_an_older_consent_version_is_403(make_app: Callable[..., TestClient]) -> None:
    v1 = make_app(consent_version="1")
    v1.post("/api/consent", json=AGREE)
    cookie = v1.cookies["wildchat_consent"]
    v2 = make_app(consent_version="2")  # same key and database, new terms
    _refused(v2, cookie)
    assert v2.get("/api/consent").json()["consented"] is False
    assert v2.post("/api/consent", json=AGREE).status_code == 400  # version 1 is no longer shown
    assert v2.post("/api/consent", json={**AGREE, "version": "2"}).status_code == 200
    assert v2.post("/api/chat", json=CHAT).status_code == 200
