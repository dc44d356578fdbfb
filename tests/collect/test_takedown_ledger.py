"""The ledger format and its key: clear refusals, stable keyed hashes, a working curator key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wildchat.cli.main import app as cli
from wildchat.ledger import LedgerEntry, LedgerError, LedgerKey, read_ledger, resolve_ledger_key, write_ledger

SECRET = "a-deployment-secret-key-of-at-least-32-chars"


def _entry(key: LedgerKey) -> LedgerEntry:
    return LedgerEntry(
        kind="conversation",
        cause="participant",
        created_at="2026-12-03T00:00:00+00:00",
        key_fingerprint=key.fingerprint,
        conversation_hash=key.conversation_hash("c" * 32),
        exchange_hashes=[key.exchange_hash("ab" * 32, ["user"], ["hello"], "hi there")],
    )


def test_hashes_are_keyed_and_unambiguous() -> None:
    a, b = LedgerKey.from_secret(SECRET.encode()), LedgerKey.from_secret(b"x" + SECRET.encode())
    assert a.key != SECRET.encode() and len(a.key) == 32
    assert a.conversation_hash("c1") != b.conversation_hash("c1")
    assert a.fingerprint != b.fingerprint and len(a.fingerprint) == 32
    h = a.exchange_hash
    assert h("ip", ["user"], ["ab"], "c") != h("ip", ["user"], ["a"], "bc")  # length-prefixed fields
    assert h("ip", ["user"], ["a"], "b") != h("other", ["user"], ["a"], "b")
    assert h("ip", ["user"], ["a"], "b") != h("ip", ["system"], ["a"], "b")
    hasher = a.exchange_hasher()  # the incremental form the curate stage uses agrees
    hasher.add("user", "q1")
    first = hasher.exchange("ip", "r1")
    hasher.add("assistant", "r1")
    hasher.add("user", "q2")
    assert first == h("ip", ["user"], ["q1"], "r1")
    assert hasher.exchange("ip", "r2") == h("ip", ["user", "assistant", "user"], ["q1", "r1", "q2"], "r2")


def test_ledger_file_round_trip_and_refusals(tmp_path: Path) -> None:
    key = LedgerKey.from_secret(SECRET.encode())
    path = tmp_path / "l.jsonl"
    assert write_ledger(path, [_entry(key)], key.fingerprint) == 1
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = read_ledger([path], key)
    assert key.conversation_hash("c" * 32) in loaded.conversations and len(loaded.exchanges) == 1
    other = LedgerKey.from_secret(b"another-deployment-secret-key-000000")
    with pytest.raises(LedgerError, match="key mismatch"):
        read_ledger([path], other)
    empty = tmp_path / "empty.jsonl"
    write_ledger(empty, [], key.fingerprint)
    with pytest.raises(LedgerError, match="key mismatch"):
        read_ledger([empty], other)
    bad = tmp_path / "bad.jsonl"
    for content, message in [
        ("", "not a takedown ledger"),
        ('{"rows": 1}\n', "not a takedown ledger"),
        (path.read_text() + "{oops\n", "invalid JSON"),
        (path.read_text() + '{"kind": "text", "text": "secret"}\n', "not a ledger entry"),
        (path.read_text() + '{"kind": "conversation", "exchange_hashes": ["short"]}\n', "64-hex"),
    ]:
        bad.write_text(content)
        with pytest.raises(LedgerError, match=message):
            read_ledger([bad], key)
    with pytest.raises(LedgerError, match="cannot read ledger"):
        read_ledger([tmp_path / "missing.jsonl"], key)


def test_key_resolution_order(tmp_path: Path) -> None:
    derived = LedgerKey.from_secret(SECRET.encode())
    assert resolve_ledger_key(env={"WILDCHAT_SECRET_KEY": SECRET}) == derived
    assert (
        resolve_ledger_key(env={"WILDCHAT_LEDGER_KEY": derived.key.hex(), "WILDCHAT_SECRET_KEY": "x" * 40})
        == derived
    )
    (tmp_path / "secret.key").write_text(SECRET + "\n")
    assert resolve_ledger_key(env={"WILDCHAT_DATA_DIR": str(tmp_path)}) == derived
    config = tmp_path / "wildchat.toml"
    config.write_text(f'[server]\nsecret_key = "{SECRET}"\n')
    assert resolve_ledger_key(config, env={"WILDCHAT_DATA_DIR": str(tmp_path / "none")}) == derived
    with pytest.raises(LedgerError, match="64 hex"):
        resolve_ledger_key(env={"WILDCHAT_LEDGER_KEY": "zz"})
    with pytest.raises(LedgerError, match="no ledger key"):
        resolve_ledger_key(env={"WILDCHAT_DATA_DIR": str(tmp_path / "none")})


def test_takedown_key_command_gives_the_curator_key_not_the_secret(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        cli, ["takedown", "key"], env={"WILDCHAT_SECRET_KEY": SECRET, "WILDCHAT_LEDGER_KEY": ""}
    )
    assert r.exit_code == 0
    printed = r.output.strip()
    assert printed == LedgerKey.from_secret(SECRET.encode()).key.hex() and SECRET not in printed
    # a curator holding only that key can use a ledger written under the secret
    key = LedgerKey(bytes.fromhex(printed))
    path = tmp_path / "l.jsonl"
    write_ledger(path, [_entry(LedgerKey.from_secret(SECRET.encode()))], key.fingerprint)
    assert (
        len(read_ledger([path], resolve_ledger_key(env={"WILDCHAT_LEDGER_KEY": printed})).conversations) == 1
    )
    assert json.loads(path.read_text().splitlines()[0])["key_fingerprint"] == key.fingerprint
