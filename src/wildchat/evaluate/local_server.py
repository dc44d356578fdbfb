"""A minimal OpenAI-compatible chat server over local Hugging Face models.

Why: ``eval judge`` talks to OpenAI-compatible endpoints, and the offline
demo needs one that serves the base and the fine-tuned model (a folder
written by ``wildchat train``) without a GPU or a network.  ``wildchat
serve`` is the consent-gated collection app, not an API server, and the
llama.cpp server needs a llama.cpp build that runs on this CPU; this one
needs only torch + transformers, which training already requires.

Scope, on purpose: ``POST /v1/chat/completions`` (non-streaming; ``model``,
``messages``, ``temperature``, ``top_p``, ``max_tokens``, ``seed``) and
``GET /v1/models``.  Requests are served one at a time (a lock around
``generate``): it is a measurement tool, not a production server.  Errors
use OpenAI's error body: 404 unknown model, 400 bad request or a prompt
longer than ``max_input_tokens``.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from wildchat.web.app import web_app


@dataclass
class LoadedModel:
    """A model and its tokenizer (from :func:`wildchat.train.models.load_model`)."""

    model: Any
    tokenizer: Any


def _error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": "invalid_request_error", "code": code}}, status_code=status
    )


def _messages(body: Any) -> list[dict[str, str]] | None:
    msgs = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(msgs, list) or not msgs:
        return None
    out = []
    for m in msgs:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            return None
        if not isinstance(m.get("content"), str):
            return None
        out.append({"role": m["role"], "content": m["content"]})
    return out


def prompt_ids(tokenizer: Any, messages: list[dict[str, str]]) -> list[int]:
    """Token ids of ``messages`` rendered with the chat template and the generation prompt."""
    enc = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)
    return [int(i) for i in enc["input_ids"]]


def generate(
    lm: LoadedModel,
    ids: list[int],
    *,
    max_tokens: int,
    temperature: float,
    top_p: float,
    seed: int | None,
) -> tuple[str, int, int]:
    """``(text, prompt tokens, completion tokens)`` continuing prompt ``ids`` (greedy at temperature 0)."""
    import torch

    tok, model = lm.tokenizer, lm.model
    device = next(model.parameters()).device
    input_ids = torch.tensor([ids], device=device)
    mask = torch.ones_like(input_ids)
    if seed is not None:
        torch.manual_seed(seed)
    sample = temperature > 0
    kwargs: dict[str, Any] = {"do_sample": sample}
    if sample:
        kwargs.update(temperature=temperature, top_p=top_p)
    with torch.inference_mode():
        out = model.generate(
            input_ids=input_ids,
            attention_mask=mask,
            max_new_tokens=max_tokens,
            pad_token_id=tok.pad_token_id,
            **kwargs,
        )
    new = out[0, len(ids) :]
    return tok.decode(new, skip_special_tokens=True).strip(), len(ids), int(new.shape[0])


@dataclass(frozen=True)
class _Job:
    """One validated completion request."""

    name: str
    lm: LoadedModel
    ids: list[int]
    max_tokens: int
    temperature: float
    top_p: float
    seed: int | None


def _sampling(body: dict[str, Any]) -> tuple[int, float, float, int | None]:
    """``(max_tokens, temperature, top_p, seed)``; ``TypeError``/``ValueError`` for non-numbers."""
    max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 512)
    temperature = float(body.get("temperature", 1.0) if body.get("temperature") is not None else 1.0)
    top_p = float(body.get("top_p") or 1.0)
    seed = int(body["seed"]) if body.get("seed") is not None else None
    return max_tokens, temperature, top_p, seed


def _job(body: Any, models: dict[str, LoadedModel], max_input_tokens: int) -> _Job | JSONResponse:
    """The request as a :class:`_Job`, or the OpenAI-shaped error response that refuses it."""
    name = body.get("model") if isinstance(body, dict) else None
    if not isinstance(body, dict) or name not in models:
        return _error(
            404, f"model {name!r} is not served here (have: {', '.join(models)})", "model_not_found"
        )
    messages = _messages(body)
    if messages is None:
        return _error(400, "messages must be a non-empty list of {role, content}", "invalid_messages")
    try:
        max_tokens, temperature, top_p, seed = _sampling(body)
    except (TypeError, ValueError):
        return _error(400, "max_tokens, temperature, top_p and seed must be numbers", "invalid_parameter")
    lm = models[name]
    try:
        ids = prompt_ids(lm.tokenizer, messages)
    except Exception as exc:  # the template rejects this message order (e.g. strict alternation)
        return _error(400, f"chat template rejected the messages ({type(exc).__name__})", "invalid_messages")
    if len(ids) > max_input_tokens:
        return _error(400, f"prompt has {len(ids)} tokens > {max_input_tokens}", "context_length_exceeded")
    return _Job(name, lm, ids, max_tokens, temperature, top_p, seed)


def _completion(job: _Job, text: str, n_in: int, n_out: int) -> dict[str, Any]:
    """OpenAI's ``chat.completion`` object for one finished generation."""
    finish = "length" if n_out >= job.max_tokens else "stop"
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": job.name,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
        "usage": {"prompt_tokens": n_in, "completion_tokens": n_out, "total_tokens": n_in + n_out},
    }


def create_app(models: dict[str, LoadedModel], *, max_input_tokens: int = 2048) -> FastAPI:
    """The FastAPI app serving ``models`` under their names (no docs pages, no telemetry)."""
    app = web_app("wildchat local OpenAI-compatible server")
    lock = threading.Lock()

    @app.get("/v1/models")
    def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": n, "object": "model", "owned_by": "local"} for n in models]}

    @app.post("/v1/chat/completions", response_model=None)
    async def completions(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "body is not JSON", "invalid_json")
        job = _job(body, models, max_input_tokens)
        if isinstance(job, JSONResponse):
            return job

        def run() -> tuple[str, int, int]:
            with lock:
                return generate(
                    job.lm,
                    job.ids,
                    max_tokens=job.max_tokens,
                    temperature=job.temperature,
                    top_p=job.top_p,
                    seed=job.seed,
                )

        text, n_in, n_out = await run_in_threadpool(run)
        return JSONResponse(_completion(job, text, n_in, n_out))

    return app
