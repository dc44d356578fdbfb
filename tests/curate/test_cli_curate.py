"""`wildchat curate` through Typer's CliRunner, including --db from the collection server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.builders.conversations import Logs
from tests.curate.curate_helpers import STAGES, read_full, texts
from wildchat.cli.main import app
from wildchat.privacy import hmac_ip, rekey_hash

runner = CliRunner()
PIPE = f"pipeline.stages={list(STAGES)!r}"
UNSAFE = "--allow-unredacted"  # STAGES has no pii stage


def test_list_stages() -> None:
    res = runner.invoke(app, ["curate", "--list-stages"])
    assert res.exit_code == 0, res.output
    for name in ("consent", "roles", "empty", "date_window", "holdout", "dev_accounts", "privacy"):
        assert f"* {name}:" in res.output
    assert "roles.mode = 'drop'" in res.output and "link (always first" in res.output


def test_run_with_config_file_and_set(logs: Logs, tmp_path: Path) -> None:
    logs.add(["a"], "b", ip="203.0.113.1", minute=1)
    logs.add(["a"], "c", ip="203.0.113.1", minute=2)  # regeneration: a branch
    src = logs.write(tmp_path / "in" / "x.jsonl")
    cfg = tmp_path / "curate.toml"
    cfg.write_text('[link]\nbranches = "longest"\n[executor]\nworkers = 1\n[stages.roles]\nmode = "repair"\n')
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "curate",
            str(tmp_path / "in" / "*.jsonl"),
            "--out",
            str(out),
            "--config",
            str(cfg),
            "--ip-key",
            "k",
            "--set",
            "empty.require_reply=true",
            "--set",
            PIPE,
            "--allow-unredacted",  # PIPE has no pii stage
        ],
    )
    assert res.exit_code == 0, res.output
    assert "wrote 1 conversations" in res.output
    assert [texts(r) for r in read_full(out)] == [[("user", "a"), ("assistant", "c")]]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["link"]["dropped"] == {"branch_shorter": 1}
    assert {s["name"]: s["config"] for s in stats["stages"]}["roles"]["mode"] == "repair"
    assert src.exists()


def test_cli_errors(tmp_path: Path) -> None:
    res = runner.invoke(app, ["curate", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "missing.jsonl" in res.output
    res = runner.invoke(app, ["curate", str(tmp_path), "--out", str(tmp_path / "o"), "--set", "roles.mdoe=1"])
    assert res.exit_code == 2 and "unknown config key" in res.output
    res = runner.invoke(
        app, ["curate", str(tmp_path), "--out", str(tmp_path / "o"), "--set", 'link.branches="x"']
    )
    assert res.exit_code == 2 and "link.branches" in res.output
    res = runner.invoke(app, ["curate", "--out", str(tmp_path / "o")])
    assert res.exit_code != 0
    # the enrichment shortcuts pass through to their stages' config (validated even outside the pipeline)
    res = runner.invoke(
        app, ["curate", str(tmp_path), "--out", str(tmp_path / "o"), "--jailbreak-library", "nope.jsonl"]
    )
    assert res.exit_code == 2 and "library_path" in res.output


def test_curate_from_the_collection_database(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from wildchat.collect.app import create_app
    from wildchat.collect.settings import load_settings

    db = f"sqlite:///{tmp_path / 'collect.db'}"
    secret = "collect-secret-key-for-tests-0123456789abcdef"
    ip_key = "collect-ip-pseudonym-key-for-tests-0123456789"
    settings = load_settings(
        None,
        data_dir=tmp_path / "data",
        database_url=db,
        secret_key=secret,
        ip_key=ip_key,
        models=["echo=replay"],
        rate_limit_per_minute=1000,
    )
    headers = {"user-agent": "Browser/9", "accept-language": "es-ES"}
    peer = ("203.0.113.77", 50123)
    with TestClient(create_app(settings), client=peer, base_url="https://testserver") as client:
        assert (
            client.post("/api/consent", json={"agree": True, "confirm": True, "version": "1"}).status_code
            < 300
        )

        def send(**body: object) -> dict[str, object]:
            r = client.post("/api/chat", json={"model": "echo", **body}, headers=headers)
            final = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: {")][-1]
            return dict(final)

        a = send(message="first question")
        send(message="follow up", conversation_id=a["conversation_id"], parent_id=a["assistant_turn_id"])
        send(message="follow up", conversation_id=a["conversation_id"], parent_id=a["assistant_turn_id"])
    out = tmp_path / "release"
    res = runner.invoke(
        app,
        ["curate", "--db", db, "--out", str(out), "--ip-key", "rel", "--workers", "1", "--set", PIPE, UNSAFE],
    )
    assert res.exit_code == 0, res.output
    (conv,) = read_full(out)
    assert texts(conv) == [
        ("user", "first question"),
        ("assistant", "You said: first question"),
        ("user", "follow up"),
        ("assistant", "You said: follow up"),
    ]
    assert conv["hashed_ip"] == rekey_hash(b"rel", hmac_ip(ip_key.encode(), "203.0.113.77"))
    assert conv["header"] == {"accept-language": "es-ES", "user-agent": "Browser/9"}
    stats = json.loads((out / "stats.json").read_text())
    assert stats["link"]["dropped"] == {"duplicate_log": 1, "prefix_log": 1}
    assert stats["inputs"]["database"] is True and stats["inputs"]["files"] == 1  # counts, no paths
    assert not list(tmp_path.glob("**/db-export.jsonl"))
    # resume works for a database input too (the temporary export is fingerprinted by content)
    res = runner.invoke(
        app,
        ["curate", "--db", db, "--out", str(out), "--ip-key", "rel", "--workers", "1", "--set", PIPE, UNSAFE],
    )
    assert res.exit_code == 0 and "1 resumed" in res.output


@pytest.mark.slow
def test_convert_rawlog_uses_the_linker(logs: Logs, tmp_path: Path) -> None:
    logs.add(["q1"], "a1", minute=1)
    logs.add(["q1", "a1", "q2"], "a2", minute=2)
    src = logs.write(tmp_path / "logs.jsonl")
    from wildchat.curate.link.logs import read_conversations
    from wildchat.skips import SkipReport

    report = SkipReport()
    convs = list(read_conversations([src], report))
    assert [len(c.conversation) for c in convs] == [4] and report.skipped["prefix_log"] == 1
