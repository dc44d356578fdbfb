"""Per-client rate limits with the ``limits`` library (moving window).

Two limits: requests per minute (every chat request) and turns per day
(exchanges actually started).  Storage is in-process memory by default; with
``redis_url`` every worker and host shares the counters, which is required
for the limits to mean anything with ``--workers N``.  If the storage fails
(Redis down) requests are allowed and a warning is logged: collection stays
up, abuse protection is degraded until Redis is back.  Keys are the HMAC IP
pseudonyms, never raw IPs.
"""

from __future__ import annotations

import logging
import math
import time
from typing import cast

from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerMinute
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from wildchat.collect.errors import ApiError

__all__ = ["RateLimiter"]

log = logging.getLogger(__name__)


class RateLimiter:
    """Checks (and counts) one request or one turn for a client key."""

    def __init__(self, per_minute: int, turns_per_day: int, redis_url: str | None = None) -> None:
        self.storage: Storage = (
            cast(Storage, storage_from_string(redis_url)) if redis_url else MemoryStorage()
        )
        self.remote = redis_url is not None
        self._limiter = MovingWindowRateLimiter(self.storage)
        self._per_minute = RateLimitItemPerMinute(per_minute, namespace="wildchat-req")
        self._per_day = RateLimitItemPerDay(turns_per_day, namespace="wildchat-turn")

    def _hit(self, item: RateLimitItem, key: str, code: str, what: str) -> None:
        try:
            if self._limiter.hit(item, key):
                return
        except Exception as exc:  # storage down: keep collecting, say so in the log
            log.warning("rate limit storage failed (%s); request allowed", type(exc).__name__)
            return
        reset = self._limiter.get_window_stats(item, key).reset_time
        retry = max(1, math.ceil(reset - time.time()))
        raise ApiError(429, code, f"too many {what}; try again in {retry} s", retry_after=retry)

    def check_request(self, key: str) -> None:
        """Count one request; :class:`ApiError` 429 ``rate_limited`` when over the limit."""
        self._hit(self._per_minute, key, "rate_limited", "requests per minute")

    def check_turn(self, key: str) -> None:
        """Count one turn; :class:`ApiError` 429 ``daily_turn_limit`` when over the limit."""
        self._hit(self._per_day, key, "daily_turn_limit", "turns today")
