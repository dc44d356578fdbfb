"""Consent: the signed cookie that gates every chat endpoint.

After ``POST /api/consent`` (both "I agree" and the confirmation, for the
version shown), the server stores a consent row and sets an HttpOnly cookie
holding ``{consent id, version}`` signed and timestamped with the server's
secret key.  A chat request is served only if the cookie's signature is
valid, it is younger than ``consent_max_age_days``, and its version is the
*current* consent version -- changing the consent text and version asks
everyone again.

The consent *documents* live here too: one text per language tag, picked by
``Accept-Language`` with a default, and a default text generated from the
settings (what is collected, whether raw IPs are stored, retention, how to
see, delete and withdraw).  The exact text agreed to is stored with each
consent (:func:`wildchat.collect.store.record_consent`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

if TYPE_CHECKING:
    from wildchat.collect.settings import Settings

__all__ = [
    "ConsentSigner",
    "ConsentToken",
    "InvalidConsent",
    "consent_documents",
    "default_consent_text",
    "pick_document",
]

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


# ---- consent documents ---------------------------------------------------------------------

DEFAULT_LANGUAGE = "default"


def default_consent_text(settings: Settings) -> str:
    """The consent text generated from ``settings``: it states what this deployment really does.

    Built from the settings (raw IPs, geolocation, retention) so it can never
    claim the IP address is not stored while ``store_raw_ip`` is on.
    """
    geo = " and the country and region derived from your IP address" if settings.geoip_enabled else ""
    if settings.store_raw_ip:
        ip = "Your IP address is stored as it is, together with a keyed pseudonym of it."
    else:
        ip = "Your IP address itself is not stored: it is replaced by a keyed pseudonym."
    if settings.retention_days:
        kept = (
            f"Retention: a conversation is deleted from our database {settings.retention_days} days after "
            "its last message."
        )
    else:
        kept = "Retention: conversations are kept until you delete them or withdraw your consent."
    return f"""\
This is a research chatbot. Before you use it, please read what happens to your data.

What we collect: every message you send and every reply, the time of each message, the model used,
your browser's user-agent and accept-language headers{geo}. {ip}

How it is used: to study how people use chatbots and to build open datasets.

Publication: your conversations may be published in a public dataset after automated removal of
some personal information (names, e-mail addresses, phone numbers). Removal is not perfect: do not
share anything you would not want to be public.

{kept}

Your rights: open "My conversations" at the top of the chat page to see your conversations, reopen
them, or delete any of them. "Withdraw consent" there deletes all of your conversations from our
database and ends your participation. Deleted conversations are left out of every dataset we
publish afterwards; copies already published cannot be recalled.

You can stop at any time by closing this page. By agreeing you confirm that you are at least 18
years old and that you accept these terms.
"""


def consent_documents(settings: Settings) -> dict[str, str]:
    """Language tag (lower case) -> consent text; ``"default"`` is always present.

    ``consent_file`` is one file (the default) or a table of language tags to
    files (its ``default`` entry, else ``consent_text``, else the generated
    text, is the fallback).  Files are read once, when the server starts.
    """
    docs: dict[str, str] = {}
    files = settings.consent_file
    if isinstance(files, dict):
        for tag, path in files.items():
            docs[tag.strip().lower()] = Path(path).read_text(encoding="utf-8")
    elif files is not None:
        docs[DEFAULT_LANGUAGE] = Path(files).read_text(encoding="utf-8")
    if DEFAULT_LANGUAGE not in docs:
        docs[DEFAULT_LANGUAGE] = settings.consent_text or default_consent_text(settings)
    return docs


def _ranges(accept_language: str | None) -> list[str]:
    """Language ranges of an ``Accept-Language`` header, best first (q=0 left out)."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag.strip() and q > 0:
            ranked.append((-q, i, tag.strip().lower()))
    return [tag for _, _, tag in sorted(ranked)]


def pick_document(docs: dict[str, str], accept_language: str | None) -> tuple[str, str]:
    """``(language tag, text)`` for a request: exact tag, then its primary language, then the default."""
    for tag in _ranges(accept_language):
        if tag in docs and tag != DEFAULT_LANGUAGE:
            return tag, docs[tag]
        primary = tag.split("-")[0]
        if primary in docs and primary != DEFAULT_LANGUAGE:
            return primary, docs[primary]
    return DEFAULT_LANGUAGE, docs[DEFAULT_LANGUAGE]
