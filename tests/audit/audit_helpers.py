"""Raw logs with planted PII and secrets, and releases curated from them (audit tests)."""

from __future__ import annotations

import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tests.builders import releases
from tests.builders.conversations import T0, raw_log
from tests.builders.conversations import conversation as build_conversation
from wildchat.audit.planted import planted
from wildchat.cli.main import app
from wildchat.schema.records import Conversation, Header, Turn

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
        when = T0 + timedelta(minutes=i)
        rows.append(raw_log(f"req-{i}", when, [text], f"answer {i}", ip=f"198.51.100.{i % 5 + 1}",
                            ua=f"Mozilla/5.0 Test/{i % 3}", lang="en-US,en;q=0.9"))  # fmt: skip
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
    """A hand-made release folder (both splits hold the same rows) with an audit-ready ``stats.json``."""
    doc = {"release_format": 2, "wildchat_version": "test", "pii_redacted": True,
           "release": {"full": len(conversations), "public": len(conversations)}, **stats}  # fmt: skip
    return releases.write_release(root, conversations, stats=doc)


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
    return build_conversation(conv, model="gpt-4", timestamp=T0, conversation_id=cid, hashed_ip=user,
                              country=country, header=header)  # fmt: skip
