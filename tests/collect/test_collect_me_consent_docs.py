"""Consent documents: stored per consent, chosen by Accept-Language, default text true to the settings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text

from tests.collect.collect_helpers import AGREE
from wildchat.collect.consent import default_consent_text, pick_document
from wildchat.collect.db.migrate import migrate
from wildchat.collect.db.models import ConsentDocumentRow, ConsentRow
from wildchat.collect.settings import Settings


def test_default_text_follows_raw_ip_and_retention(make_settings: Callable[..., Settings]) -> None:
    private = default_consent_text(make_settings())
    assert "Your IP address itself is not stored" in private
    assert "kept until you delete them" in private
    assert "My conversations" in private and "Withdraw consent" in private
    raw = default_consent_text(make_settings(store_raw_ip=True, retention_days=30))
    assert "not stored" not in raw
    assert "Your IP address is stored" in raw
    assert "30 days" in raw
    assert make_settings(store_raw_ip=True).consent_document() == default_consent_text(
        make_settings(store_raw_ip=True)
    )


def test_accept_language_picks_the_document() -> None:
    docs = {"default": "D", "de": "DE", "pt-br": "PTBR"}
    assert pick_document(docs, "de-AT,de;q=0.9,en;q=0.8") == ("de", "DE")
    assert pick_document(docs, "fr, pt-BR;q=0.5") == ("pt-br", "PTBR")
    assert pick_document(docs, "fr-FR") == ("default", "D")
    assert pick_document(docs, None) == ("default", "D")
    assert pick_document(docs, "de;q=0, en") == ("default", "D")
    assert pick_document(docs, "en;q=0.1, de;q=0.9") == ("de", "DE")


def test_consent_stores_the_text_shown_per_language(
    make_app: Callable[..., TestClient], tmp_path: Path
) -> None:
    de = tmp_path / "consent.de.txt"
    de.write_text("Deutscher Einwilligungstext.\n", encoding="utf-8")
    fallback = tmp_path / "consent.txt"
    fallback.write_text("Default consent text.\n", encoding="utf-8")
    client = make_app(consent_file={"de": de, "default": fallback})
    got = client.get("/api/consent", headers={"accept-language": "de-DE,de;q=0.9"}).json()
    assert (got["language"], got["text"]) == ("de", "Deutscher Einwilligungstext.\n")
    got = client.get("/api/consent", headers={"accept-language": "fr"}).json()
    assert (got["language"], got["text"]) == ("default", "Default consent text.\n")
    ids = []
    for lang in ("de", "de", "fr"):
        r = client.post("/api/consent", json=AGREE, headers={"accept-language": lang})
        assert r.status_code == 200
        ids.append(r.json()["consent_id"])
    # the page may say which document it showed
    r = client.post("/api/consent", json={**AGREE, "language": "de"}, headers={"accept-language": "fr"})
    ids.append(r.json()["consent_id"])
    with client.app.state.services.session_factory() as s:  # type: ignore[attr-defined]
        docs = {d.id: d for d in s.scalars(select(ConsentDocumentRow))}
        assert len(docs) == 2  # stored once each
        shown = [docs[s.get(ConsentRow, i).document_id].text for i in ids]  # type: ignore[union-attr,index]
    assert shown == [
        "Deutscher Einwilligungstext.\n",
        "Deutscher Einwilligungstext.\n",
        "Default consent text.\n",
        "Deutscher Einwilligungstext.\n",
    ]


def test_generated_default_document_is_stored(client: TestClient) -> None:
    assert client.post("/api/consent", json=AGREE).status_code == 200
    with client.app.state.services.session_factory() as s:  # type: ignore[attr-defined]
        doc = s.scalars(select(ConsentDocumentRow)).one()
        consent = s.scalars(select(ConsentRow)).one()
    assert consent.document_id == doc.id and doc.language == "default" and doc.version == "1"
    assert doc.text == client.get("/api/consent").json()["text"]


def test_consent_file_table_from_the_environment(
    make_settings: Callable[..., Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    de = tmp_path / "de.txt"
    de.write_text("DE", encoding="utf-8")
    monkeypatch.setenv("WILDCHAT_CONSENT_FILE", json.dumps({"de": str(de)}))
    settings = make_settings()
    assert settings.consent_file == {"de": de}


def test_migration_0002_upgrades_a_0001_database(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO consents (id, version, created_at) VALUES ('c1', '1', '2026-01-01')"))
    migrate(engine)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, document_id, withdrawn_at FROM consents")).one()
        assert tuple(row) == ("c1", None, None)
        assert conn.execute(select(func.count()).select_from(ConsentDocumentRow)).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM takedown_ledger")).scalar_one() == 0
    engine.dispose()
