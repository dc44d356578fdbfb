"""FastAPI dependencies, as ``Annotated`` aliases so route signatures read like a spec.

The hot-path dependencies are ``async def``: they never block (a cookie HMAC,
an in-memory GeoLite2 lookup), and FastAPI would otherwise run each one in
its threadpool -- a thread hop and two wake-ups per dependency per request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from wildchat.collect.backends.registry import BackendRegistry
from wildchat.collect.client import ClientInfo
from wildchat.collect.consent import ConsentToken, InvalidConsent
from wildchat.collect.errors import ApiError
from wildchat.collect.services import Services

__all__ = ["AppServices", "Client", "Registry", "ValidConsent"]

_CONSENT_MESSAGES = {
    "missing": "consent required: agree to the terms first (POST /api/consent)",
    "invalid": "consent cookie is not valid; agree to the terms again",
    "expired": "consent has expired; agree to the terms again",
    "old_version": "the terms changed; agree to the current version",
}


async def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


AppServices = Annotated[Services, Depends(_services)]


async def _registry(services: AppServices) -> BackendRegistry:
    return services.registry


Registry = Annotated[BackendRegistry, Depends(_registry)]


async def _client(request: Request, services: AppServices) -> ClientInfo:
    return services.inspector.inspect(request)


Client = Annotated[ClientInfo, Depends(_client)]


async def require_consent(request: Request, services: AppServices) -> ConsentToken:
    """The verified consent cookie for the current version, else 403 (nothing is stored)."""
    settings = services.settings
    try:
        return services.signer.verify(request.cookies.get(settings.cookie_name), settings.consent_version)
    except InvalidConsent as exc:
        raise ApiError(403, "consent_required", _CONSENT_MESSAGES[exc.reason]) from exc


ValidConsent = Annotated[ConsentToken, Depends(require_consent)]
