"""``POST /api/render``: a reply's Markdown as sanitised HTML, for the chat page.

Body ``{"text": "..."}`` -> ``{"html": "..."}`` (see
:func:`wildchat.collect.markdown.render_markdown` for what the HTML may
contain).  Rendering happens on the server so the page stays build-free and
uses maintained libraries (markdown-it-py, nh3) instead of a browser-side
parser; the page re-renders a streaming reply a few times a second.  Stores
nothing.  Needs the consent cookie (403) and counts against a per-client
render limit (429), so it is not a free CPU service for the internet; a
withdrawn consent's cookie gets 403 too.  Bodies are bounded like chat
bodies (413).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio
from fastapi import APIRouter, Request

from wildchat.collect.body import read_json
from wildchat.collect.deps import AppServices, Client, ValidConsent
from wildchat.collect.errors import ApiError
from wildchat.collect.markdown import render_markdown
from wildchat.collect.refusals import ConsentGone
from wildchat.collect.routes.consent import is_withdrawn

router = APIRouter(prefix="/api")

#: Texts longer than this render in a worker thread, off the event loop.
_INLINE_CHARS = 4000


@router.post("/render")
async def render(
    request: Request, consent: ValidConsent, services: AppServices, client: Client
) -> dict[str, Any]:
    """Render one Markdown text (a model reply) to safe HTML."""
    withdrawn = partial(is_withdrawn, services, consent.consent_id)
    if await anyio.to_thread.run_sync(withdrawn, limiter=services.db_limiter):
        raise ConsentGone("consent withdrawn or not found; agree to the terms again")
    if services.limiter.remote:
        await anyio.to_thread.run_sync(services.limiter.check_render, client.rate_key)
    else:
        services.limiter.check_render(client.rate_key)
    body = await read_json(request, services.settings.max_body_bytes)
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str):
        raise ApiError(400, "invalid_request", "send {text: string}")
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    if len(text) <= _INLINE_CHARS:
        return {"html": render_markdown(text)}
    return {"html": await anyio.to_thread.run_sync(render_markdown, text)}
