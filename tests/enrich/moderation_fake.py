"""A local HTTP server speaking the OpenAI Moderation API shape, for tests.

Behaviour per input text (markers in the text): ``HATE`` -> flagged with
``hate``; ``SELFHARM`` -> flagged with ``self-harm`` (API slash/dash
spelling); ``BADINPUT`` anywhere in a batch -> 400 for the whole batch.
``plan`` is a queue of forced responses consumed one per request:
``(429, retry_after_seconds)`` or ``(500, None)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.live_server import live_server

CATS = [
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
]


@dataclass
class FakeState:
    plan: list[tuple[int, float | None]] = field(default_factory=list)
    requests: list[list[str]] = field(default_factory=list)


def _result(text: str) -> dict[str, Any]:
    cats = {c: False for c in CATS}
    scores = {c: 0.001 for c in CATS}
    if "HATE" in text:
        cats["hate"], scores["hate"] = True, 0.91
    if "SELFHARM" in text:
        cats["self-harm"], scores["self-harm"] = True, 0.77
    cats["illicit"] = None  # newer categories may be null
    return {
        "flagged": any(v for v in cats.values()),
        "categories": cats,
        "category_scores": scores,
        "category_applied_input_types": {c: ["text"] for c in CATS},
    }


def make_app(state: FakeState) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/moderations")
    async def moderations(request: Request) -> JSONResponse:
        body = await request.json()
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        state.requests.append(list(inputs))
        if state.plan:
            status, retry = state.plan.pop(0)
            headers = {"retry-after": str(retry)} if retry is not None else {}
            return JSONResponse(
                {"error": {"message": "forced", "type": "x"}}, status_code=status, headers=headers
            )
        if any("BADINPUT" in t for t in inputs):
            return JSONResponse(
                {"error": {"message": "bad input", "type": "invalid_request_error"}}, status_code=400
            )
        return JSONResponse(
            {"id": "modr-1", "model": body.get("model"), "results": [_result(t) for t in inputs]}
        )

    return app


@contextmanager
def serve(state: FakeState) -> Iterator[str]:
    """Run the fake on 127.0.0.1 in a thread; yields its ``/v1`` base URL."""
    with live_server(make_app(state), timeout=10) as base:
        yield f"{base}/v1"
