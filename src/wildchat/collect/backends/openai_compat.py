"""The ``openai`` backend: any OpenAI-compatible chat endpoint.

OpenAI itself, vLLM, a llama.cpp server, Ollama ...: ``arg`` is the remote
model id, options ``base_url`` (default: the SDK's, i.e. OpenAI) and
``api_key_env`` (name of the environment variable holding the key, default
``OPENAI_API_KEY``; local servers accept any key).  ``include_usage=false``
turns off the usage chunk for servers that reject ``stream_options``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Sequence
from typing import TYPE_CHECKING, Any, cast

from wildchat.collect.backends.base import BackendError, Chunk, GenerationParams
from wildchat.schema import Message

if TYPE_CHECKING:
    from openai import AsyncStream
    from openai.types.chat import ChatCompletionChunk

__all__ = ["OpenAIBackend"]

_FALSE = ("0", "false", "no", "off")


class OpenAIBackend:
    """Streams from ``chat.completions`` with the ``openai`` SDK's AsyncOpenAI."""

    kind = "openai"

    def __init__(self, arg: str | None, options: dict[str, Any], http_client: Any = None) -> None:
        if not arg:
            raise ValueError("openai backend needs the remote model id: NAME=openai:MODEL_ID")
        from openai import AsyncOpenAI

        self.model_id = arg
        key_env = str(options.get("api_key_env", "OPENAI_API_KEY"))
        self._include_usage = str(options.get("include_usage", "true")).lower() not in _FALSE
        self._client = AsyncOpenAI(
            base_url=options.get("base_url") or None,
            api_key=os.environ.get(key_env) or "not-set",
            timeout=float(options.get("timeout_s", 600)),
            max_retries=int(options.get("max_retries", 0)),
            http_client=http_client,
        )

    async def stream(
        self, messages: Sequence[Message], params: GenerationParams
    ) -> AsyncGenerator[Chunk, None]:
        from openai import OpenAIError

        kwargs: dict[str, Any] = {"max_tokens": params.max_tokens}
        if params.temperature is not None:
            kwargs["temperature"] = params.temperature
        if params.top_p is not None:
            kwargs["top_p"] = params.top_p
        if self._include_usage:
            kwargs["stream_options"] = {"include_usage": True}
        try:
            response = await self._client.chat.completions.create(
                model=self.model_id,
                messages=[{"role": m.role, "content": m.content} for m in messages],  # type: ignore[misc]
                stream=True,
                **kwargs,
            )
            finish: str | None = None
            usage: dict[str, Any] | None = None
            async with cast("AsyncStream[ChatCompletionChunk]", response) as events:
                async for event in events:
                    if event.usage is not None:
                        usage = event.usage.model_dump(exclude_none=True)
                    for choice in event.choices[:1]:
                        if choice.delta and choice.delta.content:
                            yield Chunk(delta=choice.delta.content)
                        if choice.finish_reason:
                            finish = choice.finish_reason
        except OpenAIError as exc:
            raise BackendError(f"{type(exc).__name__}: {exc}") from exc
        yield Chunk(finish_reason=finish or "stop", usage=usage)

    async def aclose(self) -> None:
        await self._client.close()
