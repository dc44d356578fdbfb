"""Optional moderation of user input at serve time (off by default).

WildChat moderated *after* collection; refusing input at the door is a
deployment choice.  The built-in moderator refuses messages containing a
configured word or phrase (case-insensitive, whole words); refused messages
are answered with 400 ``message_refused`` and not stored.
"""

from __future__ import annotations

import re
from typing import Protocol

from wildchat.collect.settings import Settings

__all__ = ["BlocklistModerator", "Moderator", "NoModeration", "build_moderator"]


class Moderator(Protocol):
    def allows(self, message: str) -> bool:
        """True if the message may be sent to the model."""
        ...


class NoModeration:
    def allows(self, message: str) -> bool:
        return True


class BlocklistModerator:
    """Refuses messages that contain any of the given words or phrases."""

    def __init__(self, phrases: list[str]) -> None:
        alternatives = "|".join(re.escape(p.strip()) for p in phrases if p.strip())
        self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    def allows(self, message: str) -> bool:
        return self._pattern.search(message) is None


def build_moderator(settings: Settings) -> Moderator:
    if settings.moderation == "blocklist":
        return BlocklistModerator(settings.moderation_blocklist)
    return NoModeration()
