"""Raw logs with planted PII and secrets, and releases curated from them (audit tests)."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from wildchat.audit.planted import planted
from wildchat.cli.main import app
from wildchat.schema import release_schema, to_row
from wildchat.schema.records import Conversation, Header, Turn

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
CONSENT = {"id": "consent-1", "version": "1", "timestamp": "2024-01-01T00:00:00+00:00"}
FAST = 'pipeline.stages=["consent", "roles", "empty", "privacy"]'
#: values planted in the logs; none may ever appear in an audit report
SECRET = planted("openai_project", 1)[0].value
EMAIL = "ada.lovelace1815@gmail.com"
PHONE = "+44 20 7946 0958"
runner = CliRunner()


def raw_logs(n: int = 12) -> list[dict[str, Any]]:
    """Ordinary requests, plus a secret, an e-mail and a phone number with their cues."""
    texts = [f"question {i}: how do rivers form deltas near coast number {i}?" for i in range(n)]
    texts[1] = f"my key {SECRET} gives 401, why?"
    texts[2] = f"please reply to {EMAIL} when the report is ready"
    texts[3] = f"call me on my phone {PHONE} tomorrow"
    rows = []
    for i, text in enumerate(texts):
        rows.append({
            "request_id": f"req-{i}", "timestamp": (T0 + timedelta(minutes=i)).isoformat(),
            "model": "gpt-4", "messages": [{"role": "user", "content": text}], "response": f"answer {i}",
            "finish_reason": "stop",
            "ip": f"198.51.100.{i % 5 + 1}",
            "headers": {"user-agent": f"Mozilla/5.0 Test/{i % 3}", "accept-language": "en-US,en;q=0.9"},
            "consent": CONSENT,
        })  # fmt: skip
    return rows


def curate(src: Path, out: Path, key: str, *extra: str) -> str:
    res = runner.invoke(
        app, ["curate", str(src), "--out", str(out), "--ip-key", key, "--workers", "1", *extra]
    )
    assert res.exit_code == 0, res.output
    return str(res.output)


def audit(*args: str) -> Any:
    return runner.invoke(app, ["audit", *args])


def write_release(root: Path, conversations: list[Conversation], **stats: Any) -> Path:
    """A hand-made release folder (both splits hold the same rows)."""
    table = pa.Table.from_pylist([to_row(c) for c in conversations], schema=release_schema())
    for split in ("full", "public"):
        (root / split).mkdir(parents=True, exist_ok=True)
        pq.write_table(table, root / split / "part-00000.parquet")
    doc = {"release_format": 2, "wildchat_version": "test", "pii_redacted": True,
           "release": {"full": len(conversations), "public": len(conversations)}, **stats}  # fmt: skip
    (root / "stats.json").write_text(json.dumps(doc), encoding="utf-8")
    return root


def conversation(
    cid: str, turns: list[tuple[str, str]], *, user: str = "u1", ua: str = "UA", lang: str = "en",
    country: str = "France",
) -> Conversation:  # fmt: skip
    header = Header(accept_language=lang, user_agent=ua)
    conv = [
        Turn(content=c, role=r, turn_identifier=zlib.crc32(f"{cid}:{i}".encode()) + 1,
             hashed_ip=user if r == "user" else None, header=header if r == "user" else None,
             country=country if r == "user" else None)
        for i, (r, c) in enumerate(turns)
    ]  # fmt: skip
    return Conversation(conversation_hash="0" * 32, model="gpt-4", timestamp=T0, conversation=conv,
                        turn=sum(r == "user" for r, _ in turns), conversation_id=cid, hashed_ip=user,
                        country=country, header=header)  # fmt: skip
