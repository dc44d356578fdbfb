"""The OpenAI chat-completions wire format: parsing requests, errors, responses and chunks.

Requests keep what this gateway can honour and refuse, with the OpenAI
error shape, what it cannot: ``n`` other than 1, unknown roles, unknown
content-part types, malformed fields.  Tool and function messages, tool
calls and non-text parts (images, audio, files) are not supported by the
collection backends: each becomes a visible marker
``[unsupported content: KIND]`` in the message text -- what the model sees
and what is logged, so nothing is silently dropped -- and is counted
(:attr:`ChatCompletionRequest.unsupported`).  ``tool`` / ``function``
messages become ``user`` messages carrying the marker (they are input from
the client's side; the raw log schema knows only system/user/assistant).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi.responses import JSONResponse

from wildchat.collect.errors import ApiError
from wildchat.collect.refusals import TurnLimit
from wildchat.schema import Message

__all__ = [
    "ChatCompletionRequest",
    "ParseLimits",
    "chunk",
    "completion",
    "marker",
    "openai_error",
    "parse_request",
]

_TEXT_PARTS = frozenset({"text", "input_text"})
_UNSUPPORTED_PARTS = frozenset(
    {"image_url", "input_image", "image", "input_audio", "audio", "file", "refusal"}
)
_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
_TOOL_ROLES = frozenset({"tool", "function"})
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
}


def marker(kind: str) -> str:
    """The text that stands in for content the gateway cannot carry (``kind`` is a part type or role)."""
    return f"[unsupported content: {kind}]"


def openai_error(status: int, code: str, message: str, retry_after: int | None = None) -> JSONResponse:
    """``{"error": {"message", "type", "param", "code"}}`` with ``status`` (and ``Retry-After`` on 429)."""
    kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Bounds of one request."""

    max_messages: int
    max_message_chars: int
    max_turns: int


@dataclass
class ChatCompletionRequest:
    """A validated request: text-only messages (markers in place of unsupported parts) and options."""

    model: str
    messages: list[Message]
    unsupported: int = 0
    stream: bool = False
    include_usage: bool = False
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)


def _bad(message: str, code: str = "invalid_request") -> ApiError:
    return ApiError(400, code, message)


