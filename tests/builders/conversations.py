"""Raw logs (what ``wildchat serve`` stores) and release conversations, written in the tests.

* :func:`raw_log` -- one raw-log dict; :class:`Logs` collects them and writes JSONL.
* :func:`conversation` -- a release :class:`~wildchat.schema.Conversation` from
  ``(role, content)`` pairs or :class:`~wildchat.schema.Turn` objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from wildchat.schema import Conversation, RawLog, Turn, parse_raw_log

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
CONSENT = {"id": "consent-1", "version": "1", "timestamp": "2024-01-01T00:00:00+00:00"}


def raw_log(
    request_id: str,
    timestamp: datetime,
    texts: Sequence[str],
    reply: str,
    /,
    *,
    ip: str | None = "203.0.113.5",
    ua: str = "Mozilla/5.0 Test",
    lang: str = "en-US",
    model: str = "gpt-4",
    cookie: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One raw log: ``texts`` alternate user/assistant (ending with a user text), ``reply`` answers.

    ``cookie`` adds a ``cookie`` header (which must never reach a release);
    ``extra`` adds or replaces any top-level field (``timestamp`` too).
    """
    roles = ("user", "assistant")
    headers = {"user-agent": ua, "accept-language": lang}
    if cookie is not None:
        headers["cookie"] = cookie
    row: dict[str, Any] = {
        "request_id": request_id,
        "timestamp": timestamp.isoformat(),
        "model": model,
        "messages": [{"role": roles[i % 2], "content": t} for i, t in enumerate(texts)],
        "response": reply,
        "finish_reason": "stop",
        "ip": ip,
        "headers": headers,
        "consent": CONSENT,
    }
    row.update(extra)
    return row


def ts(minutes: float) -> str:
    """``T0`` plus ``minutes``, as the ISO text raw logs carry."""
    return (T0 + timedelta(minutes=minutes)).isoformat()


@dataclass
class Logs:
    """Builds raw-log dicts; ``add(...)`` takes alternating user/assistant texts ending with a user text.

    Log ``n`` is ``req-n`` at ``T0 + n`` minutes unless ``minute`` is given, and
    carries a session cookie.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    n: int = 0

    def add(
        self,
        texts: Sequence[str],
        reply: str,
        *,
        minute: float | None = None,
        ip: str | None = "203.0.113.5",
        ua: str = "Mozilla/5.0 Test",
        lang: str = "en-US",
        model: str = "gpt-4",
        **extra: Any,
    ) -> dict[str, Any]:
        self.n += 1
        when = T0 + timedelta(minutes=self.n if minute is None else minute)
        row = raw_log(
            f"req-{self.n}", when, texts, reply, ip=ip, ua=ua, lang=lang, model=model,
            cookie="session=SECRETCOOKIE", **extra,
        )  # fmt: skip
        self.rows.append(row)
        return row

    def raw_logs(self) -> list[RawLog]:
        return [parse_raw_log(r) for r in self.rows]

    def write(self, path: Path, extra_lines: Iterable[bytes] = ()) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [orjson.dumps(r) for r in self.rows] + list(extra_lines)
        path.write_bytes(b"\n".join(lines) + b"\n")
        return path


def conversation(turns: Sequence[tuple[str, str] | Turn], **fields: Any) -> Conversation:
    """A release conversation from ``(role, content)`` pairs or Turns; ``fields`` set the rest.

    Defaults: ``conversation_hash`` of zeros, no ``model`` or ``timestamp``, and
    ``turn`` = the number of user turns.
    """
    built = [t if isinstance(t, Turn) else Turn(content=t[1], role=t[0]) for t in turns]
    fields.setdefault("conversation_hash", "0" * 32)
    fields.setdefault("model", None)
    fields.setdefault("timestamp", None)
    fields.setdefault("turn", sum(t.role == "user" for t in built))
    return Conversation(conversation=built, **fields)
