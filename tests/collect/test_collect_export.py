"""export-logs: stored turns -> raw log v1 that the schema (and `wildchat convert`) read back."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.collect.collect_helpers import AGREE, parse_sse, split_events
from wildchat.cli.main import app as cli
from wildchat.collect.db.models import ConsentRow
from wildchat.collect.export import export_logs
from wildchat.privacy import hmac_ip
from wildchat.schema import Message, RawLog, parse_raw_log

HEADERS = {"user-agent": "Browser/9", "accept-language": "es-ES"}


def scripted_session(client: TestClient) -> list[dict[str, Any]]:
    """consent -> chat -> follow-up -> regenerate the follow-up; returns the final events."""
    client.post("/api/consent", json=AGREE)

    def send(**body: Any) -> dict[str, Any]:
        r = client.post("/api/chat", json={"model": "echo", **body}, headers=HEADERS)
        return split_events(parse_sse(r.text))[1]

    a = send(message="first question")
    b = send(message="follow up", conversation_id=a["conversation_id"], parent_id=a["assistant_turn_id"])
    c = send(message="follow up", conversation_id=a["conversation_id"], parent_id=a["assistant_turn_id"])
    return [a, b, c]


def read_jsonl(path: Path) -> list[RawLog]:
    return [parse_raw_log(json.loads(line)) for line in path.read_text().splitlines()]


def test_export_jsonl_and_parquet(client: TestClient, db_url: str, tmp_path: Path, ip_key: str) -> None:
    finals = scripted_session(client)
    out = tmp_path / "logs.jsonl"
    stats = export_logs(db_url, out)
    assert (stats.records, stats.conversations, stats.incomplete) == (3, 1, 0)
    logs = read_jsonl(out)
    by_id = {json.loads(log.extra["assistant_turn_id"]): log for log in logs}  # type: ignore[index]
    a, b, c = (by_id[f["assistant_turn_id"]] for f in finals)
    assert a.messages == [Message("user", "first question")]
    assert a.response == "You said: first question"
    history = [
        Message("user", "first question"),
        Message("assistant", a.response),
        Message("user", "follow up"),
    ]
    assert b.messages == c.messages == history
    assert b.response == c.response == "You said: follow up"
    assert b.request_id != c.request_id
    with client.app.state.services.session_factory() as s:  # type: ignore[attr-defined]
        consent = s.query(ConsentRow).one()
    for log in logs:
        assert log.conversation_id == finals[0]["conversation_id"]
        assert log.finish_reason == "stop" and log.error is None
        assert log.model == "replay:echo" and json.loads(log.extra["model_name"]) == "echo"  # type: ignore[index]
        assert log.headers == HEADERS
        assert log.ip is None and log.hashed_ip == hmac_ip(ip_key.encode(), "203.0.113.77")
        assert log.consent is not None and (log.consent.id, log.consent.version) == (consent.id, "1")
        assert log.params == {"max_tokens": 512}
        assert log.usage is not None and log.usage["completion_tokens"] == len(log.response.split())
    assert a.timestamp <= b.timestamp <= c.timestamp
    # Parquet holds the same records
    pout = tmp_path / "logs.parquet"
    export_logs(db_url, pout)
    rows = [parse_raw_log(r) for r in pq.read_table(pout).to_pylist()]
    assert sorted(rows, key=lambda r: r.request_id) == sorted(logs, key=lambda r: r.request_id)
    # --since keeps the later exchanges only
    export_logs(db_url, out, since=b.timestamp)
    assert {log.request_id for log in read_jsonl(out)} == {b.request_id, c.request_id}
    export_logs(db_url, out, since=datetime.now(UTC) + timedelta(hours=1))
    assert out.read_text() == ""


def test_partial_and_failed_replies_are_exported(
    make_app: Callable[..., TestClient], db_url: str, tmp_path: Path
) -> None:
    client = make_app(models=["bad=replay:echo?tokens=6&failure_rate=1"])
    client.post("/api/consent", json=AGREE)
    client.post("/api/chat", json={"model": "bad", "message": "hi"})
    out = tmp_path / "logs.jsonl"
    export_logs(db_url, out)
    (log,) = read_jsonl(out)
    assert log.finish_reason == "error" and log.error and "injected failure" in log.error
    assert log.response == "You said: hi"


def test_export_logs_cli(client: TestClient, db_url: str, tmp_path: Path) -> None:
    scripted_session(client)
    out = tmp_path / "cli.jsonl"
    result = CliRunner().invoke(cli, ["export-logs", "--db", db_url, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(read_jsonl(out)) == 3
    bad = CliRunner().invoke(cli, ["export-logs", "--db", db_url, "--out", str(tmp_path / "x.csv")])
    assert bad.exit_code != 0
    bad = CliRunner().invoke(cli, ["export-logs", "--db", db_url, "--out", str(out), "--since", "yesterday"])
    assert bad.exit_code != 0


def test_convert_reads_back_the_same_conversations(
    client: TestClient, db_url: str, tmp_path: Path, ip_key: str
) -> None:
    """The issue's "done" check: scripted session -> export-logs -> `wildchat convert` reader."""
    from wildchat.formats import iter_conversations
    from wildchat.skips import SkipReport

    scripted_session(client)
    out = tmp_path / "logs.jsonl"
    export_logs(db_url, out)
    report = SkipReport()
    convs = list(iter_conversations([out], format="rawlog", report=report))
    assert len(convs) == 1, report.summary()
    (conv,) = convs
    # the regenerated follow-up has the same text as the original (echo), so both branches are this one
    assert [(t.role, t.content) for t in conv.conversation] == [
        ("user", "first question"),
        ("assistant", "You said: first question"),
        ("user", "follow up"),
        ("assistant", "You said: follow up"),
    ]
    assert conv.turn == 2 and conv.model == "replay:echo"
    assert conv.hashed_ip == hmac_ip(ip_key.encode(), "203.0.113.77")
    assert conv.header is not None and conv.header.user_agent == HEADERS["user-agent"]
    assert report.read == 3


def test_admin_http_export_behind_a_token(
    make_app: Callable[..., TestClient], db_url: str, tmp_path: Path
) -> None:
    off = make_app()
    assert off.get("/api/admin/export").status_code == 404  # not configured: does not exist
    token = "t" * 40
    client = make_app(admin_token=token)
    scripted_session(client)
    assert client.get("/api/admin/export").status_code == 401
    assert client.get("/api/admin/export", headers={"authorization": "Bearer " + "x" * 40}).status_code == 401
    auth = {"authorization": f"Bearer {token}"}
    r = client.get("/api/admin/export", headers=auth)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    over_http = [parse_raw_log(json.loads(line)) for line in r.text.splitlines()]
    out = tmp_path / "cli.jsonl"
    export_logs(db_url, out)
    assert over_http == read_jsonl(out) and len(over_http) == 3
    later = client.get(
        "/api/admin/export", params={"since": over_http[1].timestamp.isoformat()}, headers=auth
    )
    assert len(later.text.splitlines()) == 2
    assert client.get("/api/admin/export", params={"since": "soon"}, headers=auth).status_code == 400
