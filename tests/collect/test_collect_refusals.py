"""Domain refusals get their HTTP status in one table, and both body shapes come from it."""

from __future__ import annotations

import inspect

import orjson
import pytest

from wildchat.collect import refusals
from wildchat.collect.errors import REFUSAL_STATUS, ApiError, api_error, error_response
from wildchat.collect.gateway.shape import openai_error
from wildchat.collect.refusals import RateLimited, Refusal

#: The statuses clients have always seen for these codes (docs/collect.md).
EXPECTED = {
    "consent_required": 403,
    "unknown_conversation": 404,
    "unknown_parent": 404,
    "bad_parent": 400,
    "max_turns": 429,
    "reply_in_progress": 409,
}


def _refusal_classes() -> list[type[Refusal]]:
    return [
        c
        for _, c in inspect.getmembers(refusals, inspect.isclass)
        if issubclass(c, Refusal) and c is not Refusal
    ]


@pytest.mark.parametrize("kind", _refusal_classes(), ids=lambda c: c.__name__)
def test_every_refusal_has_its_status(kind: type[Refusal]) -> None:
    exc = RateLimited("daily_turn_limit", "too many turns today", 7) if kind is RateLimited else kind("why")
    err = api_error(exc)
    assert isinstance(err, ApiError)
    assert err.code == exc.code and err.message == exc.message
    assert err.status == (429 if kind is RateLimited else EXPECTED[exc.code])
    assert kind in REFUSAL_STATUS


def test_rate_limit_carries_retry_after_into_both_shapes() -> None:
    err = api_error(RateLimited("rate_limited", "too many requests per minute; try again in 3 s", 3))
    page = error_response(err.status, err.code, err.message, err.retry_after)
    assert page.status_code == 429 and page.headers["retry-after"] == "3"
    assert orjson.loads(page.body) == {
        "error": "rate_limited",
        "message": "too many requests per minute; try again in 3 s",
        "retry_after": 3,
    }
    api = openai_error(err.status, err.code, err.message, err.retry_after)
    assert api.status_code == 429 and api.headers["retry-after"] == "3"
    assert orjson.loads(api.body)["error"]["code"] == "rate_limited"


def test_api_errors_pass_through_unchanged() -> None:
    original = ApiError(401, "invalid_api_key", "invalid API key")
    assert api_error(original) is original
