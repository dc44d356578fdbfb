"""A local HTTP server speaking the OpenAI chat-completions API, for judge tests.

Real HTTP (uvicorn in a thread) so the official ``openai`` SDK is exercised
end to end: retries, status codes, response parsing.  Behaviour is chosen by
the request's ``model``:

* answering models (any name not below): reply ``"[by MODEL] answer to: <last user text>"``;
  ``broken`` always answers 500; ``empty`` answers an empty message;
* ``judge``: reads ``[by X]`` markers in the prompt and grades with
  ``FakeState.ratings[X] + seed % 2`` (``[[N]]``); pairwise, the higher-rated
  side wins (``[[A]]``/``[[B]]``, equal -> ``[[C]]``);
* ``biased-judge``: pairwise always ``[[A]]`` (pure position bias); grades as ``judge``;
* ``garbage-judge``: cycles through five outputs by request count -- a good
  grade, no rating, ``[[42]]``, empty, two different ratings;
* ``flaky-judge``: the first ``FakeState.fail_first`` requests get 503, then as ``judge``;
* ``down-judge``: always 500.

Error responses carry ``retry-after-ms: 5`` so the SDK's retries are quick.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.live_server import live_server

_BY = re.compile(r"\[by ([A-Za-z0-9._-]+)\]")
GARBAGE = ["Fine work. Score: [[7]]", "I liked it a lot.", "Score: [[42]]", "", "[[3]] or maybe [[9]]"]


@dataclass
class FakeState:
    ratings: dict[str, float] = field(default_factory=dict)
    fail_first: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counters: dict[str, int] = field(default_factory=dict)

    def count(self, model: str) -> int:
        with self.lock:
            n = self.counters.get(model, 0)
            self.counters[model] = n + 1
            return n


def _completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _error(status: int) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": "forced", "type": "server_error"}},
        status_code=status,
        headers={"retry-after-ms": "5"},
    )


def _section(text: str, tag: str) -> str:
    m = re.search(rf"<{tag}>(.*?)</{tag}>", text, re.S)
    return m.group(1) if m else ""


def _judge(state: FakeState, body: dict[str, Any], biased: bool) -> str:
    prompt = body["messages"][-1]["content"]
    bump = int(body.get("seed") or 0) % 2
    if "<assistant_A" in prompt:
        if biased:
            return "A is shown first, so A. [[A]]"
        last_a = "assistant_A_reply" if "<assistant_A_reply>" in prompt else "assistant_A_round_2"
        last_b = last_a.replace("_A_", "_B_")
        a = _BY.findall(_section(prompt, last_a))
        b = _BY.findall(_section(prompt, last_b))
        ra, rb = state.ratings.get(a[0], 5.0), state.ratings.get(b[0], 5.0)
        return "Verdict: " + ("[[A]]" if ra > rb else "[[B]]" if rb > ra else "[[C]]")
    reply = _section(prompt, "assistant_reply") or _section(prompt, "round_2_assistant")
    who = _BY.findall(reply)
    rating = state.ratings.get(who[0], 5.0) if who else 1.0
    return f"Reasonable. Score: [[{rating + bump:g}]]"


def make_app(state: FakeState) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> JSONResponse:
        body = await request.json()
        model = str(body.get("model"))
        state.requests.append(body)
        n = state.count(model)
        if model == "broken" or model == "down-judge":
            return _error(500)
        if model == "flaky-judge" and n < state.fail_first:
            return _error(503)
        if model == "empty":
            return JSONResponse(_completion(model, ""))
        if model == "garbage-judge":
            return JSONResponse(_completion(model, GARBAGE[n % len(GARBAGE)]))
        if model in ("judge", "biased-judge", "flaky-judge"):
            return JSONResponse(_completion(model, _judge(state, body, biased=model == "biased-judge")))
        last = body["messages"][-1]["content"]
        return JSONResponse(_completion(model, f"[by {model}] answer to: {last[:60]}"))

    return app


@contextmanager
def serve(state: FakeState) -> Iterator[str]:
    """Run the fake on 127.0.0.1 in a thread; yields its ``/v1`` base URL."""
    with serve_app(make_app(state)) as url:
        yield url


@contextmanager
def serve_app(app: FastAPI) -> Iterator[str]:
    """Run any ASGI ``app`` on 127.0.0.1 in a thread; yields its ``/v1`` base URL."""
    with live_server(app, timeout=10) as base:
        yield f"{base}/v1"
