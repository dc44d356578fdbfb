"""What the collection domain refuses, without HTTP: the store, the limiter and the takedown code raise these.

Each refusal carries a stable ``code`` (the ``error`` field clients see) and a
human sentence that never echoes request content or a client address.  Which
HTTP status a refusal becomes is decided in one table,
:data:`wildchat.collect.errors.REFUSAL_STATUS`, and rendered by the app's
exception handler (the page's JSON shape) or the gateway (OpenAI's shape);
no route translates them by hand.
"""

from __future__ import annotations

__all__ = [
    "BadParent",
    "ConsentGone",
    "RateLimited",
    "Refusal",
    "ReplyInProgress",
    "TurnLimit",
    "UnknownConversation",
    "UnknownParent",
]


class Refusal(Exception):
    """Base class: a request the collection domain will not carry out (nothing was stored)."""

    code = "refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConsentGone(Refusal):
    """The consent row is withdrawn or missing: the participant must agree again."""

    code = "consent_required"


class UnknownConversation(Refusal):
    """No such conversation for this consent (someone else's looks the same as none)."""

    code = "unknown_conversation"


class UnknownParent(Refusal):
    """``parent_id`` is not a turn of this conversation."""

    code = "unknown_parent"


class BadParent(Refusal):
    """``parent_id`` cannot be a branch point (not an assistant turn, or no conversation given)."""

    code = "bad_parent"


class TurnLimit(Refusal):
    """The conversation reached its configured number of user turns."""

    code = "max_turns"


class ReplyInProgress(Refusal):
    """A reply in this conversation is still being written; the caller may try again."""

    code = "reply_in_progress"


class RateLimited(Refusal):
    """A per-client limit is spent; ``retry_after`` seconds until the window frees a slot.

    ``code`` names the limit (``rate_limited``, ``daily_turn_limit``, ``consent_limit``).
    """

    def __init__(self, code: str, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after
