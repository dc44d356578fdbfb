"""Per-client rate limits with the ``limits`` library (moving window).

Limits: requests per minute (every chat request), turns per day (exchanges
actually started), consents per hour (each consent inserts a row, so an
unlimited consent endpoint is a database-filling primitive) and Markdown
renders per minute.  Storage is in-process memory by default; with
``redis_url`` every worker and host shares the counters, which is required
for the limits to mean anything with ``--workers N``.

The limiter never fails open.  The Redis client has connect and socket
timeouts (``redis_timeout_s``), so a dead or black-holed Redis costs a
request at most that long; when Redis fails, the check is made against the
in-process limiter instead (a warning is logged once per outage) and Redis is
tried again after ``retry_s``.  During an outage the limits are per process
rather than global -- weaker, but never absent.  Keys are keyed pseudonyms
(of the IP, or of the IPv6 network), never raw IPs.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import cast

from limits import (
    RateLimitItem,
    RateLimitItemPerDay,
    RateLimitItemPerHour,
    RateLimitItemPerMinute,
)
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from wildchat.collect.refusals import RateLimited

__all__ = ["RateLimiter"]

log = logging.getLogger(__name__)


class RateLimiter:
    """Checks (and counts) one request, turn, consent or render for a client key."""

    def __init__(
        self,
        per_minute: int,
        turns_per_day: int,
        redis_url: str | None = None,
        *,
        consents_per_hour: int = 20,
        renders_per_minute: int = 600,
        redis_timeout_s: float = 0.5,
        retry_s: float = 30.0,
    ) -> None:
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._shared: MovingWindowRateLimiter | None = None
        if redis_url:
            storage = storage_from_string(
                redis_url, socket_connect_timeout=redis_timeout_s, socket_timeout=redis_timeout_s
            )
            self._shared = MovingWindowRateLimiter(cast(Storage, storage))
        #: True when checks may block on the network (call them from a worker thread).
        self.remote = self._shared is not None
        self._retry_s = retry_s
        self._down_until = 0.0  # monotonic time before which Redis is not tried again
        self._lock = threading.Lock()
        self._per_minute = RateLimitItemPerMinute(per_minute, namespace="wildchat-req")
        self._per_day = RateLimitItemPerDay(turns_per_day, namespace="wildchat-turn")
        self._per_hour_consent = RateLimitItemPerHour(consents_per_hour, namespace="wildchat-consent")
        self._per_minute_render = RateLimitItemPerMinute(renders_per_minute, namespace="wildchat-render")

    @property
    def degraded(self) -> bool:
        """True while Redis is configured but unreachable (the in-process limiter is in use)."""
        return self._shared is not None and time.monotonic() < self._down_until

    def _mark_down(self, exc: Exception) -> None:
        with self._lock:
            first = self._down_until == 0.0
            self._down_until = time.monotonic() + self._retry_s
        if first:
            log.warning(
                "rate limit storage unreachable (%s); using the in-process limiter until it is back",
                type(exc).__name__,
            )

    def _mark_up(self) -> None:
        with self._lock:
            was_down = self._down_until != 0.0
            self._down_until = 0.0
        if was_down:
            log.warning("rate limit storage reachable again; limits are shared again")

    def _check(self, item: RateLimitItem, key: str) -> tuple[bool, MovingWindowRateLimiter]:
        """(allowed, the limiter that decided): Redis when reachable, else in-process."""
        shared = self._shared
        if shared is not None and time.monotonic() >= self._down_until:
            try:
                allowed = shared.hit(item, key)
            except Exception as exc:  # connection refused, timeout, Redis error: fall back
                self._mark_down(exc)
            else:
                if self._down_until:
                    self._mark_up()
                return allowed, shared
        return self._local.hit(item, key), self._local

    def _hit(self, item: RateLimitItem, key: str, code: str, what: str) -> None:
        allowed, limiter = self._check(item, key)
        if allowed:
            return
        try:
            reset = limiter.get_window_stats(item, key).reset_time
            retry = max(1, math.ceil(reset - time.time()))
        except Exception:  # the storage failed between the two calls: a safe upper bound
            retry = int(item.get_expiry())
        raise RateLimited(code, f"too many {what}; try again in {retry} s", retry)

    def check_request(self, key: str) -> None:
        """Count one request; :class:`RateLimited` ``rate_limited`` when over the limit."""
        self._hit(self._per_minute, key, "rate_limited", "requests per minute")

    def check_turn(self, key: str) -> None:
        """Count one turn; :class:`RateLimited` ``daily_turn_limit`` when over the limit."""
        self._hit(self._per_day, key, "daily_turn_limit", "turns today")

    def check_consent(self, key: str) -> None:
        """Count one consent insert; :class:`RateLimited` ``consent_limit`` when over the hourly cap."""
        self._hit(self._per_hour_consent, key, "consent_limit", "consents this hour")

    def check_render(self, key: str) -> None:
        """Count one Markdown render; :class:`RateLimited` ``rate_limited`` when over the limit."""
        self._hit(self._per_minute_render, key, "rate_limited", "render requests per minute")
