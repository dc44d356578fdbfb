"""The backend interface: stream a reply to a message history.

A backend turns a history (system/user/assistant messages, ending with the
user's message) into an async stream of :class:`Chunk` objects: text deltas,
and at the end the finish reason and token usage when known.  Backends raise
:class:`BackendError` (or anything else) on failure; the exchange runner
stores whatever was streamed so far with the error text.  Cancellation of the
stream (client gone, timeout) must stop the generation promptly.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from wildchat.schema import Message

__all__ = ["Backend", "BackendError", "Chunk", "GenerationParams"]


class BackendError(RuntimeError):
    """The model failed to produce (the rest of) a reply."""


@dataclass(frozen=True, slots=True)
class GenerationParams:
    """Sampling parameters of one request (``None`` = the backend's default)."""

    max_tokens: int
    temperature: float | None = None
    top_p: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """What is logged as ``params``."""
        out: dict[str, Any] = {"max_tokens": self.max_tokens}
        if self.temperature is not None:
            out["temperature"] = self.temperature
        if self.top_p is not None:
            out["top_p"] = self.top_p
        return out


@dataclass(slots=True)
class Chunk:
    """A piece of a streamed reply."""

    delta: str = ""
    finish_reason: str | None = None
    usage: dict[str, Any] | None = field(default=None)


class Backend(Protocol):
    """What every backend provides."""

    #: backend kind (``openai``, ``local``, ``replay``)
    kind: str
    #: the model id the backend actually runs (logged next to the public name)
    model_id: str

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> AsyncGenerator[Chunk, None]:
        """Stream the reply to ``messages``; the last message is the user's."""
        ...

    async def aclose(self) -> None:
        """Release clients, threads and models (server shutdown)."""
        ...