def _check_text(text: str, where: str, limit: int) -> str:
    if len(text) > limit:
        raise ApiError(413, "message_too_long", f"{where}: longer than {limit} characters")
    if "\x00" in text:
        raise _bad(f"{where}: contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _bad(f"{where}: not valid Unicode text", "invalid_utf8") from exc
    return text


def _content(value: Any, where: str) -> tuple[list[str], int]:
    """Text pieces of one message's ``content`` and how many unsupported parts it had."""
    if value is None:
        return [], 0
    if isinstance(value, str):
        return [value], 0
    if not isinstance(value, list):
        raise _bad(f"{where}.content: expected a string or a list of content parts")
    pieces: list[str] = []
    unsupported = 0
    for j, part in enumerate(value):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in _TEXT_PARTS and isinstance(part.get("text"), str):
            pieces.append(part["text"])
        elif kind in _UNSUPPORTED_PARTS:
            pieces.append(marker(str(kind)))
            unsupported += 1
        else:
            raise _bad(f"{where}.content[{j}]: unknown content part type", "invalid_content_part")
    return pieces, unsupported


def _message(raw: Any, i: int, limit: int) -> tuple[Message, int]:
    where = f"messages[{i}]"
    if not isinstance(raw, dict):
        raise _bad(f"{where}: expected an object")
    role = raw.get("role")
    if not isinstance(role, str) or (role not in _ROLES and role not in _TOOL_ROLES):
        raise _bad(
            f"{where}.role: expected system, developer, user, assistant, tool or function", "invalid_role"
        )
    if role in _TOOL_ROLES:
        return Message(role="user", content=marker(f"{role} message")), 1
    pieces, unsupported = _content(raw.get("content"), where)
    if role == "assistant":
        for name in ("tool_calls", "function_call"):
            if raw.get(name):
                pieces.append(marker(name))
                unsupported += 1
    if not pieces:
        raise _bad(f"{where}.content: missing")
    text = _check_text("\n".join(pieces) if len(pieces) > 1 else pieces[0], where, limit)
    return Message(role=_ROLES[role], content=text), unsupported


def _number(
    body: dict[str, Any], name: str, low: float, high: float, *, low_open: bool = False
) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(f"{name}: expected a number")
    if value > high or value < low or (low_open and value == low):
        raise _bad(f"{name}: out of range")
    return float(value)


def _options(body: dict[str, Any], req: ChatCompletionRequest) -> None:
    n = body.get("n")
    if n is not None and (isinstance(n, bool) or n != 1):
        raise _bad("n: only n = 1 is supported", "unsupported_parameter")
    stream = body.get("stream", False)
    if not isinstance(stream, bool | None):
        raise _bad("stream: expected a boolean")
    req.stream = bool(stream)
    options = body.get("stream_options")
    if options is not None:
        if not isinstance(options, dict) or not isinstance(options.get("include_usage", False), bool):
            raise _bad("stream_options: expected {include_usage: boolean}")
        req.include_usage = bool(options.get("include_usage", False))
    req.temperature = _number(body, "temperature", 0.0, 2.0)
    req.top_p = _number(body, "top_p", 0.0, 1.0, low_open=True)
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise _bad(f"{name}: expected a positive integer")
            req.max_tokens = value if req.max_tokens is None else min(req.max_tokens, value)
    stop = body.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if stop is not None:
        if not isinstance(stop, list) or len(stop) > 4 or not all(isinstance(s, str) and s for s in stop):
            raise _bad("stop: expected a string or up to 4 non-empty strings")
        req.stop = stop


def parse_request(body: Any, limits: ParseLimits) -> ChatCompletionRequest:
    """Validate a decoded body; nothing echoed in errors.

    :class:`ApiError` 400/413 with a clear message for a malformed body,
    :class:`~wildchat.collect.refusals.TurnLimit` past the turn limit.
    """
    if not isinstance(body, dict):
        raise _bad("body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("model: required string")
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise _bad("messages: expected a non-empty list")
    if len(raw) > limits.max_messages:
        raise _bad(f"messages: more than {limits.max_messages} messages", "too_many_messages")
    messages: list[Message] = []
    unsupported = 0
    for i, item in enumerate(raw):
        message, count = _message(item, i, limits.max_message_chars)
        messages.append(message)
        unsupported += count
    if messages[-1].role != "user":
        raise _bad("messages: the last message must be the user's (or a tool result)")
    if not messages[-1].content.strip():
        raise _bad("messages: the last user message is empty", "empty_message")
    if sum(m.role == "user" for m in messages) > limits.max_turns:
        raise TurnLimit(f"this conversation reached its limit of {limits.max_turns} turns")
    req = ChatCompletionRequest(model=model, messages=messages, unsupported=unsupported)
    _options(body, req)
    return req


def new_completion_id() -> tuple[str, int]:
    """``(chatcmpl-..., created unix time)`` of one response."""
    return f"chatcmpl-{uuid.uuid4().hex}", int(time.time())


def completion(
    cid: str, created: int, model: str, text: str, finish: str, usage: dict[str, int]
) -> dict[str, Any]:
    """A non-streamed ``chat.completion`` object."""
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": usage,
    }


def chunk(
    cid: str,
    created: int,
    model: str,
    delta: dict[str, Any] | None,
    finish: str | None = None,
    *,
    usage: dict[str, int] | None = None,
    with_usage: bool = False,
) -> bytes:
    """One ``chat.completion.chunk`` SSE event; ``delta=None`` is the usage-only chunk (no choices)."""
    obj: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}
    obj["choices"] = (
        [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    )
    if with_usage:
        obj["usage"] = usage
    return b"data: " + orjson.dumps(obj) + b"\n\n"
