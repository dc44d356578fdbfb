"""The scan fast path never decides differently from schema.parse_raw_log."""

from __future__ import annotations

from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from wildchat.curate.link.fastparse import fast_fields
from wildchat.schema import RecordError, parse_raw_log

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 2_000_000_000),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.sampled_from(
        [
            "user",
            "assistant",
            "system",
            "",
            "2024-03-01T12:00:00Z",
            "2024-03-01T12:00:00",
            "2024-03-01T12:00:00+05:30",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
message = st.fixed_dictionaries(
    {
        "role": st.one_of(st.sampled_from(["user", "assistant", "system", "bot"]), values),
        "content": st.one_of(st.text(max_size=10), st.text(max_size=3), values),
    }
)
valid_msgs = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "system"]), "content": st.text(max_size=6)}
    ),
    max_size=3,
).map(lambda ms: [*ms, {"role": "user", "content": "q"}])
good_ts = st.sampled_from(["2024-03-01T12:00:00Z", "2024-03-01T12:00:00.5+02:00"])
odd = values | st.sampled_from(["2024-03-01T12:00:00", "x", 1.7e9, ""])


def mostly(valid: st.SearchStrategy[Any], weight: int = 12) -> st.SearchStrategy[Any]:
    """``valid`` most of the time, anything JSON-like sometimes."""
    return st.integers(0, weight).flatmap(lambda i: odd if i == 0 else valid)


opt_str = mostly(st.one_of(st.none(), st.text(max_size=4)))
record = st.fixed_dictionaries(
    {
        "request_id": mostly(st.text(min_size=1, max_size=5) | st.just("")),
        "timestamp": mostly(good_ts),
        "model": mostly(st.just("gpt-4")),
        "messages": mostly(valid_msgs, 6) | st.lists(message, max_size=3),
    },
    optional={
        "response": mostly(st.one_of(st.none(), st.text(max_size=5))),
        "ip": opt_str,
        "hashed_ip": opt_str,
        "conversation_id": opt_str,
        "finish_reason": opt_str,
        "headers": mostly(
            st.dictionaries(
                st.sampled_from(["User-Agent", "user-agent", "Accept-Language", "x"]),
                st.one_of(st.none(), st.text(max_size=4), values),
                max_size=3,
            )
        ),
        "consent": mostly(
            st.one_of(
                st.none(),
                st.fixed_dictionaries(
                    {
                        "id": mostly(st.just("c")),
                        "version": mostly(st.just("1")),
                        "timestamp": mostly(good_ts),
                    }
                ),
            )
        ),
        "params": mostly(st.one_of(st.none(), st.just({"t": 1}))),
        "usage": values,
        "extra": values,
        "unknown_key": values,
    },
)


@settings(max_examples=600, deadline=None)
@given(record)
def test_fast_path_only_accepts_what_parse_raw_log_accepts(obj: dict[str, Any]) -> None:
    fast = fast_fields(obj)
    event(f"fast path {'took' if fast is not None else 'declined'} the record")
    if fast is None:
        return
    try:
        log = parse_raw_log(obj)
    except RecordError as exc:  # pragma: no cover - this is the failure being tested for
        raise AssertionError(f"fast path accepted a record parse_raw_log rejects: {exc.reason}") from exc
    headers = log.headers or {}
    assert (fast.request_id, fast.ts, fast.model, fast.response) == (
        log.request_id,
        log.timestamp,
        log.model,
        log.response,
    )
    assert fast.roles == [m.role for m in log.messages] and fast.contents == [m.content for m in log.messages]
    assert (fast.ip, fast.hashed_ip, fast.conversation_id, fast.finish_reason) == (
        log.ip,
        log.hashed_ip,
        log.conversation_id,
        log.finish_reason,
    )
    assert (fast.user_agent, fast.accept_language) == (
        headers.get("user-agent"),
        headers.get("accept-language"),
    )
    assert fast.consent_ts == (log.consent.timestamp if log.consent else None)


def test_fast_path_takes_the_common_shape() -> None:
    obj = {
        "request_id": "r",
        "timestamp": "2024-03-01T12:00:00Z",
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "headers": {"User-Agent": "UA"},
    }
    fast = fast_fields(obj)
    assert fast is not None and fast.user_agent == "UA" and fast.response == ""
    assert fast_fields({**obj, "timestamp": 1.7e9}) is None  # epoch: left to parse_raw_log
