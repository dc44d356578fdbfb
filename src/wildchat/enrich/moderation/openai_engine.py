"""OpenAI Moderation (or any server speaking its API shape), cached and retried.

Contract of :meth:`OpenAIModeration.moderate`: one result per input text, in
order.  A blank text gets an empty :class:`Moderation` (nothing to judge; the
toxicity rule calls blank turns non-toxic).  A text whose windows could not
all be judged within the retry budget gets ``None`` -- *missing*, counted in
``counts["missing"]`` -- and never a "not flagged" answer.

Retries: 429 and 5xx and connection errors are retried, waiting what the
server's ``Retry-After`` / ``retry-after-ms`` header asks (else exponential
backoff), until ``max_attempts`` or the ``max_wait_s`` sleep budget per batch
is spent.  A 4xx other than 429 on a batch is retried as two half batches
(WildChat split refused inputs the same way) down to single texts.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from wildchat.enrich.moderation.cache import ModerationCache, text_key
from wildchat.enrich.moderation.windows import merge_moderation, split_windows, valid_utf8
from wildchat.schema import OPENAI_MODERATION_CATEGORIES, Moderation


@dataclass(frozen=True)
class OpenAIModerationConfig:
    """Where and how to call the Moderation endpoint (the key is read from an env var)."""

    model: str = "omni-moderation-latest"
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    batch_size: int = 32
    window_chars: int = 8000
    min_window_chars: int = 500
    max_attempts: int = 6
    max_wait_s: float = 120.0
    backoff_s: float = 1.0
    timeout_s: float = 60.0
    cache_path: str | None = None
    store_text: bool = False


def _norm(key: str) -> str:
    return key.replace("/", "_").replace("-", "_")


def moderation_from_api(result: Any) -> Moderation:
    """One API result object (or its dict) -> :class:`Moderation` with the schema's keys.

    WildChat-1M stores both spellings of each category (``self-harm`` and
    ``self_harm``); the API answers one, so each is filled from the other.
    Categories the schema does not know (e.g. ``illicit``) are dropped.
    """
    raw = result.model_dump(by_alias=True) if hasattr(result, "model_dump") else dict(result)
    cats = {_norm(k): v for k, v in (raw.get("categories") or {}).items() if v is not None}
    scores = {_norm(k): v for k, v in (raw.get("category_scores") or {}).items() if v is not None}
    return Moderation(
        categories={k: bool(cats[_norm(k)]) for k in OPENAI_MODERATION_CATEGORIES if _norm(k) in cats},
        category_scores={
            k: float(scores[_norm(k)]) for k in OPENAI_MODERATION_CATEGORIES if _norm(k) in scores
        },
        flagged=bool(raw.get("flagged")),
    )


def retry_after_s(headers: Any) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` or ``retry-after``), if it said."""
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            continue  # an HTTP date: fall back to backoff
    return None


class OpenAIModeration:
    """Batched, cached, budgeted Moderation calls."""

    def __init__(
        self,
        config: OpenAIModerationConfig,
        *,
        client: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._client = client
        self._sleep = sleep
        self.cache = (
            ModerationCache(config.cache_path, store_text=config.store_text) if config.cache_path else None
        )
        self.counts: Counter[str] = Counter()

    @property
    def client(self) -> Any:
        if self._client is None:
            import openai

            key = os.environ.get(self.config.api_key_env)
            if not key:
                raise RuntimeError(f"OpenAI moderation needs an API key in ${self.config.api_key_env}")
            self._client = openai.OpenAI(
                api_key=key, base_url=self.config.base_url, max_retries=0, timeout=self.config.timeout_s
            )
        return self._client

    def moderate(self, texts: Sequence[str]) -> list[Moderation | None]:
        """One :class:`Moderation` (or ``None`` = missing) per text, in order."""
        cfg = self.config
        windows = [
            split_windows(valid_utf8(t), cfg.window_chars, cfg.min_window_chars) if t.strip() else []
            for t in texts
        ]
        unique: dict[str, str] = {}
        for ws in windows:
            for w in ws:
                unique.setdefault(text_key(w), w)
        judged: dict[str, Moderation | None] = {}
        if self.cache is not None and unique:
            for k, v in self.cache.get_many(unique, cfg.model).items():
                judged[k] = Moderation(**v)
            self.counts["cache_hits"] += len(judged)
        todo = [k for k in unique if k not in judged]
        fresh: dict[str, tuple[str, Any]] = {}
        for i in range(0, len(todo), cfg.batch_size):
            keys = todo[i : i + cfg.batch_size]
            results = self._judge([unique[k] for k in keys])
            for k, r in zip(keys, results, strict=True):
                judged[k] = r
                if r is not None:
                    fresh[k] = (unique[k], asdict(r))
        if self.cache is not None:
            self.cache.put_many(fresh, cfg.model)
        out: list[Moderation | None] = []
        for ws in windows:
            merged = merge_moderation([judged[text_key(w)] for w in ws]) if ws else Moderation()
            if merged is None:
                self.counts["missing"] += 1
            out.append(merged)
        return out

    def _judge(self, inputs: list[str]) -> list[Moderation | None]:
        """Results for one batch; halves it on a non-retryable client error."""
        import openai

        waited = 0.0
        for attempt in range(self.config.max_attempts):
            delay: float | None
            try:
                self.counts["api_calls"] += 1
                response = self.client.moderations.create(model=self.config.model, input=inputs)
                results = list(response.results)
                if len(results) != len(inputs):
                    raise ValueError("moderation response has the wrong number of results")
                return [moderation_from_api(r) for r in results]
            except openai.APIStatusError as exc:
                status = exc.status_code
                self.counts[f"http_{status}"] += 1
                if status != 429 and status < 500 and status not in (408, 409):
                    if len(inputs) == 1:
                        return [None]
                    half = len(inputs) // 2
                    return self._judge(inputs[:half]) + self._judge(inputs[half:])
                delay = retry_after_s(exc.response.headers)
            except (openai.APIConnectionError, ValueError):
                self.counts["connection_errors"] += 1
                delay = None
            if delay is None:
                delay = self.config.backoff_s * (2**attempt)
            if attempt + 1 >= self.config.max_attempts or waited + delay > self.config.max_wait_s:
                break
            self.counts["retries"] += 1
            self._sleep(delay)
            waited += delay
        self.counts["budget_exhausted"] += 1
        return [None] * len(inputs)
