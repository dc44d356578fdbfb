"""Consent: the signed cookie that gates every chat endpoint.

After ``POST /api/consent`` (both "I agree" and the confirmation, for the
version shown), the server stores a consent row and sets an HttpOnly cookie
holding ``{consent id, version}`` signed and timestamped with the server's
secret key.  A chat request is served only if the cookie's signature is
valid, it is younger than ``consent_max_age_days``, and its version is the
*current* consent version -- changing the consent text and version asks
everyone again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

__all__ = ["ConsentSigner", "ConsentToken", "InvalidConsent"]

_SALT = "wildchat-consent-v1"


@dataclass(frozen=True, slots=True)
class ConsentToken:
    """A verified consent cookie."""

    consent_id: str
    version: str
    issued_at: datetime


class InvalidConsent(Exception):
    """The cookie is missing, forged, expired or for another version (``reason`` says which)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConsentSigner:
    """Signs and verifies consent cookies with the deployment's secret key."""

    def __init__(self, key: bytes, max_age_s: int) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt=_SALT)
        self.max_age_s = max_age_s

    def sign(self, consent_id: str, version: str) -> str:
        return self._serializer.dumps({"id": consent_id, "v": version})

    def verify(self, token: str | None, current_version: str) -> ConsentToken:
        """The token's content, or :class:`InvalidConsent`."""
        if not token:
            raise InvalidConsent("missing")
        try:
            data, issued = self._serializer.loads(token, max_age=self.max_age_s, return_timestamp=True)
        except SignatureExpired as exc:
            raise InvalidConsent("expired") from exc
        except BadSignature as exc:
            raise InvalidConsent("invalid") from exc
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise InvalidConsent("invalid")
        if data.get("v") != current_version:
            raise InvalidConsent("old_version")
        return ConsentToken(consent_id=data["id"], version=str(data["v"]), issued_at=issued.astimezone(UTC))
