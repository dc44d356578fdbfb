"""The record classes: raw log v1 and the release conversation (see the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ROLES = ("system", "user", "assistant")

#: Role spellings of chat sources and training files -> schema role (look up
#: lowercased).  The one table: every reader and the SFT file reader use it.
ROLE_ALIASES: dict[str, str] = {
    "user": "user",
    "human": "user",
    "prompter": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "chatgpt": "assistant",
    "bing": "assistant",
    "bard": "assistant",
    "model": "assistant",
    "system": "system",
}

#: OpenAI Moderation categories exactly as WildChat-1M stores them: the API
#: answered with both the slash and the underscore spelling, and the release
#: kept both.
OPENAI_MODERATION_CATEGORIES: tuple[str, ...] = (
    "harassment",
    "harassment/threatening",
    "harassment_threatening",
    "hate",
    "hate/threatening",
    "hate_threatening",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "self_harm",
    "self_harm_instructions",
    "self_harm_intent",
    "sexual",
    "sexual/minors",
    "sexual_minors",
    "violence",
    "violence/graphic",
    "violence_graphic",
)

#: Detoxify's seven scores (the ``multilingual``/``unbiased`` heads).
DETOXIFY_LABELS: tuple[str, ...] = (
    "identity_attack",
    "insult",
    "obscene",
    "severe_toxicity",
    "sexual_explicit",
    "threat",
    "toxicity",
)


def _named(name: str, default: Any = None) -> Any:
    """A field whose on-disk name differs from its Python name."""
    return field(default=default, metadata={"name": name})


def _keyed(keys: tuple[str, ...]) -> Any:
    """A ``dict`` field stored as an Arrow struct with exactly these keys."""
    return field(default_factory=dict, metadata={"keys": keys})


def _json() -> Any:
    """A free-form object stored as JSON text (keys vary by backend)."""
    return field(default=None, metadata={"json": True})


# --------------------------------------------------------------------------
# Raw log v1
# --------------------------------------------------------------------------


@dataclass(slots=True)
class Message:
    """One message of the history sent to a model."""

    role: str
    content: str


@dataclass(slots=True)
class Consent:
    """The consent record a request was made under (``None`` = no consent)."""

    id: str
    version: str
    timestamp: datetime


@dataclass(slots=True)
class RawLog:
    """One chat request: the full history sent, and the reply streamed back.

    ``timestamp`` is when the reply finished (UTC).  ``messages`` ends with the
    user's message.  ``ip`` is the raw client IP and must never reach a
    release; ``hashed_ip`` is set instead when the source already
    pseudonymised it.  Fields a source sends that v1 does not know are kept in
    ``extra`` (values JSON-encoded), never dropped.
    """

    request_id: str
    timestamp: datetime
    model: str
    messages: list[Message]
    response: str = ""
    finish_reason: str | None = None
    conversation_id: str | None = None
    ip: str | None = None
    hashed_ip: str | None = None
    country: str | None = None
    state: str | None = None
    headers: dict[str, str] | None = None
    consent: Consent | None = None
    params: dict[str, Any] | None = _json()  # noqa: RUF009 (returns a dataclasses.field)
    usage: dict[str, Any] | None = _json()  # noqa: RUF009
    error: str | None = None
    extra: dict[str, str] | None = None


# --------------------------------------------------------------------------
# Release conversation (WildChat-1M schema + extensions)
# --------------------------------------------------------------------------


@dataclass(slots=True)
class Header:
    """The two request headers WildChat releases."""

    accept_language: str | None = _named("accept-language")
    user_agent: str | None = _named("user-agent")


@dataclass(slots=True)
class Turn:
    """One message of a released conversation.

    User turns carry ``country``/``state``/``hashed_ip``/``header``; assistant
    turns carry ``timestamp`` (when the reply finished).  ``turn_identifier``
    is a stable int64 per exchange, shared by its user and assistant turn.
    ``jailbreak``/``jailbreak_match`` are wildchat extensions (user turns).
    """

    content: str
    role: str
    language: str | None = None
    toxic: bool | None = None
    redacted: bool | None = None
    turn_identifier: int | None = None
    timestamp: datetime | None = None
    country: str | None = None
    state: str | None = None
    hashed_ip: str | None = None
    header: Header | None = None
    jailbreak: bool | None = None
    jailbreak_match: str | None = None


@dataclass(slots=True)
class Moderation:
    """OpenAI Moderation result for one turn."""

    categories: dict[str, bool] = _keyed(OPENAI_MODERATION_CATEGORIES)  # noqa: RUF009
    category_scores: dict[str, float] = _keyed(OPENAI_MODERATION_CATEGORIES)  # noqa: RUF009
    flagged: bool | None = None


@dataclass(slots=True)
class DetoxifyScores:
    """Detoxify's seven scores for one turn (field names are the labels)."""

    identity_attack: float | None = None
    insult: float | None = None
    obscene: float | None = None
    severe_toxicity: float | None = None
    sexual_explicit: float | None = None
    threat: float | None = None
    toxicity: float | None = None


@dataclass(slots=True)
class Conversation:
    """One released conversation, field for field the WildChat-1M schema.

    ``turn`` counts user->assistant exchanges.  ``conversation_hash`` is the
    first 32 hex characters of SHA-256 over the ``[{content, role}]`` list
    after redaction (not unique).  ``conversation_id`` is the wildchat
    extension that *is* unique.  Enrichment fields are ``None`` until a stage
    fills them.  ``openai_moderation``/``detoxify_moderation`` hold one entry
    per turn when present.
    """

    conversation_hash: str
    model: str | None
    timestamp: datetime | None
    conversation: list[Turn]
    turn: int
    language: str | None = None
    openai_moderation: list[Moderation] | None = None
    detoxify_moderation: list[DetoxifyScores] | None = None
    toxic: bool | None = None
    redacted: bool | None = None
    state: str | None = None
    country: str | None = None
    hashed_ip: str | None = None
    header: Header | None = None
    conversation_id: str | None = None
