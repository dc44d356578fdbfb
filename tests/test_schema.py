"""The schema module: Arrow derivation, row round-trips and raw-log validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
import pytest

from wildchat.schema import (
    DETOXIFY_LABELS,
    OPENAI_MODERATION_CATEGORIES,
    Consent,
    Conversation,
    DetoxifyScores,
    Header,
    Message,
    Moderation,
    RawLog,
    RecordError,
    Turn,
    from_row,
    parse_raw_log,
    parse_timestamp,
    raw_log_schema,
    release_schema,
    to_row,
)


def test_release_schema_has_exact_wildchat_1m_top_level_fields() -> None:
    names = release_schema().names
    assert names == [
        "conversation_hash", "model", "timestamp", "conversation", "turn", "language",
        "openai_moderation", "detoxify_moderation", "toxic", "redacted", "state", "country",
        "hashed_ip", "header", "conversation_id",
    ]  # fmt: skip


def test_release_schema_types_match_the_hub_layout() -> None:
    schema = release_schema()
    assert schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert schema.field("turn").type == pa.int64()
    header = schema.field("header").type
    assert [header.field(i).name for i in range(header.num_fields)] == ["accept-language", "user-agent"]
    turn = schema.field("conversation").type.value_type
    turn_fields = {turn.field(i).name: turn.field(i).type for i in range(turn.num_fields)}
    assert turn_fields["turn_identifier"] == pa.int64()
    assert turn_fields["toxic"] == pa.bool_()
    assert turn_fields["jailbreak_match"] == pa.string()
    moderation = schema.field("openai_moderation").type.value_type
    categories = moderation.field("categories").type
    category_names = [categories.field(i).name for i in range(categories.num_fields)]
    assert category_names == list(OPENAI_MODERATION_CATEGORIES)
    assert moderation.field("category_scores").type.field("sexual/minors").type == pa.float64()
    detox = schema.field("detoxify_moderation").type.value_type
    assert sorted(detox.field(i).name for i in range(detox.num_fields)) == sorted(DETOXIFY_LABELS)


def _conversation() -> Conversation:
    ts = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    return Conversation(
        conversation_hash="0" * 32,
        model="gpt-4",
        timestamp=ts,
        conversation=[
            Turn(content="hi", role="user", language="English", toxic=False, redacted=False,
                 turn_identifier=7, country="France", hashed_ip="ab", header=Header("fr", "UA/1"),
                 jailbreak=False),
            Turn(content="hello", role="assistant", language="English", toxic=False, redacted=False,
                 turn_identifier=7, timestamp=ts),
        ],
        turn=1,
        language="English",
        openai_moderation=[
            Moderation(categories={"hate": False}, category_scores={"hate": 0.01}, flagged=False),
            Moderation(categories={"hate": False}, category_scores={"hate": 0.02}, flagged=False),
        ],
        detoxify_moderation=[DetoxifyScores(toxicity=0.02), DetoxifyScores(toxicity=0.001)],
        toxic=False,
        redacted=False,
        country="France",
        hashed_ip="ab",
        header=Header(accept_language="fr", user_agent="UA/1"),
        conversation_id="c-1",
    )


def test_conversation_round_trips_through_arrow() -> None:
    conv = _conversation()
    table = pa.Table.from_pylist([to_row(conv)], schema=release_schema())
    assert table.schema == release_schema()
    assert from_row(Conversation, table.to_pylist()[0]) == conv


def test_hyphenated_header_names_are_used_on_disk() -> None:
    row = to_row(Header(accept_language="en-US", user_agent="Mozilla"))
    assert row == {"accept-language": "en-US", "user-agent": "Mozilla"}


def test_keyed_dicts_fill_every_category_with_null() -> None:
    row = to_row(Moderation(categories={"hate": True}, flagged=True))
    assert set(row["categories"]) == set(OPENAI_MODERATION_CATEGORIES)
    assert row["categories"]["hate"] is True
    assert row["categories"]["violence"] is None


def _raw(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "request_id": "r1",
        "timestamp": "2024-05-01T12:00:00+02:00",
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "be nice"}, {"role": "user", "content": "hi"}],
        "response": "hello",
    }
    base.update(over)
    return base


def test_parse_raw_log_normalises_timestamps_to_utc_and_keeps_unknown_fields() -> None:
    log = parse_raw_log(_raw(source_app="x", tags=["a"]))
    assert log.timestamp == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert log.messages[-1] == Message("user", "hi")
    assert log.extra == {"source_app": '"x"', "tags": '["a"]'}


def test_raw_log_round_trips_through_parquet_schema() -> None:
    log = parse_raw_log(
        _raw(
            headers={"User-Agent": "UA", "Accept-Language": "en"},
            consent={"id": "c1", "version": "v2", "timestamp": 1_714_557_600},
            params={"temperature": 0.7, "top_p": 1.0},
            usage={"prompt_tokens": 3, "completion_tokens": 5},
            ip="203.0.113.9",
        )
    )
    assert log.headers == {"user-agent": "UA", "accept-language": "en"}
    assert log.consent == Consent("c1", "v2", datetime(2024, 5, 1, 10, 0, tzinfo=UTC))
    table = pa.Table.from_pylist([to_row(log)], schema=raw_log_schema())
    assert parse_raw_log(table.to_pylist()[0]) == log
    assert from_row(RawLog, table.to_pylist()[0]) == log


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (_raw(request_id=None), "missing_field"),
        ({k: v for k, v in _raw().items() if k != "model"}, "missing_field"),
        (_raw(timestamp="yesterday"), "bad_timestamp"),
        (_raw(timestamp="2024-05-01T12:00:00"), "bad_timestamp"),
        (_raw(timestamp=True), "bad_timestamp"),
        (_raw(messages=[]), "bad_type"),
        (_raw(messages=[{"role": "robot", "content": "x"}]), "bad_role"),
        (_raw(messages=[{"role": "user", "content": 5}]), "bad_type"),
        (
            _raw(messages=[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]),
            "bad_role",
        ),
        (_raw(response=3), "bad_type"),
        (_raw(headers={"user-agent": 1}), "bad_type"),
        (_raw(consent={"id": "x"}), "missing_field"),
        (_raw(params=[1, 2]), "bad_type"),
        ([1, 2, 3], "bad_type"),
    ],
)
def test_parse_raw_log_rejects_bad_records_with_a_reason(record: object, reason: str) -> None:
    with pytest.raises(RecordError) as err:
        parse_raw_log(record)
    assert err.value.reason == reason


def test_errors_do_not_echo_record_content() -> None:
    secret = "my card is 4111 1111 1111 1111"
    with pytest.raises(RecordError) as err:
        parse_raw_log(_raw(messages=[{"role": "hacker", "content": secret}]))
    assert secret not in str(err.value)


def test_parse_timestamp_accepts_epoch_z_and_offsets() -> None:
    expected = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert parse_timestamp(1_700_000_000) == expected
    assert parse_timestamp(1_700_000_000.0) == expected
    assert parse_timestamp("2023-11-14T22:13:20Z") == expected
    assert parse_timestamp("2023-11-14T23:13:20+01:00") == expected
    eastern = timezone(timedelta(hours=-5))
    assert parse_timestamp(datetime(2023, 11, 14, 17, 13, 20, tzinfo=eastern)) == expected
    with pytest.raises(RecordError):
        parse_timestamp(10**20)
