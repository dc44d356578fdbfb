"""Takedowns that stick: the ledger (keyed hashes, no text), `wildchat takedown`, `purge`, and curation.

Old raw exports are made *before* deletions; curating them with the ledger
must leave out exactly the deleted and taken-down conversations -- by the
collector conversation id, by exchange content identity (a copy without
ids), or by IP pseudonym -- on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from tests.collect.collect_helpers import AGREE, parse_sse, split_events
from wildchat.cli.main import app as cli
from wildchat.collect.db.models import LedgerRow, TurnRow
from wildchat.collect.export import export_logs

pytestmark = pytest.mark.slow
runner = CliRunner()
STAGES = '--set=pipeline.stages=["consent","roles","privacy","pii"]'


def _peer(client: TestClient, addr: tuple[str, int]) -> TestClient:
    return TestClient(client.app, client=addr, base_url="https://testserver")


def _chat(client: TestClient, message: str, **body: Any) -> dict[str, Any]:
    r = client.post("/api/chat", json={"model": "echo", "message": message, **body})
    assert r.status_code == 200, r.text
    return split_events(parse_sse(r.text))[1]


def _run(args: list[str], env: dict[str, str]) -> Any:
    return runner.invoke(cli, args, env=env, catch_exceptions=False)


def _release_texts(out: Path) -> str:
    return json.dumps(pq.read_table(out / "full").column("conversation").to_pylist(), default=str)


def _curate(old: Path, out: Path, env: dict[str, str], *extra: str) -> dict[str, Any]:
    r = _run(["curate", str(old), "--out", str(out), "--workers", "1", STAGES, *extra], env)
    assert r.exit_code == 0, r.output
    stats: dict[str, Any] = json.loads((out / "stats.json").read_text())
    return stats


def _takedown_stage(stats: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in stats["stages"] if s["name"] == "takedown")


@pytest.fixture
def env(secret_key: str, tmp_path: Path) -> dict[str, str]:
    """The deployment's key as the CLI finds it (the server's secret, here from the environment)."""
    return {
        "WILDCHAT_SECRET_KEY": secret_key,
        "WILDCHAT_LEDGER_KEY": "",
        "WILDCHAT_DATA_DIR": str(tmp_path / "nokeys"),
    }


@pytest.fixture
def world(client: TestClient, db_url: str, tmp_path: Path) -> dict[str, Any]:
    """Two participants, five conversations, and a raw export made before any deletion."""
    assert client.post("/api/consent", json=AGREE).status_code == 200
    other = _peer(client, ("198.51.100.20", 5000))
    assert other.post("/api/consent", json=AGREE).status_code == 200
    convs = {
        "deleted": _chat(client, "participant deletes this rhubarb chat"),
        "leak": _chat(client, "my number is 555-0100, call me"),
        "kept": _chat(client, "an ordinary chat about rivers"),
        "other": _chat(other, "someone else talks about tea"),
        "other2": _chat(other, "someone else talks about coffee"),
    }
    _chat(
        client,
        "rhubarb follow-up",
        conversation_id=convs["deleted"]["conversation_id"],
        parent_id=convs["deleted"]["assistant_turn_id"],
    )
    old = tmp_path / "OLD.jsonl"
    export_logs(db_url, old)
    return {"client": client, "other": other, "convs": convs, "old": old, "db": db_url}


def test_contract_delete_takedown_export_curate(
    world: dict[str, Any], env: dict[str, str], tmp_path: Path
) -> None:
    client, db, old = world["client"], world["db"], world["old"]
    cid = world["convs"]["deleted"]["conversation_id"]
    assert client.delete(f"/api/me/conversations/{cid}").status_code == 204
    r = _run(["takedown", "add", "--db", db, "--text", "555-0100", "--reason", "e-mail request #12"], env)
    assert r.exit_code == 0, r.output
    assert "deleted 1 conversation" in r.output
    ledger = tmp_path / "L.jsonl"
    r = _run(["takedown", "export", "--db", db, "--out", str(ledger)], env)
    assert r.exit_code == 0, r.output
    raw = ledger.read_text()
    assert stat.S_IMODE(ledger.stat().st_mode) == 0o600
    for word in ("rhubarb", "555-0100", "number", "rivers", "tea", cid):
        assert word not in raw
    lines = [json.loads(x) for x in raw.splitlines()]
    assert lines[0]["wildchat_takedown_ledger"] == 1 and len(lines) == 3
    assert {x["cause"] for x in lines[1:]} == {"participant", "takedown"}
    listing = _run(["takedown", "list", "--db", db], env)
    assert listing.exit_code == 0 and "e-mail request #12" in listing.output and "555" not in listing.output
    # export-logs after the deletions holds none of the deleted text
    after = tmp_path / "NOW.jsonl"
    export_logs(db, after)
    assert "rhubarb" not in after.read_text() and "555-0100" not in after.read_text()
    # curating the export made *before* the deletions leaves them out and keeps the rest
    stats = _curate(old, tmp_path / "R", env, "--takedowns", str(ledger))
    stage = _takedown_stage(stats)
    assert stage["dropped"] == {"takedown": 2}
    assert stage["counters"]["matched:conversation"] == 2
    assert stats["release"]["full"] == 3
    texts = _release_texts(tmp_path / "R")
    assert "rhubarb" not in texts and "555-0100" not in texts
    assert "rivers" in texts and "tea" in texts and "coffee" in texts
    card = (tmp_path / "R" / "README.md").read_text()
    assert "takedown" in card and "rhubarb" not in card


def test_exchange_identity_recognises_copies_without_ids(
    world: dict[str, Any], env: dict[str, str], tmp_path: Path
) -> None:
    client, db = world["client"], world["db"]
    cid = world["convs"]["deleted"]["conversation_id"]
    assert client.delete(f"/api/me/conversations/{cid}").status_code == 204
    ledger = tmp_path / "L.jsonl"
    assert _run(["takedown", "export", "--db", db, "--out", str(ledger)], env).exit_code == 0
    stripped = tmp_path / "copy.jsonl"
    records = [json.loads(x) for x in world["old"].read_text().splitlines()]
    for rec in records:
        rec["conversation_id"] = None
        rec["request_id"] = "copy-" + rec["request_id"]
    stripped.write_text("".join(json.dumps(r) + "\n" for r in records))
    stats = _curate(stripped, tmp_path / "R", env, "--takedowns", str(ledger))
    stage = _takedown_stage(stats)
    assert stage["dropped"] == {"takedown": 1}
    assert stage["counters"].get("matched:exchange") == 1
    texts = _release_texts(tmp_path / "R")
    assert "rhubarb" not in texts and "rivers" in texts


def test_hashed_ip_takedown_and_curate_db_applies_the_database_ledger(
    world: dict[str, Any], env: dict[str, str], tmp_path: Path
) -> None:
    client, db = world["client"], world["db"]
    with client.app.state.services.session_factory() as s:  # type: ignore[attr-defined]
        hip = s.scalar(select(TurnRow.hashed_ip).where(TurnRow.content == "someone else talks about tea"))
    assert hip and len(hip) == 64
    r = _run(["takedown", "add", "--db", db, "--hashed-ip", hip, "--reason", "user asked by e-mail"], env)
    assert r.exit_code == 0, r.output
    assert "deleted 2 conversation" in r.output
    with client.app.state.services.session_factory() as s:  # type: ignore[attr-defined]
        assert s.scalar(select(func.count()).select_from(TurnRow).where(TurnRow.hashed_ip == hip)) == 0
        kinds = sorted(s.scalars(select(LedgerRow.kind)))
    assert kinds == ["conversation", "conversation", "hashed_ip"]
    # no --takedowns: `curate --db` applies the database's own ledger to the old export too
    stats = _curate(world["old"], tmp_path / "R", env, "--db", db)
    assert _takedown_stage(stats)["dropped"] == {"takedown": 2}
    texts = _release_texts(tmp_path / "R")
    assert "tea" not in texts and "coffee" not in texts and "rivers" in texts


def test_takedown_of_a_conversation_no_longer_in_the_database(
    world: dict[str, Any], env: dict[str, str], tmp_path: Path
) -> None:
    db = world["db"]
    cid = world["convs"]["kept"]["conversation_id"]
    assert (
        _run(["takedown", "add", "--db", db, "--conversation-id", cid, "--reason", "r1"], env).exit_code == 0
    )
    # --text ignores case, and % or _ in it are literal characters, not wildcards
    r = _run(["takedown", "add", "--db", db, "--text", "SOMEONE ELSE TALKS ABOUT T", "--reason", "r"], env)
    assert r.exit_code == 0 and "deleted 1 conversation" in r.output
    r = _run(["takedown", "add", "--db", db, "--text", "%_", "--reason", "r"], env)
    assert r.exit_code == 0 and "deleted 0 conversation" in r.output
    r = _run(["takedown", "add", "--db", db, "--conversation-id", cid, "--reason", "again"], env)
    assert r.exit_code == 0 and "deleted 0 conversation" in r.output  # gone already: still tombstoned
    ledger = tmp_path / "L.jsonl"
    assert _run(["takedown", "export", "--db", db, "--out", str(ledger)], env).exit_code == 0
    stats = _curate(world["old"], tmp_path / "R", env, "--takedowns", str(ledger))
    assert _takedown_stage(stats)["dropped"] == {"takedown": 2}
    texts = _release_texts(tmp_path / "R")
    assert "rivers" not in texts and "tea" not in texts and "coffee" in texts


def test_bad_input_exits_2_and_deletes_nothing(
    world: dict[str, Any], env: dict[str, str], tmp_path: Path, secret_key: str
) -> None:
    client, db = world["client"], world["db"]

    def turns() -> int:
        with client.app.state.services.session_factory() as s:  # type: ignore[attr-defined]
            return int(s.scalar(select(func.count()).select_from(TurnRow)) or 0)

    before = turns()
    bad = [
        ["takedown", "add", "--db", db, "--text", "", "--reason", "r"],
        ["takedown", "add", "--db", db, "--text", "5", "--reason", "r"],
        ["takedown", "add", "--db", db, "--text", " r ", "--reason", "r"],
        ["takedown", "add", "--db", db, "--text", "rivers", "--conversation-id", "a" * 32, "--reason", "r"],
        ["takedown", "add", "--db", db, "--reason", "r"],
        ["takedown", "add", "--db", db, "--conversation-id", "not-hex", "--reason", "r"],
        ["takedown", "add", "--db", db, "--hashed-ip", "1.2.3.4", "--reason", "r"],
        ["takedown", "add", "--db", db, "--text", "rivers", "--reason", "rivers chat reported"],
        ["takedown", "add", "--db", db, "--text", "rivers", "--reason", "  "],
        ["purge", "--db", db, "--older-than", "-1"],
        ["purge", "--db", db],
    ]
    for args in bad:
        r = _run(args, env)
        assert r.exit_code == 2, (args, r.output)
    assert turns() == before
    # a ledger from another deployment is refused by curate (key mismatch), nothing written
    assert _run(["takedown", "add", "--db", db, "--text", "rivers", "--reason", "r"], env).exit_code == 0
    ledger = tmp_path / "L.jsonl"
    assert _run(["takedown", "export", "--db", db, "--out", str(ledger)], env).exit_code == 0
    foreign = {**env, "WILDCHAT_SECRET_KEY": "another-deployment-" + secret_key}
    r = _run(["curate", str(world["old"]), "--out", str(tmp_path / "R"), "--takedowns", str(ledger)], foreign)
    assert r.exit_code == 2 and "key mismatch" in r.output
    assert not (tmp_path / "R" / "stats.json").exists()
    # and the database's ledger refuses tombstones under another key
    n = turns()
    r = _run(["takedown", "add", "--db", db, "--text", "tea", "--reason", "r"], foreign)
    assert r.exit_code == 2 and "key mismatch" in r.output and turns() == n
    # no key at all: a clear error
    r = _run(
        ["takedown", "add", "--db", db, "--text", "tea", "--reason", "r"], {**env, "WILDCHAT_SECRET_KEY": ""}
    )
    assert r.exit_code == 2 and "no ledger key" in r.output and turns() == n


def test_purge_retention(world: dict[str, Any], env: dict[str, str], tmp_path: Path) -> None:
    client, db = world["client"], world["db"]
    old_ids = [world["convs"][k]["conversation_id"] for k in ("deleted", "other")]
    sf = client.app.state.services.session_factory  # type: ignore[attr-defined]
    with sf.begin() as s:
        from datetime import UTC, datetime, timedelta

        s.execute(
            update(TurnRow)
            .where(TurnRow.conversation_id.in_(old_ids))
            .values(created_at=datetime.now(UTC) - timedelta(days=40))
        )
    r = _run(["purge", "--db", db, "--older-than", "30", "--dry-run"], env)
    assert r.exit_code == 0 and "would delete 2 conversation" in r.output
    with sf() as s:
        assert s.scalar(select(func.count()).select_from(LedgerRow)) == 0
    config = tmp_path / "wildchat.toml"
    config.write_text("retention_days = 30\n")
    r = _run(["purge", "--db", db, "--config", str(config)], env)
    assert r.exit_code == 0 and "deleted 2 conversation" in r.output
    with sf() as s:
        left = set(s.scalars(select(TurnRow.conversation_id)))
        causes = list(s.scalars(select(LedgerRow.cause)))
    assert not left & set(old_ids) and len(left) == 3
    assert causes == ["retention", "retention"]
    r = _run(["purge", "--db", db, "--older-than", "30"], env)
    assert r.exit_code == 0 and "deleted 0 conversation" in r.output
