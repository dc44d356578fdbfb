"""OpenAI-compatible endpoints: the ``NAME=URL#MODEL`` syntax and a chat client.

Syntax (documented in docs/training.md)::

    NAME=URL#MODEL      e.g.  smol=http://127.0.0.1:8080/v1#smollm2
    URL#MODEL           name defaults to MODEL ('/' and other odd characters -> '_')
    NAME=URL            model defaults to NAME

``URL`` is the API base (with ``/v1`` for most servers).  ``NAME`` labels the
answers (``answers/NAME.jsonl``) and summary rows, so it must be a plain file
name (letters, digits, ``._-``).

:class:`ChatClient` wraps the official ``openai`` SDK: it retries 429, 5xx
and connection errors with the SDK's exponential backoff (``max_retries``;
the server's ``retry-after`` is honoured) and turns every failure that is
left into :class:`ChatError` with a short reason code, so callers count it
as a skip instead of crashing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
NO_KEY = "EMPTY"  # local servers (vLLM, llama.cpp) accept any key; the SDK insists on one


class EndpointSyntaxError(ValueError):
    """An endpoint spec that does not follow ``NAME=URL#MODEL``."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where to send chat completions, and under which name to report them."""

    name: str
    base_url: str
    model: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "base_url": self.base_url, "model": self.model}


def parse_endpoint(spec: str) -> Endpoint:
    """Parse ``[NAME=]URL[#MODEL]``; raises :class:`EndpointSyntaxError` naming the problem."""
    rest = spec.strip()
    name: str | None = None
    head, sep, tail = rest.partition("=")
    if sep and not head.startswith(("http://", "https://")):
        name, rest = head.strip(), tail.strip()
    url, _, model = rest.partition("#")
    url, model = url.strip().rstrip("/"), model.strip()
    if not url.startswith(("http://", "https://")):
        raise EndpointSyntaxError(f"{spec!r}: URL must start with http:// or https:// (NAME=URL#MODEL)")
    if not name and not model:
        raise EndpointSyntaxError(f"{spec!r}: give a model (URL#MODEL) or a name (NAME=URL)")
    model = model or name or ""
    name = name or re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_.-")
    if not _NAME.match(name):
        raise EndpointSyntaxError(f"{spec!r}: name {name!r} must be letters, digits, '.', '_' or '-'")
    return Endpoint(name=name, base_url=url, model=model)


class ChatError(RuntimeError):
    """A chat completion that failed after retries; ``reason`` is a short code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """Client behaviour shared by every call of one run."""

    api_key_env: str = "OPENAI_API_KEY"
    max_retries: int = 3
    timeout_s: float = 120.0


class ChatClient:
    """Non-streaming chat completions against one endpoint; thread-safe."""

    def __init__(self, endpoint: Endpoint, settings: ChatSettings) -> None:
        from openai import OpenAI

        self.endpoint = endpoint
        key = os.environ.get(settings.api_key_env) or NO_KEY
        self._client = OpenAI(
            base_url=endpoint.base_url,
            api_key=key,
            max_retries=settings.max_retries,
            timeout=settings.timeout_s,
        )

    def complete(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        temperature: float,
        max_tokens: int,
        seed: int | None = None,
    ) -> str:
        """The assistant text for ``messages``; raises :class:`ChatError` on any failure."""
        import openai

        kwargs: dict[str, Any] = {}
        if seed is not None:
            kwargs["seed"] = seed
        try:
            resp = self._client.chat.completions.create(
                model=self.endpoint.model,
                messages=[{"role": m["role"], "content": m["content"]} for m in messages],  # type: ignore[misc]
                temperature=temperature,
                max_tokens=max_tokens,
                **kwargs,
            )
        except openai.APITimeoutError as exc:
            raise ChatError("timeout", f"{self.endpoint.name}: request timed out") from exc
        except openai.APIConnectionError as exc:
            raise ChatError("connection_error", f"{self.endpoint.name}: cannot connect") from exc
        except openai.APIStatusError as exc:
            raise ChatError(
                f"http_{exc.status_code}", f"{self.endpoint.name}: HTTP {exc.status_code}"
            ) from exc
        except openai.OpenAIError as exc:  # malformed body and the like
            raise ChatError("bad_response", f"{self.endpoint.name}: {exc.__class__.__name__}") from exc
        choices = getattr(resp, "choices", None)
        if not choices:
            raise ChatError("no_choices", f"{self.endpoint.name}: response without choices")
        content = choices[0].message.content
        if not isinstance(content, str) or not content.strip():
            raise ChatError("empty_response", f"{self.endpoint.name}: empty message content")
        return content
