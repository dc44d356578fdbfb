"""Real conversations replayed as raw logs: two keys share no id and no pseudonym (`make eval`).

The LMSYS-Chat-1M sample's multi-turn conversations and the WildChat
first-turn sample are turned into raw logs the way a
collector writes them (one log per exchange, carrying the history; one
made-up documentation-range IP and browser per conversation, half of the
sessions with a collector conversation id), curated twice under different
keys and once more under the first key.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.builders.conversations import raw_log
from tests.curate.curate_helpers import STAGES, read_full
from wildchat.cli.main import app
from wildchat.formats import iter_conversations

pytestmark = pytest.mark.realdata
runner = CliRunner()
T0 = datetime(2024, 5, 1, tzinfo=UTC)


def _replay(sources: list[Path], out: Path) -> int:
    n_logs = 0
    with out.open("w", encoding="utf-8") as fh:
        for i, conv in enumerate(iter_conversations(sources)):
            turns = [t for t in conv.conversation if t.role in ("user", "assistant")]
            history: list[dict[str, str]] = []
            for k in range(0, len(turns) - 1, 2):
                user, reply = turns[k], turns[k + 1]
                if user.role != "user" or reply.role != "assistant":
                    break
                history.append({"role": "user", "content": user.content})
                log = raw_log(
                    f"r{i}-{k}", T0 + timedelta(minutes=i * 10 + k),
                    [m["content"] for m in history], reply.content,
                    ip=f"198.51.100.{i % 250 + 1}" if i % 4 else f"2001:db8::{i:x}",
                    ua=f"Mozilla/5.0 Browser/{i % 7}", model=conv.model or "unknown",
                )  # fmt: skip
                if i % 2:
                    log["conversation_id"] = f"collector-{i}"
                fh.write(json.dumps(log) + "\n")
                n_logs += 1
                history.append({"role": "assistant", "content": reply.content})
    return n_logs


def _ids(out: Path) -> tuple[set[str], set[int], set[str]]:
    conv_ids, turn_ids, hashed = set(), set(), set()
    for row in read_full(out):
        conv_ids.add(row["conversation_id"])
        hashed.update(h for h in [row["hashed_ip"], *(t["hashed_ip"] for t in row["conversation"])] if h)
        turn_ids.update(t["turn_identifier"] for t in row["conversation"])
    return conv_ids, turn_ids, hashed


def test_real_conversations_under_two_keys_share_nothing(shared_data: Path, tmp_path: Path) -> None:
    sources = [
        shared_data / "lmsys_chat_1m_sample191" / "lmsys_1000.jsonl",
        shared_data / "wildchat_firstturn" / "wildchat_clean_1335rows.parquet",
    ]
    logs = tmp_path / "logs.jsonl"
    assert _replay(sources, logs) > 1500
    pipe = ["--set", f"pipeline.stages={list(STAGES)!r}", "--allow-unredacted", "--workers", "1"]
    for name, key in (("A", "K1"), ("B", "K2"), ("A2", "K1")):
        res = runner.invoke(app, ["curate", str(logs), "--out", str(tmp_path / name), "--ip-key", key, *pipe])
        assert res.exit_code == 0, res.output
    a, b, a2 = (_ids(tmp_path / n) for n in ("A", "B", "A2"))
    n = len(read_full(tmp_path / "A"))
    assert n >= 1000 and len(a[0]) == n and len(a[1]) > n
    assert a[0].isdisjoint(b[0]) and a[1].isdisjoint(b[1]) and a[2].isdisjoint(b[2])
    assert a == a2
    stats = json.loads((tmp_path / "A" / "stats.json").read_text())
    assert stats["release"]["full"] == n
