"""The consent-gated, OpenAI-compatible logging gateway (``/v1``) and participant API keys.

Any chat app that speaks the OpenAI chat-completions API can be pointed at
``wildchat serve``: a participant consents on the page, creates a key
(:mod:`.keys`), and every request the app makes with it is one exchange
logged like page traffic (:mod:`.logging`), streamed by :mod:`.stream`,
served by :mod:`.routes_v1`.
"""

from __future__ import annotations

from fastapi import FastAPI

__all__ = ["install_gateway"]


def install_gateway(app: FastAPI) -> None:
    """Register the key management (``/api/keys``) and ``/v1`` routers on ``app``."""
    from wildchat.collect.gateway import keys, routes_v1

    app.include_router(keys.router)
    app.include_router(routes_v1.router)
