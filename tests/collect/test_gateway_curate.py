"""Gateway exchanges curate into the same release as page traffic (a mixed raw export)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.collect.collect_helpers import AGREE, parse_sse, split_events
from wildchat.cli.main import app as cli
from wildchat.collect.export import export_logs

pytestmark = pytest.mark.slow
STAGES = '--set=pipeline.stages=["consent","roles","privacy","pii"]'


def _v1(client: TestClient, key: str, messages: list[dict[str, str]]) -> str:
    r = client.post(
        "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "echo", "messages": messages},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["choices"][0]["message"]["content"])


def test_mixed_export_curates_into_one_release(
    client: TestClient, db_url: str, tmp_path: Path, secret_key: str
) -> None:
    assert client.post("/api/consent", json=AGREE).status_code == 200
    # page traffic: a two-turn conversation
    r = client.post("/api/chat", json={"model": "echo", "message": "page question one"})
    final = split_events(parse_sse(r.text))[1]
    r = client.post(
        "/api/chat",
        json={"model": "echo", "message": "page question two", "conversation_id": final["conversation_id"]},
    )
    assert r.status_code == 200
    # gateway traffic: an app's two-turn chat, the history re-sent each time
    key = client.post("/api/keys").json()["key"]
    history = [{"role": "user", "content": "app question one"}]
    history.append({"role": "assistant", "content": _v1(client, key, history)})
    history.append({"role": "user", "content": "app question two"})
    last = _v1(client, key, history)

    raw = tmp_path / "mixed.jsonl"
    assert export_logs(db_url, raw).records == 4
    sources = [json.loads(line).get("extra", {}).get("source") for line in raw.read_text().splitlines()]
    assert sorted(s or "page" for s in sources) == ['"gateway"', '"gateway"', "page", "page"]

    out = tmp_path / "R"
    env = {
        "WILDCHAT_SECRET_KEY": secret_key,
        "WILDCHAT_LEDGER_KEY": "",
        "WILDCHAT_DATA_DIR": str(tmp_path / "k"),
    }
    res = CliRunner().invoke(cli, ["curate", str(raw), "--out", str(out), "--workers", "1", STAGES], env=env)
    assert res.exit_code == 0, res.output
    rows: list[dict[str, Any]] = pq.read_table(out / "full").to_pylist()
    assert len(rows) == 2  # each chat is one release conversation: exchanges linked, not one per request
    by_first = {row["conversation"][0]["content"]: row for row in rows}
    app_conv = by_first["app question one"]
    page_conv = by_first["page question one"]
    assert app_conv["turn"] == page_conv["turn"] == 2
    assert [(t["role"], t["content"]) for t in app_conv["conversation"]] == [
        *[(m["role"], m["content"]) for m in history],
        ("assistant", last),
    ]
    assert set(app_conv) == set(page_conv)  # one release schema for both sources
