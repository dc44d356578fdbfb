"""The labelling app: one static page and the review JSON API over a :class:`ReviewStore`.

API (contract)::

    GET  /api/review/next?annotator=A&task=T   -> 200 {"item_id", "conversation_id", "turn", "text", "task",
                                                  "detectors", "role", "question"} | 204 when A is done
    GET  /api/review/item/{item_id}            -> the same object (the page's undo re-shows an item)
    GET  /api/review/context/{item_id}         -> {"item_id", "conversation_id", "turn", "turns": [...]}
    POST /api/review/label {"item_id", "annotator", "task", "label": true|false|"skip"} -> 200
    GET  /api/review/progress                  -> items per task/stratum, labels per annotator/stratum
    GET  /api/review/tasks                     -> the queue's tasks with their question and size

Errors: unknown item 404; unknown task, a task the queue was not built for,
a bad label or annotator 400 (``{"detail": msg}``).  A second label by the
same annotator replaces the first.

The page renders every piece of conversation text with ``textContent``
(turns carry hostile markup) and a strict Content-Security-Policy (no
inline script or style, no third-party origin) backs that up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from wildchat.review.store import BadRequest, ReviewStore, UnknownItem
from wildchat.review.tasks import QUESTIONS
from wildchat.web.app import install_detail_errors, web_app

__all__ = ["CONTENT_SECURITY_POLICY", "STATIC_DIR", "create_review_app"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}
#: Error contract: exception -> (status, message when it carries none).
ERROR_STATUSES: dict[type[Exception], tuple[int, str]] = {
    BadRequest: (400, "bad request"),
    UnknownItem: (404, "not found"),
}
Annotator = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")]


class LabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: StrictInt
    annotator: Annotator
    task: str = Field(min_length=1, max_length=32)
    label: StrictBool | Literal["skip"]


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "item_id": item["item_id"],
        "conversation_id": item["conversation_id"],
        "turn": item["turn"],
        "text": item["text"],
        "task": item["task"],
        "detectors": item["detectors"],
        "role": item["role"],
        "question": QUESTIONS.get(item["task"], ""),
    }


def create_review_app(store: ReviewStore) -> FastAPI:
    """The labelling app over ``store`` (the caller owns and closes it)."""
    app = web_app("wildchat review", headers=SECURITY_HEADERS)
    install_detail_errors(app, ERROR_STATUSES)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "review.html", media_type="text/html")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/review/tasks")
    def tasks() -> dict[str, Any]:
        counts = store.progress()["tasks"]
        return {
            "tasks": [
                {"task": t, "question": QUESTIONS[t], "items": counts.get(t, {}).get("items", 0)}
                for t in store.tasks()
            ]
        }

    @app.get("/api/review/next", response_model=None)
    def next_item(annotator: Annotated[Annotator, Query()], task: Annotated[str, Query()]) -> Any:
        item = store.next_item(annotator, task)
        return Response(status_code=204) if item is None else _public(item)

    @app.get("/api/review/item/{item_id}")
    def get_item(item_id: int) -> dict[str, Any]:
        return _public(store.item(item_id))

    @app.get("/api/review/context/{item_id}")
    def context(item_id: int) -> dict[str, Any]:
        item = store.item(item_id)
        return {
            "item_id": item_id,
            "conversation_id": item["conversation_id"],
            "turn": item["turn"],
            "turns": item["context"],
        }

    @app.post("/api/review/label")
    def label(body: LabelIn) -> dict[str, Any]:
        value = body.label if body.label == "skip" else ("true" if body.label else "false")
        store.put_label(body.item_id, body.annotator, body.task, value)
        return {"ok": True, "item_id": body.item_id, "annotator": body.annotator, "label": body.label}

    @app.get("/api/review/progress")
    def progress() -> dict[str, Any]:
        return store.progress()

    return app
