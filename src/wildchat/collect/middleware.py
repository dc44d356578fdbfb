"""ASGI middleware that refuses header floods before any route runs."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from wildchat.collect.errors import error_response

__all__ = ["HeaderLimitMiddleware"]


class HeaderLimitMiddleware:
    """431 JSON when a request has too many headers or too many header bytes."""

    def __init__(self, app: ASGIApp, max_headers: int, max_bytes: int) -> None:
        self.app = app
        self.max_headers = max_headers
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope.get("headers") or []
            size = sum(len(k) + len(v) for k, v in headers)
            if len(headers) > self.max_headers or size > self.max_bytes:
                response = error_response(
                    431, "headers_too_large", f"at most {self.max_headers} headers and {self.max_bytes} bytes"
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
