"""The ``replay`` backend: deterministic replies for tests, demos and load tests.

Two modes:

* **echo** (default): the reply is ``You said: <message>``, streamed word by
  word.  With ``tokens=N`` the reply is exactly N words (the echo text
  repeated or cut), so a load test controls the reply size.
* **file**: ``arg`` names a JSONL file of recorded exchanges (raw log v1
  lines, or any objects with ``messages`` and ``response``).  A request whose
  last user message matches a recorded one gets that response; any other gets
  a recorded response chosen by a stable hash of the message.

Options: ``delay_ms`` (pause before each token), ``tokens`` (echo length),
``failure_rate`` (0..1: that share of calls fail half-way with a
:class:`BackendError`, for robustness benchmarks), ``tick_ms`` (default 10).

Timing: token *i* is never yielded before ``(i + 1) * delay_ms`` after the
call, and the first token comes exactly then; later tokens that fall due
within the same ``tick_ms`` are yielded together after one wake-up, the way a
network stream delivers several tokens per read.  Without this a load test
would mostly measure the event loop's timer heap (one ``sleep`` per token).
"""

from __future__ import annotations

import asyncio
import json
import random
import zlib
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from typing import Any

from wildchat.collect.backends.base import BackendError, Chunk, GenerationParams
from wildchat.schema import Message

__all__ = ["ReplayBackend", "echo_words", "load_recordings"]


def echo_words(message: str, tokens: int | None) -> list[str]:
    """The words of the echo reply (``tokens`` words exactly when given)."""
    words = f"You said: {message}".split() or ["You", "said:"]
    if tokens is None:
        return words
    return [words[i % len(words)] for i in range(tokens)]


def load_recordings(path: Path) -> tuple[dict[str, str], list[str]]:
    """``(last user message -> response, all responses)`` from a JSONL file."""
    by_prompt: dict[str, str] = {}
    responses: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            obj = json.loads(line)
            messages = obj.get("messages") or []
            response = obj.get("response")
            if not isinstance(response, str) or not messages:
                continue
            users = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
            if users and isinstance(users[-1], str):
                by_prompt.setdefault(users[-1], response)
            responses.append(response)
    if not responses:
        raise ValueError(f"replay file {path.name} holds no recorded responses")
    return by_prompt, responses


class ReplayBackend:
    """Echo or recorded replies, with optional delay and injected failures."""

    kind = "replay"

    def __init__(self, arg: str | None, options: dict[str, Any]) -> None:
        self.delay_s = float(options.get("delay_ms", 0)) / 1000.0
        self.tick_s = float(options.get("tick_ms", 10)) / 1000.0
        self.tokens = int(options["tokens"]) if options.get("tokens") not in (None, "") else None
        self.failure_rate = float(options.get("failure_rate", 0.0))
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ValueError("replay failure_rate must be within 0..1")
        self._rng = random.Random(options.get("seed"))
        self._recorded: tuple[dict[str, str], list[str]] | None = None
        if arg and arg != "echo":
            path = Path(arg)
            self._recorded = load_recordings(path)
            self.model_id = f"replay:{path.name}"
        else:
            self.model_id = "replay:echo"

    def _reply_words(self, message: str) -> list[str]:
        if self._recorded is None:
            return echo_words(message, self.tokens)
        by_prompt, responses = self._recorded
        text = by_prompt.get(message)
        if text is None:
            text = responses[zlib.crc32(message.encode("utf-8")) % len(responses)]
        return text.split(" ")

    async def stream(
        self, messages: Sequence[Message], params: GenerationParams
    ) -> AsyncGenerator[Chunk, None]:
        full = self._reply_words(messages[-1].content)
        words = full[: params.max_tokens]
        fail_at = len(words) // 2 if self._rng.random() < self.failure_rate else None
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i, word in enumerate(words):
            if i == fail_at:
                raise BackendError("replay: injected failure")
            if self.delay_s:
                wait = start + (i + 1) * self.delay_s - loop.time()
                if wait > 0:  # not due yet: sleep until it is, and at least one tick after the first token
                    await asyncio.sleep(wait if i == 0 else max(wait, self.tick_s))
            yield Chunk(delta=word if i == 0 else " " + word)
        if fail_at is not None:  # zero-length replies fail too
            raise BackendError("replay: injected failure")
        prompt = sum(len(m.content.split()) for m in messages)
        finish = "length" if len(full) > len(words) else "stop"
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": len(words),
            "total_tokens": prompt + len(words),
        }
        yield Chunk(finish_reason=finish, usage=usage)

    async def aclose(self) -> None:
        return None
